//! Conformance checks of the jobs side of a store: create and read back, unique slugs, the
//! version compare-and-set and its effects (runs), the deadline index, deletion and the
//! status counts.

use std::sync::Arc;

use jobwatch_core::{AlertEvent, AlertKind, RunOutcome};
use jobwatch_store::{JobRecord, Store, StoreError};

use super::fixtures::{alert, commit, job, next, run};
use crate::time::t;

pub async fn create_then_read_back<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    let mut record = job("backup", "1h", now);
    record.state.last_ping_at = Some(now);
    store.create_job(&record).await.expect("create");
    let read = store
        .get_job("backup")
        .await
        .expect("get")
        .expect("created job is found");
    assert_eq!(read, record, "a job reads back exactly as created");
    let by_hash = store
        .find_job_by_uuid_hash("hash-of-backup")
        .await
        .expect("find");
    assert_eq!(
        by_hash.as_ref().map(JobRecord::slug),
        Some("backup"),
        "found by uuid hash"
    );
    assert!(
        store.get_job("nope").await.expect("get").is_none(),
        "unknown slug is None"
    );
    assert!(
        store
            .find_job_by_uuid_hash("nope")
            .await
            .expect("find")
            .is_none(),
        "unknown hash is None"
    );
}

pub async fn slugs_are_unique<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    store
        .create_job(&job("backup", "1h", now))
        .await
        .expect("create");
    let again = store.create_job(&job("backup", "2h", now)).await;
    assert!(
        matches!(again, Err(StoreError::AlreadyExists)),
        "second create of a slug: {again:?}"
    );
    let kept = store.get_job("backup").await.expect("get").expect("exists");
    assert_eq!(
        kept.spec.schedule.describe(),
        "every 1h",
        "the first definition is kept"
    );
}

pub async fn lists_jobs_by_slug<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    for slug in ["reports", "backup", "invoices"] {
        store
            .create_job(&job(slug, "1h", now))
            .await
            .expect("create");
    }
    let slugs: Vec<String> = store
        .list_jobs()
        .await
        .expect("list")
        .iter()
        .map(|j| j.slug().to_string())
        .collect();
    assert_eq!(slugs, ["backup", "invoices", "reports"]);
}

pub async fn commit_is_compare_and_set<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    let v1 = job("backup", "1h", now);
    store.create_job(&v1).await.expect("create");
    let v2 = next(&v1, |s| s.last_ping_at = Some(t("2026-01-01T00:10:00Z")));
    commit(&store, &v1, &v2, &[], &[])
        .await
        .expect("commit on the current version");
    assert_eq!(
        store.get_job("backup").await.expect("get"),
        Some(v2.clone())
    );

    let stale = next(&v1, |s| s.last_ping_at = Some(t("2026-01-01T00:20:00Z")));
    let runs = [run(1, RunOutcome::Failed, now)];
    let alerts = [alert(&v1, AlertKind::Failed, now)];
    let lost = commit(&store, &v1, &stale, &runs, &alerts).await;
    assert!(
        matches!(lost, Err(StoreError::Conflict)),
        "commit on a stale version: {lost:?}"
    );
    assert_eq!(
        store.get_job("backup").await.expect("get"),
        Some(v2),
        "the losing commit changed nothing"
    );
    assert!(
        store.runs("backup", 10).await.expect("runs").is_empty(),
        "the losing commit wrote no run"
    );
    assert!(
        store.pending_alerts(10).await.expect("pending").is_empty(),
        "the losing commit wrote no alert"
    );

    let ghost = job("ghost", "1h", now);
    let missing = commit(&store, &ghost, &next(&ghost, |_| {}), &[], &[]).await;
    assert!(
        matches!(missing, Err(StoreError::Conflict)),
        "commit to a job that does not exist: {missing:?}"
    );
}

pub async fn runs_are_upserted_and_listed_newest_first<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    let v1 = job("backup", "1h", now);
    store.create_job(&v1).await.expect("create");
    let v2 = next(&v1, |_| {});
    let started = [
        run(1, RunOutcome::Running, now),
        run(2, RunOutcome::Running, now),
    ];
    commit(&store, &v1, &v2, &started, &[])
        .await
        .expect("commit");
    let mut finished = run(1, RunOutcome::Success, now);
    finished.finished_at = Some(t("2026-01-01T00:05:00Z"));
    finished.duration_ms = Some(300_000);
    let v3 = next(&v2, |_| {});
    commit(
        &store,
        &v2,
        &v3,
        &[finished.clone(), run(3, RunOutcome::Log, now)],
        &[],
    )
    .await
    .expect("commit");

    let runs = store.runs("backup", 10).await.expect("runs");
    let seqs: Vec<u64> = runs.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, [3, 2, 1], "newest first");
    assert_eq!(runs[2], finished, "a run with the same seq is replaced");
    assert_eq!(
        store.runs("backup", 2).await.expect("runs").len(),
        2,
        "limit is honoured"
    );
    assert!(
        store.runs("other", 10).await.expect("runs").is_empty(),
        "runs are per job"
    );
}

