"""The Celery app the tests run in a real worker: a filesystem broker, jobwatch.celery.init."""

import os
import time
from datetime import timedelta

from celery import Celery
from celery.schedules import crontab

import jobwatch.celery

folder = os.environ["JWTEST_BROKER"]

app = Celery("jwtest_app")
app.conf.update(
    broker_url="filesystem://",
    broker_transport_options={
        "data_folder_in": os.path.join(folder, "queue"),
        "data_folder_out": os.path.join(folder, "queue"),
        "processed_folder": os.path.join(folder, "processed"),
        "control_folder": os.path.join(folder, "control"),
        "polling_interval": 0.1,
    },
    broker_connection_retry_on_startup=True,
    task_ignore_result=True,
    timezone="Asia/Seoul",
    beat_schedule={
        "nightly-report": {
            "task": "jwtest_app.nightly_report",
            "schedule": crontab(minute=30, hour=3, day_of_week="mon-fri"),
        },
        "heartbeat": {"task": "jwtest_app.heartbeat", "schedule": timedelta(seconds=90)},
    },
)


@app.task(autoretry_for=(ValueError,), max_retries=1, default_retry_delay=0)
def always_fails():
    raise ValueError("ledger is locked")


@app.task(bind=True, max_retries=3)
def flaky(self, marker):
    if not os.path.exists(marker):
        with open(marker, "w"):
            pass
        raise self.retry(exc=ConnectionError("upstream refused the connection"), countdown=1)
    return "ok"


@app.task
def slow(seconds):
    time.sleep(seconds)
    return "done"


@app.task
def nightly_report():
    return "report"


@app.task
def heartbeat():
    return "beat"


jobwatch.celery.init(app, job_settings={"jwtest-app-slow": {"max_runtime": "2s"}})
