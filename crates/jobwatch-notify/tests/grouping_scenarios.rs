//! Grouping simultaneous trouble as the formatter and `jobwatch serve` apply it, through a real
//! store (SQLite) with an injected clock and a recording Slack: ten jobs missing in the same
//! minute make one message naming all ten (while each keeps its own alert document), their
//! recoveries one more; groups are by the job's `group`, else the host, else the environment;
//! a lone alert is posted as its own message after the window; a duplicate posts nothing; and
//! only what posts at once is grouped.

mod support;

use std::ops::Deref;

use jiff::SignedDuration;
use jobwatch_core::{AlertEvent, AlertKind, Duration, JobSummary, PingSource, Severity};
use jobwatch_notify::{Action, FlushReport, Policy, Route};
use jobwatch_store::Outbox;
use serde_json::Value;
use support::{Bench, header};

/// Every text of a payload, to look for job names in.
fn all_text(payload: &Value) -> String {
    payload.to_string()
}

/// The bench of one environment, with alerts of jobs in groups and on hosts.
struct World(Bench);

impl Deref for World {
    type Target = Bench;

    fn deref(&self) -> &Bench {
        &self.0
    }
}

impl World {
    fn new(environment: &str, policy: Policy) -> World {
        World(Bench::new(environment, policy))
    }

    fn event(
        &self,
        kind: AlertKind,
        job: &str,
        group: Option<&str>,
        host: Option<&str>,
        secs: i64,
    ) -> AlertEvent {
        let at = self.at(secs);
        let summary = JobSummary {
            slug: job.to_string(),
            schedule: "every 1h".into(),
            description: String::new(),
            tags: Vec::new(),
            tz: Some("Europe/Berlin".into()),
            group: group.map(str::to_string),
            flapping: Default::default(),
        };
        let mut event =
            AlertEvent::new_about(kind, summary, Severity::Error, &self.environment, at, at);
        event.source = host.and_then(|h| PingSource::new(Some("192.0.2.7"), None, Some(h)));
        if kind == AlertKind::Missed {
            event.expected_at = Some(at - SignedDuration::from_mins(5));
        }
        event.with_id()
    }

    /// What reached the environment's webhook (each checked against Slack's limits).
    fn slack_messages(&self) -> Vec<Value> {
        self.messages(Route::Slack)
    }
}

#[tokio::test]
async fn ten_jobs_missing_together_make_one_message_and_their_recoveries_another() {
    let prod = World::new("prod", Policy::default());
    let jobs: Vec<String> = (1..=10).map(|i| format!("db-backup-{i:02}")).collect();
    // Each job's own alert document, as the sweeper commits them in one minute.
    let alerts: Vec<AlertEvent> = jobs
        .iter()
        .enumerate()
        .map(|(i, job)| {
            let secs = 5 + i64::try_from(i).expect("small") * 5;
            prod.event(AlertKind::Missed, job, Some("db-hosts"), Some("db-1"), secs)
        })
        .collect();
    prod.store.enqueue_alerts(&alerts).await.expect("outbox");
    let pending = prod.store.pending_alerts(100).await.expect("outbox");
    assert_eq!(pending.len(), 10, "every job keeps its own alert document");

    for (i, stored) in pending.iter().enumerate() {
        let secs = 5 + i64::try_from(i).expect("small") * 2;
        let outcome = prod.send(&stored.event, secs).await;
        assert_eq!(outcome.action, Action::Grouped);
        assert!(
            outcome.is_settled(),
            "held durably in the group: {outcome:?}"
        );
    }
    assert_eq!(
        prod.flush(34).await.delivered,
        0,
        "the window is still open"
    );
    assert!(prod.posted().is_empty());
    assert_eq!(prod.flush(35).await.delivered, 1, "the window closed");
    let messages = prod.slack_messages();
    assert_eq!(
        prod.posted(),
        ["🔴 10 jobs missed their runs (group db-hosts)"]
    );
    for job in &jobs {
        assert!(all_text(&messages[0]).contains(job), "{job} is named");
    }
    assert_eq!(
        messages[0]["text"],
        "[prod] 10 jobs missed their runs (group db-hosts)"
    );
    assert_eq!(
        prod.store.pending_alerts(100).await.expect("outbox").len(),
        10,
        "grouping acknowledges nothing by itself: the alert documents stay"
    );

    // The same alerts delivered again (an SNS retry, the sweeper publishing again): nothing.
    for stored in &pending {
        assert_eq!(prod.send(&stored.event, 60).await.action, Action::Duplicate);
    }
    assert_eq!(prod.flush(3_600).await.delivered, 0);
    assert_eq!(prod.posted().len(), 1);

    // Their recoveries: one message.
    for (i, job) in jobs.iter().enumerate() {
        let secs = 120 + i64::try_from(i).expect("small");
        let event = prod.event(
            AlertKind::Recovered,
            job,
            Some("db-hosts"),
            Some("db-1"),
            secs,
        );
        assert_eq!(prod.send(&event, secs).await.action, Action::Grouped);
    }
    assert_eq!(prod.flush(150).await.delivered, 1);
    let posted = prod.posted();
    assert_eq!(posted.len(), 2);
    assert_eq!(posted[1], "✅ 10 jobs recovered (group db-hosts)");
}

