"""`jobwatch.monitor` against a real `jobwatch serve`, Slack alerts through a local receiver."""

import json
import logging
import sys
import time

import pytest
from support import closed_port, wait_until

import jobwatch


def declare(server, slug):
    server.put_job(slug, {"every": "1h"})


def test_a_block_that_succeeds_is_one_run_with_its_duration(server, slack):
    slug = "py-monitor-success"
    declare(server, slug)

    with jobwatch.monitor(slug, url=server.url, ping_key=server.ping_key) as run:
        time.sleep(0.3)

    found = server.finished_run(slug, rid=run.rid)
    assert found["outcome"] == "success"
    assert found["duration_ms"] >= 300, "the start was paired with the success"
    assert "output" not in found
    assert server.job(slug)["status"] == "up"
    assert slack.about(slug) == []


def test_the_decorator_reports_each_call_configured_from_the_environment(server, monkeypatch):
    slug = "py-monitor-decorator"
    declare(server, slug)
    monkeypatch.setenv("JOBWATCH_URL", server.url)
    monkeypatch.setenv("JOBWATCH_PING_KEY", server.ping_key)

    @jobwatch.monitor(slug)
    def double(x):
        """Doubles."""
        return 2 * x

    assert double.__doc__ == "Doubles."
    assert double(2) == 4
    assert double(x=5) == 10

    runs = server.wait_runs(slug, 2, lambda r: r["outcome"] == "success")
    ids = {r["run_id"] for r in runs}
    assert len(ids) == 2, f"each call is a run of its own: {runs}"
    assert all(r["duration_ms"] is not None for r in runs)


def test_a_failure_alerts_once_with_the_traceback_and_the_exception_goes_on(server, slack):
    slug = "py-monitor-failure"
    declare(server, slug)
    error = ValueError("disk full: /var/backups")

    with pytest.raises(ValueError) as raised:
        with jobwatch.monitor(slug, url=server.url, ping_key=server.ping_key):
            raise error
    assert raised.value is error, "the job's own exception, unchanged"

    run = server.finished_run(slug)
    assert run["outcome"] == "failed"
    output = run["output"]
    assert output.startswith("Traceback (most recent call last):")
    assert "test_monitor.py" in output and "raise error" in output
    assert output.rstrip().endswith("ValueError: disk full: /var/backups")

    posts = wait_until(lambda: slack.about(slug), 15, f"a Slack alert about {slug}")
    assert "ValueError" in json.dumps(posts[0], ensure_ascii=False)
    time.sleep(2)  # a second alert would have been swept and posted by now
    assert len(slack.about(slug)) == 1, slack.about(slug)


def dig(depth):
    if depth == 0:
        raise RuntimeError("bottom reached: " + "grüße, ünïcödé ✓ " * 40 + "END")
    dug(depth - 1)  # Ärger über Ärger: ✓✓✓ (multi-byte text in every frame)


def dug(depth):
    dig(depth)  # two functions in turn: Python does not fold their frames into one line


def test_a_long_traceback_keeps_its_end_within_the_servers_body_limit(start_server):
    server = start_server("--ping-body-limit", "3000")
    slug = "py-monitor-long"
    declare(server, slug)

    with pytest.raises(RuntimeError):
        with jobwatch.monitor(slug, url=server.url, ping_key=server.ping_key):
            dig(120)

    output = server.finished_run(slug)["output"]
    size = len(output.encode("utf-8"))
    assert 3000 - 3 <= size <= 3000, f"cut to the server's Ping-Body-Limit: {size} bytes"
    assert "\ufffd" not in output, "cut on a character boundary"
    assert output.endswith("END\n"), "the end of the traceback is kept"
    assert not output.startswith("Traceback"), "the front was cut"


def test_sys_exit_reports_its_status(server):
    slug = "py-monitor-exit"
    declare(server, slug)

    with pytest.raises(SystemExit):
        with jobwatch.monitor(slug, url=server.url, ping_key=server.ping_key):
            sys.exit(3)

    run = server.finished_run(slug)
    assert (run["outcome"], run["exit_code"]) == ("failed", 3)


def test_log_lines_belong_to_the_run(server):
    slug = "py-monitor-log"
    declare(server, slug)

    with jobwatch.monitor(slug, url=server.url, ping_key=server.ping_key) as run:
        assert run.log("copied 1,204 files")

    runs = server.wait_runs(slug, 2, lambda r: r["run_id"] == run.rid)
    outcomes = sorted(r["outcome"] for r in runs if r["run_id"] == run.rid)
    assert outcomes == ["log", "success"]
    assert any(r.get("output") == "copied 1,204 files" for r in runs)


def test_an_unreachable_server_never_raises_into_the_job(caplog):
    url = f"http://127.0.0.1:{closed_port()}"
    began = time.monotonic()
    with caplog.at_level(logging.WARNING, logger="jobwatch"):
        with jobwatch.monitor("py-down", url=url, ping_key="k", timeout=1, retries=1):
            value = 42

        @jobwatch.monitor("py-down", url=url, ping_key="k", timeout=1, retries=1)
        def job():
            raise KeyError("missing")

        with pytest.raises(KeyError):
            job()
    assert value == 42
    assert time.monotonic() - began < 15, "retries are bounded"
    assert "did not reach jobwatch" in caplog.text
    assert "Connection refused" in caplog.text


def test_without_a_ping_key_the_job_runs_and_a_warning_says_why(caplog):
    with caplog.at_level(logging.WARNING, logger="jobwatch"):
        with jobwatch.monitor("py-no-key") as run:
            ran = True
    assert ran and run.rid is None
    assert "no ping key" in caplog.text


def test_an_unknown_job_is_a_warning_unless_created(server, caplog):
    with caplog.at_level(logging.WARNING, logger="jobwatch"):
        with jobwatch.monitor("py-monitor-unknown", url=server.url, ping_key=server.ping_key):
            pass
    assert "does not know this job" in caplog.text
    assert server.job("py-monitor-unknown") is None

    slug = "py-monitor-created"
    with jobwatch.monitor(slug, url=server.url, ping_key=server.ping_key, create=True):
        pass
    assert server.finished_run(slug)["outcome"] == "success"
    assert server.job(slug)["every"] == "1d", "created as Healthchecks does: a daily job"


def test_an_async_function_is_one_run_per_call(server):
    import asyncio

    slug = "py-monitor-async"
    declare(server, slug)

    @jobwatch.monitor(slug, url=server.url, ping_key=server.ping_key)
    async def fetch(n):
        await asyncio.sleep(0.2)
        return n + 1

    assert asyncio.run(fetch(1)) == 2
    (run,) = server.wait_runs(slug, 1, lambda r: r["outcome"] == "success")
    assert run["duration_ms"] >= 200
