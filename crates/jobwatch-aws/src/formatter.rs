//! The formatter Lambda's work, per invocation: the records handled by
//! [`jobwatch_notify::Notifier::handle_batch`] within the invocation's time, one
//! `Notifications` metric per record, and the invocation's result. When a message cannot be
//! delivered in time, it stays in the table and the invocation fails, so Lambda's
//! asynchronous retries and the on-failure destination keep the event too.
//!
//! A message with no webhook to go to (the Slack secret is missing or unusable) is kept in
//! the table too, and the invocation succeeds: retrying the event cannot help until the
//! secret is put, and then the next minute's flush posts it.

use std::time::{Duration as StdDuration, Instant};

use jiff::Timestamp;
use jobwatch_dynamo::{DynamoStore, outbox_token};
use jobwatch_notify::{Notifier, Policy, Unsettled, sns_records};
use serde_json::{Value, json};

use crate::emf;
use crate::slack::SecretWebhooks;

/// Time kept back from the invocation's deadline for the writes after the last post.
const MARGIN: StdDuration = StdDuration::from_millis(1_500);

/// Some messages are kept for a retry: the invocation fails so Lambda retries it.
#[derive(Debug, thiserror::Error)]
#[error(
    "{undelivered} of {records} messages could not be delivered yet; they are kept and retried{}",
    cause_text(.cause)
)]
pub struct Undelivered {
    pub undelivered: usize,
    pub records: usize,
    /// Why the first of them was not (Slack, or the table).
    pub cause: Option<Unsettled>,
}

fn cause_text(cause: &Option<Unsettled>) -> String {
    match cause {
        Some(Unsettled::Delivery) => " (Slack did not take them in time)".into(),
        Some(Unsettled::StoreThrottled(e)) => format!(" (the table throttled: {e})"),
        Some(Unsettled::Store(e)) => format!(" (the table failed: {e})"),
        Some(Unsettled::Contention) => " (the notification state kept changing)".into(),
        None => String::new(),
    }
}

/// Everything a formatter invocation uses, built once per cold start.
pub struct Formatter {
    pub store: DynamoStore,
    pub webhooks: SecretWebhooks,
    pub policy: Policy,
    pub environment: String,
    /// The longest time spent delivering per invocation (none: all the invocation has).
    pub slack_timeout: Option<StdDuration>,
}

impl Formatter {
    /// The instant deliveries must end by, for an invocation whose deadline is
    /// `invocation_deadline_ms` (milliseconds since the epoch).
    fn deadline(&self, invocation_deadline_ms: u64) -> Instant {
        let now_ms = u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0);
        let left = StdDuration::from_millis(invocation_deadline_ms.saturating_sub(now_ms))
            .saturating_sub(MARGIN);
        let left = match self.slack_timeout {
            Some(limit) => left.min(limit),
            None => left,
        };
        Instant::now() + left
    }

    /// Handles one Lambda event (SNS records, or anything else as one record).
    pub async fn handle(
        &self,
        event: &Value,
        invocation_deadline_ms: u64,
    ) -> Result<Value, Undelivered> {
        let deadline = self.deadline(invocation_deadline_ms);
        let notifier = Notifier {
            store: &self.store,
            sender: &self.webhooks,
            policy: &self.policy,
            environment: &self.environment,
        };
        let records = sns_records(event);
        // Boxed: the batch's future nests deep enough (notifier, store, SDK) to overflow the
        // compiler's layout query depth inside the runtime's future.
        let outcome = Box::pin(notifier.handle_batch(&records, outbox_token, deadline)).await;
        emf::emit(outcome.actions.iter().map(|action| {
            emf::event_line(
                Timestamp::now(),
                &self.environment,
                "Notifications",
                Some(("Action", action)),
                1.0,
            )
        }));
        if outcome.undelivered > 0 {
            return Err(Undelivered {
                undelivered: outcome.undelivered,
                records: records.len(),
                cause: outcome.cause,
            });
        }
        let flushed = match &outcome.flushed {
            Ok(report) => json!({
                "records": report.records, "delivered": report.delivered,
                "failed": report.failed, "rejected": report.rejected, "held": report.held,
            }),
            Err(e) => json!({"error": e}),
        };
        Ok(json!({
            "records": records.len(), "actions": outcome.tally(), "held": outcome.held,
            "flushed": flushed,
        }))
    }
}
