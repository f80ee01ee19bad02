//! jobwatch-sqlite: the embedded store. One SQLite file in WAL mode holds jobs (definition,
//! state, version, next deadline), their run history, the alert outbox and settings.
//!
//! Writes go through one writer thread that commits them in groups (see [`writer`]): the
//! writes that queued while the previous group was being committed share one transaction,
//! each in its own savepoint, so a compare-and-set that loses fails alone. The transaction is
//! committed with `synchronous=FULL` (the WAL is synced to disk before COMMIT returns) and
//! only then is each write answered: an acknowledged ping survives the process being killed
//! and the machine losing power. Reads use their own connections (WAL lets them run beside
//! the writer), and job records are served from a cache the writer keeps current.

mod cache;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, JobDoc, JobState, Run, Slug};
use jobwatch_store::{
    Commit, IncidentRecord, IncidentStore, JobRecord, JobStore, Outbox, Settings, StatusCounts,
    StoreError, StoredAlert,
};
use rusqlite::{Connection, OptionalExtension, params};

use cache::JobCache;
use writer::Writer;

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
-- Rows in rowid order (appended as runs arrive), found through a small (slug, seq) index.
-- Not WITHOUT ROWID: there the whole row (about 1.3 KB with a 1 KiB output) is the key, it
-- spills to overflow pages, and every key comparison of an insert reads them back.
CREATE TABLE IF NOT EXISTS runs (
    id   INTEGER PRIMARY KEY,
    slug TEXT NOT NULL,
    seq  INTEGER NOT NULL,
    run  TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS runs_by_job ON runs(slug, seq);
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

/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 4;
/// Prepared statements kept per connection (every statement the store uses fits).
const STATEMENT_CACHE: usize = 64;

/// The SQLite store. Cheap to share behind an `Arc`; one writer thread, pooled readers.
pub struct SqliteStore {
    writer: Writer,
    readers: Readers,
    cache: Arc<JobCache>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = Connection::open(&path).map_err(backend)?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(backend)?;
        // FULL: in WAL mode, every COMMIT syncs the WAL, so a commit that returned is on disk.
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(backend)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(backend)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        add_status_columns(&conn)?;
        migrate_runs_to_rowid(&conn)?;
        conn.execute_batch(SCHEMA).map_err(backend)?;
        let cache = Arc::new(JobCache::default());
        let writer = {
            let cache = Arc::clone(&cache);
            let seen = std::cell::Cell::new(None::<i64>);
            Writer::start(conn, move |conn| {
                // Another process wrote to the file since the last batch: forget what the
                // cache holds rather than serve records older than the database's.
                let version: Option<i64> = conn
                    .prepare_cached("PRAGMA data_version")
                    .and_then(|mut stmt| stmt.query_row([], |row| row.get(0)))
                    .ok();
                if seen.get().is_some() && seen.get() != version {
                    cache.clear();
                }
                seen.set(version);
            })?
        };
        Ok(SqliteStore {
            writer,
            readers: Readers {
                path,
                idle: Mutex::new(Vec::new()),
            },
            cache,
        })
    }

    /// How many transactions the writer has committed (or attempted) so far, and how many
    /// writes they carried: their ratio is the mean group size. For tests and benchmarks.
    pub fn group_commit_counts(&self) -> (u64, u64) {
        let stats = self.writer.stats();
        (
            stats.batches.load(std::sync::atomic::Ordering::Relaxed),
            stats.writes.load(std::sync::atomic::Ordering::Relaxed),
        )
    }

    /// Runs `f` on a read connection.
    fn read<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.readers.with(f)
    }

    /// Queues a write for the next group commit and waits until it is durable (or failed).
    async fn write<T: Send + 'static>(
        &self,
        apply: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        self.writer.submit(apply, |_| {}).await
    }
}

/// Read connections, opened on demand and kept for reuse.
struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl Readers {
    fn with<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let idle = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
        let conn = match idle {
            Some(conn) => conn,
            None => open_reader(&self.path)?,
        };
        let result = f(&conn);
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
        result
    }
}

