//! Rows to records and back: how a job, its runs, alerts and incidents are encoded in their
//! columns (JSON documents, millisecond timestamps), and the errors of doing so.

use jiff::Timestamp;
use jobwatch_core::{JobDoc, JobState, Slug};
use jobwatch_store::{IncidentRecord, JobRecord, StoreError};
use rusqlite::{Connection, OptionalExtension};

pub(crate) fn backend(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode::{DatabaseBusy, DatabaseLocked};
    match e.sqlite_error_code() {
        // Another connection held the file past the busy timeout: a later try succeeds.
        Some(DatabaseBusy | DatabaseLocked) => StoreError::Throttled(e.to_string()),
        _ => StoreError::Backend(e.to_string()),
    }
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("encoding", e))
}

pub(crate) fn millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_millisecond())
}

pub(crate) const JOB_COLUMNS: &str = "slug, uuid_hash, version, spec, state";

type RawJob = (String, String, i64, String, String);

fn raw_job(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawJob> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn decode_job((slug, uuid_hash, version, spec, state): RawJob) -> Result<JobRecord, StoreError> {
    let slug = Slug::parse(&slug).map_err(|e| corrupt("job slug", e))?;
    let doc: JobDoc = serde_json::from_str(&spec).map_err(|e| corrupt("job definition", e))?;
    let spec = doc
        .into_stored_spec(slug)
        .map_err(|e| corrupt("job definition", e))?;
    let state: JobState = serde_json::from_str(&state).map_err(|e| corrupt("job state", e))?;
    let version = u64::try_from(version).map_err(|e| corrupt("job version", e))?;
    Ok(JobRecord {
        spec,
        state,
        version,
        uuid_hash,
    })
}

pub(crate) fn query_jobs(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<JobRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(params, raw_job).map_err(backend)?;
    rows.map(|row| row.map_err(backend).and_then(decode_job))
        .collect()
}

pub(crate) fn query_job(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Option<JobRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    stmt.query_row(params, raw_job)
        .optional()
        .map_err(backend)?
        .map(decode_job)
        .transpose()
}

pub(crate) fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// `down` for a job that counts in the gauge of down jobs, else nothing (the column once
/// held `running` and `waiting` too; only `down` is counted).
pub(crate) fn status_class(record: &JobRecord) -> Option<&'static str> {
    record.state.down_marker().map(|_| "down")
}

pub(crate) fn status_at(record: &JobRecord) -> Option<i64> {
    record.state.down_marker().map(|at| at.as_millisecond())
}

pub(crate) const INCIDENT_COLUMNS: &str = "key, version, doc, due_at, expires_at";

type RawIncident = (String, i64, String, Option<i64>, i64);

pub(crate) fn raw_incident(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawIncident> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

pub(crate) fn decode_incident(
    (key, version, doc, due_at, expires_at): RawIncident,
) -> Result<IncidentRecord, StoreError> {
    let instant =
        |ms: i64| Timestamp::from_millisecond(ms).map_err(|e| corrupt("incident time", e));
    Ok(IncidentRecord {
        key,
        version: u64::try_from(version).map_err(|e| corrupt("incident version", e))?,
        doc,
        due_at: due_at.map(instant).transpose()?,
        expires_at: instant(expires_at)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_saved_with_an_abbreviation_zone_still_loads() {
        // `EST` was accepted before abbreviations were refused; such a row must stay readable.
        let doc: JobDoc =
            serde_json::from_str(r#"{"schedule":"0 9 * * *","tz":"EST"}"#).expect("doc");
        let slug = Slug::parse("legacy").expect("slug");
        let spec = doc.into_stored_spec(slug).expect("stored spec");
        let state = JobState::new(&spec, Timestamp::UNIX_EPOCH);
        let raw = (
            "legacy".to_string(),
            "hash".to_string(),
            1,
            r#"{"schedule":"0 9 * * *","tz":"EST"}"#.to_string(),
            serde_json::to_string(&state).expect("state"),
        );
        let record = decode_job(raw).expect("a readable record");
        assert_eq!(record.spec.schedule.describe(), "0 9 * * * (EST)");
    }

    #[test]
    fn a_busy_database_is_throttled_and_other_failures_are_backend_failures() {
        let failure = |code| {
            rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some("x".into()))
        };
        assert!(matches!(
            backend(failure(rusqlite::ffi::SQLITE_BUSY)),
            StoreError::Throttled(_)
        ));
        assert!(matches!(
            backend(failure(rusqlite::ffi::SQLITE_LOCKED)),
            StoreError::Throttled(_)
        ));
        assert!(matches!(
            backend(failure(rusqlite::ffi::SQLITE_IOERR)),
            StoreError::Backend(_)
        ));
    }
}
