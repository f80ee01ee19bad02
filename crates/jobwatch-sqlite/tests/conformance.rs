//! The store conformance suite against the embedded SQLite store (a real file in WAL mode),
//! and what only this store promises.

use jobwatch_sqlite::SqliteStore;

/// Opens a fresh SQLite store in its own temp dir (kept alive by the returned guard).
fn fresh_sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("jobwatch.db")).expect("open store");
    (store, dir)
}

mod conformance {
    jobwatch_testkit::conformance_tests!(|| async { super::fresh_sqlite() });
}

#[test]
fn sqlite_store_uses_wal_on_a_real_file() {
    let (_store, dir) = fresh_sqlite();
    let conn = rusqlite_mode(&dir.path().join("jobwatch.db"));
    assert_eq!(conn, "wal");
}

fn rusqlite_mode(path: &std::path::Path) -> String {
    // Read the journal mode from the file header's perspective via the sqlite3 format: WAL
    // databases have file format version 2 at bytes 18 and 19.
    let bytes = std::fs::read(path).expect("database file exists");
    match (bytes.get(18), bytes.get(19)) {
        (Some(2), Some(2)) => "wal".into(),
        other => format!("not wal: {other:?}"),
    }
}

#[tokio::test]
async fn sqlite_keeps_the_newest_thousand_runs_per_job() {
    use jobwatch_core::{Run, RunOutcome};
    use jobwatch_store::{Commit, JobStore};
    use jobwatch_testkit::conformance;
    let (store, _dir) = fresh_sqlite();
    let now = conformance::t("2026-01-01T00:00:00Z");
    let mut current = conformance::job("chatty", "1m", now);
    store.create_job(&current).await.expect("create");
    for batch in 0..12u64 {
        let runs: Vec<Run> = (0..100u64)
            .map(|i| Run {
                finished_at: Some(now),
                ..Run::new(
                    batch * 100 + i + 1,
                    format!("r{}", batch * 100 + i + 1),
                    RunOutcome::Log,
                )
            })
            .collect();
        let mut next = current.clone();
        next.version += 1;
        store
            .commit(Commit {
                record: &next,
                expected_version: current.version,
                runs: &runs,
                alerts: &[],
            })
            .await
            .expect("commit");
        current = next;
    }
    let runs = store.runs("chatty", 5_000).await.expect("runs");
    assert_eq!(runs.len(), jobwatch_sqlite::RUNS_KEPT_PER_JOB as usize);
    assert_eq!(
        (runs[0].seq, runs[999].seq),
        (1_200, 201),
        "the newest are kept"
    );
}
