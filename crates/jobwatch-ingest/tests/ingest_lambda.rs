//! The real `jobwatch-ingest` executable, fed Function URL events through a test-side Lambda
//! Runtime API, against moto: it answers pings as the local server does, keeps state in
//! DynamoDB, publishes alerts to SNS (seen through an SQS subscription), writes run output to
//! CloudWatch Logs, prints valid EMF metrics, and reads its keys from Secrets Manager once.

use std::path::Path;
use std::time::Duration;

use jobwatch_core::{AlertEvent, AlertKind, Health};
use jobwatch_store::JobStore;
use jobwatch_testkit::lambda::{LambdaProcess, RuntimeApi, function_url_event};
use jobwatch_testkit_aws::aws::{CountingProxy, Stack, logs};
use serde_json::{Value, json};

struct Harness {
    stack: Stack,
    proxy: CountingProxy,
    runtime: RuntimeApi,
    process: LambdaProcess,
}

impl Harness {
    async fn start() -> Harness {
        let stack = Stack::create().await;
        let proxy = CountingProxy::start().await;
        let runtime = RuntimeApi::start().await;
        let env = stack.lambda_env();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let process = LambdaProcess::spawn(
            Path::new(env!("CARGO_BIN_EXE_jobwatch-ingest")),
            &runtime,
            &proxy.endpoint,
            &env,
        );
        Harness {
            stack,
            proxy,
            runtime,
            process,
        }
    }

