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
//! moto does not invoke Lambda functions, so the test plays the part of SNS's subscription:
//! an SQS queue subscribed to the topic shows what was published, and each message goes to
//! the formatter as the SNS event Lambda would deliver.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use jobwatch_aws::functions::{self, Function};
use jobwatch_tests::aws::{CountingProxy, logs, receive_envelopes, secrets, sns, subscribe_queue};
use jobwatch_tests::lambda::{LambdaProcess, RuntimeApi, function_url_event, workspace_binary};
use jobwatch_tests::moto::{dynamo_client, unique_name};
use jobwatch_tests::slack::SlackReceiver;
use jobwatch_tests::template::{Deployment, Template};
use serde_json::{Value, json};

/// One function of the stack: its process, its runtime API and the proxy that sees its
/// AWS requests.
struct Running {
    function: Function,
    proxy: CountingProxy,
    runtime: RuntimeApi,
    _process: LambdaProcess,
}

impl Running {
    async fn start(function: Function, deployment: &Deployment<'_>) -> Running {
        let proxy = CountingProxy::start().await;
        let runtime = RuntimeApi::start().await;
        let env = deployment.function_environment(function.logical_id);
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let process = LambdaProcess::spawn(
            &workspace_binary(function.binary),
            &runtime,
            &proxy.endpoint,
            &env,
        );
        Running {
            function,
            proxy,
            runtime,
            _process: process,
        }
    }

    async fn invoke(&self, event: Value) -> Value {
        self.runtime.invoke(event).await.response()
    }

    /// Every AWS action the binary used must be one its policy grants (the template's
    /// policies equal these lists: tests/template.rs).
    fn assert_within_its_policy(&self) {
        let used = self.proxy.actions();
        let granted: BTreeSet<String> = self
            .function
            .actions
            .iter()
            .map(|a| a.to_string())
            .collect();
        let denied: Vec<_> = used.difference(&granted).collect();
        assert!(
            denied.is_empty(),
            "{} called {denied:?}, which its IAM policy does not grant",
            self.function.binary
        );
        assert!(
            !used.is_empty(),
            "{} made no AWS request",
            self.function.binary
        );
    }
}

/// The test's stand-in for the formatter's SNS subscription: a queue subscribed to the topic.
struct Tap {
    queue_url: String,
}

impl Tap {
    async fn subscribe(topic_arn: &str, name: &str) -> Tap {
        Tap {
            queue_url: subscribe_queue(topic_arn, &format!("{name}-tap")).await,
        }
    }

    /// The next SNS message whose `Message` contains `needle` (waiting up to 20 s), as the SNS
    /// event Lambda delivers to a subscribed function.
    async fn next_event(&self, needle: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            for envelope in receive_envelopes(&self.queue_url).await {
                if envelope["Message"]
                    .as_str()
                    .is_some_and(|m| m.contains(needle))
                {
                    return sns_lambda_event(&envelope);
                }
            }
        }
        panic!("nothing containing {needle:?} was published within 20 s");
    }
}

/// The SNS event Lambda delivers for one notification (SNS's own envelope, as an SQS
/// subscription receives it, with Lambda's spelling of two fields).
fn sns_lambda_event(envelope: &Value) -> Value {
    let mut record = envelope.clone();
    if let Some(object) = record.as_object_mut() {
        for (from, to) in [
            ("SigningCertURL", "SigningCertUrl"),
            ("UnsubscribeURL", "UnsubscribeUrl"),
        ] {
            if let Some(value) = object.remove(from) {
                object.insert(to.to_string(), value);
            }
        }
        object
            .entry("MessageAttributes")
            .or_insert_with(|| json!({}));
    }
    json!({"Records": [{
        "EventSource": "aws:sns",
        "EventVersion": "1.0",
        "EventSubscriptionArn": format!("{}:formatter", envelope["TopicArn"].as_str().unwrap_or_default()),
        "Sns": record,
    }]})
}

fn scheduled_event() -> Value {
    json!({
        "version": "0", "id": "53dc4d37-cffa-4f76-80c9-8b7d4a4d2eaa",
        "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": jiff::Timestamp::now().to_string(),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/jobwatch-prod-sweep"],
        "detail": {}
    })
}

/// A CloudWatch alarm notification, as CloudWatch publishes it to an alarm action's topic.
fn alarm_notification(name: &str) -> String {
    json!({
        "AlarmName": name,
        "AlarmDescription": "The sweeper has not reported for 5 minutes: check its log group.",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM", "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: no datapoints were received for 5 periods",
        "StateChangeTime": "2026-11-22T09:00:00.000+0000", "Region": "US East (N. Virginia)",
        "AlarmArn": format!("arn:aws:cloudwatch:us-east-1:123456789012:alarm:{name}"),
        "Trigger": {"MetricName": "SweeperHeartbeat", "Namespace": "Jobwatch", "Statistic": "SUM",
            "Dimensions": [{"value": "prod", "name": "Environment"}],
            "Period": 60, "EvaluationPeriods": 5, "ComparisonOperator": "LessThanThreshold",
            "Threshold": 1.0, "TreatMissingData": "breaching"}
    })
    .to_string()
}

async fn create_secret(name: &str, value: &str) -> String {
    secrets()
        .create_secret()
        .name(name)
        .secret_string(value)
        .send()
        .await
        .unwrap_or_else(|e| panic!("secret {name}: {e:?}"))
        .arn
        .expect("secret arn")
}

