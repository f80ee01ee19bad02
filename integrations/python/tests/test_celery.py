"""`jobwatch.celery` with a real Celery worker process (kombu's filesystem broker) and a real
`jobwatch serve`; and, in this process, the job sync and the pings of tasks run eagerly."""

import json
import logging
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from support import API_KEY, binary, clean_env, closed_port, wait_until

celery = pytest.importorskip("celery")
from celery import Celery  # noqa: E402
from celery.schedules import crontab  # noqa: E402

import jobwatch.celery  # noqa: E402

APPS = Path(__file__).resolve().parent / "apps"
SRC = Path(__file__).resolve().parents[1] / "src"


def broker_options(folder):
    return {
        "data_folder_in": str(folder / "queue"),
        "data_folder_out": str(folder / "queue"),
        "processed_folder": str(folder / "processed"),
        "control_folder": str(folder / "control"),
        "polling_interval": 0.1,
    }


@pytest.fixture(scope="module")
def broker(tmp_path_factory):
    folder = tmp_path_factory.mktemp("broker")
    (folder / "queue").mkdir()
    (folder / "processed").mkdir()
    return folder


class Worker:
    def __init__(self, process, log):
        self.process = process
        self.log_path = log

    def log(self):
        return self.log_path.read_text(errors="replace")

    def tail(self):
        return "\n--- worker log (end) ---\n" + self.log()[-6000:]


@pytest.fixture(scope="module")
def worker(server, broker, tmp_path_factory):
    """`celery -A jwtest_app worker` (tests/apps), reporting to the test server."""
    folder = tmp_path_factory.mktemp("worker")
    python_path = [str(APPS), str(SRC)] + [p for p in [os.environ.get("PYTHONPATH")] if p]
    env = clean_env(
        {
            "JOBWATCH_URL": server.url,
            "JOBWATCH_PING_KEY": server.ping_key,
            "JOBWATCH_API_KEY": server.api_key,
            "JWTEST_BROKER": str(broker),
            "PYTHONPATH": os.pathsep.join(python_path),
            "PYTHONUNBUFFERED": "1",
        }
    )
    command = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "jwtest_app",
        "worker",
        "--pool=solo",
        "--concurrency=1",
        "-l",
        "info",
        "--without-mingle",
        "--without-gossip",
        "--without-heartbeat",
        "-n",
        "jwtest@localhost",
    ]
    log = folder / "worker.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=out, stderr=subprocess.STDOUT
        )
    handle = Worker(process, log)
    try:
        wait_until(
            lambda: process.poll() is not None or "ready." in handle.log(),
            60,
            "the Celery worker to be ready",
        )
        assert process.poll() is None, "the worker exited" + handle.tail()
        yield handle
    finally:
        if process.poll() is None:
            process.terminate()  # a warm shutdown: the task in progress finishes
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture(scope="module")
def send(broker):
    """Sends a task to the worker's queue; returns its task id (the run's id)."""
    client = Celery("jwtest_client", set_as_current=False)
    client.conf.update(
        broker_url="filesystem://",
        broker_transport_options=broker_options(broker),
        task_ignore_result=True,
    )

    def send(name, *args):
        task_id = str(uuid.uuid4())
        client.send_task(name, args=args, task_id=task_id)
        return task_id

    yield send
    client.close()


def logs_of(server, slug, rid):
    return [r for r in server.runs(slug) if r["outcome"] == "log" and r["run_id"] == rid]


# ------------------------------------------------------------------------- the real worker


def test_the_beat_schedule_and_the_tasks_become_jobs(server, worker):
    slugs = [
        "jwtest-app-nightly-report",
        "jwtest-app-heartbeat",
        "jwtest-app-always-fails",
        "jwtest-app-flaky",
        "jwtest-app-slow",
    ]
    jobs = wait_until(
        lambda: all(server.job(s) for s in slugs) and {s: server.job(s) for s in slugs},
        30,
        "the worker to put its jobs" + worker.tail(),
    )
    nightly = jobs["jwtest-app-nightly-report"]
    assert (nightly["schedule"], nightly["tz"]) == ("30 3 * * mon-fri", "Asia/Seoul")
    assert not nightly.get("on_demand") and nightly.get("every") is None
    assert jobs["jwtest-app-heartbeat"]["every"] == "1m30s"
    assert jobs["jwtest-app-heartbeat"].get("schedule") is None
    for slug in ["jwtest-app-always-fails", "jwtest-app-flaky", "jwtest-app-slow"]:
        assert jobs[slug]["on_demand"] is True, slug
        assert jobs[slug].get("schedule") is None and jobs[slug].get("every") is None
    assert jobs["jwtest-app-slow"]["max_runtime"] == "2s", "job_settings laid over"
    assert jobs["jwtest-app-flaky"]["max_runtime"] == "1h"
    assert server.job("celery-backend-cleanup") is None, "Celery's own tasks are not jobs"


