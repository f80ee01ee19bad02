//! Group commit: every write goes to one thread that owns the write connection. It takes
//! whatever writes queued up while it was busy with the previous batch (no waiting window:
//! an unloaded server commits each write at once), applies them in one SQLite transaction,
//! each inside its own savepoint, commits the transaction (`synchronous=FULL`: the WAL is
//! synced before COMMIT returns), and only then answers each writer. So many concurrent
//! pings share one transaction and one sync, and an answer still means "durable".
//!
//! A write that fails (a lost compare-and-set, a slug already taken, an I/O error in one
//! statement) rolls back its own savepoint only; the others in the batch are unaffected. If
//! the transaction as a whole cannot be committed, every write in it is answered with the
//! error, and none of them took effect.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;

use jobwatch_store::StoreError;
use rusqlite::Connection;
use tokio::sync::oneshot;

/// Most writes in one transaction: bounds the time a batch holds the write lock.
const MAX_BATCH: usize = 512;

/// One write, as the writer thread sees it.
trait Write: Send {
    /// Applies the write inside the batch transaction; false if it failed.
    fn apply(&mut self, conn: &Connection) -> bool;
    /// Settles the outcome once the batch is over: `Ok` when the batch committed, the reason
    /// otherwise. Runs the write's after-commit work (cache upkeep).
    fn settle(&mut self, batch: Result<(), &str>);
    /// Sends the outcome to whoever submitted the write.
    fn reply(self: Box<Self>);
}

struct Pending<T, A, S> {
    apply: Option<A>,
    settled: Option<S>,
    result: Option<Result<T, StoreError>>,
    reply: oneshot::Sender<Result<T, StoreError>>,
}

impl<T, A, S> Write for Pending<T, A, S>
where
    T: Send,
    A: FnOnce(&Connection) -> Result<T, StoreError> + Send,
    S: FnOnce(&Result<T, StoreError>) + Send,
{
    fn apply(&mut self, conn: &Connection) -> bool {
        match self.apply.take() {
            Some(apply) => {
                let result = apply(conn);
                let ok = result.is_ok();
                self.result = Some(result);
                ok
            }
            None => false,
        }
    }

    fn settle(&mut self, batch: Result<(), &str>) {
        let result = match (self.result.take(), batch) {
            (Some(Err(e)), _) => Err(e),
            (Some(Ok(value)), Ok(())) => Ok(value),
            (_, Err(reason)) => Err(StoreError::Backend(reason.to_string())),
            (None, Ok(())) => Err(StoreError::Backend("the write was not applied".into())),
        };
        if let Some(settled) = self.settled.take() {
            settled(&result);
        }
        self.result = Some(result);
    }

    fn reply(self: Box<Self>) {
        let result = self
            .result
            .unwrap_or_else(|| Err(StoreError::Backend("the write was not settled".into())));
        // The submitter may have gone away (a client that hung up): the write stands anyway.
        let _ = self.reply.send(result);
    }
}

/// The handle to the writer thread. Dropping it lets the thread finish the queued writes,
/// then waits for it.
pub(crate) struct Writer {
    queue: Option<mpsc::Sender<Box<dyn Write>>>,
    thread: Option<JoinHandle<()>>,
    stats: Arc<Stats>,
}

/// Transactions committed (or attempted) and the writes they carried.
#[derive(Default)]
pub(crate) struct Stats {
    pub(crate) batches: AtomicU64,
    pub(crate) writes: AtomicU64,
}

impl Writer {
    /// Starts the writer thread on `conn`. `before_batch` runs at the start of every batch,
    /// inside its transaction.
    pub(crate) fn start(
        conn: Connection,
        before_batch: impl Fn(&Connection) + Send + 'static,
    ) -> Result<Writer, StoreError> {
        let (queue, writes) = mpsc::channel::<Box<dyn Write>>();
        let stats = Arc::new(Stats::default());
        let counted = Arc::clone(&stats);
        let thread = std::thread::Builder::new()
            .name("jobwatch-sqlite-writer".into())
            .spawn(move || run(&conn, &writes, &before_batch, &counted))
            .map_err(|e| StoreError::Backend(format!("starting the database writer: {e}")))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
            stats,
        })
    }

    pub(crate) fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Queues a write and waits until it is committed (durably) or has failed. `apply` runs
    /// on the writer thread inside the batch transaction; `settled` runs there after the
    /// batch with the final outcome, before anyone is answered.
    pub(crate) async fn submit<T, A, S>(&self, apply: A, settled: S) -> Result<T, StoreError>
    where
        T: Send + 'static,
        A: FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
        S: FnOnce(&Result<T, StoreError>) + Send + 'static,
    {
        let (reply, answer) = oneshot::channel();
        let write: Box<dyn Write> = Box::new(Pending {
            apply: Some(apply),
            settled: Some(settled),
            result: None,
            reply,
        });
        let stopped = || StoreError::Backend("the database writer has stopped".into());
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(write)
            .map_err(|_| stopped())?;
        answer.await.map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn run(
    conn: &Connection,
    writes: &mpsc::Receiver<Box<dyn Write>>,
    before_batch: &dyn Fn(&Connection),
    stats: &Stats,
) {
    let mut batch: Vec<Box<dyn Write>> = Vec::with_capacity(MAX_BATCH);
    while let Ok(first) = writes.recv() {
        batch.push(first);
        while batch.len() < MAX_BATCH {
            match writes.try_recv() {
                Ok(write) => batch.push(write),
                Err(_) => break,
            }
        }
        stats.batches.fetch_add(1, Ordering::Relaxed);
        stats
            .writes
            .fetch_add(batch.len() as u64, Ordering::Relaxed);
        let outcome = commit_batch(conn, &mut batch, before_batch);
        let outcome = outcome.as_ref().map(|_| ()).map_err(String::as_str);
        for write in &mut batch {
            write.settle(outcome);
        }
        for write in batch.drain(..) {
            write.reply();
        }
    }
}

/// Applies the writes in one transaction and commits it. `Err` means nothing was committed.
fn commit_batch(
    conn: &Connection,
    batch: &mut [Box<dyn Write>],
    before_batch: &dyn Fn(&Connection),
) -> Result<(), String> {
    let result = (|| {
        exec(conn, "BEGIN IMMEDIATE")?;
        before_batch(conn);
        for write in batch.iter_mut() {
            exec(conn, "SAVEPOINT write")?;
            if write.apply(conn) {
                exec(conn, "RELEASE write")?;
            } else if !conn.is_autocommit() {
                exec(conn, "ROLLBACK TO write")?;
                exec(conn, "RELEASE write")?;
            }
            if conn.is_autocommit() {
                // SQLite rolled the whole transaction back (e.g. on a full disk).
                return Err("the database rolled the transaction back".to_string());
            }
        }
        exec(conn, "COMMIT")
    })();
    if result.is_err() && !conn.is_autocommit() {
        let _ = exec(conn, "ROLLBACK");
    }
    result
}

fn exec(conn: &Connection, sql: &str) -> Result<(), String> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute([]))
        .map(|_| ())
        .map_err(|e| format!("{sql}: {e}"))
}
