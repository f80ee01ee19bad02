//! Recording how deliveries went, so that a post Slack accepted is never posted again. The
//! write that takes a delivered message out of the stored state is retried with backoff while
//! the invocation has time (DynamoDB throttling can outlast the SDK's own three attempts). If
//! it still cannot land, the process remembers the delivery in its [`Settlements`], writes it
//! first at its next handling or flush, and meanwhile never posts that message again: once
//! Slack answered 200, only the bookkeeping is left to do.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration as StdDuration, Instant};

use jiff::{SignedDuration, Timestamp};
use jobwatch_store::{ConflictRetry, Store, StoreError};

use super::{MAX_ATTEMPTS, Notifier, NotifyError, Sender, Sent, decode};
use crate::state::{DigestDoc, Outgoing, SubjectDoc, backoff};

/// The first wait before writing a delivery's record again; it doubles up to
/// [`SETTLE_WAIT_MAX`] while the deadline allows.
const SETTLE_WAIT: StdDuration = StdDuration::from_millis(200);
const SETTLE_WAIT_MAX: StdDuration = StdDuration::from_secs(2);

/// When a message kept for want of a webhook is tried again: soon (10 s, doubling), and never
/// later than the next minute's sweep, so it goes out within a minute of the secret being
/// put. Each try costs at most one secret read a minute: the sender caches the answer.
fn held_retry(attempts: u32) -> SignedDuration {
    SignedDuration::from_secs(10i64 << attempts.min(3)).min(SignedDuration::from_mins(1))
}

/// Messages this process delivered (or Slack refused for good) whose removal from the
/// stored state could not be written yet, by state key. Kept by whoever lives as long as the
/// process (the sender: the formatter's and sweeper's secret webhooks, `jobwatch serve`'s
/// webhooks), so a later invocation of the same process records them first and does not
/// post them again.
#[derive(Debug, Default)]
pub struct Settlements {
    unrecorded: Mutex<BTreeMap<String, BTreeSet<String>>>,
}

