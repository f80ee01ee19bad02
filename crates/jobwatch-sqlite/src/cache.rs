//! The job records most recently read or committed, so a ping reads its job from memory
//! instead of querying and decoding it. The writer keeps it in step with every commit it
//! makes; a record read from the database is only added when no delete happened meanwhile
//! and it is not older than what is cached, so the cache never goes back in time.
//!
//! Writes made to the same file by another process are not seen here until the writer
//! notices them (it compares `PRAGMA data_version` before every batch and clears the cache),
//! or until a commit on a stale record fails its version check, which drops that record.

use std::collections::HashMap;
use std::sync::Mutex;

use jobwatch_store::JobRecord;

/// Records kept before the cache is cleared (bounded memory for large fleets).
const MAX_CACHED_JOBS: usize = 10_000;

#[derive(Default)]
pub(crate) struct JobCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    jobs: HashMap<String, JobRecord>,
    /// Goes up whenever records may have disappeared (a delete, a lost compare-and-set, a
    /// foreign write), so a read that started before cannot bring them back.
    generation: u64,
}

impl JobCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // The map is always consistent between statements, so a poisoned lock is usable.
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn get(&self, slug: &str) -> Option<JobRecord> {
        self.lock().jobs.get(slug).cloned()
    }

    /// Whether the cached record has this version and this definition: then the stored
    /// definition needs no rewrite.
    pub(crate) fn same_spec(&self, record: &JobRecord, version: u64) -> bool {
        self.lock()
            .jobs
            .get(record.slug())
            .is_some_and(|cached| cached.version == version && cached.spec == record.spec)
    }

    /// The generation to pass to [`JobCache::fill`] for a read starting now.
    pub(crate) fn generation(&self) -> u64 {
        self.lock().generation
    }

    /// Adds a record read from the database by a read that started at `generation`.
    pub(crate) fn fill(&self, record: &JobRecord, generation: u64) {
        let mut inner = self.lock();
        if inner.generation == generation {
            inner.upsert_if_newer(record.clone());
        }
    }

    /// A record the writer has just committed (or created).
    pub(crate) fn committed(&self, record: JobRecord) {
        self.lock().upsert_if_newer(record);
    }

    /// The job may have changed or disappeared behind the cache's back.
    pub(crate) fn forget(&self, slug: &str) {
        let mut inner = self.lock();
        inner.jobs.remove(slug);
        inner.generation += 1;
    }

    pub(crate) fn clear(&self) {
        let mut inner = self.lock();
        inner.jobs.clear();
        inner.generation += 1;
    }
}

impl Inner {
    fn upsert_if_newer(&mut self, record: JobRecord) {
        if let Some(cached) = self.jobs.get_mut(record.slug()) {
            if record.version > cached.version {
                *cached = record;
            }
            return;
        }
        if self.jobs.len() >= MAX_CACHED_JOBS {
            self.jobs.clear();
        }
        self.jobs.insert(record.slug().to_string(), record);
    }
}
