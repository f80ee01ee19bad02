"""Report every Celery task run to jobwatch, and keep the app's beat schedule as jobs.

::

    app = Celery("myapp")
    jobwatch.celery.init(app)

Each task is one job, its slug made from the task's name (`myapp.tasks.send_invoices` ->
`myapp-tasks-send-invoices`), and each task run is one run, its run id the task id:

- `task_prerun` pings `/start` (once per task: a retry goes on with the run its first attempt
  started);
- `task_success` pings success; `task_failure` pings `/fail` with the exception and traceback;
- `task_retry` pings `/log` with a line saying why the task is retried: not a failure, so a task
  that succeeds on a retry never alerts, and one that runs out of retries alerts once;
- a task ended by `Ignore` ends its run as a success; one revoked and terminated while running,
  as a failure.

Tasks that beat does not schedule are on-demand jobs (never missed; failures, timeouts and
slowness alert as usual); a beat entry makes its task's job a scheduled one (a crontab in the
app's time zone, or an interval). At worker and beat start the jobs are put through the admin API
(with an API key; only the schedule settings and `job_settings` are written, the rest is kept as
set), or written to a jobs file for `jobwatch jobs apply` (`jobs_file=`). Without an API key,
pings carry `?create=on-demand`, so the server creates an unknown task's job itself.

Pings are sent in order by one background thread per process, so tasks never wait for jobwatch;
nothing here raises into Celery.
"""

import atexit
import datetime
import hashlib
import os
import queue
import re
import threading
import time
import uuid
import weakref
from collections.abc import Iterable, Mapping
from typing import Any, Callable, Optional

from celery import signals

from . import _jobs
from ._client import DEFAULT_RETRIES, DEFAULT_TIMEOUT, Client, JobwatchError, logger, valid_slug
from ._monitor import describe_failure, format_exception

__all__ = ["JobwatchCelery", "app_timezone", "init", "run_id", "schedule_settings", "task_slug"]

#: `?create=` of pings sent without an API key: an unknown task's job is created on demand.
CREATE_ON_DEMAND = "on-demand"
_HASH_CHARS = 8
_MAX_QUEUE = 10_000
_WARN_EVERY = 60.0
_RID_NAMESPACE = uuid.UUID("0d4a3c3e-6a57-4b7e-9a86-3c2f8f0b6a11")


def task_slug(name: str) -> str:
    """The job slug of a task name: lowercase, every run of other characters than a-z and 0-9
    made one `-` (`myapp.tasks.send_invoices` -> `myapp-tasks-send-invoices`). A name longer
    than a slug may be keeps its start and ends with a hash of the whole name."""
    slug = re.sub(r"[^a-z0-9]+", "-", str(name).lower()).strip("-")
    if slug and len(slug) <= 64:
        return slug
    digest = hashlib.sha1(str(name).encode("utf-8")).hexdigest()[:_HASH_CHARS]
    if not slug:
        return f"task-{digest}"
    return f"{slug[: 64 - _HASH_CHARS - 1].rstrip('-')}-{digest}"


def run_id(task_id: Any) -> str:
    """The `?rid=` of a task run: its task id when that is a UUID (Celery's default), else a
    UUID derived from it."""
    text = str(task_id)
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return str(uuid.uuid5(_RID_NAMESPACE, text))


def app_timezone(app: Any) -> str:
    """The IANA name of the app's time zone (`timezone` setting), UTC when it has none."""
    zone = app.conf.timezone
    if not zone:
        return "UTC"
    return str(getattr(zone, "key", None) or getattr(zone, "zone", None) or zone)


def _cron_field(value: Any) -> str:
    if isinstance(value, str):
        return "".join(value.split()) or "*"
    if isinstance(value, int):
        return str(value)
    try:
        return ",".join(str(v) for v in sorted(int(v) for v in value))
    except (TypeError, ValueError):
        return "".join(str(value).split())