pub async fn due_jobs_are_those_past_their_deadline<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    // Deadlines: expected (now + period) + 1m grace.
    for (slug, period) in [("hourly", "1h"), ("daily", "1d"), ("quarter", "15m")] {
        store
            .create_job(&job(slug, period, now))
            .await
            .expect("create");
    }
    let mut paused = job("paused", "1m", now);
    jobwatch_core::machine::pause(&mut paused.state, now, None);
    store.create_job(&paused).await.expect("create");

    let due = |at: &str, limit| {
        let at = t(at);
        let store = &store;
        async move {
            store
                .due_jobs(at, limit)
                .await
                .expect("due")
                .iter()
                .map(|j| j.slug().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        due("2026-01-01T00:15:59Z", 10).await,
        Vec::<String>::new(),
        "nothing due before a deadline"
    );
    assert_eq!(
        due("2026-01-01T00:16:00Z", 10).await,
        ["quarter"],
        "due at the deadline itself"
    );
    assert_eq!(
        due("2026-01-02T00:01:00Z", 10).await,
        ["quarter", "hourly", "daily"],
        "earliest deadline first"
    );
    assert_eq!(
        due("2026-01-02T00:01:00Z", 2).await,
        ["quarter", "hourly"],
        "limit is honoured"
    );
    assert_eq!(
        store.earliest_deadline().await.expect("earliest"),
        Some(t("2026-01-01T00:16:00Z"))
    );

    // A commit moves the deadline.
    let v1 = store
        .get_job("quarter")
        .await
        .expect("get")
        .expect("exists");
    let v2 = next(&v1, |s| s.expected = Some(t("2026-01-01T05:00:00Z")));
    commit(&store, &v1, &v2, &[], &[]).await.expect("commit");
    assert_eq!(
        due("2026-01-01T01:01:00Z", 10).await,
        ["hourly"],
        "the new deadline is indexed"
    );
    assert_eq!(
        store.earliest_deadline().await.expect("earliest"),
        Some(t("2026-01-01T01:01:00Z"))
    );
}

pub async fn delete_removes_job_and_runs<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    let v1 = job("backup", "1h", now);
    store.create_job(&v1).await.expect("create");
    commit(
        &store,
        &v1,
        &next(&v1, |_| {}),
        &[run(1, RunOutcome::Success, now)],
        &[],
    )
    .await
    .expect("commit");
    assert!(
        store.delete_job("backup").await.expect("delete"),
        "deleting an existing job"
    );
    assert!(
        store.get_job("backup").await.expect("get").is_none(),
        "gone"
    );
    assert!(
        store
            .find_job_by_uuid_hash("hash-of-backup")
            .await
            .expect("find")
            .is_none(),
        "gone by hash too"
    );
    assert!(
        store.runs("backup", 10).await.expect("runs").is_empty(),
        "its runs are gone"
    );
    assert!(
        !store.delete_job("backup").await.expect("delete"),
        "deleting again reports nothing deleted"
    );
    store
        .create_job(&job("backup", "2h", now))
        .await
        .expect("the slug can be reused");
    assert!(
        store.runs("backup", 10).await.expect("runs").is_empty(),
        "a reused slug starts without history"
    );
}

pub async fn concurrent_commits_have_one_winner_per_version<S: Store>(store: S) {
    // Shared by the racing tasks.
    let store = Arc::new(store);
    let now = t("2026-01-01T00:00:00Z");
    let v1 = job("backup", "1h", now);
    store.create_job(&v1).await.expect("create");
    let mut tasks = Vec::new();
    for writer in 0..8u64 {
        let store = Arc::clone(&store);
        let v1 = v1.clone();
        tasks.push(tokio::spawn(async move {
            let v2 = next(&v1, |s| s.next_seq = 100 + writer);
            let alerts = [AlertEvent {
                run_id: Some(format!("writer-{writer}")),
                ..alert(&v1, AlertKind::Failed, now)
            }
            .with_id()];
            commit(&*store, &v1, &v2, &[], &alerts).await.is_ok()
        }));
    }
    let mut winners = 0;
    for task in tasks {
        if task.await.expect("task") {
            winners += 1;
        }
    }
    assert_eq!(
        winners, 1,
        "exactly one of the racing commits on version 1 wins"
    );
    assert_eq!(
        store.pending_alerts(100).await.expect("pending").len(),
        1,
        "only the winner's alert is queued"
    );
    assert_eq!(
        store
            .get_job("backup")
            .await
            .expect("get")
            .map(|j| j.version),
        Some(2)
    );
}

pub async fn the_down_count_follows_the_jobs<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    for (slug, period) in [("a", "1h"), ("b", "2h"), ("c", "30m")] {
        store
            .create_job(&job(slug, period, now))
            .await
            .expect("create");
    }
    let down = || async { store.jobs_down().await.expect("count") };
    assert_eq!(down().await, 0, "nobody down yet");

    // A running job and a late one count as nothing: only going down enters the index.
    let a = store.get_job("a").await.expect("get").expect("a");
    let running = next(&a, |s| {
        s.open_runs.push(jobwatch_core::machine::OpenRun {
            seq: 1,
            run_id: "r1".into(),
            client_rid: false,
            started_at: t("2026-01-01T00:59:00Z"),
            expected_at: None,
            timed_out: false,
            slow_announced: false,
        })
    });
    commit(&store, &a, &running, &[], &[])
        .await
        .expect("commit");
    assert_eq!(down().await, 0);
    for slug in ["b", "c"] {
        let current = store.get_job(slug).await.expect("get").expect("job");
        let is_down = next(&current, |s| {
            s.health = jobwatch_core::Health::Down;
            s.down_since = Some(t("2026-01-01T00:31:00Z"));
        });
        commit(&store, &current, &is_down, &[], &[])
            .await
            .expect("commit");
    }
    assert_eq!(down().await, 2, "b and c are down");

    // Paused, a down job counts in no gauge; deleted, it is gone.
    let b = store.get_job("b").await.expect("get").expect("b");
    let paused = next(&b, |s| {
        s.paused = Some(jobwatch_core::machine::Pause {
            since: t("2026-01-01T01:00:00Z"),
            until: None,
        })
    });
    commit(&store, &b, &paused, &[], &[]).await.expect("commit");
    assert_eq!(down().await, 1, "paused jobs count in no gauge");
    store.delete_job("c").await.expect("delete");
    assert_eq!(down().await, 0, "deleted jobs count no more");
}
