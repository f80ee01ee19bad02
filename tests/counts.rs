//! One truth for counts and slots: every slot that passes its grace without a ping is one
//! missed run record, and every count a person sees (still down, recovered, the run history,
//! the status table) is counted from those records. A ping answers the one slot it belongs to.

use jobwatch_core::AlertKind::{Missed, Recovered, StillDown};
use jobwatch_core::PingEvent::{Start, Success};
use jobwatch_core::{BadRuns, Duration, Ping, RunOutcome};
use jobwatch_store::JobLookup;
use jobwatch_tests::{World, seen, t};

/// The history's bad runs, counted as the status table counts them.
async fn history_counts(world: &World, slug: &str) -> BadRuns {
    let runs = world.engine.runs(slug, 1_000).await.expect("runs");
    BadRuns::count(&runs)
}

#[tokio::test]
async fn a_twenty_second_job_left_for_two_minutes_counts_the_same_everywhere() {
    let start = t("2026-12-02T03:55:00Z");
    let mut world = World::with_reminders(start, Duration::from_secs(60));
    world
        .define("poller", r#"{"every": "20s", "grace": "5s"}"#)
        .await;
    world
        .ping_at(t("2026-12-02T03:55:01Z"), "poller", Success, None, None)
        .await;
    world.run_until(t("2026-12-02T03:57:01Z")).await;
    world
        .ping_at(t("2026-12-02T03:57:10Z"), "poller", Success, None, None)
        .await;

    // Slots at :21, :41, 56:01, :21, :41, 57:01 passed their 5 s grace: six missed runs.
    assert_eq!(
        world.seen(),
        [
            seen(Missed, "poller", t("2026-12-02T03:55:26Z")),
            seen(StillDown, "poller", t("2026-12-02T03:56:26Z")),
            seen(Recovered, "poller", t("2026-12-02T03:57:10Z")),
        ]
    );
    let still_down = world.alerts[1].outage.clone().expect("outage so far");
    assert_eq!(
        (still_down.runs_missed, still_down.runs_failed),
        (4, 0),
        "the slots of :21, :41, 56:01 and 56:21 had passed by 56:26"
    );
    let recovered = world.alerts[2].outage.clone().expect("the outage");
    let history = history_counts(&world, "poller").await;
    assert_eq!((recovered.runs_missed, recovered.runs_failed), (6, 0));
    assert_eq!(
        (history.missed, history.failed),
        (6, 0),
        "the history holds the same six"
    );
    let runs = world.engine.runs("poller", 100).await.expect("runs");
    let missed_slots: Vec<_> = runs
        .iter()
        .filter(|r| r.outcome == RunOutcome::Missed)
        .filter_map(|r| r.expected_at)
        .collect();
    assert_eq!(
        missed_slots,
        [
            // 03:57:01's grace ran out at 03:57:06, before the ping at 03:57:10.
            t("2026-12-02T03:57:01Z"),
            t("2026-12-02T03:56:41Z"),
            t("2026-12-02T03:56:21Z"),
            t("2026-12-02T03:56:01Z"),
            t("2026-12-02T03:55:41Z"),
            t("2026-12-02T03:55:21Z"),
        ],
        "one record per slot, newest first"
    );
}

#[tokio::test]
async fn a_job_down_for_a_month_is_counted_without_a_month_of_records() {
    let start = t("2026-01-01T00:00:00Z");
    let mut world = World::new(start);
    world
        .define("minutely", r#"{"every": "1m", "grace": "0s"}"#)
        .await;
    world
        .ping_at(t("2026-01-01T00:00:30Z"), "minutely", Success, None, None)
        .await;
    world.run_until(t("2026-01-01T00:01:30Z")).await;
    // No sweep for a month (the sweeper was broken): the next ping catches everything up.
    let ping = Ping {
        event: Success,
        rid: None,
        body: None,
        source: None,
    };
    let receipt = world
        .engine
        .ping(
            JobLookup::Slug("minutely"),
            &ping,
            t("2026-01-31T00:01:00Z"),
        )
        .await
        .expect("ping");
    let recovered = receipt.alerts.last().expect("a recovery");
    assert_eq!(recovered.kind, Recovered);
    let outage = recovered.outage.clone().expect("the outage");
    assert_eq!(outage.runs_missed, 30 * 24 * 60, "every minute of 30 days");
    let runs = world.engine.runs("minutely", 10_000).await.expect("runs");
    assert!(
        runs.len() < 100,
        "a long catch-up is coalesced: {} records",
        runs.len()
    );
    assert_eq!(BadRuns::count(&runs).missed, outage.runs_missed);
}

#[tokio::test]
async fn a_ping_answers_the_slot_it_belongs_to() {
    let mut world = World::new(t("2026-12-02T03:54:30Z"));
    world
        .define("minutely", r#"{"schedule": "* * * * *", "grace": "1m"}"#)
        .await;
    // Two seconds early (clock skew): the 03:55 slot's run.
    world
        .ping_at(t("2026-12-02T03:54:58Z"), "minutely", Start, None, None)
        .await;
    // Its end answers no slot: the 03:56 run is still to come.
    world
        .ping_at(t("2026-12-02T03:55:45Z"), "minutely", Success, None, None)
        .await;
    world
        .ping_at(t("2026-12-02T03:56:00Z"), "minutely", Success, None, None)
        .await;
    // Nothing for 03:57 (its grace ran out at 03:58); 03:58:19 answers 03:58, not 03:57.
    world
        .ping_at(t("2026-12-02T03:58:19Z"), "minutely", Success, None, None)
        .await;
    let runs = world.engine.runs("minutely", 100).await.expect("runs");
    let filed: Vec<(&str, Option<jiff::Timestamp>)> = runs
        .iter()
        .rev()
        .map(|r| (r.outcome.as_str(), r.expected_at))
        .collect();
    assert_eq!(
        filed,
        [
            ("success", Some(t("2026-12-02T03:55:00Z"))),
            ("success", Some(t("2026-12-02T03:56:00Z"))),
            ("missed", Some(t("2026-12-02T03:57:00Z"))),
            ("success", Some(t("2026-12-02T03:58:00Z"))),
        ]
    );
    assert_eq!(
        world.job("minutely").await.state.expected,
        Some(t("2026-12-02T03:59:00Z"))
    );
}

#[tokio::test]
async fn new_means_never_pinged_even_after_a_pause_or_a_redefinition() {
    let mut world = World::new(t("2026-12-02T00:00:00Z"));
    world.define("backup", r#"{"every": "1h"}"#).await;
    assert_eq!(status(&world, "backup").await, "new");
    world
        .ping_at(t("2026-12-02T00:10:00Z"), "backup", Success, None, None)
        .await;
    world
        .engine
        .pause("backup", None, world.now)
        .await
        .expect("pause");
    world
        .engine
        .resume("backup", t("2026-12-02T00:20:00Z"))
        .await
        .expect("resume");
    world.now = t("2026-12-02T00:20:00Z");
    assert_eq!(
        status(&world, "backup").await,
        "up",
        "pinged before the pause"
    );
    world.define("backup", r#"{"every": "2h"}"#).await;
    assert_eq!(
        status(&world, "backup").await,
        "up",
        "and after a redefinition"
    );
}

async fn status(world: &World, slug: &str) -> &'static str {
    world.job(slug).await.state.status(world.now).as_str()
}
