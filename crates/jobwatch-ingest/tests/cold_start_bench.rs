//! Benchmark (not a test: `#[ignore]`d, run on purpose, prints figures, asserts nothing about
//! speed): cold start, warm latency, peak memory and binary size of the real
//! `jobwatch-ingest`, with a local Lambda Runtime API and moto on loopback.
//!
//! `bash bench/lambda.sh` runs it on a release build; the figures go in docs/performance.md.

use std::path::Path;
use std::time::Instant;

use jobwatch_testkit::lambda::{LambdaProcess, RuntimeApi, function_url_event};
use jobwatch_testkit_aws::aws::Stack;
use jobwatch_testkit_aws::moto;

const EVENTS: usize = 1_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with bench/lambda.sh"]
async fn ingest_cold_start_memory_and_size() {
    let binary = Path::new(env!("CARGO_BIN_EXE_jobwatch-ingest"));
    let size = std::fs::metadata(binary).expect("binary").len();
    let stack = Stack::create().await;
    let env = stack.lambda_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let runtime = RuntimeApi::start().await;

    let spawned = Instant::now();
    let process = LambdaProcess::spawn(binary, &runtime, &moto::endpoint(), &env);
    let ready = runtime.first_poll().await.duration_since(spawned);
    let auth = format!("Bearer {}", stack.api_key);
    let created = runtime
        .invoke(function_url_event(
            "PUT",
            "/api/v1/jobs/bench",
            &[("authorization", &auth)],
            br#"{"every": "1h"}"#,
        ))
        .await
        .response();
    let first_served = spawned.elapsed();
    assert_eq!(created["statusCode"], 201, "{created}");

    let body = vec![b'x'; 1024];
    let mut latencies = Vec::with_capacity(EVENTS);
    for i in 0..EVENTS {
        let suffix = if i % 2 == 0 { "/start" } else { "" };
        let rid = format!("00000000-0000-4000-8000-{:012}", i / 2);
        let path = format!("/ping/{}/bench{suffix}?rid={rid}", stack.ping_key);
        let started = Instant::now();
        let response = runtime
            .invoke(function_url_event("POST", &path, &[], &body))
            .await
            .response();
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(response["statusCode"], 200);
    }
    latencies.sort_by(f64::total_cmp);
    let peak = process.peak_rss_kib().unwrap_or(0);
    println!("| figure | value |");
    println!("| --- | --- |");
    println!(
        "| binary size (stripped release, x86_64) | {:.2} MB |",
        size as f64 / 1_000_000.0
    );
    println!(
        "| init: process start to first event requested | {:.1} ms |",
        ready.as_secs_f64() * 1000.0
    );
    println!(
        "| process start to first invocation served (2 secrets read, 1 DynamoDB write, on moto) | {:.1} ms |",
        first_served.as_secs_f64() * 1000.0
    );
    println!(
        "| warm ping through the runtime API, on moto, p50 / p99 ({EVENTS} events, 1 KB bodies) | {:.2} / {:.2} ms |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    println!(
        "| peak RSS after {EVENTS} events | {:.1} MiB |",
        peak as f64 / 1024.0
    );
}
