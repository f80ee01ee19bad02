//! On-demand jobs: a job without a schedule (a task queue's task, a deploy step) is never
//! missed, while its failures, timeouts and too-short runs alert as a scheduled job's do.

use jobwatch_core::AlertKind::{Failed, Recovered, TimedOut, TooShort};
use jobwatch_core::PingEvent::{Fail, Start, Success};
use jobwatch_tests::{World, mins, secs, seen, t};

#[tokio::test]
async fn an_on_demand_job_is_never_missed_in_a_month_of_silence() {
    let mut world = World::new(t("2026-01-01T00:00:00Z"));
    world
        .define("send-invoice", r#"{"on_demand": true, "grace": "1m"}"#)
        .await;
    world.run_until(t("2026-02-01T00:00:00Z")).await;
    assert_eq!(world.seen(), []);
    let job = world.job("send-invoice").await;
    assert_eq!(job.state.status(world.now).as_str(), "new");
    assert_eq!(job.state.expected, None, "no run is ever expected");

    world
        .run_job("send-invoice", t("2026-02-01T10:00:00Z"), secs(3))
        .await;
    world.run_until(t("2026-03-01T00:00:00Z")).await;
    assert_eq!(world.seen(), [], "a month after one run: still nothing due");
    let job = world.job("send-invoice").await;
    assert_eq!(job.state.status(world.now).as_str(), "up");
}

#[tokio::test]
async fn an_on_demand_job_alerts_on_failure_timeout_and_too_short_runs() {
    let mut world = World::new(t("2026-03-01T00:00:00Z"));
    world
        .define(
            "resize-image",
            r#"{"on_demand": true, "max_runtime": "10m", "min_runtime": "1s"}"#,
        )
        .await;
    let stuck = "11111111-1111-4111-8111-111111111111";
    world
        .ping_at(t("2026-03-01T08:00:00Z"), "resize-image", Fail, None, None)
        .await;
    world
        .run_job("resize-image", t("2026-03-01T09:00:00Z"), secs(5))
        .await;
    world
        .ping_at(
            t("2026-03-01T12:00:00Z"),
            "resize-image",
            Start,
            Some(stuck),
            None,
        )
        .await;
    world.run_until(t("2026-03-01T13:00:00Z")).await;
    world
        .run_job("resize-image", t("2026-03-02T09:00:00Z"), mins(1))
        .await;
    world
        .ping_at(t("2026-03-03T09:00:00Z"), "resize-image", Start, None, None)
        .await;
    world
        .ping_at(
            t("2026-03-03T09:00:00.200Z"),
            "resize-image",
            Success,
            None,
            None,
        )
        .await;
    world.run_until(t("2026-04-01T00:00:00Z")).await;
    assert_eq!(
        world.seen(),
        [
            seen(Failed, "resize-image", t("2026-03-01T08:00:00Z")),
            seen(Recovered, "resize-image", t("2026-03-01T09:00:05Z")),
            seen(TimedOut, "resize-image", t("2026-03-01T12:10:00Z")),
            seen(Recovered, "resize-image", t("2026-03-02T09:01:00Z")),
            seen(TooShort, "resize-image", t("2026-03-03T09:00:00.200Z")),
        ],
        "and never a missed run in the month after"
    );
    assert_eq!(
        world.alerts[0].job.schedule, "on demand",
        "as alerts describe it"
    );
}
