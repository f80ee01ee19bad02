//! The notification state's documents, as stored per key, with their own bookkeeping:
//!
//! - a **subject** (`job/<env>/<slug>`, `alarm/<name>`, `message/<env>/<id>`) keeps the fatigue
//!   streak of each of its kinds, the ids it has handled (so a message delivered twice, or an
//!   alert published again by the sweeper, is posted once), and its **outgoing** messages:
//!   decided, not yet confirmed delivered. A message is claimed by whoever delivers it (until
//!   its invocation's deadline) and leaves the state only once Slack took it (or refused it for
//!   good), so a crash or an outage loses nothing: [`SubjectDoc::due`] brings it back.
//! - a **digest** (`digest/<env>/<window start ms>`) collects the lines of one window of a
//!   digest environment (staging) and becomes one message when the window closes.
//!
//! The decisions over them are in `crate::state`; their messages in `crate::render`.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use jobwatch_core::{Duration, Severity};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fatigue::Streak;
use crate::flapping::FlapState;
use crate::policy::{Delivery, Policy};

/// Ids remembered per subject for de-duplication.
pub const SEEN_KEPT: usize = 64;
/// Lines one digest lists (all are counted).
pub const DIGEST_LINES_KEPT: usize = 200;
/// How long state is kept after its last change.
pub fn retention() -> SignedDuration {
    SignedDuration::from_hours(24 * 7)
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// The environment's webhook.
    Slack,
    /// The escalation webhook (critical), when one is configured.
    Escalation,
    /// The environment's digest (the payload is a [`DigestLine`]).
    Digest,
    /// A group message of simultaneous trouble (the payload is a
    /// [`crate::grouping::GroupLine`]).
    Group,
}

/// A message decided but not yet confirmed delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    pub id: String,
    /// The id of the notice it came from (empty for flushed summaries).
    #[serde(default)]
    pub source: String,
    pub route: Route,
    pub payload: Value,
    pub created_at: Timestamp,
    /// Someone is delivering it until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<Timestamp>,
    /// It failed before; try again from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    #[serde(default)]
    pub attempts: u32,
}

impl Outgoing {
    /// When it is next to be delivered (by whoever flushes).
    pub fn next_at(&self) -> Timestamp {
        self.claimed_until
            .or(self.retry_at)
            .unwrap_or(self.created_at)
    }

    pub fn claimable(&self, now: Timestamp) -> bool {
        self.claimed_until.is_none_or(|until| until <= now)
    }

    /// The notification text of its payload, for logs.
    pub fn text(&self) -> String {
        self.payload["text"].as_str().unwrap_or("").to_string()
    }
}

/// Retry delays after failed deliveries: 1, 2, 4 ... up to 15 minutes.
pub fn backoff(attempts: u32) -> SignedDuration {
    SignedDuration::from_secs(60i64 << attempts.min(4)).min(SignedDuration::from_mins(15))
}

/// A fatigue streak with what its summaries need to say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreakEntry {
    #[serde(flatten)]
    pub streak: Streak,
    /// Plain text: the job or alarm name, and what it did (`failed`).
    pub subject: String,
    pub verb: String,
    pub icon: String,
    pub environment: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub id: String,
    pub at: Timestamp,
}

/// A subject's state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubjectDoc {
    #[serde(default)]
    pub streaks: BTreeMap<String, StreakEntry>,
    #[serde(default)]
    pub seen: Vec<Seen>,
    #[serde(default)]
    pub outgoing: Vec<Outgoing>,
    /// Numbers outgoing ids.
    #[serde(default)]
    pub next_message: u64,
    /// A job's recent health changes and any flapping period (see `crate::flapping`).
    #[serde(default, skip_serializing_if = "FlapState::is_empty")]
    pub flaps: FlapState,
}

/// One line of a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestLine {
    pub id: String,
    pub at: Timestamp,
    /// mrkdwn, escaped.
    pub text: String,
    #[serde(default)]
    pub recovery: bool,
}

// The documents of `crate::grouping`: one group of simultaneous trouble, held like a digest.

/// One alert in a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupLine {
    /// The alert's id.
    pub id: String,
    pub environment: String,
    pub recovery: bool,
    /// What the group is keyed by (`crate::grouping::group_of`).
    pub by: String,
    pub name: String,
    pub job: String,
    pub kind: String,
    /// mrkdwn, escaped.
    pub text: String,
    /// The alert's own message, posted if it stays alone (dropped once it has company).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub own: Option<Value>,
}

/// The open window of a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenGroup {
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default)]
    pub lines: Vec<GroupLine>,
    /// Lines beyond those kept, counted.
    #[serde(default)]
    pub more: u64,
}

/// One group's state: its open window, the ids it took, its messages not yet delivered.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GroupDoc {
    pub environment: String,
    pub recovery: bool,
    pub by: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<OpenGroup>,
    #[serde(default)]
    pub grouped: Vec<String>,
    #[serde(default)]
    pub next_message: u64,
    #[serde(default)]
    pub outgoing: Vec<Outgoing>,
}

impl SubjectDoc {
    pub fn has_seen(&self, id: &str) -> bool {
        self.seen.iter().any(|s| s.id == id)
    }