/// Waits until Slack has a message containing every one of `needles`.
async fn slack_message_with(slack: &SlackReceiver, needles: &[&str]) -> Value {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(message) = slack.messages().into_iter().find(|m| {
            let text = m.to_string();
            needles.iter().all(|n| text.contains(n))
        }) {
            return message;
        }
        assert!(
            Instant::now() < deadline,
            "no Slack message with {needles:?}; got {:#?}",
            slack.messages()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_three_lambdas_take_a_failure_a_miss_and_an_alarm_to_slack() {
    let template = Template::load();
    let name = unique_name("stack");
    let mut deployment = Deployment::new(&template);
    deployment.set("Environment", "prod");

    // The resources, as the template declares them.
    template
        .create_table(
            "JobsTable",
            &dynamo_client(&jobwatch_dynamo::RequestCounter::new()),
            &name,
        )
        .await;
    deployment.set("JobsTable", &name).set(
        "JobsTable.Arn",
        format!("arn:aws:dynamodb:us-east-1:123456789012:table/{name}"),
    );
    let topic_arn = sns()
        .create_topic()
        .name(format!("{name}-alerts"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn");
    deployment
        .set("AlertTopic", &topic_arn)
        .set("AlertTopic.TopicArn", &topic_arn);
    let tap = Tap::subscribe(&topic_arn, &name).await;
    let run_log_group = deployment
        .resolve(&template.resource("RunLogGroup")["Properties"]["LogGroupName"])
        .expect("run log group name");
    logs()
        .create_log_group()
        .log_group_name(&run_log_group)
        .send()
        .await
        .expect("log group");
    deployment.set("RunLogGroup", &run_log_group);
    // GenerateSecretString, as CloudFormation would: 64 letters and digits, the ping key
    // then the API key.
    let generated: String = format!("{}{}", name.replace('-', ""), "0".repeat(64))
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .take(64)
        .collect();
    let (ping_key, api_key) = (generated[..32].to_string(), generated[32..].to_string());
    let secret_name = deployment
        .resolve(&template.resource("KeysSecret")["Properties"]["Name"])
        .expect("secret name");
    let arn = create_secret(&secret_name, &generated).await;
    deployment.set("KeysSecret", arn);
    // The Slack webhook secret the stack references, put as infra/put-slack-webhook does.
    let slack = SlackReceiver::start().await;
    let slack_secret = deployment
        .function_environment("FormatterFunction")
        .into_iter()
        .find(|(k, _)| k == jobwatch_aws::slack::SECRET_VARIABLE)
        .map(|(_, v)| v)
        .expect("the formatter is told its webhook secret");
    create_secret(
        &slack_secret,
        &json!({"webhook_url": slack.url}).to_string(),
    )
    .await;

    let ingest = Running::start(functions::INGEST, &deployment).await;
    let sweeper = Running::start(functions::SWEEPER, &deployment).await;
    let formatter = Running::start(functions::FORMATTER, &deployment).await;

    let admin = |method: &str, path: &str, body: &str| {
        function_url_event(
            method,
            path,
            &[
                ("authorization", &format!("Bearer {api_key}")),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        )
    };
    let status = |response: &Value| response["statusCode"].as_u64().unwrap_or_default();

    // Jobs declared through the ingest's admin API.
    let created = ingest
        .invoke(admin(
            "PUT",
            "/api/v1/jobs/nightly-backup",
            r#"{"every": "1d", "grace": "1h"}"#,
        ))
        .await;
    assert_eq!(status(&created), 201, "{created}");
    let created = ingest
        .invoke(admin(
            "PUT",
            "/api/v1/jobs/heartbeat",
            r#"{"every": "2s", "grace": "1s"}"#,
        ))
        .await;
    let heartbeat_created = Instant::now();
    assert_eq!(status(&created), 201, "{created}");

    // 1. A failing run: start, then exit code 2 with its output.
    let start = ingest
        .invoke(function_url_event(
            "GET",
            &format!(
                "/ping/{ping_key}/nightly-backup/start?rid=5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03"
            ),
            &[],
            b"",
        ))
        .await;
    assert_eq!(status(&start), 200, "{start}");
    let failed = ingest
        .invoke(function_url_event(
            "POST",
            &format!("/ping/{ping_key}/nightly-backup/2?rid=5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03"),
            &[],
            b"pg_dump: error: connection to server failed",
        ))
        .await;
    assert_eq!(status(&failed), 200, "{failed}");
    let event = tap.next_event("\"kind\":\"failed\"").await;
    let handled = formatter.invoke(event).await;
    assert!(handled.is_object(), "{handled}");
    slack_message_with(&slack, &["nightly-backup", "connection to server failed"]).await;

    // 2. The heartbeat never pings: the sweeper notices once its deadline has passed.
    tokio::time::sleep_until((heartbeat_created + Duration::from_millis(3_500)).into()).await;
    let swept = sweeper.invoke(scheduled_event()).await;
    assert!(swept["alerts"].as_u64().unwrap_or_default() >= 1, "{swept}");
    let event = tap.next_event("\"kind\":\"missed\"").await;
    formatter.invoke(event).await;
    slack_message_with(&slack, &["heartbeat"]).await;

    // 3. A CloudWatch alarm on the topic (CloudWatch's own notification) is formatted.
    let alarm_name = "jobwatch-prod-sweeper-heartbeat";
    sns()
        .publish()
        .topic_arn(&topic_arn)
        .subject(format!("ALARM: \"{alarm_name}\" in US East (N. Virginia)"))
        .message(alarm_notification(alarm_name))
        .send()
        .await
        .expect("publish alarm");
    let event = tap.next_event(alarm_name).await;
    formatter.invoke(event).await;
    slack_message_with(&slack, &[alarm_name]).await;

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
    for running in [&ingest, &sweeper, &formatter] {
        running.assert_within_its_policy();
    }
}
