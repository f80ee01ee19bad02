//! The formatter's work on one Lambda event: every SNS record classified and handled on its
//! own (one bad record never spoils the others), each jobwatch alert acknowledged in the
//! outbox once its delivery is settled (so the sweeper does not publish it again), then the
//! held summaries and digests that came due flushed. A test alert takes its own path
//! ([`crate::test_alert`]). What the AWS adapter adds around it is
//! only the deadline, metrics and the invocation's result.

use std::collections::BTreeMap;
use std::time::Instant;

use jiff::Timestamp;
use jobwatch_core::AlertEvent;
use jobwatch_store::Store;

use crate::dispatch::{FlushReport, Notifier, NotifyError, Sender};
use crate::incoming::{Incoming, Notice, SnsRecord, classify};

/// What became of a batch of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchOutcome {
    /// Each record's action name ([`crate::Action::name`], or `error`), in record order.
    pub actions: Vec<&'static str>,
    /// Records whose delivery is not settled: kept in the store, retried later.
    pub undelivered: usize,
    /// Why the first unsettled record is not settled (none when all are).
    pub cause: Option<Unsettled>,
    /// Messages kept for want of a webhook (its secret is missing): they wait for the next
    /// flushes, and the records count as handled.
    pub held: usize,
    /// The flush of held notifications, or why it failed (the next flush retries).
    pub flushed: Result<FlushReport, String>,
}

/// Why a record's delivery is not settled, for the invocation's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unsettled {
    /// Slack (or the digest it goes into) could not take a message in time.
    Delivery,
    /// The store refused the request for now, after retries.
    StoreThrottled(String),
    /// The store failed otherwise.
    Store(String),
    /// Others kept changing the same notification state.
    Contention,
}

impl Unsettled {
    fn of(error: &NotifyError) -> Unsettled {
        match error {
            NotifyError::Store(jobwatch_store::StoreError::Throttled(text)) => {
                Unsettled::StoreThrottled(text.clone())
            }
            NotifyError::Store(e) => Unsettled::Store(e.to_string()),
            NotifyError::Contention => Unsettled::Contention,
        }
    }
}

impl BatchOutcome {
    /// How many records ended with each action.
    pub fn tally(&self) -> BTreeMap<&'static str, u64> {
        let mut tally = BTreeMap::new();
        for action in &self.actions {
            *tally.entry(*action).or_insert(0) += 1;
        }
        tally
    }
}

impl<S: Store, T: Sender> Notifier<'_, S, T> {
    /// Handles every record, then flushes what came due, delivering until `deadline`.
    /// `outbox_token` names a jobwatch alert's outbox entry (the store's own rule), so a
    /// delivered alert is acknowledged there.
    pub async fn handle_batch(
        &self,
        records: &[SnsRecord],
        outbox_token: impl Fn(&AlertEvent) -> String,
        deadline: Instant,
    ) -> BatchOutcome {
        let mut outcome = BatchOutcome {
            actions: Vec::with_capacity(records.len()),
            undelivered: 0,
            cause: None,
            held: 0,
            flushed: Ok(FlushReport::default()),
        };
        for record in records {
            let incoming = classify(record);
            let line = incoming.notice.console_line();
            if let Notice::Alert(event) = &incoming.notice
                && let Some(status) = crate::test_alert::deliver(
                    self.store,
                    Some(self.sender),
                    event,
                    "the formatter",
                    deadline,
                )
                .await
            {
                // Settled whatever became of it: its record tells the asker, who tries again.
                self.acknowledge(&incoming, &outbox_token).await;
                let delivered = status == jobwatch_core::test_alert::DeliveryStatus::Delivered;
                outcome
                    .actions
                    .push(if delivered { "posted" } else { "error" });
                continue;
            }
            let action = match self.handle(&incoming, Timestamp::now(), deadline).await {
                Ok(handled) => {
                    tracing::info!(action = ?handled.action, delivered = handled.delivered, failed = handled.failed, held = handled.held, "{line}");
                    outcome.held += handled.held as usize;
                    if handled.is_settled() {
                        // A held message waits in the notification state, not the outbox.
                        self.acknowledge(&incoming, &outbox_token).await;
                    } else {
                        outcome.undelivered += 1;
                        outcome.cause.get_or_insert(Unsettled::Delivery);
                    }
                    handled.action.name()
                }
                Err(e) => {
                    tracing::error!(error = %e, "handling a message failed: {line}");
                    outcome.undelivered += 1;
                    outcome.cause.get_or_insert_with(|| Unsettled::of(&e));
                    "error"
                }
            };
            outcome.actions.push(action);
        }
        outcome.flushed = self
            .flush_due(Timestamp::now(), deadline)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "flushing held notifications failed; the sweeper retries");
                e.to_string()
            });
        outcome
    }

    /// Takes a jobwatch alert out of the outbox, so the sweeper does not publish it again.
    async fn acknowledge(
        &self,
        incoming: &Incoming,
        outbox_token: &impl Fn(&AlertEvent) -> String,
    ) {
        let event = match &incoming.notice {
            Notice::Alert(event) | Notice::UnknownKind { event, .. } => event,
            _ => return,
        };
        if let Err(e) = self.store.ack_alerts(&[outbox_token(event)]).await {
            tracing::warn!(alert = %event.id, error = %e, "acknowledging the alert failed; a republished copy will be recognised");
        }
    }
}
