//! AWS resources on moto for tests that run the real Lambda binaries: the stack's resources as
//! the template declares them and SDK clients for the test's own checks. The counting proxy in
//! front of moto ([`crate::proxy`]) is re-exported here, where the tests have always found it.

use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, Region};
use jobwatch_dynamo::{DynamoStore, RequestCounter, create_table};

use crate::moto::{dynamo_client, endpoint, unique_name};
pub use crate::proxy::{CountingProxy, Exchange};

macro_rules! moto_client {
    ($sdk:ident) => {{
        let config = $sdk::Config::builder()
            .behavior_version_latest()
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
            .endpoint_url(endpoint())
            .http_client(jobwatch_aws::sdk::http_client())
            .build();
        $sdk::Client::from_conf(config)
    }};
}

pub fn sns() -> aws_sdk_sns::Client {
    moto_client!(aws_sdk_sns)
}
pub fn sqs() -> aws_sdk_sqs::Client {
    moto_client!(aws_sdk_sqs)
}
pub fn logs() -> aws_sdk_cloudwatchlogs::Client {
    moto_client!(aws_sdk_cloudwatchlogs)
}
pub fn secrets() -> aws_sdk_secretsmanager::Client {
    moto_client!(aws_sdk_secretsmanager)
}
pub fn cloudwatch() -> aws_sdk_cloudwatch::Client {
    moto_client!(aws_sdk_cloudwatch)
}

/// A new SQS queue subscribed to `topic_arn`, to see what is published there; its URL.
pub async fn subscribe_queue(topic_arn: &str, queue_name: &str) -> String {
    let sqs = sqs();
    let queue_url = sqs
        .create_queue()
        .queue_name(queue_name)
        .send()
        .await
        .expect("queue")
        .queue_url
        .expect("url");
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .expect("queue attributes")
        .attributes
        .and_then(|a| {
            a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .cloned()
        })
        .expect("queue arn");
    sns()
        .subscribe()
        .topic_arn(topic_arn)
        .protocol("sqs")
        .endpoint(queue_arn)
        .send()
        .await
        .expect("subscribe");
    queue_url
}

/// The SNS envelopes waiting in a subscribed queue (one receive, waiting up to a second),
/// deleted from it.
pub async fn receive_envelopes(queue_url: &str) -> Vec<serde_json::Value> {
    let sqs = sqs();
    let output = sqs
        .receive_message()
        .queue_url(queue_url)
        .max_number_of_messages(10)
        .wait_time_seconds(1)
        .send()
        .await
        .expect("receive");
    let mut envelopes = Vec::new();
    for message in output.messages() {
        envelopes.push(serde_json::from_str(message.body().unwrap_or("{}")).expect("SNS envelope"));
        if let Some(handle) = message.receipt_handle() {
            let _ = sqs
                .delete_message()
                .queue_url(queue_url)
                .receipt_handle(handle)
                .send()
                .await;
        }
    }
    envelopes
}

/// Creates the topic `<name>-alerts` on moto; its ARN.
pub async fn alert_topic(name: &str) -> String {
    sns()
        .create_topic()
        .name(format!("{name}-alerts"))
        .send()
        .await
        .expect("topic")
        .topic_arn
        .expect("arn")
}

/// Creates the log group `name` on moto.
pub async fn log_group(name: &str) {
    logs()
        .create_log_group()
        .log_group_name(name)
        .send()
        .await
        .expect("log group");
}

/// The resources one jobwatch environment uses, freshly created on moto.
pub struct Stack {
    pub table: String,
    pub topic_arn: String,
    /// An SQS queue subscribed to the alert topic, to see what was published.
    pub queue_url: String,
    pub run_log_group: String,
    pub keys_secret: String,
    pub ping_key: String,
    pub api_key: String,
}

impl Stack {
    pub async fn create() -> Stack {
        let name = unique_name("jobwatch");
        let counter = RequestCounter::new();
        create_table(&dynamo_client(&counter), &name)
            .await
            .expect("create table");
        let topic_arn = alert_topic(&name).await;
        let queue_url = subscribe_queue(&topic_arn, &format!("{name}-seen")).await;
        let run_log_group = format!("/jobwatch/{name}/runs");
        log_group(&run_log_group).await;
        let (ping_key, api_key) = (format!("ping-{name}"), format!("api-{name}"));
        let keys_secret = format!("{name}/keys");
        secrets()
            .create_secret()
            .name(&keys_secret)
            .secret_string(
                serde_json::json!({"ping_key": ping_key, "api_key": api_key}).to_string(),
            )
            .send()
            .await
            .expect("secret");
        Stack {
            table: name,
            topic_arn,
            queue_url,
            run_log_group,
            keys_secret,
            ping_key,
            api_key,
        }
    }

    /// A store on the stack's table, for the test's own reads.
    pub fn store(&self) -> DynamoStore {
        DynamoStore::new(dynamo_client(&RequestCounter::new()), &self.table)
    }

    /// Alert events published to the topic so far (waiting up to `wait` for at least `n`).
    pub async fn published(&self, n: usize, wait: Duration) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + wait;
        let mut seen = Vec::new();
        while seen.len() < n && Instant::now() < deadline {
            seen.extend(receive_envelopes(&self.queue_url).await);
        }
        seen
    }

    /// The environment the Lambda binaries read, pointing at this stack.
    pub fn lambda_env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("JOBWATCH_TABLE", self.table.clone()),
            ("JOBWATCH_ENV", "prod".into()),
            ("JOBWATCH_ALERT_TOPIC_ARN", self.topic_arn.clone()),
            ("JOBWATCH_RUN_LOG_GROUP", self.run_log_group.clone()),
            ("JOBWATCH_KEYS_SECRET", self.keys_secret.clone()),
        ]
    }
}