fn open_reader(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(backend)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))
        .map_err(backend)?;
    conn.pragma_update(None, "query_only", true)
        .map_err(backend)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
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

/// Puts alert events `(id, JSON)` in the outbox; one already there (a retried commit) stays.
fn insert_outbox(conn: &Connection, alerts: &[(String, String)]) -> Result<(), StoreError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let mut put = conn
        .prepare_cached(
            "INSERT INTO outbox (id, event) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )
        .map_err(backend)?;
    for (id, event) in alerts {
        put.execute(params![id, event]).map_err(backend)?;
    }
    Ok(())
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

/// Databases created when runs were a WITHOUT ROWID table get the rowid table and its index,
/// with every run copied over, in one transaction.
fn migrate_runs_to_rowid(conn: &Connection) -> Result<(), StoreError> {
    let sql: Option<String> = conn
        .query_row(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'runs'",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(backend)?;
    if !sql.is_some_and(|sql| sql.to_ascii_uppercase().contains("WITHOUT ROWID")) {
        return Ok(());
    }
    conn.execute_batch(
        "BEGIN IMMEDIATE;
         CREATE TABLE runs_rowid (
             id   INTEGER PRIMARY KEY,
             slug TEXT NOT NULL,
             seq  INTEGER NOT NULL,
             run  TEXT NOT NULL
         );
         INSERT INTO runs_rowid (slug, seq, run) SELECT slug, seq, run FROM runs ORDER BY slug, seq;
         DROP TABLE runs;
         ALTER TABLE runs_rowid RENAME TO runs;
         CREATE UNIQUE INDEX runs_by_job ON runs(slug, seq);
         COMMIT;",
    )
    .map_err(|e| {
        let _ = conn.execute_batch("ROLLBACK");
        backend(e)
    })
}

impl JobStore for SqliteStore {
    async fn create_job(&self, record: &JobRecord) -> Result<(), StoreError> {
        let spec = to_json(&record.spec.to_doc())?;
        let state = to_json(&record.state)?;
        let row = (
            record.slug().to_string(),
            record.uuid_hash.clone(),
            as_i64(record.version),
            spec,
            state,
            millis(record.next_deadline()),
            status_class(record),
            status_at(record),
        );
        let cache = Arc::clone(&self.cache);
        let created = record.clone();
        self.writer
            .submit(
                move |conn| {
                    let inserted = conn
                        .prepare_cached(
                            "INSERT INTO jobs (slug, uuid_hash, version, spec, state, next_deadline, status_class, status_at)
                             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (slug) DO NOTHING",
                        )
                        .and_then(|mut stmt| {
                            stmt.execute(params![row.0, row.1, row.2, row.3, row.4, row.5, row.6, row.7])
                        })
                        .map_err(backend)?;
                    if inserted == 0 {
                        Err(StoreError::AlreadyExists)
                    } else {
                        Ok(())
                    }
                },
                move |result| {
                    if result.is_ok() {
                        cache.committed(created);
                    }
                },
            )
            .await
    }

    async fn get_job(&self, slug: &str) -> Result<Option<JobRecord>, StoreError> {
        if let Some(record) = self.cache.get(slug) {
            return Ok(Some(record));
        }
        let generation = self.cache.generation();
        let record = self.read(|conn| {
            query_job(
                conn,
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE slug = ?1"),
                [slug],
            )
        })?;
        if let Some(record) = &record {
            self.cache.fill(record, generation);
        }
        Ok(record)
    }

    async fn find_job_by_uuid_hash(
        &self,
        uuid_hash: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        let generation = self.cache.generation();
        let record = self.read(|conn| {
            query_job(
                conn,
                &format!("SELECT {JOB_COLUMNS} FROM jobs WHERE uuid_hash = ?1"),
                [uuid_hash],
            )
        })?;
        // The cache may hold a newer version than this read saw: prefer it.
        Ok(record.map(|record| {
            self.cache.fill(&record, generation);
            self.cache
                .get(record.slug())
                .filter(|cached| cached.uuid_hash == record.uuid_hash)
                .unwrap_or(record)
        }))
    }

    async fn list_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.read(|conn| {
            query_jobs(
                conn,
                &format!("SELECT {JOB_COLUMNS} FROM jobs ORDER BY slug"),
                [],
            )
        })
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        let record = commit.record;
        let expected_version = commit.expected_version;
        let state = to_json(&record.state)?;
        // Most commits (every ping) leave the definition as it is: skip re-encoding it.
        let spec = if self.cache.same_spec(record, expected_version) {
            None
        } else {
            Some(to_json(&record.spec.to_doc())?)
        };
        let runs: Vec<(i64, String)> = commit
            .runs
            .iter()
            .map(|r| Ok((as_i64(r.seq), to_json(r)?)))
            .collect::<Result<_, StoreError>>()?;
        let alerts: Vec<(String, String)> = commit
            .alerts
            .iter()
            .map(|a| Ok((a.id.clone(), to_json(a)?)))
            .collect::<Result<_, StoreError>>()?;
        let slug = record.slug().to_string();
        let version = as_i64(record.version);
        let next_deadline = millis(record.next_deadline());
        let (class, at) = (status_class(record), status_at(record));
        let cache = Arc::clone(&self.cache);
        let committed = record.clone();
        self.writer
            .submit(
                move |conn| {
                    let updated = match &spec {
                        Some(spec) => conn
                            .prepare_cached(
                                "UPDATE jobs SET version = ?1, spec = ?2, state = ?3, next_deadline = ?4,
                                 status_class = ?7, status_at = ?8
                                 WHERE slug = ?5 AND version = ?6",
                            )
                            .and_then(|mut stmt| {
                                stmt.execute(params![
                                    version,
                                    spec,
                                    state,
                                    next_deadline,
                                    slug,
                                    as_i64(expected_version),
                                    class,
                                    at
                                ])
                            }),
                        None => conn
                            .prepare_cached(
                                "UPDATE jobs SET version = ?1, state = ?2, next_deadline = ?3,
                                 status_class = ?6, status_at = ?7
                                 WHERE slug = ?4 AND version = ?5",
                            )
                            .and_then(|mut stmt| {
                                stmt.execute(params![
                                    version,
                                    state,
                                    next_deadline,
                                    slug,
                                    as_i64(expected_version),
                                    class,
                                    at
                                ])
                            }),
                    }
                    .map_err(backend)?;
                    if updated == 0 {
                        return Err(StoreError::Conflict); // the savepoint is rolled back
                    }
                    if !runs.is_empty() {
                        let mut put_run = conn
                            .prepare_cached(
                                "INSERT INTO runs (slug, seq, run) VALUES (?1, ?2, ?3)
                                 ON CONFLICT (slug, seq) DO UPDATE SET run = excluded.run",
                            )
                            .map_err(backend)?;
                        for (seq, run) in &runs {
                            put_run.execute(params![slug, seq, run]).map_err(backend)?;
                        }
                    }
                    if let Some(newest) = runs.iter().map(|(seq, _)| *seq).max() {
                        conn.prepare_cached("DELETE FROM runs WHERE slug = ?1 AND seq <= ?2")
                            .and_then(|mut stmt| {
                                stmt.execute(params![slug, newest - as_i64(RUNS_KEPT_PER_JOB)])
                            })
                            .map_err(backend)?;
                    }
                    insert_outbox(conn, &alerts)
                },
                move |result| match result {
                    Ok(()) => cache.committed(committed),
                    // The cached record is stale (or the job is gone): read it afresh.
                    Err(_) => cache.forget(committed.slug()),
                },
            )
            .await
    }

    async fn delete_job(&self, slug: &str) -> Result<bool, StoreError> {
        let slug = slug.to_string();
        let forgotten = slug.clone();
        let cache = Arc::clone(&self.cache);
        self.writer
            .submit(
                move |conn| {
                    let deleted = conn
                        .prepare_cached("DELETE FROM jobs WHERE slug = ?1")
                        .and_then(|mut stmt| stmt.execute([&slug]))
                        .map_err(backend)?;
                    conn.prepare_cached("DELETE FROM runs WHERE slug = ?1")
                        .and_then(|mut stmt| stmt.execute([&slug]))
                        .map_err(backend)?;
                    Ok(deleted > 0)
                },
                move |_| cache.forget(&forgotten),
            )
            .await
    }

    async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.read(|conn| {
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
        self.read(|conn| {
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
        self.read(|conn| {
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

    async fn status_counts(&self, now: Timestamp) -> Result<StatusCounts, StoreError> {
        self.read(|conn| {
            let count = |sql: &str, at: Option<i64>| -> Result<u64, StoreError> {
                let mut stmt = conn.prepare_cached(sql).map_err(backend)?;
                let n: i64 = match at {
                    Some(at) => stmt.query_row([at], |r| r.get(0)),
                    None => stmt.query_row([], |r| r.get(0)),
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
}

impl Outbox for SqliteStore {
    async fn pending_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>, StoreError> {
        self.read(|conn| {
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
        self.write(move |conn| {
            {
                let mut stmt = conn
                    .prepare_cached("UPDATE outbox SET delivered_at = ?1 WHERE seq = ?2")
                    .map_err(backend)?;
                for seq in &seqs {
                    stmt.execute(params![now, seq]).map_err(backend)?;
                }
            }
            if let Some(newest) = seqs.iter().max() {
                conn.prepare_cached(
                    "DELETE FROM outbox WHERE seq <= ?1 AND delivered_at IS NOT NULL",
                )
                .and_then(|mut stmt| stmt.execute([newest - as_i64(DELIVERED_ALERTS_KEPT)]))
                .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn enqueue_alerts(&self, alerts: &[AlertEvent]) -> Result<(), StoreError> {
        let alerts: Vec<(String, String)> = alerts
            .iter()
            .map(|a| Ok((a.id.clone(), to_json(a)?)))
            .collect::<Result<_, StoreError>>()?;
        self.write(move |conn| insert_outbox(conn, &alerts)).await
    }
}

impl IncidentStore for SqliteStore {
    async fn get_incident(&self, key: &str) -> Result<Option<IncidentRecord>, StoreError> {
        self.read(|conn| {
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
        let record = record.clone();
        self.write(move |conn| {
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
        .await
    }

    async fn due_incidents(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        self.write(move |conn| {
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
        .await
    }
}

impl Settings for SqliteStore {
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.read(|conn| {
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |row| {
                row.get(0)
            })
            .optional()
            .map_err(backend)
        })
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String, StoreError> {
        let (key, value) = (key.to_string(), value.to_string());
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO NOTHING",
                [&key, &value],
            )
            .map_err(backend)?;
            conn.query_row("SELECT value FROM settings WHERE key = ?1", [&key], |row| {
                row.get(0)
            })
            .map_err(backend)
        })
        .await
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jobwatch_core::{Run, RunOutcome};
    use jobwatch_store::conformance::{job, t};

    use super::*;

    fn run(seq: u64) -> Run {
        Run::new(seq, format!("r{seq}"), RunOutcome::Success)
    }

    /// Many concurrent commits land in shared transactions; in every batch the stale ones
    /// (a version already taken) fail with Conflict and take nothing of theirs along, while
    /// the others all land with their runs.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_conflict_in_a_group_commit_fails_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = Arc::new(SqliteStore::open(dir.path().join("jobwatch.db")).expect("open"));
        let now = t("2026-01-01T00:00:00Z");
        let jobs: Vec<JobRecord> = (0..40)
            .map(|i| job(&format!("job-{i}"), "1h", now))
            .collect();
        for record in &jobs {
            store.create_job(record).await.expect("create");
        }
        let (batches_before, writes_before) = store.group_commit_counts();
        let mut tasks = Vec::new();
        for record in &jobs {
            // Two writers per job from version 1: one wins, the other conflicts.
            for writer in 0..2u64 {
                let store = Arc::clone(&store);
                let from = record.clone();
                tasks.push(tokio::spawn(async move {
                    let mut to = from.clone();
                    to.version += 1;
                    to.state.next_seq = 10 + writer;
                    let runs = [run(10 + writer)];
                    let result = store
                        .commit(Commit {
                            record: &to,
                            expected_version: from.version,
                            runs: &runs,
                            alerts: &[],
                        })
                        .await;
                    (from.slug().to_string(), writer, result)
                }));
            }
        }
        let mut winners = std::collections::HashMap::new();
        for task in tasks {
            let (slug, writer, result) = task.await.expect("task");
            match result {
                Ok(()) => assert!(winners.insert(slug, writer).is_none(), "two winners"),
                Err(StoreError::Conflict) => {}
                Err(e) => panic!("unexpected error: {e}"),
            }
        }
        assert_eq!(winners.len(), jobs.len(), "one winner per job");
        let (batches, writes) = store.group_commit_counts();
        let (batches, writes) = (batches - batches_before, writes - writes_before);
        assert!(
            batches < writes,
            "concurrent commits shared transactions ({batches} for {writes} writes)"
        );
        for (slug, writer) in winners {
            let stored = store.get_job(&slug).await.expect("get").expect("job");
            assert_eq!((stored.version, stored.state.next_seq), (2, 10 + writer));
            let runs = store.runs(&slug, 10).await.expect("runs");
            let seqs: Vec<u64> = runs.iter().map(|r| r.seq).collect();
            assert_eq!(seqs, vec![10 + writer], "only the winner's run is stored");
        }
    }

    /// A database whose runs table is the old WITHOUT ROWID one keeps its runs when opened.
    #[tokio::test]
    async fn old_run_tables_are_migrated_with_their_runs() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("jobwatch.db");
        let now = t("2026-01-01T00:00:00Z");
        let record = job("old", "1h", now);
        {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(
                "CREATE TABLE runs (slug TEXT NOT NULL, seq INTEGER NOT NULL, run TEXT NOT NULL,
                 PRIMARY KEY (slug, seq)) WITHOUT ROWID;",
            )
            .expect("old schema");
            for seq in 1..=3u64 {
                let json = serde_json::to_string(&run(seq)).expect("json");
                conn.execute(
                    "INSERT INTO runs (slug, seq, run) VALUES ('old', ?1, ?2)",
                    params![as_i64(seq), json],
                )
                .expect("old run");
            }
        }
        let store = SqliteStore::open(&path).expect("open and migrate");
        store.create_job(&record).await.expect("create");
        let seqs = |runs: Vec<Run>| runs.iter().map(|r| r.seq).collect::<Vec<_>>();
        assert_eq!(seqs(store.runs("old", 10).await.expect("runs")), [3, 2, 1]);
        let mut next = record.clone();
        next.version += 1;
        let mut updated = run(3);
        updated.outcome = RunOutcome::Failed;
        store
            .commit(Commit {
                record: &next,
                expected_version: 1,
                runs: &[updated, run(4)],
                alerts: &[],
            })
            .await
            .expect("commit");
        let runs = store.runs("old", 10).await.expect("runs");
        assert_eq!(seqs(runs.clone()), [4, 3, 2, 1]);
        assert_eq!(runs[1].outcome, RunOutcome::Failed, "upserted in place");
        drop(store);
        let reopened = SqliteStore::open(&path).expect("reopen");
        assert_eq!(
            seqs(reopened.runs("old", 10).await.expect("runs")),
            [4, 3, 2, 1]
        );
    }
}
