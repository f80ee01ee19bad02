//! Notifying through a [`Store`] and a [`Sender`]: the policy and fatigue decisions of
//! [`crate::state`], made durable with compare-and-set writes, then delivered. Shared by the
//! formatter Lambda, the sweeper Lambda (which calls [`flush_due`] every minute) and
//! `jobwatch serve`.
//!
//! Every decided message is written to the store, claimed by its deliverer until the
//! invocation's deadline, before it is sent, and leaves the store only once Slack took it (or
//! refused it for good). So a crash, a timeout or a Slack outage loses nothing: the message
//! becomes due again and the next [`flush_due`] (formatter or sweeper) delivers it; and a
//! notice delivered twice is posted once.
//!
//! Once Slack has taken a message, recording that is retried until it lands (the
//! [`settle`] submodule): a post Slack accepted is never posted again because the store was
//! throttled when it was to be recorded.

use std::future::Future;
use std::time::{Duration as StdDuration, Instant};

use jiff::{SignedDuration, Timestamp};
use jobwatch_store::{ConflictRetry, IncidentRecord, Store, StoreError};
use serde_json::Value;

use crate::incoming::Incoming;
use crate::policy::{Delivery, Policy};
use crate::slack::{DeliveryError, SlackClient};
use crate::state::{
    self, Action, DigestDoc, DigestLine, Outgoing, Route, SubjectDoc, digest_key, digest_window,
};

/// Compare-and-set attempts before giving up on a very contended key.
pub(crate) const MAX_ATTEMPTS: usize = 32;
/// Due records read per flush.
const FLUSH_PAGE: usize = 50;

/// Posts messages: the environment's webhook, and the escalation webhook when configured.
pub trait Sender: Send + Sync {
    /// Delivers `payload` to `route` ([`Route::Slack`] or [`Route::Escalation`]; an
    /// escalation without an escalation webhook is done at once), trying until `deadline`.
    fn send(
        &self,
        route: Route,
        payload: &Value,
        deadline: Instant,
    ) -> impl Future<Output = Result<(), DeliveryError>> + Send;

    /// The secret the webhook is read from before posting, if any (`slack-webhook-prod`): a
    /// test alert's delivery record shows reading it as a hop of its own.
    fn webhook_secret(&self) -> Option<&str> {
        None
    }

    /// Where this process remembers the messages it delivered whose recording in the store
    /// failed for longer than the invocation could wait ([`Settlements`]). `None`: not
    /// remembered (a recording that fails is retried within the invocation only).
    fn unrecorded(&self) -> Option<&Settlements> {
        None
    }
}

/// Fixed webhooks (`jobwatch serve`).
pub struct Webhooks {
    pub main: SlackClient,
    pub escalation: Option<SlackClient>,
    /// What was posted and could not be recorded yet (`Settlements::default()`).
    pub unrecorded: Settlements,
}

impl Sender for Webhooks {
    async fn send(
        &self,
        route: Route,
        payload: &Value,
        deadline: Instant,
    ) -> Result<(), DeliveryError> {
        match route {
            Route::Slack | Route::Digest | Route::Group => {
                self.main.post_until(payload, deadline).await
            }
            Route::Escalation => match &self.escalation {
                Some(client) => client.post_until(payload, deadline).await,
                None => Ok(()),
            },
        }
    }

    fn unrecorded(&self) -> Option<&Settlements> {
        Some(&self.unrecorded)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("notification state is changing too fast to update; retry")]
    Contention,
}

/// What became of one notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    pub action: Action,
    /// Messages delivered (to Slack, or into the digest).
    pub delivered: u32,
    /// Messages that could not be delivered yet: kept, retried later.
    pub failed: u32,
    /// Messages Slack refused for good (logged, counted).
    pub rejected: u32,
    /// Messages kept because there is no webhook to post to yet (its secret is missing):
    /// retried by the next flushes, without failing the invocation.
    pub held: u32,
}

impl Outcome {
    fn of(action: Action) -> Outcome {
        Outcome {
            action,
            delivered: 0,
            failed: 0,
            rejected: 0,
            held: 0,
        }
    }