    /// Sends one HTTP request through the Function URL; returns (status, body, response).
    async fn call(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (u64, String, Value) {
        let response = self
            .runtime
            .invoke(function_url_event(method, path, headers, body))
            .await
            .response();
        let status = response["statusCode"].as_u64().unwrap_or(0);
        let body = response["body"].as_str().unwrap_or_default().to_string();
        (status, body, response)
    }

    async fn admin(&self, method: &str, path: &str, body: &str) -> (u64, String) {
        let auth = format!("Bearer {}", self.stack.api_key);
        let (status, body, _) = self
            .call(method, path, &[("authorization", &auth)], body.as_bytes())
            .await;
        (status, body)
    }

    fn ping_path(&self, slug: &str, suffix: &str, rid: &str) -> String {
        format!("/ping/{}/{slug}{suffix}?rid={rid}", self.stack.ping_key)
    }
}

const RID: &str = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";

fn dynamo_requests(counts: &std::collections::BTreeMap<String, u64>) -> u64 {
    [
        "GetItem",
        "PutItem",
        "TransactWriteItems",
        "Query",
        "Scan",
        "UpdateItem",
        "DeleteItem",
        "BatchGetItem",
        "BatchWriteItem",
    ]
    .iter()
    .filter_map(|op| counts.get(*op))
    .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_lambda_serves_pings_on_dynamodb_and_publishes_alerts() {
    let h = Harness::start().await;
    let (status, body) = h
        .admin(
            "PUT",
            "/api/v1/jobs/nightly-backup",
            r#"{"schedule": "0 3 * * *", "tz": "Europe/Berlin"}"#,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let job: Value = serde_json::from_str(&body).expect("job JSON");
    assert_eq!(
        job["ping_url"],
        format!(
            "https://abcdefghijklmnop.lambda-url.us-east-1.on.aws/ping/{}/nightly-backup",
            h.stack.ping_key
        ),
        "ping URLs use the Function URL's own address"
    );
    let first = h.proxy.take();
    assert_eq!(
        first.get("GetSecretValue"),
        Some(&1),
        "both keys (one secret) read on the first invocation: {first:?}"
    );

    // start: one read and one conditional put (the open run is in the job's state).
    let (status, body, response) = h
        .call(
            "POST",
            &h.ping_path("nightly-backup", "/start", RID),
            &[],
            b"",
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert_eq!(response["headers"]["ping-body-limit"], "10000");
    let counts = h.proxy.take();
    assert_eq!(dynamo_requests(&counts), 2, "start: {counts:?}");
    assert_eq!(counts.get("PutItem"), Some(&1), "start: {counts:?}");

    // failure with output: two DynamoDB requests, one SNS publish, the output to the run log.
    let output = "dumping db\npg_dump: error: connection to server failed\n";
    let (status, body, _) = h
        .call(
            "POST",
            &h.ping_path("nightly-backup", "/2", RID),
            &[],
            output.as_bytes(),
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    let counts = h.proxy.take();
    assert_eq!(dynamo_requests(&counts), 2, "failure: {counts:?}");
    assert_eq!(counts.get("Publish"), Some(&1), "{counts:?}");
    assert_eq!(counts.get("PutLogEvents"), Some(&1), "{counts:?}");
    assert_eq!(
        counts.get("GetSecretValue"),
        None,
        "no Secrets Manager call on the warm path: {counts:?}"
    );

    // The alert arrived on the topic, with filterable attributes and a link to the run's output.
    let published = h.stack.published(1, Duration::from_secs(10)).await;
    assert_eq!(published.len(), 1, "{published:#?}");
    let alert: AlertEvent =
        serde_json::from_str(published[0]["Message"].as_str().expect("message"))
            .expect("alert event");
    assert_eq!(
        (alert.kind, alert.job.slug.as_str(), alert.exit_code),
        (AlertKind::Failed, "nightly-backup", Some(2))
    );
    assert_eq!(alert.environment, "prod");
    assert!(
        alert
            .output_excerpt
            .as_deref()
            .is_some_and(|o| o.ends_with("pg_dump: error: connection to server failed"))
    );
    assert!(
        alert
            .run_log_url
            .as_deref()
            .is_some_and(|u| u.contains("logsV2:log-groups")),
        "{:?}",
        alert.run_log_url
    );
    let attributes = &published[0]["MessageAttributes"];
    assert_eq!(attributes["kind"]["Value"], "failed");
    assert_eq!(attributes["environment"]["Value"], "prod");
    assert_eq!(attributes["severity"]["Value"], "error");

    // The state is in DynamoDB.
    let job = h
        .stack
        .store()
        .get_job("nightly-backup")
        .await
        .expect("get")
        .expect("job");
    assert_eq!(job.state.health, Health::Down);

    // The run's output is in CloudWatch Logs, findable by job and run id.
    let stream = format!(
        "nightly-backup/{}",
        jiff::Timestamp::now().strftime("%Y-%m-%d")
    );
    let events = logs()
        .get_log_events()
        .log_group_name(&h.stack.run_log_group)
        .log_stream_name(&stream)
        .send()
        .await
        .expect("log events");
    let messages: Vec<Value> = events
        .events()
        .iter()
        .filter_map(|e| serde_json::from_str(e.message()?).ok())
        .collect();
    assert!(
        messages
            .iter()
            .any(|m| m["run_id"] == RID && m["outcome"] == "failed" && m["output"] == output),
        "{messages:#?}"
    );

    // A retried ping (same job, run id and event) counts once: one read, nothing else.
    let (status, _, _) = h
        .call(
            "POST",
            &h.ping_path("nightly-backup", "/2", RID),
            &[],
            output.as_bytes(),
        )
        .await;
    assert_eq!(status, 200);
    let counts = h.proxy.take();
    assert_eq!(counts, [("GetItem".to_string(), 1)].into(), "retry");
    assert!(
        h.stack
            .published(1, Duration::from_secs(2))
            .await
            .is_empty(),
        "no second alert"
    );

    // Stdout holds the failure's EMF line and the alert's log line (a start makes no metric:
    // it is counted by the run it becomes). Metrics are by environment only; the job and the
    // alert's kind are properties, not dimensions.
    let lines = h.process.stdout();
    assert_eq!(lines.len(), 2, "the failure and the alert: {lines:#?}");
    let emf: Vec<&String> = lines.iter().filter(|l| l.contains("\"_aws\"")).collect();
    assert_eq!(emf.len(), 1, "{lines:#?}");
    for line in emf {
        check_emf(line);
        let doc: Value = serde_json::from_str(line).expect("json");
        assert_eq!(
            doc["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
            json!([["Environment"]]),
            "{line}"
        );
        assert_eq!(doc["Job"], "nightly-backup", "{line}");
    }
    assert!(lines.iter().any(|l| l.contains("\"RunFailed\":1")));
    assert!(
        lines
            .iter()
            .any(|l| l.contains("\"AlertsRaised\":1") && l.contains("\"Kind\":\"failed\""))
    );
}

/// The EMF specification's rules: a root `_aws` with a numeric `Timestamp` and
/// `CloudWatchMetrics` directives; each directive's dimension sets name members of the root
/// with string values; each metric names a member with a numeric value.
fn check_emf(line: &str) {
    let doc: Value =
        serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
    let aws = &doc["_aws"];
    assert!(aws["Timestamp"].is_u64(), "Timestamp: {line}");
    let directives = aws["CloudWatchMetrics"]
        .as_array()
        .unwrap_or_else(|| panic!("CloudWatchMetrics: {line}"));
    assert!(!directives.is_empty());
    for directive in directives {
        assert_eq!(directive["Namespace"], "Jobwatch");
        let sets = directive["Dimensions"]
            .as_array()
            .unwrap_or_else(|| panic!("Dimensions: {line}"));
        for set in sets {
            let names = set
                .as_array()
                .unwrap_or_else(|| panic!("dimension set: {line}"));
            assert!(!names.is_empty() && names.len() <= 30);
            for name in names {
                let name = name.as_str().expect("dimension name");
                assert!(
                    doc[name].is_string(),
                    "dimension {name} is a string member: {line}"
                );
            }
        }
        let metrics = directive["Metrics"]
            .as_array()
            .unwrap_or_else(|| panic!("Metrics: {line}"));
        assert!(!metrics.is_empty() && metrics.len() <= 100);
        for metric in metrics {
            let name = metric["Name"].as_str().expect("metric name");
            assert!(
                doc[name].is_number(),
                "metric {name} is a numeric member: {line}"
            );
            assert!(metric["Unit"].is_string());
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_the_same_precise_answers_and_never_stops_the_runtime_loop() {
    let mut h = Harness::start().await;
    assert_eq!(
        h.admin("PUT", "/api/v1/jobs/backup", r#"{"every": "1h"}"#)
            .await
            .0,
        201
    );
    let key = h.stack.ping_key.clone();

    for (event, reason) in [
        (
            serde_json::json!({}),
            "malformed Function URL event: missing requestContext.http.method",
        ),
        (
            serde_json::json!([1, 2, 3]),
            "malformed Function URL event: missing requestContext.http.method",
        ),
        (
            serde_json::json!({"requestContext": {"http": {"method": "GET"}}}),
            "malformed Function URL event: missing rawPath",
        ),
    ] {
        let response = h.runtime.invoke(event).await.response();
        assert_eq!(
            (response["statusCode"].as_u64(), response["body"].as_str()),
            (Some(400), Some(reason))
        );
    }
    let mut bad_base64 = function_url_event("POST", &format!("/ping/{key}/backup"), &[], b"x");
    bad_base64["isBase64Encoded"] = Value::Bool(true);
    bad_base64["body"] = Value::String("%%% not base64".into());
    let response = h.runtime.invoke(bad_base64).await.response();
    assert_eq!(
        (response["statusCode"].as_u64(), response["body"].as_str()),
        (Some(400), Some("request body is not valid base64"))
    );

    for (path, status, reason) in [
        (
            format!("/ping/{key}/backup/256"),
            400,
            "invalid exit status '256': must be 0-255".to_string(),
        ),
        (
            format!("/ping/{key}/backup?rid=nope"),
            400,
            "invalid rid 'nope': must be a UUID".to_string(),
        ),
        (
            format!("/ping/{key}/Bad!"),
            400,
            "invalid slug 'Bad!': use 1-64 characters of a-z, 0-9, '-' and '_'".to_string(),
        ),
        (
            "/ping/wrong-key/backup".to_string(),
            404,
            "not found".to_string(),
        ),
        (format!("/ping/{key}/unknown"), 404, "not found".to_string()),
        ("/somewhere".to_string(), 404, "not found".to_string()),
        (
            "/api/v1/jobs".to_string(),
            401,
            "missing API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'".to_string(),
        ),
    ] {
        let (got, body, _) = h.call("GET", &path, &[], b"").await;
        assert_eq!((got, body.as_str()), (status, reason.as_str()), "{path}");
    }

    // Binary output arrives base64-encoded and is kept as text; a 1 MB body is cut, not refused.
    let (status, body, _) = h
        .call(
            "POST",
            &format!("/ping/{key}/backup/log"),
            &[],
            b"\xff\xfebinary\x00",
        )
        .await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    let huge = vec![b'y'; 1024 * 1024];
    let (status, body, _) = h
        .call("POST", &format!("/ping/{key}/backup/fail"), &[], &huge)
        .await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    let runs = h.stack.store().runs("backup", 10).await.expect("runs");
    assert_eq!(
        runs[0].output.as_deref().map(str::len),
        Some(10_000),
        "kept up to the limit"
    );
    assert!(
        runs[1]
            .output
            .as_deref()
            .is_some_and(|o| o.contains("binary")),
        "{:?}",
        runs[1].output
    );

    // Still serving after all of that.
    let (status, body, _) = h
        .call("GET", &format!("/ping/{key}/backup"), &[], b"")
        .await;
    assert_eq!((status, body.as_str()), (200, "OK"));
    assert!(h.process.is_running());
}
