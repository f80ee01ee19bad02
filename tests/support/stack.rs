//! The whole stack on moto, stood up as `template.yaml` declares it, for the suites that run
//! the three real Lambda binaries together (`tests/stack.rs`, `tests/cost.rs`, `tests/ops.rs`):
//! the table from the template's own definition, the alert and ops topics, the run log group,
//! the generated keys and (unless a test leaves it out) the Slack webhook secret (pointing at a
//! local Slack receiver), and each function started with its environment resolved from the
//! template, behind its own recording proxy.
//!
//! moto does not invoke Lambda functions, so the test plays the part of SNS's subscription:
//! a [`Tap`] (an SQS queue subscribed to the topic) shows what was published, and each
//! message goes to the formatter as the SNS event Lambda would deliver. Another queue on the
//! ops topic stands in for its email or https subscriber.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use jobwatch_aws::functions::{self, Function};
use jobwatch_testkit::lambda::{LambdaProcess, RuntimeApi, function_url_event, workspace_binary};
use jobwatch_testkit::slack::SlackReceiver;
use jobwatch_testkit_aws::aws::{
    CountingProxy, alert_topic, log_group, receive_envelopes, secrets, sns, subscribe_queue,
};
use jobwatch_testkit_aws::moto::{dynamo_client, unique_name};
use serde_json::{Value, json};

use crate::template::{Deployment, Template};

/// One function of the stack: its process, its runtime API and the proxy that sees (and
/// records) its AWS requests.
pub struct Running {
    pub function: Function,
    pub proxy: CountingProxy,
    pub runtime: RuntimeApi,
    pub process: LambdaProcess,
}

/// The grouping window of the functions of a test stack.
pub const GROUP_WINDOW: &str = "1s";

/// How a test stack differs from the one `template.yaml` deploys.
#[derive(Debug, Clone, Default)]
pub struct Variant {
    /// Stand up without the Slack webhook secret (as before `infra/put-slack-webhook`).
    pub without_slack_secret: bool,
    /// Variables added to a function's environment: (logical id, name, value).
    pub env: Vec<(&'static str, &'static str, String)>,
}

impl Running {
    async fn start(
        function: Function,
        deployment: &Deployment<'_>,
        log_filter: &str,
        variant: &Variant,
    ) -> Running {
        let proxy = CountingProxy::recording().await;
        let runtime = RuntimeApi::start().await;
        let mut env = deployment.function_environment(function.logical_id);
        env.extend(
            variant
                .env
                .iter()
                .filter(|(id, _, _)| *id == function.logical_id)
                .map(|(_, name, value)| (name.to_string(), value.clone())),
        );
        env.push((
            jobwatch_aws::lambda::LOG_VARIABLE.to_string(),
            log_filter.to_string(),
        ));
        if function.variable("JOBWATCH_GROUP_WINDOW").is_some() {
            // Grouping as deployed, with a window of 1 s instead of 30 s, so a scenario
            // waits a second, not half a minute, for a held missed alert.
            env.push((
                "JOBWATCH_GROUP_WINDOW".to_string(),
                GROUP_WINDOW.to_string(),
            ));
        }
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
            process,
        }
    }

    /// Delivers `event` and returns the function's answer (panics if it failed).
    pub async fn invoke(&self, event: Value) -> Value {
        self.runtime.invoke(event).await.response()
    }

    /// Every AWS action the binary used must be one its policy grants (the template's
    /// policies equal these lists: tests/template.rs).
    pub fn assert_within_its_policy(&self) {
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

    /// Every line the function wrote so far, stdout's then stderr's.
    pub fn log_lines(&self) -> (Vec<String>, Vec<String>) {
        (self.process.stdout(), self.process.stderr())
    }
}

/// The test's stand-in for the formatter's SNS subscription: a queue subscribed to the topic.
pub struct Tap {
    pub queue_url: String,
}

impl Tap {
    pub async fn subscribe(topic_arn: &str, name: &str) -> Tap {
        Tap {
            queue_url: subscribe_queue(topic_arn, &format!("{name}-tap")).await,
        }
    }

