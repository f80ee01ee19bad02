//! What the notification scenarios share: a recording Slack that can be told to fail, and a
//! bench of the notifier over a real SQLite store with an injected clock (seconds after a
//! fixed start), the way the formatter and `jobwatch serve` drive it.

#![allow(dead_code)] // each scenario file uses its own part of it

use std::sync::Mutex;
use std::time::{Duration as StdDuration, Instant};

use jiff::{SignedDuration, Timestamp};
use jobwatch_core::AlertEvent;
use jobwatch_notify::{
    DeliveryError, FlushReport, Incoming, Notifier, Outcome, Policy, Route, Sender,
};
use jobwatch_sqlite::SqliteStore;
use jobwatch_testkit::slack::check_slack_limits;
use serde_json::Value;

/// A Slack that records what it was sent, and fails the next posts when told to.
#[derive(Default)]
pub struct Recorder {
    pub sent: Mutex<Vec<(Route, Value)>>,
    pub fail_next: Mutex<u32>,
}

impl Sender for Recorder {
    async fn send(
        &self,
        route: Route,
        payload: &Value,
        _deadline: Instant,
    ) -> Result<(), DeliveryError> {
        let mut fail = self.fail_next.lock().expect("lock");
        if *fail > 0 {
            *fail -= 1;
            return Err(DeliveryError::GaveUp {
                attempts: 3,
                last: "HTTP 500 rollup_error".into(),
            });
        }
        self.sent
            .lock()
            .expect("lock")
            .push((route, payload.clone()));
        Ok(())
    }
}

/// The notifier of one environment over a fresh store, with a recording Slack.
pub struct Bench {
    pub store: SqliteStore,
    _dir: tempfile::TempDir,
    pub slack: Recorder,
    pub policy: Policy,
    pub environment: String,
    pub start: Timestamp,
}

/// A message's header (its first block's text).
pub fn header(payload: &Value) -> String {
    payload["attachments"][0]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

impl Bench {
    pub fn new(environment: &str, policy: Policy) -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("jobwatch.db")).expect("store");
        Bench {
            store,
            _dir: dir,
            slack: Recorder::default(),
            policy,
            environment: environment.to_string(),
            start: "2026-01-15T03:00:00Z".parse().expect("time"),
        }
    }

    /// `secs` seconds after the start.
    pub fn at(&self, secs: i64) -> Timestamp {
        self.start + SignedDuration::from_secs(secs)
    }

    pub fn notifier(&self) -> Notifier<'_, SqliteStore, Recorder> {
        Notifier {
            store: &self.store,
            sender: &self.slack,
            policy: &self.policy,
            environment: &self.environment,
        }
    }

    pub fn deadline() -> Instant {
        Instant::now() + StdDuration::from_secs(30)
    }

    /// Hands an alert to the notifier at `secs`.
    pub async fn send(&self, event: &AlertEvent, secs: i64) -> Outcome {
        self.notifier()
            .handle(
                &Incoming::alert(event.clone()),
                self.at(secs),
                Self::deadline(),
            )
            .await
            .expect("handled")
    }

    /// A flush at `secs` (the sweeper's every minute, or the next formatter invocation's).
    pub async fn flush(&self, secs: i64) -> FlushReport {
        self.notifier()
            .flush_due(self.at(secs), Self::deadline())
            .await
            .expect("flushed")
    }

    /// What reached `route`, in order; every Slack message is checked against Slack's limits.
    pub fn messages(&self, route: Route) -> Vec<Value> {
        let sent = self.slack.sent.lock().expect("lock");
        for (route, payload) in sent.iter() {
            if matches!(route, Route::Slack | Route::Escalation) {
                assert_eq!(check_slack_limits(payload), Ok(()), "{payload}");
            }
        }
        sent.iter()
            .filter(|(r, _)| *r == route)
            .map(|(_, p)| p.clone())
            .collect()
    }

    /// Headers of what reached the environment's webhook, in order.
    pub fn posted(&self) -> Vec<String> {
        self.messages(Route::Slack).iter().map(header).collect()
    }
}