#[tokio::test]
async fn a_lone_missed_job_gets_its_own_message_after_the_window() {
    let prod = World::new("prod", Policy::default());
    let event = prod.event(AlertKind::Missed, "heartbeat", None, Some("web-9"), 300);
    assert_eq!(prod.send(&event, 300).await.action, Action::Grouped);
    assert_eq!(prod.flush(329).await.delivered, 0);
    assert_eq!(prod.send(&event, 320).await.action, Action::Duplicate);
    assert_eq!(prod.flush(330).await.delivered, 1);
    assert_eq!(prod.posted(), ["⏰ heartbeat did not run"]);
    // Exactly the message it would have had on its own.
    assert_eq!(
        prod.slack_messages()[0],
        jobwatch_notify::render_slack(&event),
        "a group of one is the alert's own message"
    );
    assert_eq!(prod.send(&event, 400).await.action, Action::Duplicate);
    assert_eq!(prod.flush(3_600).await, FlushReport::default());
    assert_eq!(prod.posted().len(), 1);
}

#[tokio::test]
async fn groups_are_by_job_group_then_host_then_environment() {
    let prod = World::new("prod", Policy::default());
    let alerts = [
        prod.event(AlertKind::TimedOut, "etl-a", None, Some("web-1"), 0),
        prod.event(AlertKind::TimedOut, "etl-b", None, Some("web-1"), 1),
        prod.event(AlertKind::Missed, "report-a", None, None, 2),
        prod.event(AlertKind::TimedOut, "report-b", None, None, 3),
        prod.event(
            AlertKind::Missed,
            "vacuum",
            Some("db-hosts"),
            Some("web-1"),
            4,
        ),
    ];
    for (i, event) in alerts.iter().enumerate() {
        let secs = i64::try_from(i).expect("small");
        assert_eq!(prod.send(event, secs).await.action, Action::Grouped);
    }
    prod.flush(60).await;
    let mut posted = prod.posted();
    posted.sort();
    assert_eq!(
        posted,
        [
            "⏰ vacuum did not run",
            "🔴 2 jobs missed their runs or ran past their limits (environment prod)",
            "🔴 2 jobs ran past their limits (host web-1)",
        ]
    );
}

#[tokio::test]
async fn only_missed_timed_out_and_recoveries_that_post_at_once_are_grouped() {
    let prod = World::new("prod", Policy::default());
    let failed = prod.event(AlertKind::Failed, "backup", Some("db-hosts"), None, 0);
    assert_eq!(prod.send(&failed, 0).await.action, Action::Posted);
    assert_eq!(
        prod.posted().len(),
        1,
        "a failure is about its own run: at once"
    );

    let staging = World::new("staging", Policy::default());
    let missed = staging.event(AlertKind::Missed, "backup", None, None, 0);
    assert_eq!(
        staging.send(&missed, 0).await.action,
        Action::Digested,
        "digest environments batch already"
    );

    let off = Policy {
        group_window: Some(Duration::from_secs(0)),
        ..Policy::default()
    };
    let ungrouped = World::new("prod", off);
    let missed = ungrouped.event(AlertKind::Missed, "backup", None, None, 0);
    assert_eq!(ungrouped.send(&missed, 0).await.action, Action::Posted);
    assert_eq!(ungrouped.posted(), ["⏰ backup did not run"]);
}

#[tokio::test]
async fn a_storm_is_cut_to_fit_slack() {
    let prod = World::new("prod", Policy::default());
    for i in 0..300 {
        let event = prod.event(AlertKind::Missed, &format!("job-{i:03}"), None, None, 0);
        prod.send(&event, 0).await;
    }
    prod.flush(30).await;
    let messages = prod.slack_messages();
    assert_eq!(messages.len(), 1);
    assert_eq!(
        header(&messages[0]),
        "🔴 300 jobs missed their runs (environment prod)"
    );
    assert!(all_text(&messages[0]).contains("and 260 more"));
}
