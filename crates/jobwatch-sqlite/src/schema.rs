//! The database's shape: the tables and indexes, and the migrations that bring a file made
//! by an older release up to it when the store opens it.

use jobwatch_store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{JOB_COLUMNS, backend, query_jobs, status_at, status_class};

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

/// Brings the database up to the current schema: migrates what older releases created, then
/// creates whatever is missing.
pub(crate) fn migrate(conn: &Connection) -> Result<(), StoreError> {
    add_status_columns(conn)?;
    migrate_runs_to_rowid(conn)?;
    conn.execute_batch(SCHEMA).map_err(backend)
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

#[cfg(test)]
mod tests {
    use jobwatch_core::{Run, RunOutcome};
    use jobwatch_store::{Commit, JobStore};
    use jobwatch_testkit::conformance::{job, t};

    use super::*;
    use crate::SqliteStore;
    use crate::codec::as_i64;

    fn run(seq: u64) -> Run {
        Run::new(seq, format!("r{seq}"), RunOutcome::Success)
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
