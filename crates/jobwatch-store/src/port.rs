//! The storage port: what jobwatch needs from a database, as four focused traits (jobs and
//! their runs, the alert outbox, notification state, settings) and [`Store`], their union,
//! for callers that need all of them.
//!
//! Every future is `Send` so a store can be shared across a multi-threaded runtime.

use std::future::Future;

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, Run};

use crate::{IncidentRecord, JobRecord, StoredAlert};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The compare-and-set lost: someone else changed the job first. Re-read and retry.
    #[error("the job was changed concurrently (version conflict)")]
    Conflict,
    #[error("a job with this slug already exists")]
    AlreadyExists,
    /// A stored document could not be read back (corruption or an incompatible version).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The database itself failed (I/O, network, a refused request).
    #[error("storage backend failed: {0}")]
    Backend(String),
    /// The database refused the request for now (DynamoDB throttling, a busy SQLite file):
    /// the same request later is expected to succeed.
    #[error("storage throttled: {0}")]
    Throttled(String),
}

impl StoreError {
    /// Whether the same request may succeed if tried again a little later: throttling, and
    /// backend failures (a dropped connection looks the same as a refused request from
    /// here). A conflict is retried by re-reading instead ([`crate::ConflictRetry`]).
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Throttled(_) | StoreError::Backend(_))
    }
}

/// A job's new state to commit, with the effects that must land atomically with it.
#[derive(Debug, Clone, Copy)]
pub struct Commit<'a> {
    /// The new record; its `version` must be `expected_version + 1`.
    pub record: &'a JobRecord,
    pub expected_version: u64,
    pub runs: &'a [Run],
    pub alerts: &'a [AlertEvent],
}

/// Jobs and their run history: every state change is a compare-and-set on the job's version.
pub trait JobStore: Send + Sync + 'static {
    /// Adds a new job; [`StoreError::AlreadyExists`] if the slug is taken.
    fn create_job(&self, record: &JobRecord)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_job(
        &self,
        slug: &str,
    ) -> impl Future<Output = Result<Option<JobRecord>, StoreError>> + Send;

    /// Finds a job by the hash of its ping UUID.
    fn find_job_by_uuid_hash(
        &self,
        uuid_hash: &str,
    ) -> impl Future<Output = Result<Option<JobRecord>, StoreError>> + Send;

    /// All jobs, ordered by slug.
    fn list_jobs(&self) -> impl Future<Output = Result<Vec<JobRecord>, StoreError>> + Send;

    /// Replaces the job's record if its stored version is still `expected_version`, and in the
    /// same atomic step upserts the runs (by job and `seq`) and appends the alerts to the
    /// outbox (an alert whose id is already there is not added again).
    fn commit(&self, commit: Commit<'_>) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a job and its runs; false if there was none.
    fn delete_job(&self, slug: &str) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Jobs whose next deadline is at or before `now`, earliest first, at most `limit`.
    fn due_jobs(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<JobRecord>, StoreError>> + Send;

    /// The earliest next deadline of any job, if any.
    fn earliest_deadline(
        &self,
    ) -> impl Future<Output = Result<Option<Timestamp>, StoreError>> + Send;

    /// A job's runs, newest first.
    fn runs(
        &self,
        slug: &str,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Run>, StoreError>> + Send;

    /// How many jobs are down (the sweeper's gauge), from an index that only down jobs enter:
    /// no scan, and no index write while jobs run normally.
    fn jobs_down(&self) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The alert outbox: alerts wait here, committed with their job's change, until delivered.
pub trait Outbox: Send + Sync + 'static {
    /// Alerts committed but not yet acknowledged as delivered, oldest first.
    fn pending_alerts(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<StoredAlert>, StoreError>> + Send;

    /// Marks outbox entries as delivered (by their tokens); unknown tokens are ignored.
    fn ack_alerts(&self, tokens: &[String]) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Queues alerts that belong to no job transition (the daily report) for delivery, like
    /// the alerts of a commit: an id already queued is not added again.
    fn enqueue_alerts(
        &self,
        alerts: &[AlertEvent],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// Notification state (alert fatigue, digests), one compare-and-set record per key.
pub trait IncidentStore: Send + Sync + 'static {
    /// The record stored under `key`, if any. Expired records may still be returned: callers
    /// compare `expires_at` with their own clock.
    fn get_incident(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<IncidentRecord>, StoreError>> + Send;

    /// Writes `record` if the stored version is still `expected_version` (0: no record may
    /// exist yet), [`StoreError::Conflict`] otherwise. `record.version` is
    /// `expected_version + 1`.
    fn put_incident(
        &self,
        record: &IncidentRecord,
        expected_version: u64,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Records whose `due_at` is at or before `now`, earliest first, at most `limit`.
    fn due_incidents(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<IncidentRecord>, StoreError>> + Send;
}

/// A small key-value area for deployment settings (e.g. the hashed keys).
pub trait Settings: Send + Sync + 'static {
    /// The value stored under `key`, if any.
    fn get_setting(
        &self,
        key: &str,
    ) -> impl Future<Output = Result<Option<String>, StoreError>> + Send;

    /// Stores `value` under `key` unless the key exists; returns the value now stored.
    fn init_setting(
        &self,
        key: &str,
        value: &str,
    ) -> impl Future<Output = Result<String, StoreError>> + Send;
}

/// Everything jobwatch needs from a database. Implementations: SQLite (embedded) and
/// DynamoDB. Implement the four parts; this follows. Code that needs only one part should ask
/// for that one.
pub trait Store: JobStore + Outbox + IncidentStore + Settings {}

impl<T: JobStore + Outbox + IncidentStore + Settings> Store for T {}
