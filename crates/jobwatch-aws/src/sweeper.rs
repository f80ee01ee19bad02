//! The sweeper Lambda's work, per invocation: a sweep (every passed deadline applied by the
//! engine, the outbox's unacknowledged alerts published again, held Slack summaries and
//! digests flushed, gauges and the heartbeat put to CloudWatch) or the daily report.
//!
//! Catch-up needs no bookkeeping of its own: a deadline stays in the due index until a sweep
//! applies it, backdated to when it passed, so a late, failed or throttled invocation is made
//! good by the next one, and compare-and-set commits keep overlapping sweeps from alerting
//! twice.

use std::time::Instant;

use aws_sdk_cloudwatch::types::StandardUnit;
use jiff::Timestamp;
use jobwatch_core::Duration;
use jobwatch_dynamo::DynamoStore;
use jobwatch_notify::Policy;
use jobwatch_store::{
    AlertOutlet, Engine, EngineError, Handover, JobStore, StoreError, StoredAlert,
};
use serde_json::{Value, json};

use crate::metrics::MetricsPublisher;
use crate::publisher::AlertPublisher;
use crate::slack::SecretWebhooks;

/// Outbox entries read per sweep for publishing again.
const REPUBLISH_PAGE: usize = 100;
/// The longest a sweep spends flushing held notifications.
const FLUSH_BUDGET: std::time::Duration = std::time::Duration::from_secs(20);

/// Why an invocation failed (Lambda retries it; nothing committed is lost).
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    #[error("sweep failed: {0}")]
    Sweep(EngineError),
    #[error("counting jobs: {0}")]
    Count(StoreError),
    #[error("PutMetricData failed: {0}")]
    Metrics(String),
    #[error("daily report failed: {0}")]
    Report(EngineError),
    #[error("unknown mode '{0}': use \"sweep\" or \"report\"")]
    UnknownMode(String),
}

/// Everything a sweeper invocation uses, built once per cold start.
pub struct Sweeper {
    pub engine: Engine<DynamoStore>,
    /// The alert topic (none: alerts stay in the outbox).
    pub publisher: Option<AlertPublisher>,
    pub metrics: MetricsPublisher,
    pub webhooks: SecretWebhooks,
    pub policy: Policy,
    /// How long an alert may wait in the outbox before it is published again.
    pub republish_after: Duration,
}

/// The topic as the outbox's outlet: the formatter acknowledges what it delivered.
impl AlertOutlet for AlertPublisher {
    async fn hand_over(&self, alert: &StoredAlert) -> Handover {
        match self.publish(&alert.event).await {
            Ok(()) => Handover::Forwarded,
            Err(e) => {
                tracing::error!(alert = %alert.event.id, error = %e, "publishing failed");
                Handover::Failed
            }
        }
    }
}

impl Sweeper {
    /// One invocation: `{"mode": "report"}` for the daily report, anything else (EventBridge's
    /// scheduled event, `{"mode": "sweep"}`) for a sweep at `now`.
    pub async fn handle(&self, event: &Value, now: Timestamp) -> Result<Value, SweepError> {
        // Boxed: the sweep's future nests deep enough (engine, store, SDK paginators) to
        // overflow the compiler's layout query depth inside the runtime's future.
        match event.get("mode").and_then(Value::as_str) {
            Some("report") => Box::pin(self.report(now)).await,
            Some("sweep") | None => Box::pin(self.sweep(now)).await,
            Some(other) => Err(SweepError::UnknownMode(other.to_string())),
        }
    }

    /// One sweep at `now`: transitions, publishing again, flushing, gauges and heartbeat.
    pub async fn sweep(&self, now: Timestamp) -> Result<Value, SweepError> {
        let started = Instant::now();
        let report = self.engine.sweep(now).await.map_err(SweepError::Sweep)?;
        let republished = self.republish_stale(now).await;
        // Held summaries and digests whose window closed go out now, even if no new alert
        // wakes the formatter: between the two, nothing held waits more than a minute.
        let flushed = jobwatch_notify::flush_due(
            self.engine.store(),
            &self.webhooks,
            &self.policy,
            self.engine.environment(),
            now,
            Instant::now() + FLUSH_BUDGET,
        )
        .await
        .map_err(|e| tracing::error!(error = %e, "flushing held notifications failed; the next sweep retries"))
        .map(|report| report.delivered)
        .unwrap_or(0);
        let counts = self
            .engine
            .store()
            .status_counts(now)
            .await
            .map_err(SweepError::Count)?;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let metrics = [
            ("SweeperHeartbeat", StandardUnit::Count, 1.0),
            ("JobsDown", StandardUnit::Count, counts.down as f64),
            ("JobsLate", StandardUnit::Count, counts.late as f64),
            ("JobsRunning", StandardUnit::Count, counts.running as f64),
            (
                "DueJobsProcessed",
                StandardUnit::Count,
                report.jobs_examined as f64,
            ),
            (
                "SweepAlerts",
                StandardUnit::Count,
                report.alerts.len() as f64,
            ),
            ("SweepDurationMs", StandardUnit::Milliseconds, elapsed_ms),
        ];
        // A failed heartbeat is worth a retry of the whole invocation: the alarm on it would fire.
        self.metrics
            .put(&metrics, now)
            .await
            .map_err(SweepError::Metrics)?;
        Ok(json!({
            "mode": "sweep",
            "jobs_examined": report.jobs_examined,
            "jobs_changed": report.jobs_changed,
            "alerts": report.alerts.len(),
            "republished": republished,
            "flushed": flushed,
            "jobs_down": counts.down,
            "jobs_late": counts.late,
            "jobs_running": counts.running,
        }))
    }

    /// Alerts still in the outbox long after they were raised were not acknowledged by the
    /// formatter (the publish or the delivery failed): publish them again. The formatter
    /// de-duplicates by alert id.
    async fn republish_stale(&self, now: Timestamp) -> usize {
        let Some(publisher) = &self.publisher else {
            return 0;
        };
        let cutoff = now
            .checked_sub(self.republish_after.to_signed())
            .unwrap_or(now);
        match self
            .engine
            .deliver_outbox(publisher, cutoff, REPUBLISH_PAGE)
            .await
        {
            Ok(delivery) => delivery.handed_over - delivery.failed,
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox failed");
                0
            }
        }
    }

    /// The daily report of the environment, queued in the outbox and published at once (a
    /// failed publish is retried from the outbox by a later sweep).
    pub async fn report(&self, now: Timestamp) -> Result<Value, SweepError> {
        let event = self
            .engine
            .daily_report(now)
            .await
            .map_err(SweepError::Report)?;
        if let Some(publisher) = &self.publisher
            && let Err(e) = publisher.publish(&event).await
        {
            tracing::error!(error = %e, "publishing the report failed; a later sweep publishes it again");
        }
        let jobs = event.report.as_ref().map_or(0, |r| r.jobs_total);
        Ok(json!({"mode": "report", "jobs": jobs, "id": event.id}))
    }
}
