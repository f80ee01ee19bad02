//! The whole stack, end to end: the AWS resources of `template.yaml` stood up on moto as the
//! template declares them (the table from its own definition, each function's environment
//! resolved from the template's references), and the three real Lambda binaries running
//! together, each behind its own counting proxy:
//!
//! - a failing ping reaches the local Slack receiver through the ingest, SNS and the
//!   formatter;
//! - a job that does not start is reported by the sweeper through the same path;
//! - a CloudWatch alarm notification published to the topic is formatted;
//! - every AWS request each binary made is an action its IAM policy grants.
//!
//! The stand-up (and the SNS tap that plays the formatter's subscription) is
//! `jobwatch_tests::stack`, shared with the cost model's measurements (tests/cost.rs).

use std::time::{Duration, Instant};

use jobwatch_tests::aws::sns;
use jobwatch_tests::stack::{
    LiveStack, alarm_notification, scheduled_event, slack_message_with, status,
};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_lambdas_take_a_failure_a_miss_and_an_alarm_to_slack() {
    let stack = LiveStack::stand_up("stack", "warn").await;
    let (ingest, sweeper, formatter) = (&stack.ingest, &stack.sweeper, &stack.formatter);
    let (tap, slack, topic_arn) = (&stack.tap, &stack.slack, &stack.topic_arn);
    let admin = |method: &str, path: &str, body: &str| stack.admin(method, path, body);

    // Jobs declared through the ingest's admin API.
    stack
        .declare("nightly-backup", r#"{"every": "1d", "grace": "1h"}"#)
        .await;
    stack
        .declare("heartbeat", r#"{"every": "2s", "grace": "1s"}"#)
        .await;
    let heartbeat_created = Instant::now();

    // 1. A failing run: start, then exit code 2 with its output.
    let start = ingest
        .invoke(stack.ping(
            "GET",
            "nightly-backup/start?rid=5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03",
            b"",
        ))
        .await;
    assert_eq!(status(&start), 200, "{start}");
    let failed = ingest
        .invoke(stack.ping(
            "POST",
            "nightly-backup/2?rid=5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03",
            b"pg_dump: error: connection to server failed",
        ))
        .await;
    assert_eq!(status(&failed), 200, "{failed}");
    let event = tap.next_event("\"kind\":\"failed\"").await;
    let handled = formatter.invoke(event).await;
    assert!(handled.is_object(), "{handled}");
    slack_message_with(slack, &["nightly-backup", "connection to server failed"]).await;

    // 2. The heartbeat never pings: the sweeper notices once its deadline has passed.
    tokio::time::sleep_until((heartbeat_created + Duration::from_millis(3_500)).into()).await;
    let swept = sweeper.invoke(scheduled_event()).await;
    assert!(swept["alerts"].as_u64().unwrap_or_default() >= 1, "{swept}");
    let event = tap.next_event("\"kind\":\"missed\"").await;
    let handled = formatter.invoke(event).await;
    // A missed alert waits for the grouping window (other jobs missing with it would share
    // its message); the next invocation after it posts it, alone, as its own message.
    assert_eq!(handled["actions"]["grouped"], 1, "{handled}");
    tokio::time::sleep(Duration::from_millis(1_100)).await;
    formatter.invoke(json!({ "Records": [] })).await;
    slack_message_with(slack, &["heartbeat", "did not run"]).await;

    // 3. A CloudWatch alarm on the topic (CloudWatch's own notification) is formatted.
    let alarm_name = "jobwatch-prod-sweeper-heartbeat";
    sns()
        .publish()
        .topic_arn(topic_arn)
        .subject(format!("ALARM: \"{alarm_name}\" in US East (N. Virginia)"))
        .message(alarm_notification(alarm_name))
        .send()
        .await
        .expect("publish alarm");
    let event = tap.next_event(alarm_name).await;
    formatter.invoke(event).await;
    slack_message_with(slack, &[alarm_name]).await;

    // 4. The daily report, and the admin API's reads and deletes, for the IAM check below.
    let report = sweeper.invoke(json!({"mode": "report"})).await;
    assert_eq!(report["mode"], "report", "{report}");
    let event = tap.next_event("\"kind\":\"report\"").await;
    formatter.invoke(event).await;
    let listed = ingest.invoke(admin("GET", "/api/v1/jobs", "")).await;
    assert_eq!(status(&listed), 200, "{listed}");
    let deleted = ingest
        .invoke(admin("DELETE", "/api/v1/jobs/heartbeat", ""))
        .await;
    assert_eq!(status(&deleted), 204, "{deleted}");

    assert!(
        slack.rejections().is_empty(),
        "Slack refused: {:?}",
        slack.rejections()
    );
    for running in stack.functions() {
        running.assert_within_its_policy();
    }
}