def test_a_task_that_runs_out_of_retries_alerts_once_with_its_traceback(
    server, slack, worker, send
):
    slug = "jwtest-app-always-fails"
    task_id = send("jwtest_app.always_fails")

    run = server.finished_run(slug, timeout=30, rid=task_id)
    assert run["outcome"] == "failed", run
    assert run.get("started_at"), "the start was paired with the failure"
    output = run["output"]
    assert f"Task jwtest_app.always_fails[{task_id}] failed after 1 retry" in output
    assert "Traceback (most recent call last)" in output and "jwtest_app.py" in output
    assert output.rstrip().endswith("ValueError: ledger is locked")
    (retry,) = logs_of(server, slug, task_id)
    assert retry["output"].startswith("Retrying task jwtest_app.always_fails")
    assert "retry 1 of 1" in retry["output"]
    assert "ValueError: ledger is locked" in retry["output"]

    posts = wait_until(lambda: slack.about(slug), 15, f"a Slack alert about {slug}")
    assert "ValueError" in json.dumps(posts[0], ensure_ascii=False)
    time.sleep(2)  # a second alert would have been swept and posted by now
    assert len(slack.about(slug)) == 1, slack.about(slug)


def test_a_task_that_succeeds_on_its_retry_does_not_alert(server, slack, worker, send, tmp_path):
    slug = "jwtest-app-flaky"
    task_id = send("jwtest_app.flaky", str(tmp_path / "failed-once"))

    run = server.finished_run(slug, timeout=30, rid=task_id)
    assert run["outcome"] == "success", run
    assert run["duration_ms"] >= 900, "one run from the first attempt to the retry's end"
    (retry,) = logs_of(server, slug, task_id)
    assert retry["output"] == (
        f"Retrying task jwtest_app.flaky[{task_id}] (retry 1 of 3, in 1s): "
        "ConnectionError: upstream refused the connection"
    )
    assert len([r for r in server.runs(slug) if r["outcome"] != "log"]) == 1
    time.sleep(1.5)
    assert slack.about(slug) == []
    assert server.job(slug)["status"] == "up"


def test_a_task_past_its_max_runtime_times_out(server, slack, worker, send):
    slug = "jwtest-app-slow"
    task_id = send("jwtest_app.slow", 5)

    posts = wait_until(lambda: slack.about(slug), 30, f"a Slack alert about {slug}")
    alert = json.dumps(posts[0], ensure_ascii=False)
    # The kind is `timed_out`; Slack says "still running past its limit" and which limit.
    assert "jwtest-app-slow is still running past its limit" in posts[0]["text"], alert
    assert "timed_out" in alert and "max_runtime 2s exceeded" in alert, alert
    # The task goes on to its end, which the run records, still marked as timed out.
    (run,) = server.wait_runs(slug, 1, lambda r: r["run_id"] == task_id and "duration_ms" in r)
    assert (run["outcome"], run["timed_out"]) == ("success", True), run
    assert run["duration_ms"] >= 4500  # (the start ping leaves as the task starts)


# ---------------------------------------------------------------------- in this process


def nothing():
    return None


def local_app(name, timezone=None, beat_schedule=None):
    app = Celery(name, set_as_current=False)
    app.conf.update(task_always_eager=False, timezone=timezone, beat_schedule=beat_schedule or {})
    return app


def test_without_an_api_key_pings_create_on_demand_jobs(server):
    app = local_app("jwlocal_nokey")

    @app.task(name="jwlocal.nokey.tidy_up", shared=False)
    def tidy_up():
        return "tidy"

    integration = jobwatch.celery.init(app, url=server.url, ping_key=server.ping_key)
    try:
        assert integration.client.api_key is None
        result = tidy_up.apply()
        assert result.get() == "tidy"
        assert integration.flush(10)
    finally:
        integration.close()

    slug = "jwlocal-nokey-tidy-up"
    run = server.finished_run(slug, rid=result.id)
    assert run["outcome"] == "success" and run.get("started_at")
    job = server.job(slug)
    assert job["on_demand"] is True and job.get("every") is None