def schedule_settings(schedule: Any, tz: str = "UTC") -> Optional[dict]:
    """The job settings of a beat entry's schedule: `{"schedule": "<m h dom mon dow>", "tz":
    tz}` for a crontab, `{"every": "<seconds>s"}` for an interval (a `schedule`, a timedelta
    or a number of seconds); None for what has no cron equivalent (solar, custom classes)."""
    from celery.schedules import crontab, solar
    from celery.schedules import schedule as interval

    if isinstance(schedule, crontab):
        fields = (
            schedule._orig_minute,
            schedule._orig_hour,
            schedule._orig_day_of_month,
            schedule._orig_month_of_year,
            schedule._orig_day_of_week,
        )
        return {"schedule": " ".join(_cron_field(f) for f in fields), "tz": tz}
    if isinstance(schedule, solar):
        return None
    if isinstance(schedule, interval):
        seconds = schedule.run_every.total_seconds()
    elif isinstance(schedule, datetime.timedelta):
        seconds = schedule.total_seconds()
    elif isinstance(schedule, (int, float)) and not isinstance(schedule, bool):
        seconds = float(schedule)
    else:
        return None
    if seconds <= 0:
        return None
    return {"every": f"{max(1, round(seconds))}s"}


class _Sender:
    """One background thread per process delivering pings in the order they were made. A
    forked child (a prefork pool's worker) starts its own on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: Optional[int] = None
        self._queue: Optional[queue.Queue] = None
        if hasattr(os, "register_at_fork"):
            ref = weakref.ref(self)

            def forget() -> None:
                sender = ref()
                if sender is not None:
                    sender._lock = threading.Lock()
                    sender._pid = None
                    sender._queue = None

            os.register_at_fork(after_in_child=forget)

    def submit(self, job: Callable[[], None]) -> bool:
        with self._lock:
            if self._pid != os.getpid() or self._queue is None:
                self._queue = queue.Queue(maxsize=_MAX_QUEUE)
                thread = threading.Thread(
                    target=_deliver_forever, args=(self._queue,), name="jobwatch", daemon=True
                )
                thread.start()
                self._pid = os.getpid()
            pending = self._queue
        try:
            pending.put_nowait(job)
            return True
        except queue.Full:
            return False

    def flush(self, timeout: float) -> bool:
        """Waits up to `timeout` seconds for the pings made so far to be sent (or given up)."""
        pending = self._queue if self._pid == os.getpid() else None
        if pending is None:
            return True
        deadline = time.monotonic() + timeout
        with pending.all_tasks_done:
            while pending.unfinished_tasks:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                pending.all_tasks_done.wait(left)
        return True


def _deliver_forever(pending: queue.Queue) -> None:
    while True:
        job = pending.get()
        try:
            job()
        except Exception:
            logger.warning("jobwatch: a ping could not be sent", exc_info=True)
        finally:
            pending.task_done()


class JobwatchCelery:
    """What `init` installed on one app: see `init`. `sync()` puts the jobs now, `jobs()` says
    what they are, `flush()` waits for the pings made so far, `close()` uninstalls."""

    def __init__(
        self,
        app: Any,
        *,
        url: Optional[str] = None,
        ping_key: Optional[str] = None,
        api_key: Optional[str] = None,
        slugs: Optional[Mapping[str, str]] = None,
        job_settings: Optional[Mapping[str, Mapping[str, Any]]] = None,
        jobs_file: Optional[str] = None,
        sync_jobs: bool = True,
        ignore: Iterable[str] = (),
        timeout: float = DEFAULT_TIMEOUT,
        retries: int = DEFAULT_RETRIES,
    ) -> None:
        self.app = app
        self.client = Client(url, ping_key, api_key, timeout=timeout, retries=retries)
        self.slugs = dict(slugs or {})
        self.job_settings = {str(k): dict(v) for k, v in (job_settings or {}).items()}
        self.jobs_file = os.fspath(jobs_file) if jobs_file is not None else None
        self.sync_jobs = sync_jobs
        self.ignore = set(ignore)
        self._sender = _Sender()
        self._healed: set = set()
        self._warned: dict = {}
        self._receivers: list = []

    # -------------------------------------------------------------------------------- naming

    def slug_for(self, task_name: str) -> str:
        """The slug of a task's job: from `slugs=`, else `task_slug(task_name)`."""
        slug = self.slugs.get(task_name)
        if slug is not None:
            if valid_slug(slug):
                return slug
            self._warn(
                f"slug:{task_name}",
                f"jobwatch: slugs[{task_name!r}] = {slug!r} is not a slug (1-64 of a-z, 0-9, "
                f"'-', '_'); using {task_slug(task_name)!r}",
            )
        return task_slug(task_name)

    def reports(self, task_name: Any) -> bool:
        """Whether runs of this task are reported: not Celery's own tasks, not `ignore=`."""
        if not isinstance(task_name, str) or task_name.startswith("celery."):
            return False
        return task_name not in self.ignore and task_slug(task_name) not in self.ignore

    # ---------------------------------------------------------------------------------- jobs

    def jobs(self) -> "dict[str, dict]":
        """The job of every task: on demand, or as its beat entry schedules it, with
        `job_settings` laid over."""
        loader = self.app.loader
        if not getattr(loader, "worker_initialized", True):
            try:
                loader.import_default_modules()
            except Exception:
                logger.warning("jobwatch: could not import the app's task modules", exc_info=True)
        names = [name for name in list(self.app.tasks.keys()) if self.reports(name)]
        jobs = {self.slug_for(name): {"on_demand": True} for name in sorted(names)}
        zone = app_timezone(self.app)
        scheduled: dict = {}
        for entry_name, entry in dict(self.app.conf.beat_schedule or {}).items():
            task = entry.get("task") if isinstance(entry, Mapping) else None
            if not self.reports(task):
                continue
            settings = schedule_settings(entry.get("schedule"), zone)
            slug = self.slug_for(task)
            if settings is None:
                self._warn(
                    f"entry:{entry_name}",
                    f"jobwatch: beat entry {entry_name!r} has a schedule jobwatch cannot follow "
                    f"({type(entry.get('schedule')).__name__}); its job '{slug}' is on demand",
                )
                continue
            _check_days(entry_name, entry.get("schedule"))
            if slug in scheduled:
                if scheduled[slug] != settings:
                    self._warn(
                        f"twice:{slug}",
                        f"jobwatch: beat schedules task {task!r} twice, differently; its job "
                        f"'{slug}' follows the first entry ({scheduled[slug]})",
                    )
                continue
            scheduled[slug] = settings
        jobs.update(scheduled)
        for key, settings in self.job_settings.items():
            slug = key if key not in names and valid_slug(key) else self.slug_for(key)
            if slug not in jobs:
                self._warn(
                    f"settings:{key}",
                    f"jobwatch: job_settings[{key!r}] names no task of the app; ignored",
                )
                continue
            jobs[slug] = _jobs.merged(jobs[slug], settings)
        return jobs

    def sync(self) -> "Optional[dict[str, str]]":
        """Puts the jobs now: into `jobs_file` when given, else through the admin API (each job
        `created`, `updated` or `unchanged`, as the result says). Never raises."""
        try:
            return self._sync()
        except Exception:
            logger.warning("jobwatch: the jobs of the Celery app were not synced", exc_info=True)
            return None

    def write_jobs_file(self, path: Optional[str] = None) -> str:
        """Writes the jobs to a jobs file for `jobwatch jobs apply -f` and returns its path."""
        path = os.fspath(path if path is not None else self.jobs_file or "jobs.toml")
        header = (
            f"The jobs of the Celery app {self.app.main or ''!r}, written by jobwatch.celery.\n"
            f"Apply with: jobwatch jobs apply -f {os.path.basename(path)}"
        )
        _jobs.write_jobs_file(path, _jobs.dumps_jobs(self.jobs(), header))
        return path

    def _sync(self) -> "Optional[dict[str, str]]":
        if self.jobs_file:
            path = self.write_jobs_file()
            logger.info("jobwatch: wrote the app's jobs to %s", path)
            return None
        jobs = self.jobs()
        if not self.client.api_key:
            if any(not doc.get("on_demand") for doc in jobs.values()):
                self._warn(
                    "no-api-key",
                    "jobwatch: the beat schedule is not synced to jobwatch: give an API key "
                    "(api_key= or JOBWATCH_API_KEY) or jobs_file=",
                )
            return None
        results: dict = {}
        for slug, doc in jobs.items():
            try:
                results[slug] = _jobs.sync_job(self.client, slug, doc)
            except JobwatchError as e:
                if e.unreachable:  # the others would wait as long
                    logger.warning("jobwatch: %s; %d jobs not synced", e, len(jobs) - len(results))
                    break
                logger.warning("jobwatch: job '%s' not synced: %s", slug, e)
                results[slug] = "failed"
        counts = {o: list(results.values()).count(o) for o in sorted(set(results.values()))}
        logger.info("jobwatch: synced %d jobs with %s %s", len(results), self.client.url, counts)
        return results

    def _ensure(self, slug: str) -> bool:
        """Puts one job the server did not know (a ping answered 404)."""
        doc = self.jobs().get(slug, {"on_demand": True})
        try:
            _jobs.sync_job(self.client, slug, doc)
            return True
        except JobwatchError as e:
            self._warn(f"ensure:{slug}", f"jobwatch: could not declare job '{slug}': {e}")
            return False

    # ---------------------------------------------------------------------------------- pings

    def _ping(self, slug: str, event: Optional[str], rid: str, body: str = "") -> None:
        if not self.client.ping_key:
            return  # said so at init
        if not self._sender.submit(lambda: self._deliver(slug, event, rid, body)):
            self._warn("queue", "jobwatch: too many pings waiting; some are dropped")

    def _deliver(self, slug: str, event: Optional[str], rid: str, body: str) -> None:
        client = self.client
        create = None if client.api_key else CREATE_ON_DEMAND
        result = client.ping(slug, event, rid=rid, body=body, create=create)
        if result.status == 404 and client.api_key and slug not in self._healed:
            self._healed.add(slug)
            if self._ensure(slug):
                result = client.ping(slug, event, rid=rid, body=body, create=create)
        if not result.ok:
            what = {None: "success", "fail": "failure"}.get(event, event or "")
            key = f"ping:{result.status}:{slug if result.status else ''}"
            self._warn(key, describe_failure(str(what), slug, result, client.url))

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Waits (at most `timeout` seconds, by default twice the request timeout) for the pings
        made so far; whether they were all sent or given up on."""
        limit = 2 * self.client.timeout if timeout is None else timeout
        return self._sender.flush(limit)

    # -------------------------------------------------------------------------------- signals

    def _mine(self, task: Any) -> bool:
        return getattr(task, "app", self.app) is self.app and self.reports(
            getattr(task, "name", None)
        )

    def _on_prerun(self, sender: Any = None, task_id: Any = None, task: Any = None, **_: Any):
        try:
            task = task or sender
            if not self._mine(task):
                return
            request = getattr(task, "request", None)
            if getattr(request, "retries", 0):
                return  # a retry goes on with the run its first attempt started
            self._ping(self.slug_for(task.name), "start", run_id(task_id or request.id))
        except Exception:
            logger.warning("jobwatch: task start not reported", exc_info=True)

    def _on_success(self, sender: Any = None, **_: Any) -> None:
        try:
            if not self._mine(sender):
                return
            self._ping(self.slug_for(sender.name), None, run_id(sender.request.id))
        except Exception:
            logger.warning("jobwatch: task success not reported", exc_info=True)

    def _on_failure(
        self,
        sender: Any = None,
        task_id: Any = None,
        exception: Any = None,
        traceback: Any = None,
        einfo: Any = None,
        **_: Any,
    ) -> None:
        try:
            if not self._mine(sender):
                return
            request = getattr(sender, "request", None)
            task_id = task_id or getattr(request, "id", None)
            retries = getattr(request, "retries", 0) or 0
            text = getattr(einfo, "traceback", None)
            if not isinstance(text, str) or not text.strip():
                text = format_exception(type(exception), exception, traceback)
            after = f" after {retries} {'retry' if retries == 1 else 'retries'}" if retries else ""
            body = f"Task {sender.name}[{task_id}] failed{after}\n{text}"
            self._ping(self.slug_for(sender.name), "fail", run_id(task_id), body)
        except Exception:
            logger.warning("jobwatch: task failure not reported", exc_info=True)

    def _on_retry(
        self, sender: Any = None, request: Any = None, reason: Any = None, **_: Any
    ) -> None:
        try:
            if not self._mine(sender):
                return
            request = request or getattr(sender, "request", None)
            body = _retry_line(sender, request, reason)
            self._ping(self.slug_for(sender.name), "log", run_id(request.id), body)
        except Exception:
            logger.warning("jobwatch: task retry not reported", exc_info=True)

    def _on_postrun(
        self, sender: Any = None, task_id: Any = None, task: Any = None, state: Any = None, **_: Any
    ) -> None:
        """A task that raised `Ignore` ends its run (as a success: it chose to stop)."""
        try:
            task = task or sender
            if state != "IGNORED" or not self._mine(task):
                return
            task_id = task_id or task.request.id
            body = f"Task {task.name}[{task_id}] ended with Ignore"
            self._ping(self.slug_for(task.name), None, run_id(task_id), body)
        except Exception:
            logger.warning("jobwatch: task end not reported", exc_info=True)

    def _on_revoked(
        self,
        sender: Any = None,
        request: Any = None,
        terminated: bool = False,
        signum: Any = None,
        **_: Any,
    ) -> None:
        """A task terminated while running failed; one revoked before it ran never started."""
        try:
            if not terminated or not self._mine(sender):
                return
            task_id = getattr(request, "id", None)
            body = f"Task {sender.name}[{task_id}] was revoked and terminated (signal {signum})"
            self._ping(self.slug_for(sender.name), "fail", run_id(task_id), body)
        except Exception:
            logger.warning("jobwatch: task revocation not reported", exc_info=True)

    def _on_start(self, sender: Any = None, **_: Any) -> None:
        """Worker or beat start: put the jobs (in the background, before any ping)."""
        try:
            if getattr(sender, "app", self.app) is self.app and self.sync_jobs:
                self._sender.submit(self.sync)
        except Exception:
            logger.warning("jobwatch: jobs not synced", exc_info=True)

    def _on_shutdown(self, **_: Any) -> None:
        try:
            if not self.flush():
                logger.warning("jobwatch: some pings were not sent before shutdown")
        except Exception:
            pass

    def connect(self) -> None:
        """Connects the signal handlers (`init` does)."""
        pairs = (
            (signals.task_prerun, self._on_prerun),
            (signals.task_success, self._on_success),
            (signals.task_failure, self._on_failure),
            (signals.task_retry, self._on_retry),
            (signals.task_postrun, self._on_postrun),
            (signals.task_revoked, self._on_revoked),
            (signals.worker_init, self._on_start),
            (signals.beat_init, self._on_start),
            (signals.worker_shutdown, self._on_shutdown),
            (signals.worker_process_shutdown, self._on_shutdown),
        )
        for signal, handler in pairs:
            uid = f"jobwatch-{id(self)}-{handler.__name__}-{signal.name}"
            signal.connect(handler, weak=False, dispatch_uid=uid)
            self._receivers.append((signal, uid))
        ref = weakref.ref(self)

        def at_exit() -> None:
            integration = ref()
            if integration is not None:
                integration._on_shutdown()

        atexit.register(at_exit)

    def close(self) -> None:
        """Disconnects the signal handlers and waits for the pings made so far."""
        for signal, uid in self._receivers:
            signal.disconnect(dispatch_uid=uid)
        self._receivers = []
        self.flush()

    def _warn(self, key: str, message: str) -> None:
        """Logs a warning, at most once a minute for the same trouble."""
        now = time.monotonic()
        last, suppressed = self._warned.get(key, (None, 0))
        if last is not None and now - last < _WARN_EVERY:
            self._warned[key] = (last, suppressed + 1)
            return
        self._warned[key] = (now, 0)
        if suppressed:
            message += f" ({suppressed} more like this in the last minute)"
        logger.warning("%s", message)


def _retry_line(task: Any, request: Any, reason: Any) -> str:
    """`Retrying task myapp.tasks.x (retry 1 of 3, in 5s): ConnectionError: refused`."""
    retries = (getattr(request, "retries", 0) or 0) + 1
    limit = getattr(task, "max_retries", None)
    count = f"retry {retries} of {limit}" if limit is not None else f"retry {retries}"
    when = getattr(reason, "when", None)
    if isinstance(when, (int, float)) and not isinstance(when, bool):
        count += f", in {when:g}s"
    elif isinstance(when, datetime.datetime):
        count += f", at {when.isoformat()}"
    exc = getattr(reason, "exc", None)
    if exc is not None:
        why = f"{type(exc).__name__}: {exc}".rstrip(": ")
    else:
        why = str(getattr(reason, "message", None) or reason or "retry requested")
    return f"Retrying task {task.name}[{getattr(request, 'id', '?')}] ({count}): {why}"


def _check_days(entry_name: str, schedule: Any) -> None:
    """Celery runs a crontab on days matching both day-of-month and day-of-week; cron (and
    jobwatch) on days matching either, when both are restricted."""
    dom = getattr(schedule, "_orig_day_of_month", "*")
    dow = getattr(schedule, "_orig_day_of_week", "*")
    if _cron_field(dom) != "*" and _cron_field(dow) != "*":
        logger.warning(
            "jobwatch: beat entry %r restricts both day of month and day of week: Celery runs it "
            "on days matching both, cron and jobwatch expect days matching either",
            entry_name,
        )


def init(
    app: Any,
    *,
    url: Optional[str] = None,
    ping_key: Optional[str] = None,
    api_key: Optional[str] = None,
    slugs: Optional[Mapping[str, str]] = None,
    job_settings: Optional[Mapping[str, Mapping[str, Any]]] = None,
    jobs_file: Optional[str] = None,
    sync_jobs: bool = True,
    ignore: Iterable[str] = (),
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
) -> JobwatchCelery:
    """Reports every task run of `app` to jobwatch, and puts its jobs at worker and beat start.

    - `url`, `ping_key`, `api_key`: default to JOBWATCH_URL, JOBWATCH_PING_KEY and
      JOBWATCH_API_KEY, read now.
    - `slugs`: task name -> slug, for tasks whose job is not named after the task.
    - `job_settings`: slug (or task name) -> settings laid over the job, e.g.
      `{"myapp-tasks-report": {"max_runtime": "30m", "tags": ["reports"]}}`.
    - `jobs_file`: write the jobs to this TOML file (for `jobwatch jobs apply -f`) instead of
      putting them through the admin API; `sync_jobs=False`: neither.
    - `ignore`: task names (or slugs) not to report. Celery's own `celery.*` tasks never are.
    - `timeout`, `retries`: per request, and further attempts on network errors and 5xx.

    Calling it again for the same app replaces the previous installation.
    """
    previous = getattr(app, "_jobwatch", None)
    if isinstance(previous, JobwatchCelery):
        previous.close()
    integration = JobwatchCelery(
        app,
        url=url,
        ping_key=ping_key,
        api_key=api_key,
        slugs=slugs,
        job_settings=job_settings,
        jobs_file=jobs_file,
        sync_jobs=sync_jobs,
        ignore=ignore,
        timeout=timeout,
        retries=retries,
    )
    if not integration.client.ping_key:
        logger.warning(
            "jobwatch: no ping key (ping_key= or JOBWATCH_PING_KEY): task runs are not reported"
        )
    integration.connect()
    app._jobwatch = integration
    return integration
