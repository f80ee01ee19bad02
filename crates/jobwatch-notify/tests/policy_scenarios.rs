//! The environment policy and the alert-fatigue rules as the formatter applies them, through a
//! real store (SQLite) with an injected clock and a recording Slack: dev is silent, staging
//! gets one digest per 5 minutes, prod posts at once, critical mentions `@channel` and
//! escalates; an alert storm becomes a handful of messages that together account for every
//! occurrence; a recovery always arrives; a message Slack could not take is kept and flushed
//! later; the same alert delivered twice is posted once.

mod support;

use std::ops::Deref;

use jobwatch_core::{AlertEvent, AlertKind, JobSummary, Severity};
use jobwatch_notify::{Action, FlushReport, Outcome, Policy, Route, SnsRecord, classify};
use jobwatch_store::IncidentStore;
use serde_json::{Value, json};
use support::{Bench, header};

/// The bench of one environment, numbering the runs its alerts are about.
struct World {
    bench: Bench,
    next_run: u32,
}

impl Deref for World {
    type Target = Bench;

    fn deref(&self) -> &Bench {
        &self.bench
    }
}

impl World {
    fn new(environment: &str, mut policy: Policy) -> World {
        // These scenarios are about one job at a time: grouping, which holds a missed job's
        // message for its window, has its own (grouping_scenarios.rs).
        policy
            .group_window
            .get_or_insert(jobwatch_core::Duration::from_secs(0));
        World {
            bench: Bench::new(environment, policy),
            next_run: 0,
        }
    }

    fn event(&mut self, kind: AlertKind, job: &str, severity: Severity, secs: i64) -> AlertEvent {
        self.next_run += 1;
        let at = self.at(secs);
        let summary = JobSummary {
            slug: job.to_string(),
            schedule: "every 1m".into(),
            description: String::new(),
            tags: Vec::new(),
            tz: None,
            group: None,
            flapping: Default::default(),
        };
        let mut event = AlertEvent::new_about(kind, summary, severity, &self.environment, at, at);
        event.run_id = Some(format!("r{}", self.next_run));
        if kind == AlertKind::Failed {
            event.exit_code = Some(1);
        }
        event.with_id()
    }

    async fn alert(
        &mut self,
        kind: AlertKind,
        job: &str,
        severity: Severity,
        secs: i64,
    ) -> Outcome {
        let event = self.event(kind, job, severity, secs);
        self.send(&event, secs).await
    }

    async fn alarm(&self, state: &str, secs: i64, message_id: &str) -> Outcome {
        let doc = json!({
            "AlarmName": "jobwatch-prod-ingest-errors", "NewStateValue": state,
            "OldStateValue": if state == "OK" { "ALARM" } else { "OK" },
            "NewStateReason": "Threshold Crossed", "StateChangeTime": "2026-01-15T03:00:00.000+0000",
            "AlarmArn": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:jobwatch-prod-ingest-errors",
        });
        let incoming = classify(&SnsRecord {
            message_id: Some(message_id.into()),
            message: Some(doc.to_string()),
            ..SnsRecord::default()
        });
        self.notifier()
            .handle(&incoming, self.at(secs), Bench::deadline())
            .await
            .expect("handled")
    }
}

#[tokio::test]
async fn dev_is_silent_unless_the_debug_switch_is_on() {
    let mut dev = World::new("dev", Policy::default());
    for (kind, severity) in [
        (AlertKind::Failed, Severity::Critical),
        (AlertKind::Missed, Severity::Error),
        (AlertKind::Recovered, Severity::Critical),
    ] {
        let outcome = dev.alert(kind, "backup", severity, 0).await;
        assert_eq!(outcome.action, Action::LogOnly);
    }
    assert_eq!(dev.flush(3_600).await, FlushReport::default());
    assert!(dev.posted().is_empty(), "dev posts nothing");
    assert_eq!(
        dev.store.get_incident("job/dev/backup").await.expect("get"),
        None,
        "and keeps no state"
    );

    let debug = Policy {
        debug: true,
        ..Policy::default()
    };
    let mut dev = World::new("dev", debug);
    dev.alert(AlertKind::Failed, "backup", Severity::Warning, 0)
        .await;
    assert_eq!(dev.posted(), ["🔴 backup failed (exit status 1)"]);
}

