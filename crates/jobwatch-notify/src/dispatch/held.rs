//! Documents that hold messages for a later flush, a staging digest or a group of
//! simultaneous trouble ([`HeldDoc`]): flushed and written one way, and a group line's
//! delivery, which joins it to its stored group.

use std::time::Instant;

use jiff::Timestamp;
use jobwatch_store::{ConflictRetry, IncidentRecord, Store, StoreError};

use super::{
    MAX_ATTEMPTS, Notifier, NotifyError, Outcome, Sender, Sent, claim_until, decode, encode,
};
use crate::slack::DeliveryError;
use crate::state::{self, DigestDoc, Outgoing};

/// A stored document that holds messages for a later flush (a staging digest, a group of
/// simultaneous trouble): flushed and written one way.
pub(crate) trait HeldDoc: serde::Serialize + serde::de::DeserializeOwned + Default {
    /// Closes the window once it has passed, queueing its message; claims what waits.
    fn flush(&mut self, now: Timestamp, claim_until: Timestamp) -> Vec<String>;
    /// When it must be flushed next.
    fn due(&self) -> Option<Timestamp>;
    fn outgoing(&self) -> &[Outgoing];
    /// When the store may forget it.
    fn expires_at(&self, now: Timestamp) -> Timestamp;
}

impl HeldDoc for DigestDoc {
    fn flush(&mut self, now: Timestamp, claim_until: Timestamp) -> Vec<String> {
        DigestDoc::flush(self, now, claim_until)
    }
    fn due(&self) -> Option<Timestamp> {
        DigestDoc::due(self)
    }
    fn outgoing(&self) -> &[Outgoing] {
        &self.outgoing
    }
    fn expires_at(&self, _now: Timestamp) -> Timestamp {
        self.end + state::retention()
    }
}

impl<S: Store, T: Sender> Notifier<'_, S, T> {
    /// Flushes one document that holds messages for later (a digest, a group): its window
    /// if closed, its messages that wait.
    pub(crate) async fn flush_held<D: HeldDoc>(
        &self,
        first: IncidentRecord,
        now: Timestamp,
        deadline: Instant,
        outcome: &mut Outcome,
    ) -> Result<(), NotifyError> {
        let until = claim_until(now, deadline);
        let key = first.key.clone();
        let mut record = Some(first);
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            let (mut doc, version): (D, u64) = decode(record.as_ref(), now);
            let ids = doc.flush(now, until);
            if ids.is_empty() && record.as_ref().and_then(|r| r.due_at) == doc.due() {
                return Ok(());
            }
            match self.write_held(&key, &doc, version, now).await {
                Ok(()) => {}
                Err(StoreError::Conflict) if retry.after_conflict().await => {
                    record = self.store.get_incident(&key).await?;
                    continue;
                }
                Err(StoreError::Conflict) => return Err(NotifyError::Contention),
                Err(e) => return Err(e.into()),
            }
            return self
                .deliver(&key, doc.outgoing(), &ids, now, deadline, outcome)
                .await;
        }
    }

    pub(crate) async fn write_held<D: HeldDoc>(
        &self,
        key: &str,
        doc: &D,
        version: u64,
        now: Timestamp,
    ) -> Result<(), StoreError> {
        self.store
            .put_incident(
                &IncidentRecord {
                    key: key.to_string(),
                    version: version + 1,
                    doc: encode(doc),
                    due_at: doc.due(),
                    expires_at: doc.expires_at(now),
                },
                version,
            )
            .await
    }
}

impl<S: Store, T: Sender> Notifier<'_, S, T> {
    /// Appends an alert's line to its group (the delivery of a [`Route::Group`] message).
    pub(crate) async fn add_to_group(&self, message: &Outgoing, now: Timestamp) -> Sent {
        let Ok(line) =
            serde_json::from_value::<crate::grouping::GroupLine>(message.payload.clone())
        else {
            return Sent::Rejected(DeliveryError::Rejected {
                status: 0,
                reason: "unreadable group line".into(),
            });
        };
        let key = line.key();
        let window = self.policy.grouping_window();
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            let record = match self.store.get_incident(&key).await {
                Ok(record) => record,
                Err(e) => return Sent::Failed(e.to_string()),
            };
            let (mut doc, version): (crate::grouping::GroupDoc, u64) = decode(record.as_ref(), now);
            doc.add(line.clone(), message.created_at, window, now);
            match self.write_held(&key, &doc, version, now).await {
                Ok(()) => return Sent::Delivered,
                Err(StoreError::Conflict) if retry.after_conflict().await => continue,
                Err(StoreError::Conflict) => {
                    return Sent::Failed("the group could not be written".into());
                }
                Err(e) => return Sent::Failed(e.to_string()),
            }
        }
    }
}

impl HeldDoc for crate::grouping::GroupDoc {
    fn flush(&mut self, now: Timestamp, claim_until: Timestamp) -> Vec<String> {
        crate::grouping::GroupDoc::flush(self, now, claim_until)
    }
    fn due(&self) -> Option<Timestamp> {
        crate::grouping::GroupDoc::due(self)
    }
    fn outgoing(&self) -> &[Outgoing] {
        &self.outgoing
    }
    fn expires_at(&self, now: Timestamp) -> Timestamp {
        now + state::retention()
    }
}
