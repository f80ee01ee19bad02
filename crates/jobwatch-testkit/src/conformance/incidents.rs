//! Conformance checks of a store's incident records (the notifier's alert-fatigue and digest
//! state): compare-and-set writes, the due index, and no interference with jobs.

use std::sync::Arc;

use jobwatch_store::{IncidentRecord, JobRecord, Store, StoreError};

use super::fixtures::job;
use crate::time::t;

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

pub async fn concurrent_incident_writes_have_one_winner<S: Store>(store: S) {
    // Shared by the racing tasks.
    let store = Arc::new(store);
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
