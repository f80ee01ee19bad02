"""The HTTP client for jobwatch's two APIs: the ping API (never raises) and the admin API.

Standard library only. Configuration comes from explicit arguments, else from the environment
variables the `jobwatch` command line reads: JOBWATCH_URL, JOBWATCH_PING_KEY, JOBWATCH_API_KEY.
"""

import http.client
import json
import logging
import os
import re
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Optional

logger = logging.getLogger("jobwatch")

__version__ = "0.1.0"

DEFAULT_URL = "http://127.0.0.1:8000"
#: What the ping API keeps of a body when it does not say otherwise (`Ping-Body-Limit`).
DEFAULT_BODY_LIMIT = 10_000
#: Seconds one request may take.
DEFAULT_TIMEOUT = 10.0
#: Further attempts after a network error or a 5xx answer (never after a 4xx).
DEFAULT_RETRIES = 3

_SLUG = re.compile(r"[a-z0-9_-]{1,64}\Z")
_EVENT = re.compile(r"(start|fail|log|[0-9]{1,3})\Z")
#: The most of an answer read back (job documents and reasons are small).
_MAX_ANSWER = 1 << 20
_HOST_HEADER = "X-Jobwatch-Host"


def valid_slug(slug: object) -> bool:
    """Whether `slug` is a job slug jobwatch accepts: 1-64 of a-z, 0-9, `-` and `_`."""
    return isinstance(slug, str) and _SLUG.match(slug) is not None


def tail_bytes(text: Any, limit: int) -> bytes:
    """The last `limit` bytes of `text` (str or bytes) in UTF-8, starting on a character
    boundary: a body too long for the server keeps its end, where a traceback says what
    happened."""
    if isinstance(text, (bytes, bytearray, memoryview)):
        data = bytes(text)
    else:
        data = str(text).encode("utf-8", "replace")
    limit = max(0, int(limit))
    if len(data) <= limit:
        return data
    cut = data[len(data) - limit :] if limit else b""
    skip = 0
    while skip < min(3, len(cut)) and (cut[skip] & 0xC0) == 0x80:
        skip += 1
    return cut[skip:]


def _env(name: str) -> Optional[str]:
    value = os.environ.get(name, "").strip()
    return value or None


def _one_line(body: bytes) -> str:
    text = body.decode("utf-8", "replace").strip()
    line = text.splitlines()[0] if text else ""
    return line if len(line) <= 200 else line[:200] + "…"