#[tokio::test]
async fn staging_posts_one_digest_every_five_minutes() {
    let mut staging = World::new("staging", Policy::default());
    let first = staging
        .alert(AlertKind::Failed, "backup", Severity::Error, 10)
        .await;
    assert_eq!((first.action, first.delivered), (Action::Digested, 1));
    staging
        .alert(AlertKind::Late, "reports", Severity::Warning, 60)
        .await;
    staging
        .alert(AlertKind::Recovered, "backup", Severity::Error, 120)
        .await;
    assert!(staging.posted().is_empty(), "nothing at once");
    staging.flush(299).await;
    assert!(
        staging.posted().is_empty(),
        "nothing before the window closes"
    );

    let report = staging.flush(300).await;
    assert_eq!(report.delivered, 1);
    assert_eq!(
        staging.posted(),
        ["🗞️ staging digest: 3 notifications in 5 minutes (03:00–03:05 UTC)"]
    );
    let digest = serde_json::to_string(&staging.messages(Route::Slack)[0]).expect("json");
    for line in [
        "🔴 backup failed (exit status 1) · 03:00 UTC",
        "🐢 reports has not started yet · 03:01 UTC",
        "✅ backup is back up · 03:02 UTC",
    ] {
        assert!(digest.contains(line), "{line} in {digest}");
    }

    // The next window: one more digest; a critical alert does not wait for it.
    staging
        .alert(AlertKind::Missed, "heartbeat", Severity::Error, 330)
        .await;
    let critical = staging
        .alert(AlertKind::Failed, "payments", Severity::Critical, 340)
        .await;
    assert_eq!(critical.action, Action::Posted);
    assert_eq!(
        staging.posted().last().map(String::as_str),
        Some("🔴 payments failed (exit status 1)")
    );
    staging.flush(599).await;
    assert_eq!(staging.posted().len(), 2);
    staging.flush(601).await;
    assert_eq!(
        staging.posted()[2],
        "🗞️ staging digest: 1 notification in 5 minutes (03:05–03:10 UTC)"
    );
    staging.flush(1_200).await;
    assert_eq!(staging.posted().len(), 3, "each digest once");
}

#[tokio::test]
async fn prod_posts_at_once_and_critical_mentions_and_escalates() {
    let mut prod = World::new("prod", Policy::default());
    let warning = prod
        .alert(AlertKind::Slow, "reports", Severity::Warning, 0)
        .await;
    assert_eq!(
        warning.action,
        Action::LogOnly,
        "prod posts error and above"
    );
    prod.alert(AlertKind::Missed, "heartbeat", Severity::Error, 5)
        .await;
    assert_eq!(prod.posted(), ["⏰ heartbeat did not run"]);
    assert!(prod.messages(Route::Escalation).is_empty());
    let text = |p: &Value| p["text"].as_str().unwrap_or("").to_string();
    assert!(!text(&prod.messages(Route::Slack)[0]).contains("<!channel>"));

    prod.alert(AlertKind::Failed, "payments", Severity::Critical, 10)
        .await;
    let last = prod.messages(Route::Slack).last().cloned().expect("posted");
    assert!(
        text(&last).starts_with("<!channel> [prod] payments failed"),
        "{last}"
    );
    assert_eq!(
        prod.messages(Route::Escalation),
        [last],
        "and the same to the escalation webhook"
    );

    prod.alert(AlertKind::Recovered, "payments", Severity::Critical, 70)
        .await;
    let recovery = prod.messages(Route::Slack).last().cloned().expect("posted");
    assert_eq!(header(&recovery), "✅ payments is back up");
    assert!(
        !text(&recovery).contains("<!channel>"),
        "recoveries do not page"
    );
    assert_eq!(
        prod.messages(Route::Escalation).len(),
        2,
        "the escalation channel hears it too"
    );
}

