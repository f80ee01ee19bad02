//! The store conformance suite on DynamoDB (moto), and the engine on it: what each ping costs
//! in requests, and exactly-once alerts under a race of pings and sweeps.

use std::sync::Arc;

use jobwatch_core::{AlertKind, JobDoc, Ping, PingEvent, PingSource, Slug};
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
        source: None,
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
        let mut sent = ping(event, 1 + at.len() as u32 + event_n(event));
        if event == PingEvent::Start {
            sent.body = None; // what most starts send
        }
        let receipt = engine.ping(by_slug, &sent, t(at)).await.expect("ping");
        let counts = counter.take();
        assert_eq!(counts.values().sum::<u64>(), 2, "{event:?}: {counts:?}");
        assert_eq!(counts.get("GetItem"), Some(&1), "{event:?}: {counts:?}");
        // A start writes only the job (its open run is in the state): one conditional put,
        // not a transaction; a finish writes its run record with the job, atomically.
        let write = if event == PingEvent::Start {
            "PutItem"
        } else {
            "TransactWriteItems"
        };
        assert_eq!(counts.get(write), Some(&1), "{event:?}: {counts:?}");
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
/// them past their deadline; one sweep reads the due keys once per shard, the due jobs in
/// one batch, and the gauge once per shard, never the whole table.
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
    let down = engine.store().jobs_down().await.expect("gauge");
    let requests = counter.take();
    assert_eq!(
        (report.jobs_examined, report.alerts.len()),
        (100, 100),
        "exactly the due jobs"
    );
    assert_eq!(down, 100);
    let shards = u64::from(jobwatch_dynamo::DUE_SHARDS);
    assert_eq!(
        requests.get("Query"),
        Some(&(2 * shards)),
        "one query per due shard, one per gauge shard: {requests:?}"
    );
    assert_eq!(
        requests.get("BatchGetItem"),
        Some(&1),
        "the 100 due jobs in one batch: {requests:?}"
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

/// A job in its steady state fits in one 1 KB write unit: an hourly cron job with a
/// description, tags and limits, after 40 runs pinged with run ids (the seen-ping window and
/// the recent durations full, two days of tallies), read back raw from the table.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_job_stays_within_one_write_unit() {
    let (store, counter) = fresh_dynamo().await;
    let table = store.table().to_string();
    let engine = Engine::new(store, "prod");
    let doc: JobDoc = serde_json::from_str(
        r#"{"schedule": "0 * * * *", "tz": "Europe/Berlin", "grace": "10m", "max_runtime": "45m",
            "description": "Nightly database backup to the offsite bucket",
            "tags": ["db", "backup"], "severity": "critical"}"#,
    )
    .expect("job");
    let spec = doc
        .into_spec(Slug::parse("db-backup-offsite").expect("slug"))
        .expect("spec");
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let start = t("2026-11-30T00:00:00Z");
    engine
        .put_job(spec, None, hash, start)
        .await
        .expect("define");
    for hour in 0..40i64 {
        let at = start + jiff::SignedDuration::from_hours(hour);
        let rid = format!("5f0e1c9a-3b7d-4e2a-9c41-{hour:012}");
        for (event, offset) in [
            (PingEvent::Start, 1),
            (PingEvent::Success, 1 + 60 + hour % 7),
        ] {
            let ping = Ping {
                event,
                rid: Some(rid.clone()),
                body: None,
                // What `jobwatch run` on a typical host sends: open runs keep it.
                source: PingSource::new(
                    Some("203.0.113.45"),
                    Some("jobwatch/0.1.0"),
                    Some("db-backup-01.prod.example.internal"),
                ),
            };
            let now = at + jiff::SignedDuration::from_secs(offset);
            engine
                .ping(JobLookup::Slug("db-backup-offsite"), &ping, now)
                .await
                .expect("ping");
        }
    }
    let client = jobwatch_tests::moto::dynamo_client(&counter);
    let job_item = || async {
        client
            .get_item()
            .table_name(&table)
            .key(
                "PK",
                aws_sdk_dynamodb::types::AttributeValue::S("JOB#db-backup-offsite".into()),
            )
            .key(
                "SK",
                aws_sdk_dynamodb::types::AttributeValue::S("JOB".into()),
            )
            .send()
            .await
            .expect("get")
            .item
            .expect("item")
    };
    let describe =
        |item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>| {
            item.iter()
                .map(|(k, v)| format!("{k}: {v:?}"))
                .collect::<Vec<_>>()
        };
    let item = job_item().await;
    let size = jobwatch_dynamo::item_size(&item);
    assert!(
        size <= 1024,
        "the job item is {size} bytes: {:#?}",
        describe(&item)
    );
    // While a run is open (between its start and its finish), too: a put is billed for the
    // larger of the old and the new item.
    let at = start + jiff::SignedDuration::from_hours(40);
    let ping = Ping {
        event: PingEvent::Start,
        rid: Some("5f0e1c9a-3b7d-4e2a-9c41-000000000040".into()),
        body: None,
        source: PingSource::new(
            Some("203.0.113.45"),
            Some("jobwatch/0.1.0"),
            Some("db-backup-01.prod.example.internal"),
        ),
    };
    engine
        .ping(JobLookup::Slug("db-backup-offsite"), &ping, at)
        .await
        .expect("start");
    let running = job_item().await;
    let running_size = jobwatch_dynamo::item_size(&running);
    assert!(
        running_size <= 1024,
        "the running job item is {running_size} bytes: {:#?}",
        describe(&running)
    );
    println!("steady-state job item: {size} bytes, {running_size} while running");
}

