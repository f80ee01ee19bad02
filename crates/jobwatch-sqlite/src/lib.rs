//! jobwatch-sqlite: the embedded store. One SQLite file in WAL mode holds jobs (definition,
//! state, version, next deadline), their run history, the alert outbox and settings.
//!
//! Commits are single transactions: the version check, the new state, the runs and the alerts
//! land together or not at all. With `synchronous=NORMAL` in WAL mode a committed transaction
//! survives the process being killed (not necessarily a power cut), which is what "an
//! acknowledged ping is never lost" needs on a server.

use std::path::Path;
use std::sync::Mutex;

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, JobDoc, JobState, Run, Slug};
use jobwatch_store::{
    Commit, IncidentRecord, JobRecord, StatusCounts, Store, StoreError, StoredAlert,
};
use rusqlite::{Connection, OptionalExtension, params};

/// Run history kept per job: older runs are dropped as new ones arrive.
pub const RUNS_KEPT_PER_JOB: u64 = 1_000;
/// Delivered outbox entries kept (for de-duplication by alert id) behind the newest one.
const DELIVERED_ALERTS_KEPT: u64 = 10_000;

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS jobs (
    slug          TEXT PRIMARY KEY,
    uuid_hash     TEXT NOT NULL UNIQUE,
    version       INTEGER NOT NULL,
    spec          TEXT NOT NULL,
    state         TEXT NOT NULL,
    next_deadline INTEGER,
    status_class  TEXT,
    status_at     INTEGER
);
CREATE INDEX IF NOT EXISTS jobs_by_deadline ON jobs(next_deadline) WHERE next_deadline IS NOT NULL;
-- The gauges (down, running, late) count this index instead of decoding every job.
CREATE INDEX IF NOT EXISTS jobs_by_status ON jobs(status_class, status_at) WHERE status_class IS NOT NULL;
CREATE TABLE IF NOT EXISTS runs (
    slug TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    run  TEXT NOT NULL,
    PRIMARY KEY (slug, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    id           TEXT NOT NULL UNIQUE,
    event        TEXT NOT NULL,
    delivered_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox(seq) WHERE delivered_at IS NULL;
CREATE TABLE IF NOT EXISTS settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS incidents (
    key        TEXT PRIMARY KEY,
    version    INTEGER NOT NULL,
    doc        TEXT NOT NULL,
    due_at     INTEGER,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS incidents_due ON incidents(due_at) WHERE due_at IS NOT NULL;
"#;

/// The SQLite store. Cheap to share behind an `Arc`; one connection, serialised.
pub struct SqliteStore {
    conn: Mutex<Connection>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let conn = Connection::open(path).map_err(backend)?;
        Self::init(conn)
    }

    fn init(conn: Connection) -> Result<SqliteStore, StoreError> {
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        add_status_columns(&conn)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        Ok(SqliteStore {
            conn: Mutex::new(conn),
        })
    }

    fn with<T>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        // A panic while holding the lock leaves SQLite itself consistent (transactions roll
        // back on drop), so a poisoned lock is safe to keep using.
        let mut conn = self
            .conn
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        f(&mut conn)
    }
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("encoding", e))
}

fn millis(t: Option<Timestamp>) -> Option<i64> {
    t.map(|t| t.as_millisecond())
}

const JOB_COLUMNS: &str = "slug, uuid_hash, version, spec, state";

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
        .into_spec(slug)
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

fn query_jobs(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<JobRecord>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
    let rows = stmt.query_map(params, raw_job).map_err(backend)?;
    rows.map(|row| row.map_err(backend).and_then(decode_job))
        .collect()
}

fn query_job(
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

fn as_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn status_class(record: &JobRecord) -> Option<&'static str> {
    record
        .state
        .status_marker()
        .map(|(class, _)| class.as_str())
}

fn status_at(record: &JobRecord) -> Option<i64> {
    record
        .state
        .status_marker()
        .map(|(_, at)| at.as_millisecond())
}

