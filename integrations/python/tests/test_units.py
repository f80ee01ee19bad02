"""The pure parts: body cutting, slugs, schedules, settings merges, the jobs file."""

import datetime
import uuid

import pytest

from jobwatch import tail_bytes, valid_slug
from jobwatch._jobs import dumps_jobs, duration_ms, merged, same_settings

celery = pytest.importorskip("celery")
from celery.schedules import crontab, schedule, solar  # noqa: E402

from jobwatch.celery import run_id, schedule_settings, task_slug  # noqa: E402


def test_tail_bytes_keeps_the_end_on_a_character_boundary():
    assert tail_bytes("abcdef", 3) == b"def"
    assert tail_bytes("short", 100) == b"short"
    assert tail_bytes("abc", 0) == b""
    text = "x" + "€" * 10  # 3 bytes each
    for limit in range(0, 32):
        cut = tail_bytes(text, limit)
        assert len(cut) <= limit
        assert len(cut) > limit - 3
        assert text.encode().endswith(cut)
        cut.decode("utf-8")  # whole characters only
    assert tail_bytes(b"\xff\xfebytes", 5) == b"bytes"
    assert tail_bytes(12345, 3) == b"345"


def test_task_names_make_slugs():
    assert task_slug("myapp.tasks.send_invoices") == "myapp-tasks-send-invoices"
    assert task_slug("MyApp.Tasks.SendInvoices") == "myapp-tasks-sendinvoices"
    assert task_slug("a..b__c--d") == "a-b-c-d"
    assert task_slug("...").startswith("task-")
    long_name = "project.module." + "very_long_task_name_" * 5
    slug = task_slug(long_name)
    assert len(slug) <= 64 and valid_slug(slug)
    assert slug != task_slug(long_name + "2"), "a hash keeps long names apart"
    for name in ["ünï.cödé", "x" * 200, "a.b", "Z"]:
        assert valid_slug(task_slug(name)), name


def test_run_ids_are_uuids():
    task_id = str(uuid.uuid4())
    assert run_id(task_id) == task_id
    assert run_id(task_id.upper()) == task_id
    derived = run_id("custom-task-id")
    assert uuid.UUID(derived) and derived == run_id("custom-task-id")


def test_beat_schedules_become_job_settings():
    assert schedule_settings(crontab(minute=30, hour=3), "Asia/Seoul") == {
        "schedule": "30 3 * * *",
        "tz": "Asia/Seoul",
    }
    assert schedule_settings(crontab(minute="*/15", day_of_week="mon-fri")) == {
        "schedule": "*/15 * * * mon-fri",
        "tz": "UTC",
    }
    assert schedule_settings(crontab(minute=0, hour=[15, 3]))["schedule"] == "0 3,15 * * *"
    assert schedule_settings(crontab.from_string("0 9 1 * *"))["schedule"] == "0 9 1 * *"
    assert schedule_settings(datetime.timedelta(minutes=15)) == {"every": "900s"}
    assert schedule_settings(schedule(run_every=90)) == {"every": "90s"}
    assert schedule_settings(30.0) == {"every": "30s"}
    assert schedule_settings(0.2) == {"every": "1s"}
    assert schedule_settings(solar.__new__(solar)) is None  # (its constructor needs ephem)
    assert schedule_settings("every day") is None


def test_durations_compare_by_value():
    assert duration_ms("1h30m") == duration_ms("90m") == duration_ms(5400) == 5_400_000
    assert duration_ms("1h 30m") == 5_400_000
    assert duration_ms("500ms") == 500
    assert duration_ms("5x") is None
    assert same_settings({"every": "90s"}, {"every": "1m30s"})
    assert same_settings({"schedule": "0 3 * * *"}, {"schedule": "0 3 * * *", "tz": "UTC"})
    assert not same_settings({"every": "90s"}, {"every": "2m"})


def test_a_merge_replaces_the_schedule_and_keeps_the_rest():
    current = {
        "slug": "x",
        "status": "up",
        "every": "1h",
        "max_runtime": "7m",
        "tags": ["db"],
        "paused": False,
        "min_runtime": None,
    }
    assert merged(current, {"schedule": "0 3 * * *", "tz": "Asia/Seoul"}) == {
        "schedule": "0 3 * * *",
        "tz": "Asia/Seoul",
        "max_runtime": "7m",
        "tags": ["db"],
    }
    assert merged(current, {"on_demand": True, "max_runtime": "2s"}) == {
        "on_demand": True,
        "max_runtime": "2s",
        "tags": ["db"],
    }
    assert merged(None, {"every": "90s"}) == {"every": "90s"}


def test_the_jobs_file_is_toml():
    tomllib = pytest.importorskip("tomllib")
    jobs = {
        "nightly": {"schedule": "30 3 * * *", "tz": "Asia/Seoul"},
        "beat": {"every": "90s"},
        "on-demand": {"on_demand": True, "max_runtime": "2s", "tags": ['a "b"', "ç\\d"]},
        "odd": {"description": "line 1\nline 2\ttab \x01 \x7f", "failure_threshold": 2},
    }
    text = dumps_jobs(jobs, "header line\nsecond line")
    assert text.startswith("# header line\n# second line\n")
    assert tomllib.loads(text) == {"jobs": jobs}
    with pytest.raises(ValueError):
        dumps_jobs({"Not A Slug": {"every": "1m"}})
