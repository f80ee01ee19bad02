//! The store conformance suite on DynamoDB (moto), and the engine on it: what each ping costs
//! in requests, and exactly-once alerts under a race of pings and sweeps.

use std::sync::Arc;

use jobwatch_core::{AlertKind, JobDoc, Ping, PingEvent, Slug};
use jobwatch_store::{Engine, JobLookup, JobStore, Outbox};
use jobwatch_tests::moto::fresh_dynamo;
use jobwatch_tests::t;

/// The same suite the SQLite store passes, unchanged, one test per check.
mod conformance {
    jobwatch_testkit::conformance_tests!(jobwatch_tests::moto::fresh_dynamo);
}

fn ping(event: PingEvent, rid: u32) -> Ping {
    Ping {
        event,
        rid: Some(format!("00000000-0000-4000-8000-{rid:012}")),
        body: Some("output".into()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ping_costs_at_most_two_dynamodb_requests() {
    let (store, counter) = fresh_dynamo().await;
    let engine = Engine::new(store, "test");
    let spec = JobDoc {
        every: Some("1h".parse().expect("period")),
        ..JobDoc::default()
    }
    .into_spec(Slug::parse("backup").expect("slug"))
    .expect("spec");
    engine
        .put_job(spec, None, "uuid-hash-of-backup", t("2026-01-01T00:00:00Z"))
        .await
        .expect("define");
    counter.take();

    let by_slug = JobLookup::Slug("backup");
    for (event, at) in [
        (PingEvent::Start, "2026-01-01T00:10:00Z"),
        (PingEvent::Success, "2026-01-01T00:11:00Z"),
        (PingEvent::Fail, "2026-01-01T01:10:00Z"),
    ] {
        let receipt = engine
            .ping(
                by_slug,
                &ping(event, 1 + at.len() as u32 + event_n(event)),
                t(at),
            )
            .await
            .expect("ping");
        let counts = counter.take();
        assert_eq!(counts.values().sum::<u64>(), 2, "{event:?}: {counts:?}");
        assert_eq!(counts.get("GetItem"), Some(&1), "{event:?}: {counts:?}");
        if event == PingEvent::Fail {
            assert_eq!(
                receipt.alerts.len(),
                1,
                "the failure alert is committed in the same transaction"
            );
        }
    }
    assert_eq!(
        engine
            .store()
            .pending_alerts(10)
            .await
            .expect("outbox")
            .len(),
        1
    );
    counter.take();

    // By UUID: the first lookup asks the index, later ones use the per-process cache.
    let by_uuid = JobLookup::UuidHash("uuid-hash-of-backup");
    engine
        .ping(
            by_uuid,
            &ping(PingEvent::Success, 90),
            t("2026-01-01T02:00:00Z"),
        )
        .await
        .expect("ping");
    let cold = counter.take();
    assert_eq!(
        cold.values().sum::<u64>(),
        3,
        "cold: Query + GetItem + write: {cold:?}"
    );
    engine
        .ping(
            by_uuid,
            &ping(PingEvent::Success, 91),
            t("2026-01-01T03:00:00Z"),
        )
        .await
        .expect("ping");
    assert_eq!(
        counter.take().values().sum::<u64>(),
        2,
        "warm: GetItem + write"
    );
    // A retried ping is answered from the state it reads: one request, nothing written.
    engine
        .ping(
            by_uuid,
            &ping(PingEvent::Success, 91),
            t("2026-01-01T03:00:01Z"),
        )
        .await
        .expect("retry");
    assert_eq!(
        counter.take().values().sum::<u64>(),
        1,
        "retry: GetItem only"
    );
}

fn event_n(event: PingEvent) -> u32 {
    match event {
        PingEvent::Start => 100,
        PingEvent::Success => 200,
        _ => 300,
    }
}

/// 50 pings (each sent twice, as retrying clients do) and sweeps racing on one job: every
/// transition is committed once, so each alert exists exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_pings_and_sweeps_on_dynamodb_alert_exactly_once() {
    let (store, _counter) = fresh_dynamo().await;
    let engine = Arc::new(Engine::new(store, "test"));
    let spec = JobDoc {
        every: Some("1h".parse().expect("period")),
        grace: Some("1m".parse().expect("grace")),
        ..JobDoc::default()
    }
    .into_spec(Slug::parse("flappy").expect("slug"))
    .expect("spec");
    engine
        .put_job(spec, None, "hash-flappy", t("2026-05-01T00:00:00Z"))
        .await
        .expect("define");
    let start = t("2026-05-01T00:00:00Z");
    let mut tasks = Vec::new();
    for worker in 0..10u32 {
        let engine = Arc::clone(&engine);
        tasks.push(tokio::spawn(async move {
            for i in 0..5u32 {
                let now = start + jiff::SignedDuration::from_millis(i64::from(i * 10 + worker));
                let event = if (i + worker) % 3 == 0 {
                    PingEvent::Fail
                } else {
                    PingEvent::Success
                };
                let p = ping(event, worker * 100 + i);
                for _ in 0..2 {
                    engine
                        .ping(JobLookup::Slug("flappy"), &p, now)
                        .await
                        .expect("ping");
                }
                engine
                    .sweep(now + jiff::SignedDuration::from_hours(3))
                    .await
                    .expect("sweep");
            }
        }));
    }
    for task in tasks {
        task.await.expect("worker");
    }
    let mut alerts = engine.store().pending_alerts(1_000).await.expect("outbox");
    alerts.sort_by_key(|a| (a.event.at, a.token.clone()));
    let ids: std::collections::BTreeSet<&str> =
        alerts.iter().map(|a| a.event.id.as_str()).collect();
    assert_eq!(ids.len(), alerts.len(), "no alert twice");
    let runs = engine.runs("flappy", 1_000).await.expect("runs");
    assert_eq!(
        runs.iter()
            .filter(|r| r.outcome.as_str() != "missed")
            .count(),
        50,
        "each ping counted once"
    );
    let job = engine.get_job("flappy").await.expect("job");
    let downs = alerts
        .iter()
        .filter(|a| a.event.kind != AlertKind::Recovered)
        .count();
    let ups = alerts.len() - downs;
    assert!(
        downs == ups || downs == ups + 1,
        "down/up alerts pair up: {downs} down, {ups} up"
    );
    assert_eq!(
        job.state.health == jobwatch_core::Health::Down,
        downs == ups + 1,
        "the state matches the alerts"
    );
}

/// A sweep's cost grows with the jobs that are due, not with all jobs: 10,000 jobs, 100 of
/// them past their deadline; one sweep reads the due index once per shard and the gauges
/// once per shard and class, never the whole table.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_sweep_over_10000_jobs_reads_only_the_due_ones() {
    use jobwatch_store::JobRecord;
    let (store, counter) = fresh_dynamo().await;
    let store = Arc::new(store);
    let declared = t("2026-03-01T00:00:00Z");
    let records: Vec<JobRecord> = (0..10_000u32)
        .map(|n| {
            // Jobs 0..100 expect a ping every 10 minutes (due by now); the rest every day.
            let period = if n < 100 { "10m" } else { "1d" };
            let doc = JobDoc {
                every: Some(period.parse().expect("period")),
                grace: Some("1m".parse().expect("grace")),
                ..JobDoc::default()
            };
            let spec = doc
                .into_spec(Slug::parse(&format!("job-{n:05}")).expect("slug"))
                .expect("spec");
            JobRecord {
                state: jobwatch_core::JobState::new(&spec, declared),
                spec,
                version: 1,
                uuid_hash: format!("hash-{n}"),
            }
        })
        .collect();
    store.import_jobs(&records).await.expect("import");
    counter.take();
    let engine = Engine::new(
        Arc::try_unwrap(store).unwrap_or_else(|_| panic!("store still shared")),
        "test",
    );
    let now = t("2026-03-01T01:00:00Z");
    // (Seconds on moto: its transactions copy only the items they touch, see moto_serial.py.)
    let report = engine.sweep(now).await.expect("sweep");
    let counts = engine.store().status_counts(now).await.expect("gauges");
    let requests = counter.take();
    assert_eq!(
        (report.jobs_examined, report.alerts.len()),
        (100, 100),
        "exactly the due jobs"
    );
    assert_eq!(counts.down, 100);
    let shards = u64::from(jobwatch_dynamo::DUE_SHARDS);
    let queries = requests.get("Query").copied().unwrap_or(0);
    assert!(
        queries <= shards + 3 * shards,
        "{queries} queries: one per due shard, one per gauge shard: {requests:?}"
    );
    assert_eq!(requests.get("Scan"), None, "{requests:?}");
    assert_eq!(
        requests.get("GetItem"),
        None,
        "no re-reads without contention: {requests:?}"
    );
    let writes = requests.get("TransactWriteItems").copied().unwrap_or(0)
        + requests.get("PutItem").copied().unwrap_or(0);
    assert_eq!(writes, 100, "one write per due job: {requests:?}");
}