/// Databases created before the gauges existed get the status columns, filled in from each
/// job's state.
fn add_status_columns(conn: &Connection) -> Result<(), StoreError> {
    let has_jobs: bool = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'jobs'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(backend)?
        > 0;
    let has_status: bool = conn
        .query_row(
            "SELECT COUNT(*) FROM pragma_table_info('jobs') WHERE name = 'status_class'",
            [],
            |r| r.get::<_, i64>(0),
        )
        .map_err(backend)?
        > 0;
    if !has_jobs || has_status {
        return Ok(());
    }
    conn.execute_batch("ALTER TABLE jobs ADD COLUMN status_class TEXT; ALTER TABLE jobs ADD COLUMN status_at INTEGER;")
        .map_err(backend)?;
    let jobs = query_jobs(conn, &format!("SELECT {JOB_COLUMNS} FROM jobs"), [])?;
    for job in jobs {
        conn.execute(
            "UPDATE jobs SET status_class = ?1, status_at = ?2 WHERE slug = ?3",
            params![status_class(&job), status_at(&job), job.slug()],
        )
        .map_err(backend)?;
    }
    Ok(())
}

impl Store for SqliteStore {
    async fn create_job(&self, record: &JobRecord) -> Result<(), StoreError> {
        let spec = to_json(&record.spec.to_doc())?;
        let state = to_json(&record.state)?;
        self.with(|conn| {
            let inserted = conn
                .prepare_cached(
                    "INSERT INTO jobs (slug, uuid_hash, version, spec, state, next_deadline, status_class, status_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (slug) DO NOTHING",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.slug(),
                        record.uuid_hash,
                        as_i64(record.version),
                        spec,
                        state,
                        millis(record.next_deadline()),
                        status_class(record),
                        status_at(record)
                    ])
                })
                .map_err(backend)?;
            if inserted == 0 {
                Err(StoreError::AlreadyExists)
            } else {
                Ok(())
            }
        })
    }

    async fn get_job(&self, slug: &str) -> Result<Option<JobRecord>, StoreError> {
        self.with(|conn| {
            query_job(
                conn,
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE slug = ?1"),
                [slug],
            )
        })
    }

    async fn find_job_by_uuid_hash(
        &self,
        uuid_hash: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        self.with(|conn| {
            query_job(
                conn,
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE uuid_hash = ?1"),
                [uuid_hash],
            )
        })
    }

    async fn list_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.with(|conn| {
            query_jobs(
                conn,
                &format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY slug"),
                [],
            )
        })
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        let record = commit.record;
        let state = to_json(&record.state)?;
        let spec = to_json(&record.spec.to_doc())?;
        let runs: Vec<(i64, String)> = commit
            .runs
            .iter()
            .map(|r| Ok((as_i64(r.seq), to_json(r)?)))
            .collect::<Result<_, StoreError>>()?;
        let alerts: Vec<(&str, String)> = commit
            .alerts
            .iter()
            .map(|a| Ok((a.id.as_str(), to_json(a)?)))
            .collect::<Result<_, StoreError>>()?;
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let updated = tx
                .prepare_cached(
                    "UPDATE jobs SET version = ?1, spec = ?2, state = ?3, next_deadline = ?4,
                     status_class = ?7, status_at = ?8
                     WHERE slug = ?5 AND version = ?6",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        as_i64(record.version),
                        spec,
                        state,
                        millis(record.next_deadline()),
                        record.slug(),
                        as_i64(commit.expected_version),
                        status_class(record),
                        status_at(record)
                    ])
                })
                .map_err(backend)?;
            if updated == 0 {
                return Err(StoreError::Conflict); // dropping `tx` rolls back
            }
            {
                let mut put_run = tx
                    .prepare_cached("INSERT OR REPLACE INTO runs (slug, seq, run) VALUES (?1, ?2, ?3)")
                    .map_err(backend)?;
                for (seq, run) in &runs {
                    put_run.execute(params![record.slug(), seq, run]).map_err(backend)?;
                }
                if let Some(newest) = runs.iter().map(|(seq, _)| *seq).max() {
                    tx.prepare_cached("DELETE FROM runs WHERE slug = ?1 AND seq <= ?2")
                        .and_then(|mut stmt| {
                            stmt.execute(params![record.slug(), newest - as_i64(RUNS_KEPT_PER_JOB)])
                        })
                        .map_err(backend)?;
                }
                let mut put_alert = tx
                    .prepare_cached("INSERT INTO outbox (id, event) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING")
                    .map_err(backend)?;
                for (id, event) in &alerts {
                    put_alert.execute(params![id, event]).map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)
        })
    }

    async fn delete_job(&self, slug: &str) -> Result<bool, StoreError> {
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            let deleted = tx
                .execute("DELETE FROM jobs WHERE slug = ?1", [slug])
                .map_err(backend)?;
            tx.execute("DELETE FROM runs WHERE slug = ?1", [slug])
                .map_err(backend)?;
            tx.commit().map_err(backend)?;
            Ok(deleted > 0)
        })
    }

    async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.with(|conn| {
            query_jobs(
                conn,
                &format!(
                    "SELECT {JOB_COLUMNS} FROM jobs WHERE next_deadline IS NOT NULL AND next_deadline <= ?1
                     ORDER BY next_deadline, slug LIMIT ?2"
                ),
                params![now.as_millisecond(), as_i64(limit as u64)],
            )
        })
    }

    async fn earliest_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        self.with(|conn| {
            let ms: Option<i64> = conn
                .prepare_cached(
                    "SELECT MIN(next_deadline) FROM jobs WHERE next_deadline IS NOT NULL",
                )
                .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
                .map_err(backend)?;
            ms.map(|ms| Timestamp::from_millisecond(ms).map_err(|e| corrupt("deadline", e)))
                .transpose()
        })
    }

    async fn runs(&self, slug: &str, limit: usize) -> Result<Vec<Run>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT run FROM runs WHERE slug = ?1 ORDER BY seq DESC LIMIT ?2")
                .map_err(backend)?;
            let rows = stmt
                .query_map(params![slug, as_i64(limit as u64)], |row| {
                    row.get::<_, String>(0)
                })
                .map_err(backend)?;
            rows.map(|row| {
                let json = row.map_err(backend)?;
                serde_json::from_str(&json).map_err(|e| corrupt("run", e))
            })
            .collect()
        })
    }

    async fn pending_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT seq, event FROM outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT ?1")
                .map_err(backend)?;
            let rows = stmt
                .query_map([as_i64(limit as u64)], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
                .map_err(backend)?;
            rows.map(|row| {
                let (seq, json) = row.map_err(backend)?;
                let event: AlertEvent = serde_json::from_str(&json).map_err(|e| corrupt("alert", e))?;
                Ok(StoredAlert { token: seq.to_string(), event })
            })
            .collect()
        })
    }

    async fn ack_alerts(&self, tokens: &[String]) -> Result<(), StoreError> {
        let now = Timestamp::now().as_millisecond();
        let seqs: Vec<i64> = tokens.iter().filter_map(|t| t.parse().ok()).collect();
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            {
                let mut stmt = tx
                    .prepare_cached("UPDATE outbox SET delivered_at = ?1 WHERE seq = ?2")
                    .map_err(backend)?;
                for seq in &seqs {
                    stmt.execute(params![now, seq]).map_err(backend)?;
                }
            }
            if let Some(newest) = seqs.iter().max() {
                tx.execute(
                    "DELETE FROM outbox WHERE seq <= ?1 AND delivered_at IS NOT NULL",
                    [newest - as_i64(DELIVERED_ALERTS_KEPT)],
                )
                .map_err(backend)?;
            }
            tx.commit().map_err(backend)
        })
    }

    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.with(|conn| {
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(backend)
        })
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String, StoreError> {
        self.with(|conn| {
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                [key, value],
            )
            .map_err(backend)?;
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .map_err(backend)
        })
    }

    async fn enqueue_alerts(&self, alerts: &[AlertEvent]) -> Result<(), StoreError> {
        let alerts: Vec<(&str, String)> = alerts
            .iter()
            .map(|a| Ok((a.id.as_str(), to_json(a)?)))
            .collect::<Result<_, StoreError>>()?;
        self.with(|conn| {
            let tx = conn.transaction().map_err(backend)?;
            {
                let mut put = tx
                    .prepare_cached("INSERT INTO outbox (id, event) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING")
                    .map_err(backend)?;
                for (id, event) in &alerts {
                    put.execute(params![id, event]).map_err(backend)?;
                }
            }
            tx.commit().map_err(backend)
        })
    }

    async fn status_counts(&self, now: Timestamp) -> Result<StatusCounts, StoreError> {
        self.with(|conn| {
            let count = |sql: &str, at: Option<i64>| -> Result<u64, StoreError> {
                let n: i64 = match at {
                    Some(at) => conn.query_row(sql, [at], |r| r.get(0)),
                    None => conn.query_row(sql, [], |r| r.get(0)),
                }
                .map_err(backend)?;
                Ok(u64::try_from(n).unwrap_or(0))
            };
            Ok(StatusCounts {
                down: count(
                    "SELECT COUNT(*) FROM jobs WHERE status_class = 'down'",
                    None,
                )?,
                running: count(
                    "SELECT COUNT(*) FROM jobs WHERE status_class = 'running'",
                    None,
                )?,
                late: count(
                    "SELECT COUNT(*) FROM jobs WHERE status_class = 'waiting' AND status_at <= ?1",
                    Some(now.as_millisecond()),
                )?,
            })
        })
    }

    async fn get_incident(&self, key: &str) -> Result<Option<IncidentRecord>, StoreError> {
        self.with(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE key = ?1"
                ))
                .map_err(backend)?;
            stmt.query_row([key], raw_incident)
                .optional()
                .map_err(backend)?
                .map(decode_incident)
                .transpose()
        })
    }

    async fn put_incident(
        &self,
        record: &IncidentRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        self.with(|conn| {
            let written = if expected_version == 0 {
                conn.prepare_cached(
                    "INSERT INTO incidents (key, version, doc, due_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO NOTHING",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.key,
                        as_i64(record.version),
                        record.doc,
                        millis(record.due_at),
                        record.expires_at.as_millisecond()
                    ])
                })
            } else {
                conn.prepare_cached(
                    "UPDATE incidents SET version = ?2, doc = ?3, due_at = ?4, expires_at = ?5
                     WHERE key = ?1 AND version = ?6",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.key,
                        as_i64(record.version),
                        record.doc,
                        millis(record.due_at),
                        record.expires_at.as_millisecond(),
                        as_i64(expected_version)
                    ])
                })
            }
            .map_err(backend)?;
            if written == 0 {
                Err(StoreError::Conflict)
            } else {
                Ok(())
            }
        })
    }

    async fn due_incidents(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        self.with(|conn| {
            // Expired records with nothing due are only kept for de-duplication: drop them here,
            // by the caller's clock (as DynamoDB's TTL does by its own).
            conn.prepare_cached("DELETE FROM incidents WHERE due_at IS NULL AND expires_at <= ?1")
                .and_then(|mut stmt| stmt.execute([now.as_millisecond()]))
                .map_err(backend)?;
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents
                     WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at, key LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![now.as_millisecond(), as_i64(limit as u64)],
                    raw_incident,
                )
                .map_err(backend)?;
            rows.map(|row| row.map_err(backend).and_then(decode_incident))
                .collect()
        })
    }
}

const INCIDENT_COLUMNS: &str = "key, version, doc, due_at, expires_at";

type RawIncident = (String, i64, String, Option<i64>, i64);

fn raw_incident(row: &rusqlite::Row<'_>) -> rusqlite::Result<RawIncident> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get(2)?,
        row.get(3)?,
        row.get(4)?,
    ))
}

fn decode_incident(
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
