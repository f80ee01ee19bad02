//! Benchmark (not a test: `#[ignore]`d, run on purpose, prints figures): the wall time and
//! store requests of one sweep over 10,000 and 100,000 jobs with 1% due, on the SQLite store
//! and on DynamoDB (moto). `bash bench/sweep.sh` runs it; figures go in docs/performance.md.
//! `JOBWATCH_SWEEP_BENCH_FLEETS=10000` (comma-separated) chooses the fleet sizes.

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

/// The fleet sizes: `JOBWATCH_SWEEP_BENCH_FLEETS` (comma-separated), else 10,000 and 100,000.
fn fleet_sizes() -> Vec<u32> {
    match std::env::var("JOBWATCH_SWEEP_BENCH_FLEETS") {
        Ok(sizes) => sizes
            .split(',')
            .map(|size| {
                size.trim()
                    .parse()
                    .unwrap_or_else(|e| panic!("JOBWATCH_SWEEP_BENCH_FLEETS: {size:?}: {e}"))
            })
            .collect(),
        Err(_) => vec![10_000, 100_000],
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with bench/sweep.sh"]
async fn sweep_cost_by_fleet_size() {
    println!("| store | jobs | due | sweep wall time | gauges wall time | requests |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let sizes = fleet_sizes();
    for &jobs in &sizes {
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
    // moto answers from Python, one request at a time, and scans the whole table for each
    // index query, so its wall time says little about DynamoDB; the request counts are the
    // figure that carries over. Its transactions copy only the items they touch
    // (jobwatch-testkit-aws's moto_serial.py), so large fleets are within reach.
    let mut seeding = Vec::new();
    for &jobs in &sizes {
        let (store, counter) = moto::fresh_dynamo().await;
        let started = Instant::now();
        store.import_jobs(&fleet(jobs)).await.expect("import");
        seeding.push(format!(
            "seeded {jobs} jobs on moto in {:.1} s ({:?})",
            started.elapsed().as_secs_f64(),
            counter.take()
        ));
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
            "| DynamoDB (moto) | {jobs} | {} | {:.1} s (moto) | {:.1} ms (moto) | sweep {sweep_requests:?}; gauges {gauge_requests:?} |",
            report.jobs_examined,
            sweep.as_secs_f64(),
            gauges.as_secs_f64() * 1000.0
        );
    }
    // After the table, which a line between its rows would end.
    println!();
    for line in seeding {
        println!("{line}");
    }
}
