//! Benchmark (not a test: `#[ignore]`d, run on purpose, prints figures): the wall time and
//! store requests of one sweep over 10,000 and 100,000 jobs with 1% due, on the SQLite store
//! and on DynamoDB (moto). `bash bench/sweep.sh` runs it; figures go in docs/performance.md.

use std::time::Instant;

use jobwatch_core::{JobDoc, JobState, Slug};
use jobwatch_store::{Engine, JobRecord, JobStore};
use jobwatch_tests::{fresh_sqlite, moto, t};

fn fleet(jobs: u32) -> Vec<JobRecord> {
    let declared = t("2026-03-01T00:00:00Z");
    (0..jobs)
        .map(|n| {
            // 1% expect a ping every 10 minutes (due at the sweep); the rest once a day.
            let period = if n % 100 == 0 { "10m" } else { "1d" };
            let doc = JobDoc {
                every: Some(period.parse().expect("period")),
                grace: Some("1m".parse().expect("grace")),
                ..JobDoc::default()
            };
            let spec = doc
                .into_spec(Slug::parse(&format!("job-{n:06}")).expect("slug"))
                .expect("spec");
            JobRecord {
                state: JobState::new(&spec, declared),
                spec,
                version: 1,
                uuid_hash: format!("hash-{n}"),
            }
        })
        .collect()
}

const SWEEP_AT: &str = "2026-03-01T01:00:00Z";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with bench/sweep.sh"]
async fn sweep_cost_by_fleet_size() {
    println!("| store | jobs | due | sweep wall time | gauges wall time | requests |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for jobs in [10_000u32, 100_000] {
        let (store, _dir) = fresh_sqlite();
        for record in fleet(jobs) {
            store.create_job(&record).await.expect("create");
        }
        let engine = Engine::new(store, "bench");
        let started = Instant::now();
        let report = engine.sweep(t(SWEEP_AT)).await.expect("sweep");
        let sweep = started.elapsed();
        let started = Instant::now();
        engine.store().jobs_down().await.expect("gauges");
        let gauges = started.elapsed();
        println!(
            "| SQLite | {jobs} | {} | {:.1} ms | {:.1} ms | 1 due-index query + 1 transaction per due job |",
            report.jobs_examined,
            sweep.as_secs_f64() * 1000.0,
            gauges.as_secs_f64() * 1000.0
        );
    }
    // moto copies every table on each transactional write (for rollback), so its wall time
    // says nothing about DynamoDB; the request counts are the figure that carries over.
    let (store, counter) = moto::fresh_dynamo().await;
    store.import_jobs(&fleet(10_000)).await.expect("import");
    counter.take();
    let engine = Engine::new(store, "bench");
    let started = Instant::now();
    let report = engine.sweep(t(SWEEP_AT)).await.expect("sweep");
    let sweep = started.elapsed();
    let sweep_requests = counter.take();
    let started = Instant::now();
    engine.store().jobs_down().await.expect("gauges");
    let gauges = started.elapsed();
    let gauge_requests = counter.take();
    println!(
        "| DynamoDB (moto) | 10000 | {} | {:.1} s (moto) | {:.1} ms (moto) | sweep {sweep_requests:?}; gauges {gauge_requests:?} |",
        report.jobs_examined,
        sweep.as_secs_f64(),
        gauges.as_secs_f64() * 1000.0
    );
}
