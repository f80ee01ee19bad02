//! Test alerts (see [`jobwatch_core::test_alert`]): queued in the outbox like the daily report,
//! passed on at once like a committed alert, and their delivery records, kept in the
//! notification state under `test-alert/<id>` with compare-and-set writes, so the asker, the
//! publisher and the deliverer can each add what they saw without losing the others' part.

use jiff::Timestamp;
use jobwatch_core::test_alert::{self, DeliveryRecord, Hop, RECORD_LIFETIME};
use jobwatch_core::{AlertEvent, PingSource};

use crate::engine::{Engine, EngineError};
use crate::{ConflictRetry, IncidentRecord, IncidentStore, Store, StoreError};

/// Compare-and-set attempts on one record: only the asker, the publisher and a deliverer or
/// two ever write it.
const MAX_ATTEMPTS: usize = 16;

/// What asking for a test alert did.
#[derive(Debug, Clone, PartialEq)]
pub struct TestAlertReceipt {
    pub event: AlertEvent,
    /// The delivery record as the asker left it (queued, published or not).
    pub record: DeliveryRecord,
}

impl<S: Store> Engine<S> {
    /// Raises test alert `id` at `now`: its pending delivery record first (so a deliverer
    /// always finds one to complete), then the event in the outbox, then passed on as a
    /// committed alert is (the SNS topic in AWS; `jobwatch serve`'s delivery loop is woken).
    pub async fn raise_test_alert(
        &self,
        id: &str,
        source: Option<PingSource>,
        now: Timestamp,
    ) -> Result<TestAlertReceipt, EngineError> {
        let event = test_alert::event(self.environment(), id, now, source);
        let store = self.store();
        record_test_delivery(store, id, now, |record| {
            record.push_hop(Hop::new("queued", true, "queued in the outbox"));
        })
        .await?;
        store.enqueue_alerts(std::slice::from_ref(&event)).await?;
        self.alerts_added().notify_one();
        let passed_on = match self.observer() {
            Some(observer) => observer.queued(&event).await,
            None => Ok(None),
        };
        let hop = match passed_on {
            Ok(None) => None,
            Ok(Some(where_to)) => Some(Hop::new("published", true, where_to)),
            Err(e) => {
                tracing::error!(alert = %event.id, error = %e, "publishing the test alert failed; it stays in the outbox");
                Some(Hop::new(
                    "published",
                    false,
                    format!(
                        "publishing to the alert topic failed ({e}); the sweeper publishes it again from the outbox"
                    ),
                ))
            }
        };
        let record = match hop {
            Some(hop) => record_test_delivery(store, id, now, |r| r.push_hop(hop.clone())).await?,
            None => read_test_delivery(store, id, now)
                .await?
                .unwrap_or_else(|| DeliveryRecord::pending(id, now, Vec::new())),
        };
        Ok(TestAlertReceipt { event, record })
    }

    /// The delivery record of test alert `id`, if one was asked for (and has not expired).
    pub async fn test_alert_record(
        &self,
        id: &str,
        now: Timestamp,
    ) -> Result<Option<DeliveryRecord>, EngineError> {
        Ok(read_test_delivery(self.store(), id, now).await?)
    }
}

/// The delivery record of test alert `id` at `now` (`None`: none, or expired).
pub async fn read_test_delivery<S: IncidentStore>(
    store: &S,
    id: &str,
    now: Timestamp,
) -> Result<Option<DeliveryRecord>, StoreError> {
    let Some(stored) = store.get_incident(&test_alert::record_key(id)).await? else {
        return Ok(None);
    };
    if stored.expires_at <= now {
        return Ok(None);
    }
    serde_json::from_str(&stored.doc)
        .map(Some)
        .map_err(|e| StoreError::Corrupt(format!("test alert record {id}: {e}")))
}

/// Changes the delivery record of test alert `id` with `change` (a missing, expired or
/// unreadable one starts as pending), stamped `now` and kept for a day. Returns it as written.
pub async fn record_test_delivery<S: IncidentStore>(
    store: &S,
    id: &str,
    now: Timestamp,
    change: impl Fn(&mut DeliveryRecord),
) -> Result<DeliveryRecord, StoreError> {
    let key = test_alert::record_key(id);
    let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
    loop {
        let stored = store.get_incident(&key).await?;
        let version = stored.as_ref().map_or(0, |s| s.version);
        let mut record = stored
            .filter(|s| s.expires_at > now)
            .and_then(|s| serde_json::from_str::<DeliveryRecord>(&s.doc).ok())
            .unwrap_or_else(|| DeliveryRecord::pending(id, now, Vec::new()));
        change(&mut record);
        record.at = now;
        let doc = serde_json::to_string(&record)
            .map_err(|e| StoreError::Corrupt(format!("encoding a test alert record: {e}")))?;
        let written = store
            .put_incident(
                &IncidentRecord {
                    key: key.clone(),
                    version: version + 1,
                    doc,
                    due_at: None,
                    expires_at: now + RECORD_LIFETIME,
                },
                version,
            )
            .await;
        match written {
            Ok(()) => return Ok(record),
            Err(StoreError::Conflict) if retry.after_conflict().await => continue,
            Err(e) => return Err(e),
        }
    }
}
