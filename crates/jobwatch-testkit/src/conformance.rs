//! The store conformance suite: the behaviour the engine relies on, checked against any
//! [`Store`]. Each store's tests call [`run_all`] with a function that makes a fresh, empty
//! store (with a guard that keeps its resources, e.g. a temp dir, alive); every check panics
//! with a message saying which promise was broken.

use std::future::Future;
use std::sync::Arc;

use jiff::Timestamp;
use jobwatch_core::{
    AlertEvent, AlertKind, Duration, JobDoc, JobSpec, JobState, Run, RunOutcome, Slug,
};

use jobwatch_store::{Commit, IncidentRecord, JobRecord, Store, StoreError};

/// Runs every check, each on a fresh store from `fresh`.
pub async fn run_all<S, G, F, Fut>(fresh: F)
where
    S: Store,
    F: Fn() -> Fut,
    Fut: Future<Output = (S, G)>,
{
    let (store, _guard) = fresh().await;
    create_then_read_back(store).await;
    let (store, _guard) = fresh().await;
    slugs_are_unique(store).await;
    let (store, _guard) = fresh().await;
    lists_jobs_by_slug(store).await;
    let (store, _guard) = fresh().await;
    commit_is_compare_and_set(store).await;
    let (store, _guard) = fresh().await;
    runs_are_upserted_and_listed_newest_first(store).await;
    let (store, _guard) = fresh().await;
    outbox_keeps_alerts_until_acknowledged(store).await;
    let (store, _guard) = fresh().await;
    due_jobs_are_those_past_their_deadline(store).await;
    let (store, _guard) = fresh().await;
    delete_removes_job_and_runs(store).await;
    let (store, _guard) = fresh().await;
    settings_are_written_once(store).await;
    let (store, _guard) = fresh().await;
    status_counts_follow_the_jobs(store).await;
    let (store, _guard) = fresh().await;
    enqueued_alerts_join_the_outbox_once(store).await;
    let (store, _guard) = fresh().await;
    concurrent_commits_have_one_winner_per_version(Arc::new(store)).await;
    let (store, _guard) = fresh().await;
    incidents_are_compare_and_set(store).await;
    let (store, _guard) = fresh().await;
    due_incidents_are_those_past_their_due_time(store).await;
    let (store, _guard) = fresh().await;
    concurrent_incident_writes_have_one_winner(Arc::new(store)).await;
}

pub fn t(rfc3339: &str) -> Timestamp {
    rfc3339.parse().expect("test timestamp")
}

/// A job expected every `period`, declared at `now`.
pub fn job(slug: &str, period: &str, now: Timestamp) -> JobRecord {
    let spec = spec(slug, period);
    JobRecord {
        state: JobState::new(&spec, now),
        spec,
        version: 1,
        uuid_hash: format!("hash-of-{slug}"),
    }
}

fn spec(slug: &str, period: &str) -> JobSpec {
    let doc = JobDoc {
        every: Some(period.parse().expect("test period")),
        grace: Some(Duration::from_mins(1)),
        ..JobDoc::default()
    };
    doc.into_spec(Slug::parse(slug).expect("test slug"))
        .expect("test spec")
}

fn run(seq: u64, outcome: RunOutcome, at: Timestamp) -> Run {
    Run {
        seq,
        run_id: format!("r{seq}"),
        outcome,
        expected_at: None,
        started_at: Some(at),
        finished_at: None,
        duration_ms: None,
        exit_code: None,
        timed_out: false,
        output: Some(format!("output of run {seq} ✓")),
    }
}

fn alert(record: &JobRecord, kind: AlertKind, at: Timestamp) -> AlertEvent {
    AlertEvent::new(kind, &record.spec, "test", at, at)
}

/// The record after a change to its state, one version on.
fn next(record: &JobRecord, change: impl FnOnce(&mut JobState)) -> JobRecord {
    let mut next = record.clone();
    change(&mut next.state);
    next.version += 1;
    next
}

async fn commit<S: Store>(
    store: &S,
    from: &JobRecord,
    to: &JobRecord,
    runs: &[Run],
    alerts: &[AlertEvent],
) -> Result<(), StoreError> {
    store
        .commit(Commit {
            record: to,
            expected_version: from.version,
            runs,
            alerts,
        })
        .await
}

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

