//! [`JobStore`] on SQLite: jobs and their run history. Job writes go through the group
//! commit writer and keep the job cache in step; reads are served from the cache when it can.

use std::sync::Arc;

use jiff::Timestamp;
use jobwatch_core::Run;
use jobwatch_store::{Commit, JobRecord, JobStore, StoreError};
use rusqlite::params;

use crate::codec::{
    JOB_COLUMNS, as_i64, backend, corrupt, millis, query_job, query_jobs, status_at, status_class,
    to_json,
};
use crate::outbox::insert_outbox;
use crate::{RUNS_KEPT_PER_JOB, SqliteStore};

impl JobStore for SqliteStore {
    async fn create_job(&self, record: &JobRecord) -> Result<(), StoreError> {
        let spec = to_json(&record.spec.to_stored_doc())?;
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
            Some(to_json(&record.spec.to_stored_doc())?)
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
                    if !runs.is_empty() {
                        // Keep the newest records by count, not by number: one record of a long
                        // outage stands for many numbers (many missed slots).
                        conn.prepare_cached(
                            "DELETE FROM runs WHERE slug = ?1 AND seq <= (
                                 SELECT seq FROM runs WHERE slug = ?1
                                 ORDER BY seq DESC LIMIT 1 OFFSET ?2)",
                        )
                        .and_then(|mut stmt| {
                            stmt.execute(params![slug, as_i64(RUNS_KEPT_PER_JOB)])
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

    async fn jobs_down(&self) -> Result<u64, StoreError> {
        self.read(|conn| {
            let n: i64 = conn
                .prepare_cached("SELECT COUNT(*) FROM jobs WHERE status_class = 'down'")
                .map_err(backend)?
                .query_row([], |r| r.get(0))
                .map_err(backend)?;
            Ok(u64::try_from(n).unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jobwatch_core::{Run, RunOutcome};
    use jobwatch_testkit::conformance::{job, t};

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
}
