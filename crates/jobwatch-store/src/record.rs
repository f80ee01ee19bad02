//! What a store keeps per job and per outbox entry.

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, JobSpec, JobState};

/// One job as stored: its definition, its state, and the version the compare-and-set uses.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub spec: JobSpec,
    pub state: JobState,
    /// Starts at 1 and goes up by one with every committed change.
    pub version: u64,
    /// SHA-256 (hex) of the job's ping UUID; the UUID itself is never stored.
    pub uuid_hash: String,
}

impl JobRecord {
    pub fn slug(&self) -> &str {
        self.spec.slug.as_str()
    }

    /// The moment the job next needs attention from a sweep; what stores index on.
    pub fn next_deadline(&self) -> Option<Timestamp> {
        self.state.next_deadline(&self.spec)
    }
}

/// An alert in the outbox, with the handle that acknowledges its delivery.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    /// Opaque to callers: pass it to [`crate::Outbox::ack_alerts`].
    pub token: String,
    pub event: AlertEvent,
}
