//! The store conformance suite against the embedded SQLite store (a real file in WAL mode).

use jobwatch_tests::fresh_sqlite;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_store_passes_the_conformance_suite() {
    jobwatch_store::conformance::run_all(|| async { fresh_sqlite() }).await;
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
