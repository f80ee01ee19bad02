//! The stack's own alarms reach a person without the formatter. On moto, with the stack stood
//! up as `template.yaml` declares it but WITHOUT the Slack webhook secret (a first deploy
//! whose secret comes later, or a deleted one): CloudWatch's notification of the sweeper
//! heartbeat alarm and of the formatter errors alarm, published to every topic the alarm's
//! `AlarmActions` name, reaches the ops topic's subscriber (an SQS queue standing in for the
//! `OpsEmail` or `OpsHttpsEndpoint` subscription), and the alert topic too (Slack, when the
//! formatter works). The real formatter, given the same notifications with no secret to read,
//! keeps them without failing its invocation (so Lambda neither retries nor dead-letters
//! them) and logs one line per event saying what is missing and what to run. Which alarms
//! take which path is held by tests/template.rs.

use jobwatch_tests::aws::{secrets, sns};
use jobwatch_tests::stack::{LiveStack, Variant};
use jobwatch_tests::template::{Deployment, Template};
use serde_json::{Value, json};

/// The notification CloudWatch publishes to an alarm's actions when it goes to ALARM, built
/// from the alarm as the template declares it (environment `prod`).
fn alarm_notification(template: &Template, logical_id: &str) -> (String, String) {
    let mut deployment = Deployment::new(template);
    deployment.set("Environment", "prod");
    for (function, name) in [
        ("IngestFunction", "jobwatch-prod-ingest"),
        ("SweeperFunction", "jobwatch-prod-sweeper"),
        ("FormatterFunction", "jobwatch-prod-formatter"),
    ] {
        deployment.set(function, name);
    }
    deployment
        .set(
            "FormatterDeadLetterQueue",
            "https://sqs.us-east-1.amazonaws.com/123456789012/dlq",
        )
        .set(
            "FormatterDeadLetterQueue.QueueName",
            "jobwatch-prod-formatter-dlq",
        );
    let alarm = &template.resource(logical_id)["Properties"];
    let resolve = |value: &Value| {
        deployment
            .resolve(value)
            .unwrap_or_else(|e| panic!("{logical_id}: {e}"))
    };
    let name = resolve(&alarm["AlarmName"]);
    let message = json!({
        "AlarmName": name,
        "AlarmDescription": resolve(&alarm["AlarmDescription"]),
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM", "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: the alarm's datapoints breached its threshold",
        "StateChangeTime": "2026-11-22T09:00:00.000+0000", "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        "Trigger": {
            "MetricName": alarm["MetricName"], "Namespace": alarm["Namespace"],
            "Statistic": alarm["Statistic"].as_str().unwrap_or_default().to_uppercase(),
            "Dimensions": [],
            "Period": alarm["Period"], "EvaluationPeriods": alarm["EvaluationPeriods"],
            "ComparisonOperator": alarm["ComparisonOperator"],
            "Threshold": alarm["Threshold"], "TreatMissingData": alarm["TreatMissingData"],
        }
    })
    .to_string();
    (name, message)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_monitors_own_alarms_reach_the_ops_subscriber_with_no_slack_secret() {
    let stack = LiveStack::stand_up_as(
        "ops",
        "warn",
        &Variant {
            without_slack_secret: true,
            ..Variant::default()
        },
    )
    .await;
    // The webhook secret the functions are told to read (as the stand-up names it) is absent.
    let secret = &stack.slack_secret;
    assert!(
        secrets()
            .describe_secret()
            .secret_id(secret)
            .send()
            .await
            .is_err(),
        "{secret} must not exist in this test"
    );
    for alarm in ["SweeperHeartbeatAlarm", "FormatterErrorsAlarm"] {
        let (name, message) = alarm_notification(&stack.template, alarm);
        let topics = stack.template.alarm_topics(alarm, "AlarmActions");
        assert!(
            topics.iter().any(|t| t == "OpsTopic"),
            "{alarm} does not notify the ops topic: {topics:?}"
        );
        // CloudWatch publishes to each action of the alarm.
        for topic in &topics {
            sns()
                .publish()
                .topic_arn(stack.topic(topic))
                .subject(format!("ALARM: \"{name}\" in US East (N. Virginia)"))
                .message(&message)
                .send()
                .await
                .unwrap_or_else(|e| panic!("publishing {alarm} to {topic}: {e:?}"));
        }

        // The person subscribed to the ops topic hears of it, whatever the formatter does.
        let heard = stack.ops_tap.next_event(&name).await;
        let notification: Value = serde_json::from_str(
            heard["Records"][0]["Sns"]["Message"]
                .as_str()
                .unwrap_or("{}"),
        )
        .expect("the ops subscriber gets CloudWatch's JSON");
        assert_eq!(notification["AlarmName"], name.as_str());
        assert_eq!(notification["NewStateValue"], "ALARM");
        // And the alert topic has it too, for Slack once the formatter can post: the formatter
        // keeps it without failing the invocation (no retries, nothing in the dead-letter
        // queue), and says in one line what is missing and what to run.
        let event = stack.tap.next_event(&name).await;
        let handled = stack.formatter.invoke(event).await;
        // Held: the message, and for the critical heartbeat its escalation copy too.
        assert!(
            handled["held"].as_u64().unwrap_or_default() >= 1,
            "{alarm}: {handled}"
        );
    }
    let (_, log) = stack.formatter.log_lines();
    let about_secret: Vec<&String> = log
        .iter()
        .filter(|line| line.contains(&stack.slack_secret))
        .collect();
    assert_eq!(
        about_secret.len(),
        2,
        "one line per event: {about_secret:#?}"
    );
    assert!(
        about_secret
            .iter()
            .all(|line| line.contains("infra/put-slack-webhook")),
        "{about_secret:#?}"
    );
    // Nothing reached Slack: no secret, no webhook. The ops path needed neither.
    assert!(
        stack.slack.messages().is_empty(),
        "{:?}",
        stack.slack.messages()
    );
}