    /// Nothing of it waits for a retry: its outbox entry may be acknowledged.
    pub fn is_settled(&self) -> bool {
        self.failed == 0
    }
}

/// What one flush did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushReport {
    pub records: u32,
    pub delivered: u32,
    pub failed: u32,
    pub rejected: u32,
    /// Kept for want of a webhook ([`Outcome::held`]).
    pub held: u32,
}

/// The policy, the store and the sender, for one deployment environment.
pub struct Notifier<'a, S, T> {
    pub store: &'a S,
    pub sender: &'a T,
    pub policy: &'a Policy,
    /// The deployment's environment (alarms and other messages do not name one).
    pub environment: &'a str,
}

mod held;
mod settle;

pub use settle::Settlements;

pub(crate) fn encode<D: serde::Serialize>(doc: &D) -> String {
    serde_json::to_string(doc).unwrap_or_else(|_| "{}".into())
}

/// A record's document, or a fresh one when it is missing, expired or unreadable.
pub(crate) fn decode<D: serde::de::DeserializeOwned + Default>(
    record: Option<&IncidentRecord>,
    now: Timestamp,
) -> (D, u64) {
    match record {
        None => (D::default(), 0),
        Some(record) if record.expires_at <= now => (D::default(), record.version),
        Some(record) => match serde_json::from_str(&record.doc) {
            Ok(doc) => (doc, record.version),
            Err(e) => {
                tracing::error!(key = %record.key, error = %e, "unreadable notification state; starting afresh");
                (D::default(), record.version)
            }
        },
    }
}

/// How a delivery went.
pub(crate) enum Sent {
    Delivered,
    Failed(String),
    Rejected(DeliveryError),
    /// Not sent: no webhook is configured yet.
    Held(String),
}

/// The claim lasts as long as the invocation may run.
pub(crate) fn claim_until(now: Timestamp, deadline: Instant) -> Timestamp {
    let left = deadline.saturating_duration_since(Instant::now()) + StdDuration::from_secs(5);
    now + SignedDuration::try_from(left.min(StdDuration::from_secs(15 * 60)))
        .unwrap_or(SignedDuration::from_mins(15))
}