def test_a_sync_keeps_what_the_user_set_and_changes_nothing_twice(server):
    app = local_app(
        "jwlocal_sync",
        timezone="Europe/Berlin",
        beat_schedule={
            "report": {"task": "jwlocal.sync.report", "schedule": crontab(minute=0, hour=6)},
            "poll": {"task": "jwlocal.sync.poll", "schedule": 300},
        },
    )
    for name in ["jwlocal.sync.report", "jwlocal.sync.poll", "jwlocal.sync.adhoc"]:
        app.task(name=name, shared=False)(nothing)
    server.put_job(
        "jwlocal-sync-report",
        {"every": "1h", "max_runtime": "7m", "grace": "10m", "tags": ["finance"]},
    )

    integration = jobwatch.celery.init(
        app,
        url=server.url,
        ping_key=server.ping_key,
        api_key=server.api_key,
        job_settings={"jwlocal.sync.adhoc": {"max_runtime": "15m"}},
    )
    try:
        assert integration.sync() == {
            "jwlocal-sync-adhoc": "created",
            "jwlocal-sync-poll": "created",
            "jwlocal-sync-report": "updated",
        }
        assert set(integration.sync().values()) == {"unchanged"}
    finally:
        integration.close()

    report = server.job("jwlocal-sync-report")
    assert (report["schedule"], report["tz"], report.get("every")) == (
        "0 6 * * *",
        "Europe/Berlin",
        None,
    )
    assert (report["max_runtime"], report["grace"], report["tags"]) == ("7m", "10m", ["finance"])
    assert server.job("jwlocal-sync-poll")["every"] == "5m"
    adhoc = server.job("jwlocal-sync-adhoc")
    assert (adhoc["on_demand"], adhoc["max_runtime"]) == (True, "15m")


def test_the_jobs_file_is_what_jobs_apply_reads(server, tmp_path):
    app = local_app(
        "jwlocal_file",
        timezone="Asia/Seoul",
        beat_schedule={
            "digest": {"task": "jwlocal.file.digest", "schedule": crontab(minute=15, hour=7)},
            "sweep": {"task": "jwlocal.file.sweep", "schedule": 45.0},
        },
    )
    for name in ["jwlocal.file.digest", "jwlocal.file.sweep", "jwlocal.file.resize"]:
        app.task(name=name, shared=False)(nothing)
    path = tmp_path / "jobs.toml"

    integration = jobwatch.celery.init(
        app,
        url=server.url,
        ping_key=server.ping_key,
        api_key=server.api_key,
        jobs_file=str(path),
        job_settings={"jwlocal-file-resize": {"max_runtime": "90s", "tags": ["images"]}},
    )
    try:
        assert integration.sync() is None
    finally:
        integration.close()
    assert server.job("jwlocal-file-digest") is None, "a jobs file, not the admin API"

    applied = subprocess.run(
        [binary(), "jobs", "apply", "-f", str(path), "--url", server.url, "--api-key", API_KEY],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert applied.returncode == 0, applied.stdout + applied.stderr + path.read_text()
    assert "3 to create" in applied.stdout, applied.stdout

    digest = server.job("jwlocal-file-digest")
    assert (digest["schedule"], digest["tz"]) == ("15 7 * * *", "Asia/Seoul")
    assert server.job("jwlocal-file-sweep")["every"] == "45s"
    resize = server.job("jwlocal-file-resize")
    assert (resize["on_demand"], resize["max_runtime"], resize["tags"]) == (
        True,
        "1m30s",
        ["images"],
    )


def test_an_unknown_tasks_job_is_declared_on_its_first_ping(server):
    app = local_app("jwlocal_heal")
    app.task(name="jwlocal.heal.compact", shared=False)(nothing)
    integration = jobwatch.celery.init(
        app, url=server.url, ping_key=server.ping_key, api_key=server.api_key, sync_jobs=False
    )
    try:
        result = app.tasks["jwlocal.heal.compact"].apply()
        assert integration.flush(10)
    finally:
        integration.close()

    slug = "jwlocal-heal-compact"
    assert server.job(slug)["on_demand"] is True, "put after the start ping's 404"
    run = server.finished_run(slug, rid=result.id)
    assert run["outcome"] == "success" and run.get("started_at")


def test_an_unreachable_server_never_raises_into_celery(caplog):
    app = local_app("jwlocal_down")

    @app.task(name="jwlocal.down.work", shared=False)
    def work():
        return 7

    @app.task(name="jwlocal.down.broken", shared=False)
    def broken():
        raise LookupError("no such row")

    url = f"http://127.0.0.1:{closed_port()}"
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="jobwatch"):
        integration = jobwatch.celery.init(
            app, url=url, ping_key="k", api_key="a", timeout=1, retries=1
        )
        try:
            assert integration.sync() == {}
            assert work.apply().get() == 7
            outcome = broken.apply()
            assert isinstance(outcome.result, LookupError)
            assert integration.flush(30)
        finally:
            integration.close()
    assert time.monotonic() - began < 30
    assert "did not reach jobwatch" in caplog.text
    assert "jobs not synced" in caplog.text


