//! Benchmark (not a test: `#[ignore]`d, run on purpose by `bash bench/lambda.sh`, prints
//! figures, asserts nothing about speed): init time and peak memory over 1,000 events of the
//! real `jobwatch-sweeper` and `jobwatch-formatter`, with a local Lambda Runtime API and moto
//! on loopback (the ingest's own benchmark is crates/jobwatch-ingest/tests/cold_start_bench.rs).

use std::time::{Duration, Instant};

use jobwatch_tests::aws::{Stack, secrets};
use jobwatch_tests::lambda::{LambdaProcess, RuntimeApi, workspace_binary};
use jobwatch_tests::moto;
use jobwatch_tests::slack::SlackReceiver;
use serde_json::{Value, json};

const EVENTS: usize = 1_000;

fn percentile(sorted: &[f64], p: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Starts `binary` on a fresh stack, then feeds it `EVENTS` events from `event(i)`; prints a
/// table of its init time, latencies and peak RSS.
async fn measure(binary: &str, what: &str, event: impl Fn(usize) -> Value) {
    let stack = Stack::create().await;
    let slack = SlackReceiver::start().await;
    let slack_secret = format!("{}-slack", stack.table);
    secrets()
        .create_secret()
        .name(&slack_secret)
        .secret_string(json!({"webhook_url": slack.url}).to_string())
        .send()
        .await
        .expect("secret");
    let mut env = stack.lambda_env();
    env.push(("JOBWATCH_SLACK_SECRET", slack_secret));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let runtime = RuntimeApi::start().await;
    let path = workspace_binary(binary);

    let spawned = Instant::now();
    let process = LambdaProcess::spawn(&path, &runtime, &moto::endpoint(), &env);
    let ready = runtime.first_poll().await.duration_since(spawned);
    let mut latencies = Vec::with_capacity(EVENTS);
    let mut failed = 0;
    for i in 0..EVENTS {
        let started = Instant::now();
        if let jobwatch_tests::lambda::Invocation::Error(_) = runtime.invoke(event(i)).await {
            failed += 1;
        }
        latencies.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    latencies.sort_by(f64::total_cmp);
    let peak = process.peak_rss_kib().unwrap_or(0);
    println!();
    println!("## {binary}");
    println!();
    println!("| figure | value |");
    println!("| --- | --- |");
    println!(
        "| init: process start to first event requested | {:.1} ms |",
        ready.as_secs_f64() * 1000.0
    );
    println!(
        "| {what}, on moto, p50 / p99 ({EVENTS} events, {failed} failed) | {:.2} / {:.2} ms |",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    println!(
        "| peak RSS after {EVENTS} events | {:.1} MiB |",
        peak as f64 / 1024.0
    );
    println!();
    drop(slack);
    tokio::time::sleep(Duration::from_millis(10)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with bench/lambda.sh"]
async fn sweeper_init_and_memory() {
    measure("jobwatch-sweeper", "one sweep (scheduled event)", |_| {
        json!({
            "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
            "detail-type": "Scheduled Event", "source": "aws.events",
            "account": "123456789012", "time": jiff::Timestamp::now().to_string(),
            "region": "us-east-1", "resources": [], "detail": {}
        })
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: run with bench/lambda.sh"]
async fn formatter_init_and_memory() {
    measure(
        "jobwatch-formatter",
        "one CloudWatch alarm notification to Slack",
        |i| {
            let name = format!("bench-alarm-{}", i % 50);
            let state = if i % 2 == 0 { "ALARM" } else { "OK" };
            let message = json!({
                "AlarmName": name, "AlarmDescription": "benchmark alarm",
                "AWSAccountId": "123456789012", "NewStateValue": state, "OldStateValue": "OK",
                "NewStateReason": "Threshold Crossed", "StateChangeTime": "2026-11-22T09:00:00.000+0000",
                "Region": "US East (N. Virginia)",
                "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
                "Trigger": {"MetricName": "Errors", "Namespace": "AWS/Lambda", "Statistic": "SUM",
                    "Dimensions": [], "Period": 60, "EvaluationPeriods": 1,
                    "ComparisonOperator": "GreaterThanOrEqualToThreshold", "Threshold": 1.0}
            })
            .to_string();
            json!({"Records": [{
                "EventSource": "aws:sns", "EventVersion": "1.0",
                "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:alerts:1",
                "Sns": {"Type": "Notification", "MessageId": format!("bench-{i}"),
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:alerts",
                    "Subject": null, "Message": message, "Timestamp": "2026-11-22T09:00:00.000Z",
                    "SignatureVersion": "1", "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://example.invalid/x.pem",
                    "UnsubscribeUrl": "https://example.invalid/u", "MessageAttributes": {}}
            }]})
        },
    )
    .await;
}