impl<S: Store, T: Sender> Notifier<'_, S, T> {
    /// Handles one notice at `now`: the environment policy, de-duplication, fatigue; then
    /// delivers what was decided, until `deadline`.
    pub async fn handle(
        &self,
        incoming: &Incoming,
        now: Timestamp,
        deadline: Instant,
    ) -> Result<Outcome, NotifyError> {
        self.record_unrecorded(now).await;
        let notice = &incoming.notice;
        let environment = notice.environment(self.environment);
        let delivery = self
            .policy
            .delivery(environment, notice.severity(), notice.class());
        if delivery == Delivery::LogOnly {
            return Ok(Outcome::of(Action::LogOnly));
        }
        let delivery = crate::grouping::delivery(self.policy, notice, delivery);
        let key = state::subject_key(incoming, self.environment);
        let until = claim_until(now, deadline);
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            let record = self.store.get_incident(&key).await?;
            let (mut doc, version): (SubjectDoc, u64) = decode(record.as_ref(), now);
            let (action, ids) = match &incoming.id {
                Some(id) if doc.has_seen(id) => {
                    // Handled before: deliver what of it still waits (a retry after a
                    // failure), unless another invocation is delivering it right now.
                    let mine: Vec<&Outgoing> =
                        doc.outgoing.iter().filter(|o| &o.source == id).collect();
                    if mine.is_empty() {
                        return Ok(Outcome::of(Action::Duplicate));
                    }
                    if !mine.iter().any(|o| o.claimable(now)) {
                        return Ok(Outcome::of(Action::InFlight));
                    }
                    let ids: Vec<String> = doc
                        .outgoing
                        .iter_mut()
                        .filter(|o| &o.source == id && o.claimable(now))
                        .map(|o| {
                            o.claimed_until = Some(until);
                            o.id.clone()
                        })
                        .collect();
                    (Action::Posted, ids)
                }
                _ => {
                    let (action, ids) = state::plan(
                        &mut doc,
                        incoming,
                        delivery,
                        self.environment,
                        self.policy,
                        now,
                        until,
                    );
                    crate::grouping::wrap(&mut doc, incoming, &ids);
                    (action, ids)
                }
            };
            match self.write_subject(&key, &doc, version, now).await {
                Ok(()) => {}
                Err(StoreError::Conflict) if retry.after_conflict().await => continue,
                Err(StoreError::Conflict) => return Err(NotifyError::Contention),
                Err(e) => return Err(e.into()),
            }
            let mut outcome = Outcome::of(action);
            self.deliver(&key, &doc.outgoing, &ids, now, deadline, &mut outcome)
                .await?;
            return Ok(outcome);
        }
    }

    /// Flushes what is due at `now`: held summaries whose window has closed, digests whose
    /// window has closed, and messages whose delivery failed before or whose deliverer died.
    pub async fn flush_due(
        &self,
        now: Timestamp,
        deadline: Instant,
    ) -> Result<FlushReport, NotifyError> {
        let mut report = FlushReport::default();
        self.record_unrecorded(now).await;
        let due = self.store.due_incidents(now, FLUSH_PAGE).await?;
        for record in due {
            if Instant::now() >= deadline {
                break;
            }
            report.records += 1;
            let mut outcome = Outcome::of(Action::Posted);
            let result = if record.key.starts_with("digest/") {
                self.flush_held::<DigestDoc>(record, now, deadline, &mut outcome)
                    .await
            } else if record.key.starts_with("group/") {
                self.flush_held::<crate::grouping::GroupDoc>(record, now, deadline, &mut outcome)
                    .await
            } else {
                self.flush_subject(record, now, deadline, &mut outcome)
                    .await
            };
            if let Err(e) = result {
                tracing::error!(error = %e, "flushing notification state failed; the next flush retries");
            }
            report.delivered += outcome.delivered;
            report.failed += outcome.failed;
            report.rejected += outcome.rejected;
            report.held += outcome.held;
        }
        Ok(report)
    }

    async fn flush_subject(
        &self,
        first: IncidentRecord,
        now: Timestamp,
        deadline: Instant,
        outcome: &mut Outcome,
    ) -> Result<(), NotifyError> {
        let until = claim_until(now, deadline);
        let mut record = Some(first);
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            let (mut doc, version): (SubjectDoc, u64) = decode(record.as_ref(), now);
            let before = doc.clone();
            let ids = state::flush_subject(&mut doc, self.policy, now, until);
            let stale_due = record.as_ref().and_then(|r| r.due_at) != doc.due(self.policy);
            if ids.is_empty() && doc == before && !stale_due {
                return Ok(());
            }
            let key = match &record {
                Some(r) => r.key.clone(),
                None => return Ok(()),
            };
            match self.write_subject(&key, &doc, version, now).await {
                Ok(()) => {}
                Err(StoreError::Conflict) if retry.after_conflict().await => {
                    record = self.store.get_incident(&key).await?;
                    continue;
                }
                Err(StoreError::Conflict) => return Err(NotifyError::Contention),
                Err(e) => return Err(e.into()),
            }
            return self
                .deliver(&key, &doc.outgoing, &ids, now, deadline, outcome)
                .await;
        }
    }

    async fn write_subject(
        &self,
        key: &str,
        doc: &SubjectDoc,
        version: u64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.store
            .put_incident(
                &IncidentRecord {
                    key: key.to_string(),
                    version: version + 1,
                    doc: encode(doc),
                    due_at: doc.due(self.policy),
                    expires_at: now + state::retention(),
                },
                version,
            )
            .await
    }

    /// Sends the claimed messages `ids` of the state under `key` in order, then records how
    /// each went.
    pub(crate) async fn deliver(
        &self,
        key: &str,
        outgoing: &[Outgoing],
        ids: &[String],
        now: Timestamp,
        deadline: Instant,
        outcome: &mut Outcome,
    ) -> Result<(), NotifyError> {
        if ids.is_empty() {
            return Ok(());
        }
        let mut results = Vec::new();
        let mut told_held = false;
        for id in ids {
            let Some(message) = outgoing.iter().find(|o| &o.id == id) else {
                continue;
            };
            let sent = match message.route {
                // Delivered before, and only its recording failed: never posted again.
                _ if self.already_delivered(key, id) => Sent::Delivered,
                Route::Digest => self.add_to_digest(message, now).await,
                Route::Group => self.add_to_group(message, now).await,
                route => match self.sender.send(route, &message.payload, deadline).await {
                    Ok(()) => Sent::Delivered,
                    Err(e) if e.is_retryable() => Sent::Failed(e.to_string()),
                    Err(e) if e.is_not_configured() => Sent::Held(e.to_string()),
                    Err(e) => Sent::Rejected(e),
                },
            };
            match &sent {
                Sent::Delivered => outcome.delivered += 1,
                Sent::Held(reason) => {
                    outcome.held += 1;
                    // One line per event says what is missing and what to run; its other
                    // messages (a critical alert's escalation copy) are kept as quietly.
                    if told_held {
                        tracing::debug!(key, message = %id, "{reason}");
                    } else {
                        tracing::error!(key, message = %id, "{reason}");
                        told_held = true;
                    }
                }
                Sent::Failed(reason) => {
                    outcome.failed += 1;
                    tracing::warn!(key, message = %id, reason = %reason, "delivery failed; kept for a retry");
                }
                Sent::Rejected(e) => {
                    outcome.rejected += 1;
                    tracing::error!(key, message = %id, error = %e, text = %message.text(), "Slack refused the message for good; dropped (see the SlackPostFailures metric)");
                }
            }
            results.push((id.clone(), sent));
        }
        self.settle(key, &results, now, deadline).await
    }

    /// Appends a digest line to the open window (that of the line's creation, or the current
    /// one if that has been flushed meanwhile).
    async fn add_to_digest(&self, message: &Outgoing, now: Timestamp) -> Sent {
        let Ok(line) = serde_json::from_value::<DigestLine>(message.payload.clone()) else {
            return Sent::Rejected(DeliveryError::Rejected {
                status: 0,
                reason: "unreadable digest line".into(),
            });
        };
        let window = match self.policy.rule(self.environment).digest_window {
            Some(window) => window,
            None => self.policy.fatigue.window,
        };
        let environment = self.environment;
        for at in [message.created_at, now] {
            let (start, end) = digest_window(at, window);
            let key = digest_key(environment, start);
            let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
            loop {
                let record = match self.store.get_incident(&key).await {
                    Ok(record) => record,
                    Err(e) => return Sent::Failed(e.to_string()),
                };
                let (mut doc, version): (DigestDoc, u64) =
                    decode(record.as_ref(), Timestamp::UNIX_EPOCH);
                if version == 0 {
                    doc = DigestDoc::new(environment, start, end);
                }
                if !doc.add(line.clone()) {
                    break; // flushed already: into the next window
                }
                match self.write_held(&key, &doc, version, now).await {
                    Ok(()) => return Sent::Delivered,
                    Err(StoreError::Conflict) if retry.after_conflict().await => continue,
                    Err(StoreError::Conflict) => break,
                    Err(e) => return Sent::Failed(e.to_string()),
                }
            }
        }
        Sent::Failed("the digest window could not be written".into())
    }
}

/// Flushes what is due at `now` (held summaries and digests whose window closed, messages
/// waiting for a retry), delivering until `deadline`. The sweeper calls it every minute and
/// the formatter on every invocation; either one is enough for nothing held to be lost.
pub async fn flush_due<S: Store, T: Sender>(
    store: &S,
    sender: &T,
    policy: &Policy,
    environment: &str,
    now: Timestamp,
    deadline: Instant,
) -> Result<FlushReport, NotifyError> {
    Notifier {
        store,
        sender,
        policy,
        environment,
    }
    .flush_due(now, deadline)
    .await
}