/// The daily report of 1,000 jobs with 90 days of history each: built from the jobs' daily
/// tallies, it reads the jobs index and the jobs (10 batches), never a run item nor a scan,
/// and finishes well inside the sweeper's minute.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_of_1000_jobs_reads_the_jobs_not_their_history() {
    use jobwatch_core::tally::DayTally;
    use jobwatch_core::{Run, RunOutcome};
    use jobwatch_store::JobRecord;

    let (store, counter) = fresh_dynamo().await;
    let now = t("2026-12-02T09:00:00Z");
    let yesterday: jiff::civil::Date = "2026-12-01".parse().expect("date");
    let records: Vec<JobRecord> = (0..1_000u32)
        .map(|n| {
            let doc = JobDoc {
                every: Some("1d".parse().expect("period")),
                ..JobDoc::default()
            };
            let spec = doc
                .into_spec(Slug::parse(&format!("job-{n:04}")).expect("slug"))
                .expect("spec");
            let mut state = jobwatch_core::JobState::new(&spec, t("2026-09-01T00:00:00Z"));
            state.days.push(DayTally {
                day: yesterday,
                runs: 1,
                failures: u32::from(n % 10 == 0),
                misses: 0,
                timeouts: 0,
                timed: 1,
                total_ms: 60_000,
                max_ms: 60_000,
            });
            JobRecord {
                state,
                spec,
                version: 1,
                uuid_hash: format!("hash-{n}"),
            }
        })
        .collect();
    store.import_jobs(&records).await.expect("import jobs");
    // 90 days of one run a day for every job: 90,000 run items the report must not read.
    for record in &records {
        let runs: Vec<Run> = (1..=90u64)
            .map(|day| Run {
                finished_at: Some(now - jiff::SignedDuration::from_hours(24 * day as i64)),
                duration_ms: Some(60_000),
                ..Run::new(day, format!("r{day}"), RunOutcome::Success)
            })
            .collect();
        store
            .import_runs(record.slug(), &runs)
            .await
            .expect("import runs");
    }
    counter.take();

    let engine = Engine::new(store, "prod");
    let started = std::time::Instant::now();
    let event = engine.daily_report(now).await.expect("report");
    let elapsed = started.elapsed();
    let requests = counter.take();
    let report = event.report.expect("report");
    assert_eq!(
        (report.jobs_total, report.runs, report.failures),
        (1_000, 1_000, 100)
    );
    assert_eq!(requests.get("Scan"), None, "{requests:?}");
    assert_eq!(
        requests.get("Query"),
        Some(&1),
        "one page of job keys: {requests:?}"
    );
    assert_eq!(
        requests.get("BatchGetItem"),
        Some(&10),
        "100 jobs a batch: {requests:?}"
    );
    assert!(
        requests.values().sum::<u64>() <= 13,
        "the keys, the jobs and queueing the report, nothing per run: {requests:?}"
    );
    assert!(elapsed.as_secs() < 10, "the report took {elapsed:?}");
    println!("report of 1,000 jobs: {elapsed:?}, {requests:?}");
}

/// A table written by an earlier version: its job items lack the `jobs` index key (and still
/// carry `slug`). The sweeper's one-time upgrade lists them again; it runs once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn job_items_of_an_earlier_version_are_listed_after_the_upgrade() {
    use aws_sdk_dynamodb::types::AttributeValue::{N, S};
    let (store, counter) = fresh_dynamo().await;
    let spec = JobDoc {
        every: Some("1h".parse().expect("period")),
        ..JobDoc::default()
    };
    let state = jobwatch_core::JobState::new(
        &spec
            .clone()
            .into_spec(Slug::parse("legacy").expect("slug"))
            .expect("spec"),
        t("2026-01-01T00:00:00Z"),
    );
    jobwatch_tests::moto::dynamo_client(&counter)
        .put_item()
        .table_name(store.table())
        .item("PK", S("JOB#legacy".into()))
        .item("SK", S("JOB".into()))
        .item("slug", S("legacy".into()))
        .item("uuid_hash", S("hash-legacy".into()))
        .item("version", N("3".into()))
        .item("spec", S(serde_json::to_string(&spec).expect("spec")))
        .item("state", S(serde_json::to_string(&state).expect("state")))
        .send()
        .await
        .expect("legacy item");
    assert!(
        store.list_jobs().await.expect("list").is_empty(),
        "not in the index yet"
    );
    assert_eq!(store.upgrade().await.expect("upgrade"), 1);
    let listed = store.list_jobs().await.expect("list");
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].slug(), listed[0].version), ("legacy", 3));
    counter.take();
    assert_eq!(store.upgrade().await.expect("again"), 0);
    assert_eq!(counter.take().get("Scan"), None, "done once: no scan again");
}
