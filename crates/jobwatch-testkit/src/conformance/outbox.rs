//! Conformance checks of a store's outbox: alerts committed with a job's change (or queued on
//! their own) wait there, oldest first and each once, until acknowledged.

use jobwatch_core::{AlertEvent, AlertKind};
use jobwatch_store::Store;

use super::fixtures::{alert, commit, job, next};
use crate::time::t;

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

pub async fn enqueued_alerts_join_the_outbox_once<S: Store>(store: S) {
    let now = t("2026-01-01T09:00:00Z");
    let report = jobwatch_core::report::daily_report(
        "test",
        &[],
        now,
        &jobwatch_core::tally::ReportDay::default(),
    );
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
