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
//!
//! - [`schema`]: the tables and the migrations of older files; [`codec`]: rows to records.
//! - One module per store trait: [`jobs`], [`outbox`], [`incidents`], [`settings`].

mod cache;
mod codec;
mod incidents;
mod jobs;
mod outbox;
mod schema;
mod settings;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use jobwatch_store::StoreError;
use rusqlite::Connection;

use cache::JobCache;
use codec::backend;
use writer::Writer;

/// Run history kept per job: older runs are dropped as new ones arrive.
pub const RUNS_KEPT_PER_JOB: u64 = 1_000;

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
        schema::migrate(&conn)?;
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
