//! The real `jobwatch-sweeper` executable, fed EventBridge scheduled events through a
//! test-side Lambda Runtime API, against moto: jobs declared through the API go missed and
//! timed out at their deadlines, the alerts arrive on the topic, the gauge of down jobs is an
//! EMF line on stdout, and the report mode publishes a report.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use jobwatch_core::{AlertEvent, AlertKind};
use jobwatch_testkit::lambda::{LambdaProcess, RuntimeApi};
use jobwatch_testkit_aws::aws::{CountingProxy, Stack};
use serde_json::{Value, json};

fn scheduled_event() -> Value {
    json!({
        "version": "0",
        "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": jiff::Timestamp::now().to_string(),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/jobwatch-prod-sweep"],
        "detail": {}
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sweeper_lambda_notices_what_did_not_happen() {
    let stack = Stack::create().await;
    let proxy = CountingProxy::start().await;
    let runtime = RuntimeApi::start().await;

    // Declare jobs through the API, on the stack's table, as the ingest Lambda would.
    let engine = Arc::new(jobwatch_store::Engine::new(stack.store(), "prod"));
    let api = jobwatch_api::Api::new(
        Arc::clone(&engine),
        jobwatch_api::ApiConfig {
            public_url: "https://example.lambda-url.us-east-1.on.aws".into(),
            api_key: jobwatch_api::Secret::from_plain(&stack.api_key),
            ping_key: jobwatch_api::Secret::from_plain(&stack.ping_key),
            ping_body_limit: 10_000,
            web: jobwatch_api::WebConfig::new(b"test signing secret"),
        },
    );
    let call = |method: &str, uri: String, body: &str| {
        let request = http::Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {}", stack.api_key))
            .body(bytes::Bytes::from(body.to_string()))
            .expect("request");
        let api = &api;
        async move {
            api.handle(request, jiff::Timestamp::now())
                .await
                .status()
                .as_u16()
        }
    };
    assert_eq!(
        call(
            "PUT",
            "/api/v1/jobs/heartbeat".into(),
            r#"{"every": "2s", "grace": "1s"}"#
        )
        .await,
        201
    );
    assert_eq!(
        call(
            "PUT",
            "/api/v1/jobs/etl".into(),
            r#"{"every": "1h", "max_runtime": "2s"}"#
        )
        .await,
        201
    );
    assert_eq!(
        call("PUT", "/api/v1/jobs/fine".into(), r#"{"every": "1h"}"#).await,
        201
    );
    assert_eq!(
        call("POST", format!("/ping/{}/etl/start", stack.ping_key), "").await,
        200
    );
    let heartbeat = engine.get_job("heartbeat").await.expect("job");
    let missed_deadline = heartbeat.next_deadline().expect("deadline");
    let etl = engine.get_job("etl").await.expect("job");
    let timeout_deadline = etl.next_deadline().expect("deadline");

    let env = stack.lambda_env();
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let process = LambdaProcess::spawn(
        Path::new(env!("CARGO_BIN_EXE_jobwatch-sweeper")),
        &runtime,
        &proxy.endpoint,
        &env,
    );

    // Before the deadlines: nothing to do.
    let summary = runtime.invoke(scheduled_event()).await.response();
    assert_eq!(
        (summary["alerts"].as_u64(), summary["jobs_down"].as_u64()),
        (Some(0), Some(0)),
        "{summary}"
    );
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    proxy.take();
    let summary = runtime.invoke(scheduled_event()).await.response();
    assert_eq!(summary["alerts"], 2, "{summary}");
    assert_eq!(summary["jobs_down"], 2, "{summary}");
    let counts = proxy.take();
    assert_eq!(counts.get("Scan"), None, "never a table scan: {counts:?}");
    assert_eq!(
        counts.get("PutMetricData"),
        None,
        "the gauge is an EMF line: {counts:?}"
    );

    let published = stack.published(2, Duration::from_secs(10)).await;
    let mut alerts: Vec<AlertEvent> = published
        .iter()
        .map(|m| serde_json::from_str(m["Message"].as_str().expect("message")).expect("alert"))
        .collect();
    alerts.sort_by_key(|a| a.job.slug.clone());
    assert_eq!(
        (alerts[0].kind, alerts[0].job.slug.as_str(), alerts[0].at),
        (AlertKind::TimedOut, "etl", timeout_deadline)
    );
    assert_eq!(
        (alerts[1].kind, alerts[1].job.slug.as_str(), alerts[1].at),
        (AlertKind::Missed, "heartbeat", missed_deadline)
    );

    // A second sweep right after finds nothing new: each deadline is alerted once.
    let summary = runtime.invoke(scheduled_event()).await.response();
    assert_eq!(summary["alerts"], 0, "{summary}");
    assert!(stack.published(1, Duration::from_secs(2)).await.is_empty());

    // The gauge is an EMF line on stdout, one per sweep (no API call: the heartbeat alarm
    // watches the function's own invocations): the last one says two jobs are down.
    let sweeps: Vec<Value> = process
        .stdout()
        .iter()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|doc| doc.get("DueJobsProcessed").is_some())
        .collect();
    assert_eq!(sweeps.len(), 3, "one line per sweep: {sweeps:?}");
    let last = &sweeps[2];
    assert_eq!(last["JobsDown"], 2.0, "{last}");
    assert_eq!(
        last["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "JobsDown",
        "{last}"
    );
    assert_eq!(proxy.take().get("PutMetricData"), None);

    // Report mode.
    let summary = runtime.invoke(json!({"mode": "report"})).await.response();
    assert_eq!(summary["jobs"], 3, "{summary}");
    let published = stack.published(1, Duration::from_secs(10)).await;
    let report: AlertEvent =
        serde_json::from_str(published[0]["Message"].as_str().expect("message")).expect("report");
    assert_eq!(report.kind, AlertKind::Report);
    let body = report.report.expect("report body");
    assert_eq!((body.jobs_total, body.jobs_down), (3, 2));
}