    /// The next SNS message whose `Message` contains `needle` (waiting up to 20 s), as the SNS
    /// event Lambda delivers to a subscribed function.
    pub async fn next_event(&self, needle: &str) -> Value {
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
pub fn sns_lambda_event(envelope: &Value) -> Value {
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

/// EventBridge's scheduled event, as the sweeper gets it every minute.
pub fn scheduled_event() -> Value {
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
pub fn alarm_notification(name: &str) -> String {
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

/// Creates a secret on moto (as `infra/put-slack-webhook` or CloudFormation would).
pub async fn create_secret(name: &str, value: &str) -> String {
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
pub async fn slack_message_with(slack: &SlackReceiver, needles: &[&str]) -> Value {
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

/// The HTTP status of a Function URL answer.
pub fn status(response: &Value) -> u64 {
    response["statusCode"].as_u64().unwrap_or_default()
}

/// One environment of the stack, running.
pub struct LiveStack {
    pub template: Template,
    pub table: String,
    /// The alert topic (`AlertTopic`), which the formatter reads.
    pub topic_arn: String,
    pub tap: Tap,
    /// The ops topic (`OpsTopic`) of the stack's own alarms.
    pub ops_topic_arn: String,
    /// The ops topic's subscriber, standing in for `OpsEmail` / `OpsHttpsEndpoint`.
    pub ops_tap: Tap,
    pub slack: SlackReceiver,
    /// The Slack webhook secret's name, as the formatter and the sweeper are told it.
    pub slack_secret: String,
    pub ping_key: String,
    pub api_key: String,
    pub ingest: Running,
    pub sweeper: Running,
    pub formatter: Running,
}

impl LiveStack {
    /// Creates the resources as the template declares them (environment `prod`, the
    /// template's parameter defaults) and starts the three functions, which log at
    /// `log_filter` (`JOBWATCH_LOG`).
    pub async fn stand_up(name_prefix: &str, log_filter: &str) -> LiveStack {
        LiveStack::stand_up_as(name_prefix, log_filter, &Variant::default()).await
    }

    /// [`Self::stand_up`], with the differences of `variant`.
    pub async fn stand_up_as(name_prefix: &str, log_filter: &str, variant: &Variant) -> LiveStack {
        let template = Template::load();
        let name = unique_name(name_prefix);
        let mut deployment = Deployment::new(&template);
        deployment.set("Environment", "prod");

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
        let topic_arn = alert_topic(&name).await;
        deployment
            .set("AlertTopic", &topic_arn)
            .set("AlertTopic.TopicArn", &topic_arn);
        let tap = Tap::subscribe(&topic_arn, &name).await;
        let ops_topic_arn = sns()
            .create_topic()
            .name(format!("{name}-ops"))
            .send()
            .await
            .expect("ops topic")
            .topic_arn
            .expect("ops topic arn");
        deployment
            .set("OpsTopic", &ops_topic_arn)
            .set("OpsTopic.TopicArn", &ops_topic_arn);
        let ops_tap = Tap::subscribe(&ops_topic_arn, &format!("{name}-ops")).await;
        // Names as the template gives them, made unique: several stacks share one moto.
        let run_log_group = deployment
            .resolve(&template.resource("RunLogGroup")["Properties"]["LogGroupName"])
            .map(|group| format!("{group}-{name}"))
            .expect("run log group name");
        log_group(&run_log_group).await;
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
            .map(|secret| format!("{secret}-{name}"))
            .expect("secret name");
        let arn = create_secret(&secret_name, &generated).await;
        deployment.set("KeysSecret", arn);
        // The web view's signing secret, generated the same way.
        let web_secret_name = deployment
            .resolve(&template.resource("WebSecret")["Properties"]["Name"])
            .map(|secret| format!("{secret}-{name}"))
            .expect("web secret name");
        let web_arn = create_secret(
            &web_secret_name,
            &generated.chars().rev().collect::<String>(),
        )
        .await;
        deployment.set("WebSecret", web_arn);
        // The Slack webhook secret the stack references (named by the SlackSecretName
        // parameter), put as infra/put-slack-webhook does.
        deployment.set("SlackSecretName", format!("slack-webhook-prod-{name}"));
        // Where run links in alerts point (the functions run here, not behind a URL).
        deployment.set(
            "IngestFunctionUrl.FunctionUrl",
            "https://example.lambda-url.us-east-1.on.aws/",
        );
        let slack = SlackReceiver::start().await;
        let slack_secret = deployment
            .function_environment("FormatterFunction")
            .into_iter()
            .find(|(k, _)| k == jobwatch_aws::slack::SECRET_VARIABLE)
            .map(|(_, v)| v)
            .expect("the formatter is told its webhook secret");
        if !variant.without_slack_secret {
            create_secret(
                &slack_secret,
                &json!({"webhook_url": slack.url}).to_string(),
            )
            .await;
        }

        let ingest = Running::start(functions::INGEST, &deployment, log_filter, variant).await;
        let sweeper = Running::start(functions::SWEEPER, &deployment, log_filter, variant).await;
        let formatter =
            Running::start(functions::FORMATTER, &deployment, log_filter, variant).await;
        drop(deployment);
        LiveStack {
            template,
            table: name,
            topic_arn,
            tap,
            ops_topic_arn,
            ops_tap,
            slack,
            slack_secret,
            ping_key,
            api_key,
            ingest,
            sweeper,
            formatter,
        }
    }

    /// An admin API request, as the Function URL delivers it.
    pub fn admin(&self, method: &str, path: &str, body: &str) -> Value {
        function_url_event(
            method,
            path,
            &[
                ("authorization", &format!("Bearer {}", self.api_key)),
                ("content-type", "application/json"),
            ],
            body.as_bytes(),
        )
    }

    /// Declares job `slug` with `definition` through the ingest's admin API, as a new job.
    pub async fn declare(&self, slug: &str, definition: &str) -> Value {
        let path = format!("/api/v1/jobs/{slug}");
        let created = self
            .ingest
            .invoke(self.admin("PUT", &path, definition))
            .await;
        assert_eq!(status(&created), 201, "{created}");
        created
    }

    /// A ping to `/ping/<ping-key>/<rest>` (`backup/start?rid=...`), as the Function URL
    /// delivers it.
    pub fn ping(&self, method: &str, rest: &str, body: &[u8]) -> Value {
        function_url_event(
            method,
            &format!("/ping/{}/{rest}", self.ping_key),
            &[],
            body,
        )
    }

    /// The ARN of the topic a template `Ref` names (`AlertTopic`, `OpsTopic`).
    pub fn topic(&self, logical_id: &str) -> &str {
        match logical_id {
            "AlertTopic" => &self.topic_arn,
            "OpsTopic" => &self.ops_topic_arn,
            other => panic!("the test stack has no topic {other}"),
        }
    }

    pub fn functions(&self) -> [&Running; 3] {
        [&self.ingest, &self.sweeper, &self.formatter]
    }
}