def test_a_task_that_raises_ignore_ends_its_run(server):
    from celery.exceptions import Ignore

    app = local_app("jwlocal_ignore")

    @app.task(name="jwlocal.ignore.skip", shared=False)
    def skip():
        raise Ignore()

    integration = jobwatch.celery.init(app, url=server.url, ping_key=server.ping_key)
    try:
        result = skip.apply()
        assert integration.flush(10)
    finally:
        integration.close()

    run = server.finished_run("jwlocal-ignore-skip", rid=result.id)
    assert run["outcome"] == "success" and run.get("started_at")
    assert run["output"] == f"Task jwlocal.ignore.skip[{result.id}] ended with Ignore"


def test_jobs_follow_slugs_ignore_and_job_settings(caplog):
    app = local_app(
        "jwlocal_names",
        beat_schedule={
            "a": {"task": "jwlocal.names.invoices", "schedule": crontab(minute=0, hour=1)},
            "b": {"task": "jwlocal.names.invoices", "schedule": crontab(minute=0, hour=2)},
            "c": {"task": "celery.backend_cleanup", "schedule": crontab(minute=0, hour=4)},
        },
    )
    for name in ["jwlocal.names.invoices", "jwlocal.names.internal", "jwlocal.names.thumbs"]:
        app.task(name=name, shared=False)(nothing)
    with caplog.at_level(logging.WARNING, logger="jobwatch"):
        integration = jobwatch.celery.init(
            app,
            ping_key="k",
            sync_jobs=False,
            slugs={"jwlocal.names.invoices": "invoices"},
            ignore=["jwlocal.names.internal"],
            job_settings={"invoices": {"grace": "1h"}, "jwlocal.names.typo": {"grace": "1m"}},
        )
        try:
            jobs = integration.jobs()
        finally:
            integration.close()
    assert jobs == {
        "invoices": {"schedule": "0 1 * * *", "tz": "UTC", "grace": "1h"},
        "jwlocal-names-thumbs": {"on_demand": True},
    }
    assert "follows the first entry" in caplog.text
    assert "job_settings['jwlocal.names.typo'] names no task" in caplog.text


def test_beat_start_puts_the_jobs(server):
    from celery import signals

    app = local_app(
        "jwlocal_beat",
        timezone="America/New_York",
        beat_schedule={"n": {"task": "jwlocal.beat.nightly", "schedule": crontab(minute=5)}},
    )
    app.task(name="jwlocal.beat.nightly", shared=False)(nothing)
    integration = jobwatch.celery.init(
        app, url=server.url, ping_key=server.ping_key, api_key=server.api_key
    )

    class BeatService:  # what beat_init is sent by: beat's Service, with its app
        def __init__(self, app):
            self.app = app

    try:
        signals.beat_init.send(sender=BeatService(local_app("jwlocal_other")))
        assert integration.flush(10)
        assert server.job("jwlocal-beat-nightly") is None, "another app's beat"
        signals.beat_init.send(sender=BeatService(app))
        assert integration.flush(10)
    finally:
        integration.close()
    job = server.job("jwlocal-beat-nightly")
    assert (job["schedule"], job["tz"]) == ("5 * * * *", "America/New_York")
