//! Notification state: what the Slack formatter (and `jobwatch serve`) remember between
//! messages to control alert fatigue and build digests, one versioned document per key.

use jiff::Timestamp;

/// One key's notification state. The store keeps it as given and never reads `doc` (its
/// shape belongs to `jobwatch-notify`); it indexes `due_at` and lets `expires_at` expire it.
#[derive(Debug, Clone, PartialEq)]
pub struct IncidentRecord {
    /// e.g. `job/prod/nightly-backup`, `alarm/jobwatch-prod-errors`, `digest/staging/<ms>`.
    pub key: String,
    /// Starts at 1 and goes up by one with every write (compare-and-set).
    pub version: u64,
    /// The state itself (JSON).
    pub doc: String,
    /// When something held in `doc` must be flushed; `None` when nothing waits.
    pub due_at: Option<Timestamp>,
    /// After this the record may be deleted (DynamoDB's TTL does it lazily, so readers compare
    /// it with their own clock rather than rely on expired records being gone).
    pub expires_at: Timestamp,
}