impl Settlements {
    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, BTreeSet<String>>> {
        self.unrecorded.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// How many messages wait for their delivery to be recorded.
    pub fn len(&self) -> usize {
        self.lock().values().map(BTreeSet::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether message `id` of the state under `key` was delivered and not yet recorded.
    pub fn contains(&self, key: &str, id: &str) -> bool {
        self.lock().get(key).is_some_and(|ids| ids.contains(id))
    }

    fn remember(&self, key: &str, ids: &[String]) {
        if ids.is_empty() {
            return;
        }
        self.lock()
            .entry(key.to_string())
            .or_default()
            .extend(ids.iter().cloned());
    }

    fn forget(&self, key: &str, ids: &[String]) {
        let mut unrecorded = self.lock();
        if let Some(remembered) = unrecorded.get_mut(key) {
            for id in ids {
                remembered.remove(id);
            }
            if remembered.is_empty() {
                unrecorded.remove(key);
            }
        }
    }

    fn snapshot(&self) -> Vec<(String, Vec<String>)> {
        self.lock()
            .iter()
            .map(|(key, ids)| (key.clone(), ids.iter().cloned().collect()))
            .collect()
    }
}

/// The ids whose sending is over (delivered, or refused for good): what must not be sent
/// again.
fn finished(results: &[(String, Sent)]) -> Vec<String> {
    results
        .iter()
        .filter(|(_, sent)| matches!(sent, Sent::Delivered | Sent::Rejected(_)))
        .map(|(id, _)| id.clone())
        .collect()
}

/// Takes finished messages out of `outgoing`; releases the others for a later try.
fn apply(outgoing: &mut Vec<Outgoing>, results: &[(String, Sent)], now: Timestamp) {
    for (id, sent) in results {
        match sent {
            Sent::Delivered | Sent::Rejected(_) => outgoing.retain(|o| &o.id != id),
            Sent::Failed(_) | Sent::Held(_) => {
                if let Some(o) = outgoing.iter_mut().find(|o| &o.id == id) {
                    let wait = match sent {
                        Sent::Held(_) => held_retry(o.attempts),
                        _ => backoff(o.attempts),
                    };
                    o.claimed_until = None;
                    o.retry_at = Some(now + wait);
                    o.attempts += 1;
                }
            }
        }
    }
}

impl<S: Store, T: Sender> Notifier<'_, S, T> {
    /// Whether message `id` of `key` was delivered by this process and only its recording
    /// is missing.
    pub(crate) fn already_delivered(&self, key: &str, id: &str) -> bool {
        self.sender
            .unrecorded()
            .is_some_and(|remembered| remembered.contains(key, id))
    }

    /// Writes the deliveries this process remembers (one attempt each: a store still
    /// throttled keeps them for the next time), before anything new is delivered.
    pub(crate) async fn record_unrecorded(&self, now: Timestamp) {
        let Some(remembered) = self.sender.unrecorded() else {
            return;
        };
        for (key, ids) in remembered.snapshot() {
            let results: Vec<(String, Sent)> =
                ids.iter().map(|id| (id.clone(), Sent::Delivered)).collect();
            match self.settle_once(&key, &results, now).await {
                Ok(()) => {
                    remembered.forget(&key, &ids);
                    tracing::info!(
                        key,
                        messages = ids.len(),
                        "recorded deliveries made earlier"
                    );
                }
                Err(e) => {
                    tracing::warn!(key, error = %e, "recording earlier deliveries failed again; they are still not posted twice");
                }
            }
        }
    }

    /// Records how each delivery of the state under `key` went. A failed write is tried
    /// again with backoff until `deadline`; if it never lands, what was delivered is
    /// remembered ([`Settlements`]) and the error returned (the invocation fails; its retry,
    /// or the next flush, records it first).
    pub(crate) async fn settle(
        &self,
        key: &str,
        results: &[(String, Sent)],
        now: Timestamp,
        deadline: Instant,
    ) -> Result<(), NotifyError> {
        let mut wait = SETTLE_WAIT;
        let mut tries = 1u32;
        loop {
            let error = match self.settle_once(key, results, now).await {
                Ok(()) => {
                    if let Some(remembered) = self.sender.unrecorded() {
                        remembered.forget(key, &finished(results));
                    }
                    return Ok(());
                }
                Err(e) => e,
            };
            let retryable = matches!(&error, NotifyError::Store(e) if e.is_retryable())
                || matches!(error, NotifyError::Contention);
            if retryable && Instant::now() + wait < deadline {
                tracing::warn!(key, error = %error, tries, wait_ms = wait.as_millis() as u64, "recording deliveries failed; trying again");
                tokio::time::sleep(wait).await;
                wait = (wait * 2).min(SETTLE_WAIT_MAX);
                tries += 1;
                continue;
            }
            let done = finished(results);
            match self.sender.unrecorded() {
                Some(remembered) if !done.is_empty() => {
                    remembered.remember(key, &done);
                    tracing::error!(key, error = %error, tries, messages = done.len(), "recording deliveries failed until the deadline; remembered, recorded first next time, never posted twice");
                }
                _ => {
                    tracing::error!(key, error = %error, tries, "recording deliveries failed until the deadline")
                }
            }
            return Err(error);
        }
    }

    /// One attempt (with its compare-and-set retries) at recording the deliveries.
    async fn settle_once(
        &self,
        key: &str,
        results: &[(String, Sent)],
        now: Timestamp,
    ) -> Result<(), NotifyError> {
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            let Some(record) = self.store.get_incident(key).await? else {
                return Ok(());
            };
            let written = if key.starts_with("group/") {
                let (mut doc, version): (crate::grouping::GroupDoc, u64) =
                    decode(Some(&record), Timestamp::UNIX_EPOCH);
                apply(&mut doc.outgoing, results, now);
                self.write_held(key, &doc, version, now).await
            } else if key.starts_with("digest/") {
                let (mut doc, version): (DigestDoc, u64) =
                    decode(Some(&record), Timestamp::UNIX_EPOCH);
                apply(&mut doc.outgoing, results, now);
                self.write_held(key, &doc, version, now).await
            } else {
                let (mut doc, version): (SubjectDoc, u64) =
                    decode(Some(&record), Timestamp::UNIX_EPOCH);
                apply(&mut doc.outgoing, results, now);
                self.write_subject(key, &doc, version, now).await
            };
            match written {
                Ok(()) => return Ok(()),
                Err(StoreError::Conflict) if retry.after_conflict().await => continue,
                Err(StoreError::Conflict) => return Err(NotifyError::Contention),
                Err(e) => return Err(e.into()),
            }
        }
    }
}