def _describe(error: BaseException) -> str:
    """The most useful words of a network error ("Connection refused", "timed out")."""
    if isinstance(error, urllib.error.URLError) and not isinstance(error.reason, str):
        error = error.reason  # type: ignore[assignment]
    if isinstance(error, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror
    return str(error) or type(error).__name__


class JobwatchError(Exception):
    """An admin API call that did not succeed. `status` is the HTTP status, if it answered;
    `unreachable` says it could not be reached (network errors or 5xx, after the retries)."""

    def __init__(
        self, message: str, status: Optional[int] = None, unreachable: bool = False
    ) -> None:
        super().__init__(message)
        self.status = status
        self.unreachable = unreachable


class PingResult:
    """What became of one ping: delivered (`ok`), refused with a 4xx (`status` and `reason`),
    or undelivered after its retries (`status` None, `reason` the last error)."""

    __slots__ = ("ok", "status", "reason", "body_limit")

    def __init__(
        self,
        ok: bool,
        status: Optional[int] = None,
        reason: str = "",
        body_limit: Optional[int] = None,
    ) -> None:
        self.ok = ok
        self.status = status
        self.reason = reason
        self.body_limit = body_limit

    def __repr__(self) -> str:
        return (
            f"PingResult(ok={self.ok!r}, status={self.status!r}, reason={self.reason!r}, "
            f"body_limit={self.body_limit!r})"
        )


class _Unreachable(Exception):
    pass


class Client:
    """Talks to one jobwatch server.

    `url`, `ping_key` and `api_key` default to JOBWATCH_URL (else http://127.0.0.1:8000),
    JOBWATCH_PING_KEY and JOBWATCH_API_KEY. Each request gives up after `timeout` seconds;
    network errors and 5xx answers are tried again up to `retries` times with a short backoff,
    all within twice `timeout`.
    """

    def __init__(
        self,
        url: Optional[str] = None,
        ping_key: Optional[str] = None,
        api_key: Optional[str] = None,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        base = url if url is not None else _env("JOBWATCH_URL")
        self.url = (base or DEFAULT_URL).strip().rstrip("/")
        self.ping_key = (ping_key if ping_key is not None else _env("JOBWATCH_PING_KEY")) or None
        self.api_key = (api_key if api_key is not None else _env("JOBWATCH_API_KEY")) or None
        self.timeout = float(timeout)
        self.retries = max(0, int(retries))
        #: The server's `Ping-Body-Limit`, as its last answer to a ping said.
        self.body_limit = DEFAULT_BODY_LIMIT
        try:
            self._host: Optional[str] = socket.gethostname() or None
        except OSError:
            self._host = None
        self._opener = urllib.request.build_opener()

    # ------------------------------------------------------------------------------ ping API

    def ping_url(
        self, slug: str, event: Optional[str] = None, rid: Optional[str] = None, create: Any = None
    ) -> str:
        """`{url}/ping/{ping_key}/{slug}[/{event}]?rid=...[&create=...]`."""
        key = urllib.parse.quote(self.ping_key or "", safe="")
        url = f"{self.url}/ping/{key}/{urllib.parse.quote(slug, safe='')}"
        if event:
            url += "/" + event
        query = []
        if rid:
            query.append("rid=" + urllib.parse.quote(rid, safe=""))
        create = _create_value(create)
        if create:
            query.append("create=" + urllib.parse.quote(create, safe=""))
        return url + ("?" + "&".join(query) if query else "")

    def ping(
        self,
        slug: str,
        event: Optional[str] = None,
        *,
        rid: Optional[str] = None,
        body: Any = b"",
        create: Any = None,
    ) -> PingResult:
        """Sends one ping (`event`: None for success, "start", "fail", "log" or an exit status)
        with `body` as the run's output, cut from the front to the server's body limit. Never
        raises: the result says what happened."""
        try:
            if not self.ping_key:
                return PingResult(
                    False, None, "no ping key (pass ping_key= or set JOBWATCH_PING_KEY)"
                )
            if not valid_slug(slug):
                return PingResult(
                    False, None, f"invalid slug {slug!r}: use 1-64 of a-z, 0-9, '-' and '_'"
                )
            if event is not None and not _EVENT.match(str(event)):
                return PingResult(False, None, f"invalid ping event {event!r}")
            data = tail_bytes(body if body is not None else b"", self.body_limit)
            url = self.ping_url(slug, None if event is None else str(event), rid, create)
            headers = {"Content-Type": "text/plain; charset=utf-8"}
            if self._host:
                headers[_HOST_HEADER] = self._host
            try:
                status, answer_headers, answer = self._send("POST", url, data, headers)
            except _Unreachable as e:
                return PingResult(False, None, str(e))
            limit = _int_header(answer_headers, "Ping-Body-Limit")
            if limit is not None:
                self.body_limit = limit
            if 200 <= status < 300:
                return PingResult(True, status, "", limit)
            return PingResult(False, status, _one_line(answer), limit)
        except Exception as e:  # never into the job
            return PingResult(False, None, f"unexpected error: {type(e).__name__}: {e}")

    # ----------------------------------------------------------------------------- admin API

    def get_job(self, slug: str) -> Optional[dict]:
        """`GET /api/v1/jobs/{slug}`: the job's settings and state, or None when unknown."""
        status, answer = self._admin("GET", slug)
        if status == 404:
            return None
        return _json_object(answer)

    def put_job(self, slug: str, doc: dict) -> "tuple[int, dict]":
        """`PUT /api/v1/jobs/{slug}`: create (201) or replace (200) the job's definition."""
        status, answer = self._admin("PUT", slug, doc)
        if status == 404:
            raise JobwatchError(f"PUT job '{slug}': 404 {_one_line(answer)}", 404)
        return status, _json_object(answer)

    def runs(self, slug: str, limit: int = 20) -> list:
        """`GET /api/v1/jobs/{slug}/runs?limit=N`: the job's runs, newest first."""
        status, answer = self._admin("GET", slug, path=f"/runs?limit={int(limit)}")
        if status == 404:
            raise JobwatchError(f"job '{slug}' not found", 404)
        runs = _json_object(answer).get("runs")
        return runs if isinstance(runs, list) else []

    def _admin(
        self, method: str, slug: str, doc: Optional[dict] = None, path: str = ""
    ) -> "tuple[int, bytes]":
        if not self.api_key:
            raise JobwatchError("no API key: pass api_key= or set JOBWATCH_API_KEY")
        if not valid_slug(slug):
            raise JobwatchError(f"invalid slug {slug!r}: use 1-64 of a-z, 0-9, '-' and '_'")
        url = f"{self.url}/api/v1/jobs/{slug}{path}"
        headers = {"Authorization": f"Bearer {self.api_key}", "Accept": "application/json"}
        data = None
        if doc is not None:
            data = json.dumps(doc).encode("utf-8")
            headers["Content-Type"] = "application/json"
        try:
            status, _, answer = self._send(method, url, data, headers)
        except _Unreachable as e:
            message = f"could not reach jobwatch at {self.url}: {e}"
            raise JobwatchError(message, unreachable=True) from None
        if 200 <= status < 300 or status == 404:
            return status, answer
        if status == 401:
            raise JobwatchError(
                f"the API key was refused (401): {_one_line(answer)}; "
                "use the key jobwatch was started with",
                status,
            )
        raise JobwatchError(f"{method} job '{slug}': {status} {_one_line(answer)}", status)

    # ----------------------------------------------------------------------------- transport

    def _send(
        self, method: str, url: str, data: Optional[bytes], headers: dict
    ) -> "tuple[int, Any, bytes]":
        """One request, tried again on network errors and 5xx within the time budget."""
        headers = dict(headers)
        headers.setdefault("User-Agent", f"jobwatch-python/{__version__}")
        deadline = time.monotonic() + 2 * self.timeout
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            try:
                status, answer_headers, answer = self._request(
                    method, url, data, headers, max(0.5, min(self.timeout, remaining))
                )
            except ValueError as e:  # not a URL: trying again will not help
                raise _Unreachable(f"invalid jobwatch URL {self.url!r}: {e}") from None
            except (OSError, http.client.HTTPException) as e:
                last_error = _describe(e)
            else:
                if status < 500:
                    return status, answer_headers, answer
                last_error = f"the server answered {status}: {_one_line(answer)}"
            pause = min(0.25 * 2 ** (attempt - 1), 2.0)
            if attempt > self.retries or time.monotonic() + pause >= deadline:
                raise _Unreachable(last_error)
            time.sleep(pause)

    def _request(
        self, method: str, url: str, data: Optional[bytes], headers: dict, timeout: float
    ) -> "tuple[int, Any, bytes]":
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with self._opener.open(request, timeout=timeout) as response:
                return response.status, response.headers, response.read(_MAX_ANSWER)
        except urllib.error.HTTPError as e:
            try:
                answer = e.read(_MAX_ANSWER)
            except (OSError, http.client.HTTPException):
                answer = b""
            finally:
                e.close()
            return e.code, e.headers, answer


def _create_value(create: Any) -> Optional[str]:
    if create is None or create is False:
        return None
    if create is True:
        return "1"
    return str(create)


def _int_header(headers: Any, name: str) -> Optional[int]:
    try:
        value = headers.get(name) if headers is not None else None
        return int(str(value).strip()) if value is not None else None
    except (TypeError, ValueError):
        return None


def _json_object(answer: bytes) -> dict:
    try:
        value = json.loads(answer.decode("utf-8"))
    except ValueError as e:
        raise JobwatchError(f"the server's answer is not JSON: {e}") from None
    if not isinstance(value, dict):
        raise JobwatchError("the server's answer is not a JSON object")
    return value
