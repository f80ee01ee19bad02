//! The sweeper Lambda's work, per invocation: a sweep (every passed deadline applied by the
//! engine, the outbox's unacknowledged alerts published again, held Slack summaries and
//! digests flushed, the gauge of down jobs written as an EMF line) or the daily report.
//!
//! Catch-up needs no bookkeeping of its own: a deadline stays in the due index until a sweep
//! applies it, backdated to when it passed, so a late, failed or throttled invocation is made
//! good by the next one, and compare-and-set commits keep overlapping sweeps from alerting
//! twice.

use std::time::Instant;

use jiff::Timestamp;
use jobwatch_core::Duration;
use jobwatch_dynamo::DynamoStore;
use jobwatch_notify::Policy;
use jobwatch_store::{
    AlertOutlet, Engine, EngineError, Handover, JobStore, StoreError, StoredAlert,
};

use crate::emf;
use serde_json::{Value, json};

use crate::publisher::AlertPublisher;
use crate::slack::SecretWebhooks;

/// How old an unacknowledged alert must be before a sweep publishes it again. Three times
/// the ingest's 10 s timeout, so a publish still in progress in the ingest is not raced;
/// a delivery still in progress in the formatter is recognised by its claim (the copy is
/// not posted). Sweeps run every minute, so an alert whose publish failed goes out again
/// at the next sweep or the one after (within 90 s), where 10 minutes was the default
/// before: the formatter recognises a copy by its id, so publishing early costs nothing
/// but a request.
pub const DEFAULT_REPUBLISH_AFTER: Duration = Duration::from_secs(30);

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
    pub webhooks: SecretWebhooks,
    pub policy: Policy,
    /// How long an alert may wait in the outbox before it is published again.
    pub republish_after: Duration,
    /// Set once this process has checked the table's one-time upgrades
    /// ([`DynamoStore::upgrade`]).
    pub upgraded: tokio::sync::OnceCell<()>,
    /// The web view's signing secret, which signs the links of the alerts a sweep raises
    /// (missed and timed-out runs).
    pub link_secret: Option<LinkSecret>,
}

/// The signing secret's id, read by the first sweep of a container that can read it.
pub struct LinkSecret {
    client: aws_sdk_secretsmanager::Client,
    id: String,
    read: tokio::sync::OnceCell<()>,
}

impl LinkSecret {
    pub fn new(client: &aws_sdk_secretsmanager::Client, id: String) -> LinkSecret {
        LinkSecret {
            client: client.clone(),
            id,
            read: tokio::sync::OnceCell::new(),
        }
    }
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

    /// One sweep at `now`: transitions, publishing again, flushing, and the gauge. (The
    /// sweeper's heartbeat is its own invocation count, which AWS/Lambda records for free.)
    pub async fn sweep(&self, now: Timestamp) -> Result<Value, SweepError> {
        let started = Instant::now();
        if self.upgraded.get().is_none() {
            match self.engine.store().upgrade().await {
                Ok(changed) => {
                    if changed > 0 {
                        tracing::info!(changed, "upgraded job items written by an earlier version");
                    }
                    let _ = self.upgraded.set(());
                }
                Err(e) => {
                    tracing::error!(error = %e, "upgrading the table failed; the next cold start retries")
                }
            }
        }
        self.sign_links().await;
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
        let jobs_down = self
            .engine
            .store()
            .jobs_down()
            .await
            .map_err(SweepError::Count)?;
        let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        emf::emit([emf::sweep_line(
            now,
            self.engine.environment(),
            jobs_down,
            &[
                ("DueJobsProcessed", report.jobs_examined as u64),
                ("SweepAlerts", report.alerts.len() as u64),
                ("SweepDurationMs", elapsed_ms),
            ],
        )]);
        Ok(json!({
            "mode": "sweep",
            "jobs_examined": report.jobs_examined,
            "jobs_changed": report.jobs_changed,
            "alerts": report.alerts.len(),
            "republished": republished,
            "flushed": flushed,
            "jobs_down": jobs_down,
        }))
    }

    /// Reads the signing secret once per container. Without it this sweep's alerts carry
    /// plain links (a login opens them) rather than no sweep at all; the next one retries.
    async fn sign_links(&self) {
        let Some(link) = &self.link_secret else {
            return;
        };
        if link.read.get().is_some() {
            return;
        }
        match crate::secrets::read_signing_secret(&link.client, &link.id).await {
            Ok(secret) => {
                self.engine
                    .set_link_signer(jobwatch_core::links::Signer::new(secret.as_bytes()));
                let _ = link.read.set(());
            }
            Err(e) => tracing::error!(error = %e, "links in this sweep's alerts are not signed"),
        }
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