pub async fn outbox_keeps_alerts_until_acknowledged<S: Store>(store: S) {
    let now = t("2026-01-01T00:00:00Z");
    let v1 = job("backup", "1h", now);
    store.create_job(&v1).await.expect("create");
    let first = alert(&v1, AlertKind::Missed, now);
    let second = alert(&v1, AlertKind::Recovered, t("2026-01-01T01:00:00Z"));
    let v2 = next(&v1, |_| {});
    commit(&store, &v1, &v2, &[], &[first.clone(), second.clone()])
        .await
        .expect("commit");
    let v3 = next(&v2, |_| {});
    commit(&store, &v2, &v3, &[], std::slice::from_ref(&first))
        .await
        .expect("commit");

    let pending = store.pending_alerts(10).await.expect("pending");
    let events: Vec<&AlertEvent> = pending.iter().map(|a| &a.event).collect();
    assert_eq!(
        events,
        [&first, &second],
        "oldest first, an id already queued is not added twice"
    );
    store
        .ack_alerts(&[pending[0].token.clone()])
        .await
        .expect("ack");
    let pending = store.pending_alerts(10).await.expect("pending");
    assert_eq!(
        pending.iter().map(|a| &a.event).collect::<Vec<_>>(),
        [&second],
        "acknowledged alerts leave"
    );
    assert_eq!(
        store.pending_alerts(0).await.expect("pending"),
        [],
        "limit 0 reads nothing"
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

pub async fn settings_are_written_once<S: Store>(store: S) {
    assert_eq!(store.get_setting("ping_key_hash").await.expect("get"), None);
    assert_eq!(
        store
            .init_setting("ping_key_hash", "first")
            .await
            .expect("init"),
        "first"
    );
    assert_eq!(
        store
            .init_setting("ping_key_hash", "second")
            .await
            .expect("init"),
        "first",
        "existing value wins"
    );
    assert_eq!(
        store
            .get_setting("ping_key_hash")
            .await
            .expect("get")
            .as_deref(),
        Some("first")
    );
}

pub async fn concurrent_commits_have_one_winner_per_version<S: Store>(store: Arc<S>) {
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

fn incident(key: &str, version: u64, doc: &str, due_at: Option<&str>) -> IncidentRecord {
    IncidentRecord {
        key: key.to_string(),
        version,
        doc: doc.to_string(),
        due_at: due_at.map(t),
        expires_at: t("2026-01-08T00:00:00Z"),
    }
}

pub async fn incidents_are_compare_and_set<S: Store>(store: S) {
    let key = "job/prod/backup";
    assert_eq!(
        store.get_incident(key).await.expect("get"),
        None,
        "no incident before the first write"
    );
    let v1 = incident(key, 1, r#"{"streaks":{"failed":1}} ✓"#, None);
    store.put_incident(&v1, 0).await.expect("create");
    assert!(
        matches!(store.put_incident(&v1, 0).await, Err(StoreError::Conflict)),
        "creating an existing incident conflicts"
    );
    assert_eq!(
        store.get_incident(key).await.expect("get"),
        Some(v1.clone()),
        "reads back exactly as written"
    );
    let v2 = incident(key, 2, "{}", Some("2026-01-01T00:05:00Z"));
    store.put_incident(&v2, 1).await.expect("update");
    assert!(
        matches!(
            store
                .put_incident(&incident(key, 2, "stale", None), 1)
                .await,
            Err(StoreError::Conflict)
        ),
        "a write on a stale version conflicts"
    );
    assert!(
        matches!(
            store
                .put_incident(&incident("job/prod/other", 6, "{}", None), 5)
                .await,
            Err(StoreError::Conflict)
        ),
        "updating an incident that does not exist conflicts"
    );
    assert_eq!(store.get_incident(key).await.expect("get"), Some(v2));

    // Incidents live beside jobs without touching them.
    let now = t("2026-01-01T00:00:00Z");
    store
        .create_job(&job("backup", "1h", now))
        .await
        .expect("a job named like an incident key");
    store
        .put_incident(
            &incident("backup", 1, "{}", Some("2026-01-01T00:00:00Z")),
            0,
        )
        .await
        .expect("an incident named like a job");
    assert_eq!(
        store
            .list_jobs()
            .await
            .expect("list")
            .iter()
            .map(JobRecord::slug)
            .collect::<Vec<_>>(),
        ["backup"],
        "incidents are not jobs"
    );
    assert_eq!(
        store
            .due_jobs(t("2030-01-01T00:00:00Z"), 10)
            .await
            .expect("due")
            .len(),
        1,
        "incidents are not due jobs"
    );
    assert_eq!(
        store.earliest_deadline().await.expect("earliest"),
        Some(t("2026-01-01T01:01:00Z")),
        "incidents do not move the job deadline"
    );
    assert_eq!(
        store.pending_alerts(10).await.expect("pending"),
        [],
        "incidents are not alerts"
    );
}

pub async fn due_incidents_are_those_past_their_due_time<S: Store>(store: S) {
    for (key, due) in [
        ("digest/staging/1", Some("2026-01-01T00:05:00Z")),
        ("job/prod/b", Some("2026-01-01T00:10:00Z")),
        ("job/prod/a", Some("2026-01-01T00:10:00Z")),
        ("alarm/quiet", None),
    ] {
        store
            .put_incident(&incident(key, 1, "{}", due), 0)
            .await
            .expect("create");
    }
    let due = |at: &str, limit| {
        let at = t(at);
        let store = &store;
        async move {
            store
                .due_incidents(at, limit)
                .await
                .expect("due")
                .into_iter()
                .map(|r| r.key)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        due("2026-01-01T00:04:59Z", 10).await,
        Vec::<String>::new(),
        "nothing due before its time"
    );
    assert_eq!(
        due("2026-01-01T00:05:00Z", 10).await,
        ["digest/staging/1"],
        "due at the time itself"
    );
    assert_eq!(
        due("2026-01-01T01:00:00Z", 10).await,
        ["digest/staging/1", "job/prod/a", "job/prod/b"],
        "earliest first (then by key); never those without a due time"
    );
    assert_eq!(
        due("2026-01-01T01:00:00Z", 2).await,
        ["digest/staging/1", "job/prod/a"],
        "limit is honoured"
    );
    assert_eq!(
        due("2026-01-01T01:00:00Z", 0).await,
        Vec::<String>::new(),
        "limit 0 reads nothing"
    );
    // Flushing clears the due time; the record stays (for de-duplication).
    store
        .put_incident(
            &incident("digest/staging/1", 2, "{\"closed\":true}", None),
            1,
        )
        .await
        .expect("flush");
    assert_eq!(
        due("2026-01-01T01:00:00Z", 10).await,
        ["job/prod/a", "job/prod/b"],
        "a flushed record is no longer due"
    );
    assert_eq!(
        store
            .get_incident("digest/staging/1")
            .await
            .expect("get")
            .map(|r| (r.version, r.due_at)),
        Some((2, None)),
        "and is still there"
    );
}

pub async fn concurrent_incident_writes_have_one_winner<S: Store>(store: Arc<S>) {
    let key = "alarm/jobwatch-prod-errors";
    store
        .put_incident(&incident(key, 1, "{}", None), 0)
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for writer in 0..8u64 {
        let store = Arc::clone(&store);
        tasks.push(tokio::spawn(async move {
            let doc = format!("{{\"writer\":{writer}}}");
            store
                .put_incident(&incident(key, 2, &doc, Some("2026-01-01T00:05:00Z")), 1)
                .await
                .is_ok()
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
        "exactly one of the racing writes on version 1 wins"
    );
    assert_eq!(
        store
            .get_incident(key)
            .await
            .expect("get")
            .map(|r| r.version),
        Some(2)
    );
}

pub async fn status_counts_follow_the_jobs<S: Store>(store: S) {
    use jobwatch_store::StatusCounts;
    let now = t("2026-01-01T00:00:00Z");
    // Deadlines: "a" expects a ping at 01:00, "b" at 02:00, "c" at 00:30.
    for (slug, period) in [("a", "1h"), ("b", "2h"), ("c", "30m")] {
        store
            .create_job(&job(slug, period, now))
            .await
            .expect("create");
    }
    let counts = |at: &str| {
        let at = t(at);
        let store = &store;
        async move { store.status_counts(at).await.expect("counts") }
    };
    assert_eq!(
        counts("2026-01-01T00:10:00Z").await,
        StatusCounts::default(),
        "nobody late yet"
    );
    assert_eq!(
        counts("2026-01-01T01:00:00Z").await,
        StatusCounts {
            late: 2,
            ..StatusCounts::default()
        },
        "a and c are late"
    );

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
    let c = store.get_job("c").await.expect("get").expect("c");
    let down = next(&c, |s| {
        s.health = jobwatch_core::Health::Down;
        s.down_since = Some(t("2026-01-01T00:31:00Z"));
    });
    commit(&store, &c, &down, &[], &[]).await.expect("commit");
    assert_eq!(
        counts("2026-01-01T01:00:00Z").await,
        StatusCounts {
            down: 1,
            running: 1,
            late: 0
        },
        "a runs, c is down, b is not due until 02:00"
    );
    assert_eq!(
        counts("2026-01-01T02:00:00Z").await,
        StatusCounts {
            down: 1,
            running: 1,
            late: 1
        }
    );
    store.delete_job("c").await.expect("delete");
    assert_eq!(
        counts("2026-01-01T02:00:00Z").await.down,
        0,
        "deleted jobs count no more"
    );
}

pub async fn enqueued_alerts_join_the_outbox_once<S: Store>(store: S) {
    let now = t("2026-01-01T09:00:00Z");
    let report = jobwatch_core::report::daily_report("test", &[], now);
    store
        .enqueue_alerts(std::slice::from_ref(&report))
        .await
        .expect("enqueue");
    store
        .enqueue_alerts(std::slice::from_ref(&report))
        .await
        .expect("enqueue again");
    let pending = store.pending_alerts(10).await.expect("pending");
    assert_eq!(
        pending.iter().map(|a| &a.event).collect::<Vec<_>>(),
        [&report],
        "queued once"
    );
}