    pub(crate) fn remember(&mut self, id: &str, now: Timestamp) {
        self.seen.push(Seen {
            id: id.to_string(),
            at: now,
        });
        let excess = self.seen.len().saturating_sub(SEEN_KEPT);
        self.seen.drain(..excess);
    }

    /// When something in it must be acted on: held occurrences whose window closes, messages
    /// waiting for delivery, held health changes of a flapping job.
    pub fn due(&self, policy: &Policy) -> Option<Timestamp> {
        let held = self
            .streaks
            .values()
            .filter_map(|e| e.streak.due(&policy.fatigue));
        let outgoing = self.outgoing.iter().map(Outgoing::next_at);
        held.chain(outgoing).chain(self.flaps.due()).min()
    }

    pub(crate) fn push(
        &mut self,
        source: &str,
        route: Route,
        payload: Value,
        now: Timestamp,
        claim_until: Timestamp,
    ) -> String {
        self.next_message += 1;
        let id = format!("{}#{}", source_or_flush(source), self.next_message);
        self.outgoing.push(Outgoing {
            id: id.clone(),
            source: source.to_string(),
            route,
            payload,
            created_at: now,
            claimed_until: Some(claim_until),
            retry_at: None,
            attempts: 0,
        });
        id
    }

    /// Queues `payload` (a Slack message) and its digest line as `delivery` says; returns
    /// the ids queued.
    pub(crate) fn send(
        &mut self,
        source: &str,
        delivery: Delivery,
        payload: Value,
        line: DigestLine,
        now: Timestamp,
        claim_until: Timestamp,
    ) -> Vec<String> {
        match delivery {
            Delivery::LogOnly => Vec::new(),
            Delivery::Group(_) => vec![self.push(source, Route::Group, payload, now, claim_until)],
            Delivery::Digest(_) => {
                let line = serde_json::to_value(line).unwrap_or(Value::Null);
                vec![self.push(source, Route::Digest, line, now, claim_until)]
            }
            Delivery::Now { critical } => {
                let mut ids = Vec::new();
                if critical {
                    ids.push(self.push(
                        source,
                        Route::Escalation,
                        payload.clone(),
                        now,
                        claim_until,
                    ));
                }
                ids.insert(
                    0,
                    self.push(source, Route::Slack, payload, now, claim_until),
                );
                ids
            }
        }
    }

    /// Claims every waiting message whose claim is free; returns their ids.
    pub fn claim_waiting(
        &mut self,
        now: Timestamp,
        claim_until: Timestamp,
        only_due: bool,
    ) -> Vec<String> {
        self.outgoing
            .iter_mut()
            .filter(|o| o.claimable(now) && (!only_due || o.next_at() <= now))
            .map(|o| {
                o.claimed_until = Some(claim_until);
                o.id.clone()
            })
            .collect()
    }
}

fn source_or_flush(source: &str) -> &str {
    if source.is_empty() { "flush" } else { source }
}

/// One window of a digest environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestDoc {
    pub environment: String,
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default)]
    pub lines: Vec<DigestLine>,
    /// Lines beyond those kept, counted.
    #[serde(default)]
    pub more: u64,
    #[serde(default)]
    pub recoveries_only: bool,
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub outgoing: Vec<Outgoing>,
}

/// The digest window that `at` falls in: aligned to the window length.
pub fn digest_window(at: Timestamp, window: Duration) -> (Timestamp, Timestamp) {
    let len = i64::try_from(window.as_millis().max(1_000)).unwrap_or(i64::MAX);
    let start_ms = at.as_millisecond().div_euclid(len) * len;
    let start = Timestamp::from_millisecond(start_ms).unwrap_or(at);
    (start, start + SignedDuration::from_millis(len))
}

pub fn digest_key(environment: &str, start: Timestamp) -> String {
    format!("digest/{environment}/{}", start.as_millisecond())
}

impl Default for DigestDoc {
    fn default() -> Self {
        DigestDoc::new("", Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH)
    }
}

impl DigestDoc {
    pub fn new(environment: &str, start: Timestamp, end: Timestamp) -> DigestDoc {
        DigestDoc {
            environment: environment.to_string(),
            start,
            end,
            lines: Vec::new(),
            more: 0,
            recoveries_only: true,
            closed: false,
            outgoing: Vec::new(),
        }
    }

    /// Adds a line (once per id); false when the window was already flushed.
    pub fn add(&mut self, line: DigestLine) -> bool {
        if self.closed {
            return false;
        }
        if self.lines.iter().any(|l| l.id == line.id) {
            return true;
        }
        self.recoveries_only &= line.recovery;
        if self.lines.len() < DIGEST_LINES_KEPT {
            self.lines.push(line);
        } else {
            self.more += 1;
        }
        true
    }

    pub fn due(&self) -> Option<Timestamp> {
        let open = (!self.closed && !self.lines.is_empty()).then_some(self.end);
        open.into_iter()
            .chain(self.outgoing.iter().map(Outgoing::next_at))
            .min()
    }

    pub(crate) fn claim_waiting(&mut self, now: Timestamp, claim_until: Timestamp) -> Vec<String> {
        self.outgoing
            .iter_mut()
            .filter(|o| o.claimable(now) && o.next_at() <= now)
            .map(|o| {
                o.claimed_until = Some(claim_until);
                o.id.clone()
            })
            .collect()
    }
}