/// The number of occurrences a message reports: 1 for an alert, the held count for a summary
/// (its text starts "N occurrences held back").
fn occurrences(payload: &Value) -> u32 {
    let blocks = payload["attachments"][0]["blocks"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    blocks
        .iter()
        .filter_map(|b| b["text"]["text"].as_str())
        .find(|t| t.contains(" held back"))
        .and_then(|t| t.split_whitespace().next()?.parse().ok())
        .unwrap_or(1)
}

#[tokio::test]
async fn twenty_five_identical_failures_in_ten_minutes_make_a_handful_of_messages() {
    let mut prod = World::new("prod", Policy::default());
    // A failure every 24 seconds; the sweeper flushes every minute.
    let mut sweeps = (60..=600).step_by(60).peekable();
    for n in 0..25i64 {
        let at = n * 24;
        while let Some(&sweep) = sweeps.peek()
            && sweep <= at
        {
            prod.flush(sweep).await;
            sweeps.next();
        }
        prod.alert(AlertKind::Failed, "backup", Severity::Error, at)
            .await;
    }
    for sweep in sweeps {
        if sweep < 600 {
            prod.flush(sweep).await;
        }
    }
    let recovery = prod
        .alert(AlertKind::Recovered, "backup", Severity::Error, 600)
        .await;
    assert!(recovery.is_settled());

    assert_eq!(
        prod.posted(),
        [
            "🔴 backup failed (exit status 1)",
            "🔴 backup failed 3 times in 5 minutes",
            "🔥 backup failed 10 times since 03:00 UTC and it goes on",
            "🔴 backup failed 3 more times",
            "🔴 backup failed 3 times in 5 minutes",
            "🔥 backup failed 20 times since 03:00 UTC and it goes on",
            "🔴 backup failed 5 more times before it recovered",
            "✅ backup is back up",
        ]
    );
    let messages = prod.messages(Route::Slack);
    let failures: u32 = messages[..messages.len() - 1].iter().map(occurrences).sum();
    assert_eq!(failures, 25, "every occurrence is in exactly one message");
    assert_eq!(
        prod.messages(Route::Escalation).len(),
        2,
        "the storm escalates twice"
    );
    assert!(
        messages[2]["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("<!channel>")),
        "escalations mention the channel"
    );
    assert_eq!(
        prod.flush(3_600).await,
        FlushReport::default(),
        "nothing left"
    );
}

#[tokio::test]
async fn held_occurrences_are_flushed_when_their_window_closes() {
    let mut prod = World::new("prod", Policy::default());
    prod.alert(AlertKind::TimedOut, "etl", Severity::Error, 0)
        .await;
    let held = prod
        .alert(AlertKind::TimedOut, "etl", Severity::Error, 30)
        .await;
    assert_eq!(held.action, Action::Held);
    assert_eq!(prod.flush(299).await.delivered, 0);
    assert_eq!(prod.flush(300).await.delivered, 1, "the sweeper's flush");
    assert_eq!(
        prod.posted(),
        [
            "⏰ etl is still running past its limit",
            "⏰ etl ran past its limit once more"
        ]
    );
    // Quiet for a whole window: the next one is news again.
    prod.alert(AlertKind::TimedOut, "etl", Severity::Error, 700)
        .await;
    assert_eq!(prod.posted().len(), 3);
    assert_eq!(prod.posted()[2], "⏰ etl is still running past its limit");
}

#[tokio::test]
async fn a_recovery_always_arrives() {
    // In prod, while occurrences are held.
    let mut prod = World::new("prod", Policy::default());
    prod.alert(AlertKind::Failed, "backup", Severity::Error, 0)
        .await;
    prod.alert(AlertKind::Missed, "backup", Severity::Error, 10)
        .await;
    prod.alert(AlertKind::Missed, "backup", Severity::Error, 20)
        .await;
    // More than a minute after the last outage message, so not held to watch for flapping.
    prod.alert(AlertKind::Recovered, "backup", Severity::Error, 90)
        .await;
    assert_eq!(
        prod.posted(),
        [
            "🔴 backup failed (exit status 1)",
            "⏰ backup did not run",
            "⏰ backup did not run once more before it recovered",
            "✅ backup is back up",
        ]
    );

    // Even when Slack fails at that moment: kept, and flushed after its backoff (by the next
    // formatter invocation or the sweeper).
    prod.alert(AlertKind::Failed, "backup", Severity::Error, 200)
        .await;
    *prod.slack.fail_next.lock().expect("lock") = 1;
    let failed = prod
        .alert(AlertKind::Recovered, "backup", Severity::Error, 270)
        .await;
    assert_eq!(failed.failed, 1, "{failed:?}");
    assert_eq!(prod.posted().len(), 5);
    assert_eq!(prod.flush(329).await.delivered, 0);
    assert_eq!(prod.flush(330).await.delivered, 1);
    assert_eq!(
        prod.posted()[4..],
        ["🔴 backup failed (exit status 1)", "✅ backup is back up"]
    );
}

#[tokio::test]
async fn a_message_slack_could_not_take_is_kept_and_sent_once() {
    let mut prod = World::new("prod", Policy::default());
    let event = prod.event(AlertKind::Failed, "backup", Severity::Error, 0);
    *prod.slack.fail_next.lock().expect("lock") = 1;
    let first = prod.send(&event, 0).await;
    assert_eq!((first.action, first.failed), (Action::Posted, 1));
    assert!(!first.is_settled(), "the invocation fails: Lambda retries");
    assert!(prod.posted().is_empty());

    // Lambda's retry (or the sweeper publishing it again) delivers it, once.
    let retry = prod.send(&event, 60).await;
    assert_eq!((retry.delivered, retry.failed), (1, 0));
    let again = prod.send(&event, 120).await;
    assert_eq!(again.action, Action::Duplicate);
    assert_eq!(prod.flush(3_600).await, FlushReport::default());
    assert_eq!(prod.posted(), ["🔴 backup failed (exit status 1)"]);

    // Or, without any retry, the next flush after its backoff.
    let event = prod.event(AlertKind::Missed, "heartbeat", Severity::Error, 200);
    *prod.slack.fail_next.lock().expect("lock") = 1;
    assert_eq!(prod.send(&event, 200).await.failed, 1);
    assert_eq!(prod.flush(230).await.delivered, 0, "waits for its backoff");
    assert_eq!(prod.flush(260).await.delivered, 1);
    assert_eq!(prod.send(&event, 300).await.action, Action::Duplicate);
    assert_eq!(
        prod.posted(),
        [
            "🔴 backup failed (exit status 1)",
            "⏰ heartbeat did not run"
        ]
    );
}

#[tokio::test]
async fn alarm_storms_are_summarised_and_ok_closes_them() {
    let prod = World::new("prod", Policy::default());
    assert_eq!(prod.alarm("ALARM", 0, "m1").await.action, Action::Posted);
    assert_eq!(prod.alarm("ALARM", 0, "m1").await.action, Action::Duplicate);
    assert_eq!(prod.alarm("ALARM", 20, "m2").await.action, Action::Held);
    assert_eq!(prod.alarm("ALARM", 40, "m3").await.action, Action::Posted);
    assert_eq!(prod.alarm("OK", 60, "m4").await.action, Action::Posted);
    assert_eq!(
        prod.alarm("ALARM", 80, "m5").await.action,
        Action::Posted,
        "a new incident"
    );
    assert_eq!(
        prod.posted(),
        [
            "🚨 jobwatch-prod-ingest-errors is in ALARM",
            "🚨 jobwatch-prod-ingest-errors went into ALARM 3 times in 5 minutes",
            "✅ jobwatch-prod-ingest-errors is OK",
            "🚨 jobwatch-prod-ingest-errors is in ALARM",
        ]
    );
}

/// The text of every block of a message, for assertions on what it says.
fn all_text(payload: &Value) -> String {
    payload["attachments"][0]["blocks"]
        .as_array()
        .map(|blocks| {
            blocks
                .iter()
                .map(|b| b["text"]["text"].as_str().unwrap_or("").to_string())
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn five_fail_ok_cycles_in_five_seconds_are_two_posts_that_count_every_change() {
    // With grouping off, and on (recoveries are grouped kinds): the same two posts.
    for group_window in [None, Some(jobwatch_core::Duration::from_secs(30))] {
        five_cycles(Policy {
            group_window,
            ..Policy::default()
        })
        .await;
    }
}

async fn five_cycles(policy: Policy) {
    let mut world = World::new("prod", policy);
    for cycle in 0..5 {
        world
            .alert(AlertKind::Failed, "flaky", Severity::Error, cycle)
            .await;
        world
            .alert(AlertKind::Recovered, "flaky", Severity::Error, cycle)
            .await;
    }
    for secs in [30, 60, 61, 600, 1800, 1805, 3600] {
        world.flush(secs).await;
    }
    let posted = world.messages(Route::Slack);
    assert_eq!(
        posted.iter().map(header).collect::<Vec<_>>(),
        ["🔴 flaky failed (exit status 1)", "🔁 flaky is flapping"],
        "the first failure at once, then one message for the rest"
    );
    let report = all_text(&posted[1]);
    assert!(
        report.contains("4 outages and 5 recoveries"),
        "1 + 9 = every change: {report}"
    );
    assert!(
        report.contains("Now *up*"),
        "the recovery is not lost: {report}"
    );
}

#[tokio::test]
async fn a_recovery_soon_after_its_failure_is_posted_a_minute_late_if_it_lasts() {
    let mut world = World::new("prod", Policy::default());
    world
        .alert(AlertKind::Failed, "backup", Severity::Error, 0)
        .await;
    let outcome = world
        .alert(AlertKind::Recovered, "backup", Severity::Error, 20)
        .await;
    assert_eq!(outcome.action, Action::Held);
    world.flush(59).await;
    assert_eq!(world.posted().len(), 1, "held for the settle minute");
    world.flush(60).await;
    assert_eq!(world.posted().len(), 2);
    assert_eq!(world.posted()[1], "✅ backup is back up");
}
