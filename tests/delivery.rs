//! Delivery under faults, with the three real Lambda binaries on moto (the stack of
//! `jobwatch_tests::stack`), each behind a proxy that can answer AWS's own errors:
//!
//! - the formatter's write recording a delivery is throttled right after Slack's 200: the
//!   alert is posted once, whether the write lands within the invocation or only at the
//!   next one (which writes it first);
//! - an alert whose SNS publish failed past the SDK's retries is published again by the
//!   next sweep and posted once;
//! - a formatter with no Slack secret keeps the alert, says once what to run and succeeds;
//!   the sweeper posts it once the secret is put;
//! - a failed invocation, or a start that fails, tells Lambda what failed (`errorType`).

use std::time::{Duration, Instant};

use jobwatch_testkit::slack::Scripted;
use jobwatch_testkit_aws::faults::Fault;
use jobwatch_tests::lambda::{Invocation, LambdaProcess, RuntimeApi, workspace_binary};
use jobwatch_tests::stack::{
    LiveStack, Variant, create_secret, scheduled_event, slack_message_with, status,
};
use serde_json::{Value, json};

/// Declares `job` (daily) and reports a failed run of it; returns the alert's SNS event.
async fn failed_run(stack: &LiveStack, job: &str) -> Value {
    stack
        .declare(job, r#"{"every": "1d", "grace": "1h"}"#)
        .await;
    let failed = stack
        .ingest
        .invoke(stack.ping("POST", &format!("{job}/2"), b"disk full"))
        .await;
    assert_eq!(status(&failed), 200, "{failed}");
    stack.tap.next_event(&format!("\"slug\":\"{job}\"")).await
}

/// The Slack messages about `job`.
fn posts_about(stack: &LiveStack, job: &str) -> usize {
    stack
        .slack
        .messages()
        .iter()
        .filter(|m| m.to_string().contains(job))
        .count()
}

/// The `errorType` of a failed invocation.
fn error_type(invocation: &Invocation) -> String {
    match invocation {
        Invocation::Error(body) => body["errorType"].as_str().unwrap_or_default().to_string(),
        Invocation::Response(answer) => panic!("the invocation succeeded: {answer}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_throttled_delivery_record_after_slacks_200_never_posts_the_alert_twice() {
    // Deliveries (and the retries of their records) end 6 s into an invocation, so a record
    // throttled past that fails the invocation quickly.
    let variant = Variant {
        env: vec![(
            "FormatterFunction",
            "JOBWATCH_SLACK_TIMEOUT",
            "6s".to_string(),
        )],
        ..Variant::default()
    };
    let stack = LiveStack::stand_up_as("faults", "warn", &variant).await;
    let formatter = &stack.formatter;
    let faults = formatter.proxy.faults();

    // 1. Throttled for longer than the SDK's 3 attempts: the notifier's own retry lands it.
    let event = failed_run(&stack, "nightly-backup").await;
    // The job's notification state is written twice: the claim before the post, then the
    // record of the delivery after Slack's 200, which is the one throttled.
    faults.inject(
        "PutItem",
        Some("job/prod/nightly-backup"),
        1,
        4,
        Fault::dynamodb_throttling(),
    );
    let handled = formatter.invoke(event.clone()).await;
    assert_eq!(handled["actions"]["posted"], 1, "{handled}");
    assert_eq!(faults.answered(), 4, "every throttled answer was used");
    // Lambda delivering the same event again, and the next invocation's flush.
    let again = formatter.invoke(event).await;
    assert_eq!(again["actions"]["duplicate"], 1, "{again}");
    formatter.invoke(json!({"Records": []})).await;
    assert_eq!(posts_about(&stack, "nightly-backup"), 1);

    // 2. Throttled past the invocation: it fails (Lambda retries it); the retry writes the
    //    remembered delivery first and posts nothing twice.
    faults.clear();
    let event = failed_run(&stack, "reports").await;
    faults.inject(
        "PutItem",
        Some("job/prod/reports"),
        1,
        u32::MAX,
        Fault::dynamodb_throttling(),
    );
    let failed = formatter.runtime.invoke(event.clone()).await;
    assert_eq!(error_type(&failed), "StoreThrottled", "{failed:?}");
    assert_eq!(posts_about(&stack, "reports"), 1, "Slack took it once");
    faults.clear();
    let retried = formatter.invoke(event).await;
    assert_eq!(retried["actions"]["duplicate"], 1, "{retried}");
    formatter.invoke(json!({"Records": []})).await;
    assert_eq!(posts_about(&stack, "reports"), 1);

    // 3. Slack down for the whole invocation: the error says so.
    let event = failed_run(&stack, "invoices").await;
    stack.slack.script((0..40).map(|_| Scripted {
        status: 503,
        retry_after: None,
        body: "service_unavailable",
    }));
    let failed = formatter.runtime.invoke(event).await;
    assert_eq!(error_type(&failed), "SlackUnavailable", "{failed:?}");

    for running in [&stack.ingest, &stack.formatter] {
        running.assert_within_its_policy();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_whose_publish_failed_is_published_again_by_the_next_sweep_and_posted_once() {
    // The sweep publishes again what is older than 1 s (deployed: 30 s), so the test need
    // not wait for the default.
    let variant = Variant {
        env: vec![(
            "SweeperFunction",
            "JOBWATCH_REPUBLISH_AFTER",
            "1s".to_string(),
        )],
        ..Variant::default()
    };
    let stack = LiveStack::stand_up_as("republish", "warn", &variant).await;
    let (ingest, sweeper, formatter) = (&stack.ingest, &stack.sweeper, &stack.formatter);

    stack
        .declare("nightly-backup", r#"{"every": "1d", "grace": "1h"}"#)
        .await;
    // SNS throttles every attempt of the ingest's publish: the run is recorded, the alert
    // waits in the outbox.
    ingest
        .proxy
        .faults()
        .inject("Publish", None, 0, u32::MAX, Fault::sns_throttling());
    let failed = ingest
        .invoke(stack.ping("POST", "nightly-backup/2", b"disk full"))
        .await;
    assert_eq!(status(&failed), 200, "{failed}");
    assert!(ingest.proxy.faults().answered() >= 1);
    ingest.proxy.faults().clear();

    tokio::time::sleep(Duration::from_millis(1_200)).await;
    let swept = sweeper.invoke(scheduled_event()).await;
    assert_eq!(swept["republished"], 1, "{swept}");
    let event = stack.tap.next_event("\"kind\":\"failed\"").await;
    formatter.invoke(event).await;
    slack_message_with(&stack.slack, &["nightly-backup", "disk full"]).await;

    // Acknowledged by the formatter: the next sweep has nothing to publish again.
    let swept = sweeper.invoke(scheduled_event()).await;
    assert_eq!(swept["republished"], 0, "{swept}");
    assert_eq!(posts_about(&stack, "nightly-backup"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_formatter_without_its_slack_secret_keeps_the_alert_and_the_sweeper_posts_it_once_put() {
    let variant = Variant {
        without_slack_secret: true,
        ..Variant::default()
    };
    let stack = LiveStack::stand_up_as("nosecret", "warn", &variant).await;
    let event = failed_run(&stack, "nightly-backup").await;

    let handled_at = Instant::now();
    let handled = stack.formatter.invoke(event).await;
    assert_eq!(handled["held"], 1, "{handled}");
    let (_, log) = stack.formatter.log_lines();
    let about_secret: Vec<&String> = log
        .iter()
        .filter(|line| line.contains(&stack.slack_secret))
        .collect();
    assert_eq!(about_secret.len(), 1, "one line per event: {log:#?}");
    assert!(
        about_secret[0].contains("does not exist")
            && about_secret[0].contains("infra/put-slack-webhook"),
        "says what is missing and what to run: {}",
        about_secret[0]
    );
    assert!(stack.slack.messages().is_empty());

    // The secret is put; the next sweep (a held message is tried again 10 s on) posts it.
    create_secret(
        &stack.slack_secret,
        &json!({"webhook_url": stack.slack.url}).to_string(),
    )
    .await;
    tokio::time::sleep_until((handled_at + Duration::from_millis(10_500)).into()).await;
    let swept = stack.sweeper.invoke(scheduled_event()).await;
    assert_eq!(swept["flushed"], 1, "{swept}");
    slack_message_with(&stack.slack, &["nightly-backup", "disk full"]).await;
    let swept = stack.sweeper.invoke(scheduled_event()).await;
    assert_eq!(
        swept["republished"], 0,
        "the formatter acknowledged it: {swept}"
    );
    assert_eq!(posts_about(&stack, "nightly-backup"), 1);
}

#[tokio::test]
async fn a_formatter_that_cannot_start_tells_lambda_its_configuration_is_wrong() {
    let runtime = RuntimeApi::start().await;
    // No table, no environment: nothing to start with.
    let _process = LambdaProcess::spawn(
        &workspace_binary("jobwatch-formatter"),
        &runtime,
        "http://127.0.0.1:9",
        &[],
    );
    let reported = runtime.init_errors(Duration::from_secs(20)).await;
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0]["errorType"], "BadConfiguration");
    assert!(
        reported[0]["errorMessage"]
            .as_str()
            .is_some_and(|m| m.contains("JOBWATCH_TABLE")),
        "{reported:?}"
    );
}
