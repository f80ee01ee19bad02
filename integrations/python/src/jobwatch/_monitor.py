"""`jobwatch.monitor`: one run of a job, as a context manager or a decorator."""

import copy
import functools
import inspect
import threading
import traceback
import uuid
from typing import Any, Callable, Optional, TypeVar

from ._client import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Client, PingResult, logger, valid_slug

F = TypeVar("F", bound=Callable[..., Any])


def describe_failure(what: str, slug: str, result: PingResult, url: str) -> str:
    """A warning for a ping that did not land, saying what to do about it."""
    if result.status == 404:
        return (
            f"jobwatch: the {what} ping of '{slug}' was refused: jobwatch at {url} does not know "
            f"this job, or the ping key is wrong (declare the job with PUT /api/v1/jobs/{slug} "
            "or `jobwatch jobs apply`, or pass create=)"
        )
    if result.status is not None:
        return (
            f"jobwatch: the {what} ping of '{slug}' was refused ({result.status}: {result.reason})"
        )
    return f"jobwatch: the {what} ping of '{slug}' did not reach jobwatch at {url}: {result.reason}"


def format_exception(exc_type: Any, exc: Any, tb: Any) -> str:
    """The traceback as Python prints it; its last line names the exception and its message."""
    try:
        return "".join(traceback.format_exception(exc_type, exc, tb))
    except Exception:  # an exception whose str() raises, say
        return f"{getattr(exc_type, '__name__', exc_type)}: <unprintable exception>\n"


def _outcome(exc_type: Any, exc: Any, tb: Any) -> "tuple[Optional[str], str]":
    """The finishing event (None for success) and the body for how the block ended."""
    if exc_type is None:
        return None, ""
    if issubclass(exc_type, SystemExit):
        code = getattr(exc, "code", None)
        if code is None or code == 0:
            return None, ""
        if isinstance(code, int) and not isinstance(code, bool) and code % 256:
            return str(code % 256), format_exception(exc_type, exc, tb)
    return "fail", format_exception(exc_type, exc, tb)


class monitor:
    """Reports a block of code, or each call of a function, as one run of the job `slug`.

    ::

        with jobwatch.monitor("nightly-backup"):
            backup()

        @jobwatch.monitor("nightly-backup")
        def backup(): ...

    On entry it pings `/start?rid=<fresh UUID>` (in the background: the job never waits for
    it); on a normal exit it pings success with the same run id; when an exception leaves the
    block it pings `/fail` (or `/<status>` for `sys.exit(status)`) with the traceback as the
    run's output, cut from the front to the server's `Ping-Body-Limit`, and the exception goes
    on unchanged. A ping that cannot be delivered is retried, then logged as a warning on the
    `jobwatch` logger: nothing about jobwatch ever raises into the job.

    `url` and `ping_key` default to JOBWATCH_URL and JOBWATCH_PING_KEY, read on entry.
    `create=True` (`?create=1`, a daily job) or `create="on-demand"` lets the first ping create
    an unknown job. A monitor object reports one run at a time; as a decorator it reports each
    call on its own, threads included.
    """

    def __init__(
        self,
        slug: str,
        *,
        url: Optional[str] = None,
        ping_key: Optional[str] = None,
        create: Any = None,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.slug = slug
        self.url = url
        self.ping_key = ping_key
        self.create = create
        self.timeout = timeout
        self.retries = retries
        #: The run id of the run in progress (`?rid=`), a fresh UUID each entry.
        self.rid: Optional[str] = None
        self._client: Optional[Client] = None
        self._start: Optional[threading.Thread] = None
        self._started: Optional[PingResult] = None

    # ------------------------------------------------------------------------- context manager

    def __enter__(self) -> "monitor":
        try:
            self._begin()
        except Exception:
            logger.warning("jobwatch: could not report the start of '%s'", self.slug, exc_info=True)
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        try:
            self._finish(exc_type, exc, tb)
        except Exception:
            logger.warning("jobwatch: could not report the end of '%s'", self.slug, exc_info=True)
        return False  # the job's own exception, if any, goes on unchanged

    # ------------------------------------------------------------------------------ decorator

    def __call__(self, func: F) -> F:
        if inspect.iscoroutinefunction(func):

            @functools.wraps(func)
            async def run_async(*args: Any, **kwargs: Any) -> Any:
                with copy.copy(self)._fresh():
                    return await func(*args, **kwargs)

            return run_async  # type: ignore[return-value]

        @functools.wraps(func)
        def run(*args: Any, **kwargs: Any) -> Any:
            with copy.copy(self)._fresh():
                return func(*args, **kwargs)

        return run  # type: ignore[return-value]

    # ---------------------------------------------------------------------------------- extras

    def log(self, message: Any) -> bool:
        """Adds a `/log` ping with `message` to the run in progress (it does not end the run).
        Returns whether it was delivered; never raises."""
        try:
            client = self._client
            if client is None:
                return False
            result = client.ping(self.slug, "log", rid=self.rid, body=message, create=self.create)
            if not result.ok:
                logger.warning("%s", describe_failure("log", self.slug, result, client.url))
            return result.ok
        except Exception:
            logger.warning("jobwatch: could not log to '%s'", self.slug, exc_info=True)
            return False

    # -------------------------------------------------------------------------------- internals

    def _fresh(self) -> "monitor":
        self.rid = None
        self._client = None
        self._start = None
        self._started = None
        return self

    def _begin(self) -> None:
        self._fresh()
        if not valid_slug(self.slug):
            logger.warning(
                "jobwatch: not reporting %r: a slug is 1-64 of a-z, 0-9, '-' and '_'", self.slug
            )
            return
        client = Client(self.url, self.ping_key, "", timeout=self.timeout, retries=self.retries)
        if not client.ping_key:
            logger.warning(
                "jobwatch: not reporting '%s': no ping key (pass ping_key= or set "
                "JOBWATCH_PING_KEY)",
                self.slug,
            )
            return
        self._client = client
        self.rid = str(uuid.uuid4())
        self._start = threading.Thread(
            target=self._send_start, args=(client, self.rid), name="jobwatch-start", daemon=True
        )
        self._start.start()

    def _send_start(self, client: Client, rid: str) -> None:
        result = client.ping(self.slug, "start", rid=rid, create=self.create)
        self._started = result
        if not result.ok:
            logger.warning("%s", describe_failure("start", self.slug, result, client.url))

    def _finish(self, exc_type: Any, exc: Any, tb: Any) -> None:
        client, start = self._client, self._start
        self._client = None
        if client is None:
            return
        if start is not None:
            # The finish follows the start to pair with it; the start's own retries bound this.
            start.join(timeout=2 * client.timeout + 1)
        started = self._started
        if started is not None and started.status == 404:
            return  # the job is unknown: said so already
        event, body = _outcome(exc_type, exc, tb)
        result = client.ping(self.slug, event, rid=self.rid, body=body, create=self.create)
        if not result.ok:
            what = "success" if event is None else ("failure" if event == "fail" else "exit")
            logger.warning("%s", describe_failure(what, self.slug, result, client.url))
