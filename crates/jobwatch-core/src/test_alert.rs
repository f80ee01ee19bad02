//! Test alerts: the alert a person asks for (`jobwatch doctor`, through
//! `POST /api/v1/test-alert`) to prove the whole path from the API to Slack, and the delivery
//! record its deliverer (the formatter Lambda, or `jobwatch serve`) leaves for the asker to
//! read at `GET /api/v1/test-alert/<id>`.
//!
//! A test alert is an ordinary alert event of kind `test`, so it travels exactly as a job alert
//! does (outbox, SNS topic, formatter); only its delivery differs: it is posted whatever the
//! environment's policy and never held, grouped or de-duplicated by fatigue control, because
//! a person is waiting for it.

use std::fmt;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::alert::{AlertEvent, AlertKind, JobSummary, PingSource};
use crate::job::{FlapSettings, Severity};

/// The `job.slug` of every test alert: no job has it (slugs of jobs are the user's, but a
/// test alert names no job, and consumers filtering on `kind` never need it).
pub const TEST_ALERT_SLUG: &str = "jobwatch-test-alert";

/// How long a delivery record is kept: long enough to read after a slow deploy, short enough
/// that test alerts leave nothing behind.
pub const RECORD_LIFETIME: SignedDuration = SignedDuration::from_hours(24);

/// The notification-state key of a test alert's delivery record.
pub fn record_key(id: &str) -> String {
    format!("test-alert/{id}")
}

/// Whether `id` can name a test alert: the API makes them as hyphenated UUIDs, so anything
/// else is refused before any store read.
pub fn valid_id(id: &str) -> bool {
    id.len() == 36
        && id.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

/// The alert event of test alert `id`, asked for at `requested_at` by `source` (the asker's
/// address, User-Agent and host, as a ping's source is kept).
pub fn event(
    environment: &str,
    id: &str,
    requested_at: Timestamp,
    source: Option<PingSource>,
) -> AlertEvent {
    let job = JobSummary {
        slug: TEST_ALERT_SLUG.to_string(),
        schedule: "on request".to_string(),
        description: String::new(),
        tags: Vec::new(),
        tz: None,
        group: None,
        flapping: FlapSettings::default(),
    };
    let mut event = AlertEvent::new_about(
        AlertKind::Test,
        job,
        Severity::Warning,
        environment,
        requested_at,
        requested_at,
    );
    // The run id carries the test alert's id, which also makes the event id unique.
    event.run_id = Some(id.to_string());
    event.source = source;
    event.with_id()
}

/// The id of a test alert event (`None` for every other event).
pub fn id_of(event: &AlertEvent) -> Option<&str> {
    if event.kind == AlertKind::Test {
        event.run_id.as_deref()
    } else {
        None
    }
}

/// Where a test alert's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeliveryStatus {
    /// Asked for, not yet delivered or failed.
    Pending,
    /// Slack accepted the post.
    Delivered,
    /// The deliverer could not post it (see the hops).
    Failed,
}

impl DeliveryStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryStatus::Pending => "pending",
            DeliveryStatus::Delivered => "delivered",
            DeliveryStatus::Failed => "failed",
        }
    }
}

impl fmt::Display for DeliveryStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One step of the path the server itself saw, in order: `queued` (in the outbox),
/// `published` (to the alert topic), `received` (by the deliverer), `secret` (the Slack
/// webhook secret read), `slack` (Slack's answer).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hop {
    pub name: String,
    pub ok: bool,
    /// In words, for a person: `published to the alert topic`, `Slack answered 404 ...`.
    pub detail: String,
}

impl Hop {
    pub fn new(name: &str, ok: bool, detail: impl Into<String>) -> Hop {
        Hop {
            name: name.to_string(),
            ok,
            detail: detail.into(),
        }
    }
}

/// Where a hop is on the path (unknown names last).
fn hop_rank(name: &str) -> usize {
    ["queued", "published", "received", "secret", "slack"]
        .iter()
        .position(|n| *n == name)
        .unwrap_or(usize::MAX)
}

/// A test alert's delivery record, as `GET /api/v1/test-alert/<id>` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryRecord {
    pub id: String,
    pub status: DeliveryStatus,
    /// One line: what happened, or what failed.
    pub detail: String,
    /// When the record was last written.
    pub at: Timestamp,
    #[serde(default)]
    pub hops: Vec<Hop>,
}

impl DeliveryRecord {
    /// The record of a test alert just asked for.
    pub fn pending(id: &str, at: Timestamp, hops: Vec<Hop>) -> DeliveryRecord {
        DeliveryRecord {
            id: id.to_string(),
            status: DeliveryStatus::Pending,
            detail: "waiting for the deliverer".to_string(),
            at,
            hops,
        }
    }

    /// Whether the deliverer is done with it (delivered or failed).
    pub fn is_final(&self) -> bool {
        self.status != DeliveryStatus::Pending
    }

    /// Adds `hop`, replacing an earlier one of the same name (a republished alert delivered
    /// again reports its latest try), in path order whoever wrote first.
    pub fn push_hop(&mut self, hop: Hop) {
        self.hops.retain(|h| h.name != hop.name);
        self.hops.push(hop);
        self.hops.sort_by_key(|h| hop_rank(&h.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(text: &str) -> Timestamp {
        text.parse().expect("time")
    }

    #[test]
    fn a_test_alert_is_an_alert_event_of_kind_test_named_by_its_id() {
        let id = "0b6e9f0c-3a51-4c38-9d7e-1f2a3b4c5d6e";
        let event = event("dev", id, t("2026-01-15T03:00:00Z"), None);
        assert_eq!(event.kind, AlertKind::Test);
        assert_eq!(id_of(&event), Some(id));
        assert_eq!(
            event.id,
            format!("dev/jobwatch-test-alert/test/1768446000000/{id}")
        );
        let json = serde_json::to_value(&event).expect("json");
        assert_eq!(json["kind"], "test");
        assert_eq!(json["schema_version"], 1);
    }

    #[test]
    fn only_uuids_name_test_alerts() {
        assert!(valid_id("0b6e9f0c-3a51-4c38-9d7e-1f2a3b4c5d6e"));
        for bad in [
            "",
            "x",
            "0b6e9f0c3a514c389d7e1f2a3b4c5d6e",
            "0b6e9f0c-3a51-4c38-9d7e-1f2a3b4c5d6g",
            "../../jobs/x-xxxx-xxxx-xxxx-xxxxxxxxxxxx",
        ] {
            assert!(!valid_id(bad), "{bad}");
        }
    }

    #[test]
    fn a_later_hop_of_the_same_name_replaces_the_earlier() {
        let mut record = DeliveryRecord::pending("i", t("2026-01-15T03:00:00Z"), vec![]);
        record.push_hop(Hop::new("slack", false, "Slack answered 500"));
        record.push_hop(Hop::new("slack", true, "Slack accepted the post"));
        record.push_hop(Hop::new("queued", true, "queued in the outbox"));
        assert_eq!(
            record.hops,
            vec![
                Hop::new("queued", true, "queued in the outbox"),
                Hop::new("slack", true, "Slack accepted the post")
            ]
        );
        assert!(!record.is_final());
    }
}
