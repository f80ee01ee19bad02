//! Records and changes the conformance checks (and other tests) build: a job expected every
//! period, its runs and alerts, the next version of a record, and a commit between two.

use jiff::Timestamp;
use jobwatch_core::{
    AlertEvent, AlertKind, Duration, JobDoc, JobSpec, JobState, Run, RunOutcome, Slug,
};
use jobwatch_store::{Commit, JobRecord, Store, StoreError};

/// A job expected every `period`, declared at `now`.
pub fn job(slug: &str, period: &str, now: Timestamp) -> JobRecord {
    let spec = spec(slug, period);
    JobRecord {
        state: JobState::new(&spec, now),
        spec,
        version: 1,
        uuid_hash: format!("hash-of-{slug}"),
    }
}

fn spec(slug: &str, period: &str) -> JobSpec {
    let doc = JobDoc {
        every: Some(period.parse().expect("test period")),
        grace: Some(Duration::from_mins(1)),
        ..JobDoc::default()
    };
    doc.into_spec(Slug::parse(slug).expect("test slug"))
        .expect("test spec")
}

pub(super) fn run(seq: u64, outcome: RunOutcome, at: Timestamp) -> Run {
    Run {
        started_at: Some(at),
        output: Some(format!("output of run {seq} ✓")),
        source: jobwatch_core::PingSource::new(Some("192.0.2.7"), Some("curl/8.5"), Some("db-1")),
        ..Run::new(seq, format!("r{seq}"), outcome)
    }
}

pub(super) fn alert(record: &JobRecord, kind: AlertKind, at: Timestamp) -> AlertEvent {
    AlertEvent::new(kind, &record.spec, "test", at, at)
}

/// The record after a change to its state, one version on.
pub(super) fn next(record: &JobRecord, change: impl FnOnce(&mut JobState)) -> JobRecord {
    let mut next = record.clone();
    change(&mut next.state);
    next.version += 1;
    next
}

/// Commits `to` over `from` (compare-and-set on `from`'s version) with its runs and alerts.
pub(super) async fn commit<S: Store>(
    store: &S,
    from: &JobRecord,
    to: &JobRecord,
    runs: &[Run],
    alerts: &[AlertEvent],
) -> Result<(), StoreError> {
    store
        .commit(Commit {
            record: to,
            expected_version: from.version,
            runs,
            alerts,
        })
        .await
}
