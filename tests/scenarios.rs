//! Scenario tests: the engine over a real SQLite store, driven by an injected clock through
//! days and months of schedule. Each asserts the exact alerts: kind, job, time and count.

use jobwatch_core::AlertKind::{Failed, Missed, Recovered, TimedOut, TooShort};
use jobwatch_core::PingEvent::{Exit, Fail, Start, Success};
use jobwatch_tests::{World, local, mins, secs, seen, t};

const SEOUL: &str = "Asia/Seoul";

#[tokio::test]
async fn a_daily_job_pinged_every_day_for_a_month_raises_no_alert() {
    let mut world = World::new(local("2026-01-01T00:00", SEOUL));
    world
        .define("report", r#"{"schedule": "0 9 * * *", "tz": "Asia/Seoul"}"#)
        .await;
    for day in 1..=30 {
        let at = local(&format!("2026-01-{day:02}T09:00:02"), SEOUL);
        world.run_job("report", at, mins(3)).await;
    }
    world.run_until(local("2026-01-31T08:00", SEOUL)).await;
    assert_eq!(world.seen(), []);
    assert_eq!(
        world.job("report").await.state.status(world.now).as_str(),
        "up"
    );
}

#[tokio::test]
async fn a_skipped_day_is_one_missed_alert_then_one_recovery_with_the_outage() {
    let mut world = World::new(local("2026-01-01T00:00", SEOUL));
    world
        .define(
            "report",
            r#"{"schedule": "0 9 * * *", "tz": "Asia/Seoul", "grace": "5m"}"#,
        )
        .await;
    for day in (1..=30).filter(|day| *day != 15) {
        let at = local(&format!("2026-01-{day:02}T09:00:02"), SEOUL);
        world.run_job("report", at, mins(3)).await;
    }
    world.run_until(local("2026-01-31T08:00", SEOUL)).await;

    let recovered_at = local("2026-01-16T09:03:02", SEOUL);
    assert_eq!(
        world.seen(),
        [
            seen(Missed, "report", local("2026-01-15T09:05", SEOUL)),
            seen(Recovered, "report", recovered_at)
        ]
    );
    let missed = &world.alerts[0];
    assert_eq!(missed.expected_at, Some(local("2026-01-15T09:00", SEOUL)));
    let outage = world.alerts[1]
        .outage
        .as_ref()
        .expect("recovery carries the outage");
    assert_eq!((outage.runs_missed, outage.runs_failed), (1, 0));
    assert_eq!(outage.since, local("2026-01-15T09:05", SEOUL));
    assert_eq!(
        outage.duration_ms,
        86_400_000 - 2 * 60_000 + 2_000,
        "09:05 to 09:03:02 the next day"
    );
    assert_eq!(
        world.outbox().await,
        world.seen(),
        "every alert is queued for delivery once"
    );
}

#[tokio::test]
async fn a_monthly_job_declared_and_never_pinged_is_missed_on_the_first() {
    let mut world = World::new(t("2026-01-15T12:00:00Z"));
    world
        .define("invoicing", r#"{"schedule": "0 10 1 * *", "grace": "30m"}"#)
        .await;
    world.run_until(t("2026-05-01T00:00:00Z")).await;
    assert_eq!(
        world.seen(),
        [seen(Missed, "invoicing", t("2026-02-01T10:30:00Z"))],
        "missed once on Feb 1st at 10:00 + grace; still down afterwards, so not announced again"
    );
}

#[tokio::test]
async fn a_start_without_finish_times_out_even_if_a_later_run_succeeds() {
    let mut world = World::new(t("2026-03-01T00:00:00Z"));
    world
        .define("etl", r#"{"schedule": "0 2 * * *", "max_runtime": "30m"}"#)
        .await;
    let stuck = "11111111-1111-4111-8111-111111111111";
    let retry = "22222222-2222-4222-8222-222222222222";
    world
        .ping_at(t("2026-03-01T02:00:00Z"), "etl", Start, Some(stuck), None)
        .await;
    world
        .ping_at(t("2026-03-01T02:10:00Z"), "etl", Start, Some(retry), None)
        .await;
    world
        .ping_at(t("2026-03-01T02:15:00Z"), "etl", Success, Some(retry), None)
        .await;
    world.run_until(t("2026-03-01T12:00:00Z")).await;

    assert_eq!(
        world.seen(),
        [seen(TimedOut, "etl", t("2026-03-01T02:30:00Z"))]
    );
    assert_eq!(
        world.alerts[0].run_id.as_deref(),
        Some(stuck),
        "the alert names the stuck run"
    );
    let runs = world.engine.runs("etl", 10).await.expect("runs");
    let outcomes: Vec<&str> = runs.iter().map(|r| r.outcome.as_str()).collect();
    assert_eq!(outcomes, ["success", "timed_out"], "newest first");
}

#[tokio::test]
async fn a_failure_alerts_at_once_with_its_exit_status_and_output() {
    let mut world = World::new(t("2026-03-01T00:00:00Z"));
    world.define("backup", r#"{"every": "1h"}"#).await;
    world
        .ping_at(t("2026-03-01T00:30:00Z"), "backup", Start, None, None)
        .await;
    world
        .ping_at(
            t("2026-03-01T00:31:00Z"),
            "backup",
            Exit(3),
            None,
            Some("copying...\ndisk full\n"),
        )
        .await;
    world
        .ping_at(t("2026-03-01T01:30:00Z"), "backup", Fail, None, None)
        .await;
    world
        .ping_at(t("2026-03-01T02:30:00Z"), "backup", Success, None, None)
        .await;

    assert_eq!(
        world.seen(),
        [
            seen(Failed, "backup", t("2026-03-01T00:31:00Z")),
            seen(Recovered, "backup", t("2026-03-01T02:30:00Z"))
        ],
        "the second failure comes while already down: counted, not announced again"
    );
    let failed = &world.alerts[0];
    assert_eq!(failed.exit_code, Some(3));
    assert_eq!(failed.duration_ms, Some(60_000));
    assert_eq!(
        failed.output_excerpt.as_deref(),
        Some("copying...\ndisk full")
    );
    let outage = world.alerts[1].outage.as_ref().expect("outage");
    assert_eq!((outage.runs_failed, outage.runs_missed), (2, 0));
    assert_eq!(outage.last_error.as_deref(), Some("reported failure"));
}

#[tokio::test]
async fn with_a_failure_threshold_of_two_only_the_second_failure_in_a_row_alerts() {
    let mut world = World::new(t("2026-03-01T00:00:00Z"));
    world
        .define("sync", r#"{"every": "1h", "failure_threshold": 2}"#)
        .await;
    world
        .ping_at(t("2026-03-01T00:10:00Z"), "sync", Fail, None, None)
        .await;
    world
        .ping_at(t("2026-03-01T00:20:00Z"), "sync", Success, None, None)
        .await;
    world
        .ping_at(t("2026-03-01T00:30:00Z"), "sync", Fail, None, None)
        .await;
    assert_eq!(
        world.seen(),
        [],
        "failures separated by a success never reach the threshold"
    );
    world
        .ping_at(t("2026-03-01T00:40:00Z"), "sync", Exit(1), None, None)
        .await;
    assert_eq!(
        world.seen(),
        [seen(Failed, "sync", t("2026-03-01T00:40:00Z"))]
    );
}

#[tokio::test]
async fn a_run_faster_than_min_runtime_is_too_short() {
    let mut world = World::new(t("2026-03-01T00:00:00Z"));
    world
        .define("dump", r#"{"every": "1d", "min_runtime": "1m"}"#)
        .await;
    world
        .run_job("dump", t("2026-03-01T03:00:00Z"), secs(2))
        .await;
    assert_eq!(
        world.seen(),
        [seen(TooShort, "dump", t("2026-03-01T03:00:02Z"))]
    );
    assert_eq!(world.alerts[0].duration_ms, Some(2_000));
    world
        .run_job("dump", t("2026-03-02T03:00:00Z"), mins(5))
        .await;
    assert_eq!(world.seen().last().map(|s| s.kind), Some(Recovered));
}

#[tokio::test]
async fn a_job_run_by_cron_across_both_new_york_dst_changes_raises_no_alert() {
    const NEW_YORK: &str = "America/New_York";
    let mut world = World::new(local("2026-02-28T12:00", NEW_YORK));
    world
        .define(
            "nightly",
            r#"{"schedule": "30 2 * * *", "tz": "America/New_York", "grace": "5m"}"#,
        )
        .await;
    let mut day = jiff::civil::date(2026, 3, 1);
    while day <= jiff::civil::date(2026, 11, 30) {
        // What cronie does: 02:30 does not exist on 2026-03-08, so the job runs right after the
        // gap, at 03:00 EDT; 02:30 on 2026-11-01 exists once (the repeated hour is 01:00-02:00).
        let at = if day == jiff::civil::date(2026, 3, 8) {
            t("2026-03-08T07:00:00Z")
        } else {
            local(&format!("{day}T02:30"), NEW_YORK)
        };
        world.run_job("nightly", at + secs(1), mins(10)).await;
        day = day.tomorrow().expect("next day");
    }
    world.run_until(local("2026-12-01T00:00", NEW_YORK)).await;
    assert_eq!(world.seen(), []);
}

#[tokio::test]
async fn after_a_three_hour_sweep_outage_each_affected_job_gets_one_backdated_alert() {
    let mut world = World::new(t("2026-04-01T06:00:00Z"));
    world
        .define("hourly", r#"{"schedule": "0 * * * *", "grace": "5m"}"#)
        .await;
    world
        .define("quarterly", r#"{"every": "15m", "grace": "2m"}"#)
        .await;
    world
        .define("healthy", r#"{"schedule": "*/10 * * * *", "grace": "1m"}"#)
        .await;
    world
        .define(
            "stuck",
            r#"{"schedule": "50 9 * * *", "max_runtime": "20m"}"#,
        )
        .await;
    // All is well until 10:00; sweeps run every minute.
    let mut at = t("2026-04-01T06:00:00Z");
    while at < t("2026-04-01T10:00:00Z") {
        world.now = at;
        world.sweep().await;
        let m = at.as_second() / 60 % 60;
        if m == 0 {
            world.run_job("hourly", at + secs(1), secs(30)).await;
        }
        if m % 15 == 0 {
            world.run_job("quarterly", at + secs(5), secs(10)).await;
        }
        if m % 10 == 0 {
            world.run_job("healthy", at + secs(1), secs(10)).await;
        }
        if at == t("2026-04-01T09:50:00Z") {
            world
                .ping_at(at + secs(1), "stuck", Start, None, None)
                .await;
        }
        at += mins(1);
    }
    assert_eq!(world.seen(), [], "nothing wrong before the outage");

    // From 10:00 the sweeper is stopped for 3 hours. `healthy` keeps running; the others don't.
    let mut at = t("2026-04-01T10:00:00Z");
    while at <= t("2026-04-01T13:00:00Z") {
        let session = world.engine.ping(
            jobwatch_store::JobLookup::Slug("healthy"),
            &jobwatch_core::Ping {
                event: Success,
                rid: None,
                body: None,
                source: None,
            },
            at + secs(1),
        );
        let receipt = session.await.expect("ping");
        world.alerts.extend(receipt.alerts);
        at += mins(10);
    }
    world.now = t("2026-04-01T13:00:30Z");
    world.sweep().await;
    world.sweep().await;
    world.now = t("2026-04-01T13:00:50Z");
    world.sweep().await;

    let mut seen = world.seen();
    seen.sort_by_key(|s| s.at);
    assert_eq!(
        seen,
        [
            // last ran at 09:45:15, so expected by 10:00:15 + 2m grace
            seen_at(Missed, "quarterly", "2026-04-01T10:02:15Z"),
            // 10:00 + 5m grace
            seen_at(Missed, "hourly", "2026-04-01T10:05:00Z"),
            // started 09:50:01 + 20m max_runtime
            seen_at(TimedOut, "stuck", "2026-04-01T10:10:01Z"),
        ],
        "one alert per affected job, at the real deadline, none twice"
    );
    assert!(
        world
            .alerts
            .iter()
            .all(|a| a.detected_at == t("2026-04-01T13:00:30Z")),
        "all found by the first sweep back"
    );
}

fn seen_at(kind: jobwatch_core::AlertKind, job: &str, at: &str) -> jobwatch_tests::Seen {
    seen(kind, job, t(at))
}

#[tokio::test]
async fn pausing_silences_a_job_and_resuming_starts_watching_afresh() {
    let mut world = World::new(t("2026-03-01T00:00:00Z"));
    world
        .define("maint", r#"{"every": "1h", "grace": "5m"}"#)
        .await;
    world
        .engine
        .pause("maint", Some(t("2026-03-01T05:00:00Z")), world.now)
        .await
        .expect("pause");
    world.run_until(t("2026-03-01T05:00:00Z")).await;
    assert_eq!(world.seen(), [], "no alert while paused");
    assert_eq!(
        world.job("maint").await.state.status(world.now).as_str(),
        "new",
        "resumed by itself"
    );
    world.run_until(t("2026-03-01T07:00:00Z")).await;
    assert_eq!(
        world.seen(),
        [seen(Missed, "maint", t("2026-03-01T06:05:00Z"))],
        "expected an hour after resuming"
    );
}

mod concurrency {
    use std::sync::Arc;

    use jobwatch_core::AlertKind;
    use jobwatch_core::{Ping, PingEvent};
    use jobwatch_store::{JobLookup, Outbox};
    use jobwatch_tests::{World, t};

    /// Many workers on one job, each retrying its own ping like a client would, interleaved
    /// with sweeps: every transition is committed, and alerted, exactly once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn concurrent_pings_and_sweeps_alert_each_transition_exactly_once() {
        let mut world = World::new(t("2026-05-01T00:00:00Z"));
        world
            .define("flappy", r#"{"every": "1h", "grace": "1m"}"#)
            .await;
        let engine = Arc::clone(&world.engine);
        let start = t("2026-05-01T00:00:00Z");
        let mut tasks = Vec::new();
        for worker in 0..8u32 {
            let engine = Arc::clone(&engine);
            tasks.push(tokio::spawn(async move {
                for i in 0..40u32 {
                    let now = start + jiff::SignedDuration::from_millis(i64::from(i * 8 + worker));
                    let event = if (i + worker) % 3 == 0 {
                        PingEvent::Fail
                    } else {
                        PingEvent::Success
                    };
                    let rid = format!("00000000-0000-4000-8000-{:012}", worker * 1000 + i);
                    let ping = Ping {
                        event,
                        rid: Some(rid),
                        body: None,
                        source: None,
                    };
                    // Every ping is sent twice, as a client retrying after a lost response would.
                    for _ in 0..2 {
                        engine
                            .ping(JobLookup::Slug("flappy"), &ping, now)
                            .await
                            .expect("ping");
                    }
                    engine.sweep(now).await.expect("sweep");
                }
            }));
        }
        for task in tasks {
            task.await.expect("worker");
        }
        let alerts = engine.store().pending_alerts(10_000).await.expect("outbox");
        let kinds: Vec<AlertKind> = alerts.iter().map(|a| a.event.kind).collect();
        assert!(
            !kinds.is_empty(),
            "the workload flips the job at least once"
        );
        for pair in kinds.windows(2) {
            assert_ne!(
                pair[0], pair[1],
                "down and up alternate: no transition announced twice: {kinds:?}"
            );
        }
        let runs = engine.runs("flappy", 1_000).await.expect("runs");
        assert_eq!(
            runs.len(),
            8 * 40,
            "each ping counted once despite the retries"
        );
        let failed_runs = runs
            .iter()
            .filter(|r| r.outcome.as_str() == "failed")
            .count();
        let expected_failures = (0..8u32)
            .flat_map(|w| (0..40u32).map(move |i| (i + w) % 3 == 0))
            .filter(|f| *f)
            .count();
        assert_eq!(failed_runs, expected_failures);
        let job = world.job("flappy").await;
        let last_is_down = kinds.last() == Some(&AlertKind::Failed);
        assert_eq!(
            job.state.health == jobwatch_core::Health::Down,
            last_is_down,
            "the last alert matches the state"
        );
    }

    /// A deadline seen by many sweepers at once is announced by exactly one of them.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn racing_sweeps_announce_a_missed_run_once() {
        let mut world = World::new(t("2026-05-01T00:00:00Z"));
        for n in 0..10 {
            world
                .define(&format!("job-{n}"), r#"{"every": "10m", "grace": "1m"}"#)
                .await;
        }
        let engine = Arc::clone(&world.engine);
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let engine = Arc::clone(&engine);
            tasks.push(tokio::spawn(async move {
                engine
                    .sweep(t("2026-05-01T00:30:00Z"))
                    .await
                    .expect("sweep")
                    .alerts
                    .len()
            }));
        }
        let mut total = 0;
        for task in tasks {
            total += task.await.expect("sweeper");
        }
        assert_eq!(total, 10, "one missed alert per job across all sweepers");
        assert_eq!(
            engine
                .store()
                .pending_alerts(100)
                .await
                .expect("outbox")
                .len(),
            10
        );
    }
}

mod warnings_and_reminders {
    use jobwatch_core::AlertKind::{Failed, Late, Missed, Recovered, Slow, StillDown};
    use jobwatch_core::PingEvent::{Fail, Start, Success};
    use jobwatch_tests::{World, mins, secs, seen, t};

    #[tokio::test]
    async fn a_job_still_down_is_announced_again_every_repeat_interval_until_it_recovers() {
        let mut world = World::with_reminders(
            t("2026-06-01T00:00:00Z"),
            jobwatch_core::Duration::from_hours(4),
        );
        // Daily jobs, so no further run is expected within the scenario.
        world.define("etl", r#"{"every": "1d"}"#).await;
        world
            .define("quiet", r#"{"every": "1d", "repeat_interval": 0}"#)
            .await;
        world
            .define("chatty", r#"{"every": "1d", "repeat_interval": "1h"}"#)
            .await;
        world
            .ping_at(t("2026-06-01T00:30:00Z"), "etl", Fail, None, None)
            .await;
        world
            .ping_at(t("2026-06-01T00:30:00Z"), "quiet", Fail, None, None)
            .await;
        world
            .ping_at(t("2026-06-01T00:30:00Z"), "chatty", Fail, None, None)
            .await;
        world
            .ping_at(t("2026-06-01T03:00:00Z"), "chatty", Success, None, None)
            .await;
        world
            .ping_at(t("2026-06-01T09:00:00Z"), "etl", Success, None, None)
            .await;
        world.run_until(t("2026-06-01T12:00:00Z")).await;
        let mut seen_alerts = world.seen();
        seen_alerts.sort_by_key(|s| (s.job.clone(), s.at));
        assert_eq!(
            seen_alerts,
            [
                seen(Failed, "chatty", t("2026-06-01T00:30:00Z")),
                seen(StillDown, "chatty", t("2026-06-01T01:30:00Z")),
                seen(StillDown, "chatty", t("2026-06-01T02:30:00Z")),
                seen(Recovered, "chatty", t("2026-06-01T03:00:00Z")),
                seen(Failed, "etl", t("2026-06-01T00:30:00Z")),
                seen(StillDown, "etl", t("2026-06-01T04:30:00Z")),
                seen(StillDown, "etl", t("2026-06-01T08:30:00Z")),
                seen(Recovered, "etl", t("2026-06-01T09:00:00Z")),
                seen(Failed, "quiet", t("2026-06-01T00:30:00Z")),
            ],
            "per-job interval, the deployment default, and none"
        );
        let reminder = world
            .alerts
            .iter()
            .find(|a| a.kind == StillDown && a.job.slug == "etl")
            .expect("reminder");
        let outage = reminder.outage.as_ref().expect("the outage so far");
        assert_eq!((outage.duration_ms, outage.runs_failed), (4 * 3_600_000, 1));
    }

    #[tokio::test]
    async fn a_job_that_asks_to_be_told_is_announced_late_once_per_slot() {
        let mut world = World::new(t("2026-06-01T00:00:00Z"));
        world
            .define(
                "report",
                r#"{"schedule": "0 6 * * *", "grace": "30m", "late_alert": true}"#,
            )
            .await;
        world
            .define("relaxed", r#"{"schedule": "0 6 * * *", "grace": "30m"}"#)
            .await;
        world
            .run_job("report", t("2026-06-01T06:10:00Z"), mins(2))
            .await;
        world
            .run_job("relaxed", t("2026-06-01T06:10:00Z"), mins(2))
            .await;
        world
            .run_job("report", t("2026-06-02T06:00:05Z"), mins(2))
            .await;
        world
            .run_job("relaxed", t("2026-06-02T06:00:05Z"), mins(2))
            .await;
        world.run_until(t("2026-06-02T12:00:00Z")).await;
        assert_eq!(
            world.seen(),
            [
                seen(Late, "report", t("2026-06-01T06:00:00Z")),
                seen(Late, "report", t("2026-06-02T06:00:00Z"))
            ],
            "late at the slot itself; started within grace, so never missed"
        );
        assert!(
            world
                .alerts
                .iter()
                .all(|a| a.severity == jobwatch_core::Severity::Warning)
        );
    }

    #[tokio::test]
    async fn a_run_three_times_slower_than_its_recent_p95_is_announced_before_it_times_out() {
        let mut world = World::new(t("2026-06-01T00:00:00Z"));
        world
            .define(
                "backup",
                r#"{"every": "1d", "grace": "1h", "max_runtime": "6h"}"#,
            )
            .await;
        let mut day = t("2026-06-01T02:00:00Z");
        for took in [10, 11, 12, 10, 13, 11] {
            world.run_job("backup", day, mins(took)).await;
            day += jiff::SignedDuration::from_hours(24);
        }
        assert_eq!(world.seen(), []);
        // p95 of the last runs is 13 minutes: slow after 39 minutes.
        world.ping_at(day, "backup", Start, None, None).await;
        world.run_until(day + mins(90)).await;
        world
            .ping_at(day + mins(95), "backup", Success, None, None)
            .await;
        assert_eq!(world.seen(), [seen(Slow, "backup", day + mins(39))]);
        assert_eq!(world.alerts[0].duration_ms, Some(39 * 60_000));
        let _ = (Missed, secs(0));
    }
}

mod daily_report {
    use jobwatch_core::{AlertKind, Status};
    use jobwatch_tests::{World, mins, t};

    #[tokio::test]
    async fn the_report_sums_up_the_last_day_worst_jobs_first() {
        let mut world = World::new(t("2026-06-01T00:00:00Z"));
        world
            .define("backup", r#"{"every": "1h", "grace": "10m"}"#)
            .await;
        world
            .define("invoices", r#"{"schedule": "0 8 * * *"}"#)
            .await;
        world.define("cleanup", r#"{"every": "12h"}"#).await;
        world
            .define("paused", r#"{"every": "1h", "paused": true}"#)
            .await;
        for hour in 0..24 {
            let at = t("2026-06-01T00:05:00Z") + jiff::SignedDuration::from_hours(hour);
            if hour == 20 {
                world
                    .ping_at(
                        at,
                        "backup",
                        jobwatch_core::PingEvent::Fail,
                        None,
                        Some("disk full"),
                    )
                    .await;
            } else {
                world.run_job("backup", at, mins(3 + hour % 2)).await;
            }
            if hour == 6 {
                world.run_job("cleanup", at + mins(10), mins(1)).await;
            }
        }
        let now = t("2026-06-02T00:00:00Z");
        world.run_until(now).await;

        // The report is built from the jobs' daily tallies alone (no run history is read).
        let event = world.engine.daily_report(now).await.expect("report");
        assert_eq!(event.kind, AlertKind::Report);
        let report = event.report.expect("report");
        assert_eq!(
            (report.jobs_total, report.jobs_down, report.jobs_paused),
            (4, 2, 1),
            "invoices missed, cleanup missed"
        );
        assert_eq!((report.failures, report.misses), (1, 2));
        assert_eq!(report.runs, 25, "24 backups (one failed) and one cleanup");
        let first = &report.jobs[0];
        assert_eq!(
            (first.slug.as_str(), first.status, first.misses),
            ("cleanup", Status::Down, 1)
        );
        let backup = report
            .jobs
            .iter()
            .find(|l| l.slug == "backup")
            .expect("backup line");
        assert_eq!(
            (backup.status, backup.runs, backup.failures),
            (Status::Up, 24, 1)
        );
        assert_eq!(backup.max_duration_ms, Some(4 * 60_000));
    }
}

/// A week of a small fleet with a sloppy sweeper: sweeps every minute except for two hours
/// missing one night, every sweep run twice, and pings arriving while sweeps run. The alerts
/// are exactly the expected set: nothing twice, nothing lost, each at its real deadline.
mod a_week_with_a_sloppy_sweeper {
    use std::sync::Arc;

    use jobwatch_core::AlertKind::{Failed, Missed, Recovered, TimedOut};
    use jobwatch_core::{Ping, PingEvent};
    use jobwatch_store::JobLookup;
    use jobwatch_tests::{Seen, World, mins, seen, t};

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn exactly_the_expected_alerts() {
        let mut world = World::new(t("2026-09-07T00:00:00Z"));
        world
            .define("hourly", r#"{"schedule": "0 * * * *", "grace": "5m"}"#)
            .await;
        world
            .define(
                "nightly",
                r#"{"schedule": "30 2 * * *", "grace": "10m", "max_runtime": "1h"}"#,
            )
            .await;
        world
            .define("flaky", r#"{"schedule": "*/15 * * * *", "grace": "2m"}"#)
            .await;
        let engine = Arc::clone(&world.engine);
        let start = t("2026-09-07T00:00:00Z");
        let ping = |slug: &'static str, event: PingEvent, at: jiff::Timestamp| {
            let engine = Arc::clone(&engine);
            async move {
                let receipt = engine
                    .ping(
                        JobLookup::Slug(slug),
                        &Ping {
                            event,
                            rid: None,
                            body: None,
                            source: None,
                        },
                        at,
                    )
                    .await
                    .expect("ping");
                receipt.alerts
            }
        };
        let mut alerts = Vec::new();
        for minute in 0..(7 * 24 * 60) {
            let now = start + mins(minute);
            let (day, hour, m) = (minute / 1440, minute / 60 % 24, minute % 60);
            // Pings of this minute, sent concurrently with the minute's (duplicated) sweeps.
            let mut pings = Vec::new();
            // hourly runs every hour except 10:00 and 11:00 on day 2.
            if m == 0 && !(day == 2 && (hour == 10 || hour == 11)) {
                pings.push(tokio::spawn(ping(
                    "hourly",
                    PingEvent::Success,
                    now + jiff::SignedDuration::from_secs(3),
                )));
            }
            // nightly starts at 02:30; on day 4 it hangs (no finish); otherwise takes 20 minutes.
            if hour == 2 && m == 30 {
                pings.push(tokio::spawn(ping(
                    "nightly",
                    PingEvent::Start,
                    now + jiff::SignedDuration::from_secs(1),
                )));
            }
            if hour == 2 && m == 50 && day != 4 {
                pings.push(tokio::spawn(ping("nightly", PingEvent::Success, now)));
            }
            // flaky fails at 12:00 on day 5, then runs fine again from 12:15.
            if m % 15 == 0 {
                let event = if day == 5 && hour == 12 && m == 0 {
                    PingEvent::Fail
                } else {
                    PingEvent::Success
                };
                pings.push(tokio::spawn(ping(
                    "flaky",
                    event,
                    now + jiff::SignedDuration::from_secs(2),
                )));
            }
            // The sweeper is down from 01:00 to 03:00 on day 3; otherwise it runs twice a minute.
            let sweeper_down = day == 3 && (1..3).contains(&hour);
            let sweep_at = now + jiff::SignedDuration::from_secs(30);
            let sweeps: Vec<_> = (0..if sweeper_down { 0 } else { 2 })
                .map(|_| {
                    let engine = Arc::clone(&engine);
                    tokio::spawn(async move { engine.sweep(sweep_at).await.expect("sweep").alerts })
                })
                .collect();
            for task in pings.into_iter().chain(sweeps) {
                alerts.extend(task.await.expect("task"));
            }
        }
        let mut got: Vec<Seen> = alerts
            .iter()
            .map(|a| seen(a.kind, &a.job.slug, a.at))
            .collect();
        got.sort_by_key(|s| (s.at, s.job.clone()));
        let mut expected = vec![
            seen(Missed, "hourly", t("2026-09-09T10:05:00Z")),
            seen(Recovered, "hourly", t("2026-09-09T12:00:03Z")),
            seen(TimedOut, "nightly", t("2026-09-11T03:30:01Z")),
            seen(Recovered, "nightly", t("2026-09-12T02:50:00Z")),
            seen(Failed, "flaky", t("2026-09-12T12:00:02Z")),
            seen(Recovered, "flaky", t("2026-09-12T12:15:02Z")),
        ];
        expected.sort_by_key(|s| (s.at, s.job.clone()));
        assert_eq!(
            got, expected,
            "two hours without sweeps, every sweep twice, pings during sweeps"
        );
        let _ = &mut world;
    }
}
