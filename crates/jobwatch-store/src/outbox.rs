//! The outbox's use cases, shared by `jobwatch serve` and the sweeper Lambda: the daily
//! report, queued like any other alert, and the delivery of what the outbox holds to an
//! [`AlertOutlet`] (the console and Slack locally; the SNS topic in AWS, where the formatter
//! acknowledges what it delivered).

use std::future::Future;

use jiff::Timestamp;
use jobwatch_core::AlertEvent;
use jobwatch_core::report::daily_report;

use crate::engine::{Engine, EngineError};
use crate::{Store, StoredAlert};

/// What became of one alert handed to an [`AlertOutlet`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handover {
    /// Delivered for good (or decided not to be delivered): acknowledge it now.
    Settled,
    /// Passed on to a transport whose consumer acknowledges it once delivered (SNS, read by
    /// the formatter): leave it in the outbox until then.
    Forwarded,
    /// Not delivered; try the next alert, and this one again at the next delivery.
    Failed,
    /// Not delivered, and the alerts after it must wait so they arrive in order.
    Blocked,
}

/// Where the alerts of the outbox go.
pub trait AlertOutlet: Send + Sync {
    fn hand_over(&self, alert: &StoredAlert) -> impl Future<Output = Handover> + Send;
}

/// What one delivery of the outbox did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Delivery {
    /// Alerts handed to the outlet.
    pub handed_over: usize,
    /// Alerts acknowledged as settled.
    pub settled: usize,
    /// Alerts that failed (or blocked) and wait in the outbox.
    pub failed: usize,
}

impl<S: Store> Engine<S> {
    /// Builds the report of the last report day ended by `at` and queues it in the outbox,
    /// from which it reaches people by the same path as every alert (and survives a crash).
    /// It reads the jobs only (their daily tallies), never their run history. Returns it.
    pub async fn daily_report(&self, at: Timestamp) -> Result<AlertEvent, EngineError> {
        let store = self.store();
        let inputs: Vec<_> = store
            .list_jobs()
            .await?
            .into_iter()
            .map(|job| (job.spec, job.state))
            .collect();
        let report = daily_report(self.environment(), &inputs, at, self.report_day());
        store.enqueue_alerts(std::slice::from_ref(&report)).await?;
        self.alerts_added().notify_one();
        Ok(report)
    }

    /// Hands the outbox's alerts raised at or before `raised_by` to `outlet`, oldest first, at
    /// most `limit`; acknowledges those it settled. An acknowledgement that fails leaves the
    /// alert in the outbox: it is handed over again, and recognised there by its id.
    pub async fn deliver_outbox(
        &self,
        outlet: &impl AlertOutlet,
        raised_by: Timestamp,
        limit: usize,
    ) -> Result<Delivery, EngineError> {
        let mut delivery = Delivery::default();
        let pending = self.store().pending_alerts(limit).await?;
        for alert in pending.iter().filter(|a| a.event.detected_at <= raised_by) {
            delivery.handed_over += 1;
            match outlet.hand_over(alert).await {
                Handover::Settled => {
                    match self
                        .store()
                        .ack_alerts(std::slice::from_ref(&alert.token))
                        .await
                    {
                        Ok(()) => delivery.settled += 1,
                        Err(e) => {
                            tracing::error!(alert = %alert.event.id, error = %e, "acknowledging an alert failed")
                        }
                    }
                }
                Handover::Forwarded => {}
                Handover::Failed => delivery.failed += 1,
                Handover::Blocked => {
                    delivery.failed += 1;
                    break;
                }
            }
        }
        Ok(delivery)
    }
}
