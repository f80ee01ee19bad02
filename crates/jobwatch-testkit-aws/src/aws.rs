//! AWS resources on moto for tests that run the real Lambda binaries: the stack's resources as
//! the template declares them, SDK clients for the test's own checks, and a counting proxy in
//! front of moto that tallies every AWS request a binary makes (by operation).

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, Region};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jobwatch_dynamo::{DynamoStore, RequestCounter, create_table};

use crate::moto::{dynamo_client, endpoint, unique_name};

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
        let topic_arn = sns()
            .create_topic()
            .name(format!("{name}-alerts"))
            .send()
            .await
            .expect("topic")
            .topic_arn
            .expect("arn");
        let queue_url = subscribe_queue(&topic_arn, &format!("{name}-seen")).await;
        let run_log_group = format!("/jobwatch/{name}/runs");
        logs()
            .create_log_group()
            .log_group_name(&run_log_group)
            .send()
            .await
            .expect("log group");
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

/// A proxy in front of moto that counts requests by operation (`DynamoDB_20120810.GetItem`
/// style targets become `GetItem`; query-protocol `Action=Publish` becomes `Publish`).
pub struct CountingProxy {
    pub endpoint: String,
    counts: Arc<Mutex<BTreeMap<String, u64>>>,
    actions: Arc<Mutex<BTreeSet<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn operation(headers: &http::HeaderMap, body: &[u8]) -> String {
    if let Some(target) = headers.get("x-amz-target").and_then(|v| v.to_str().ok()) {
        return target.rsplit('.').next().unwrap_or(target).to_string();
    }
    form_action(body).unwrap_or_else(|| "unknown".into())
}

/// The IAM action of a request (`dynamodb:GetItem`, `cloudwatch:PutMetricData`): the service
/// from the credential scope of its SigV4 signature, the operation from the request.
fn iam_action(headers: &http::HeaderMap, operation: &str) -> String {
    let service = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|auth| auth.split("Credential=").nth(1))
        .and_then(|scope| scope.split('/').nth(3))
        .unwrap_or("unknown");
    // CloudWatch signs as `monitoring`; IAM calls it `cloudwatch`.
    let service = if service == "monitoring" {
        "cloudwatch"
    } else {
        service
    };
    format!("{service}:{operation}")
}

fn form_action(body: &[u8]) -> Option<String> {
    std::str::from_utf8(body)
        .ok()?
        .split('&')
        .find_map(|pair| pair.strip_prefix("Action="))
        .map(str::to_string)
}

impl CountingProxy {
    pub async fn start() -> CountingProxy {
        let upstream = endpoint();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind proxy");
        let address = listener.local_addr().expect("address");
        let counts: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
        let actions: Arc<Mutex<BTreeSet<String>>> = Arc::default();
        let tally = Arc::clone(&counts);
        let seen = Arc::clone(&actions);
        let client = reqwest::Client::new();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (tally, seen, client, upstream) = (
                    Arc::clone(&tally),
                    Arc::clone(&seen),
                    client.clone(),
                    upstream.clone(),
                );
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let (tally, seen, client, upstream) = (
                                Arc::clone(&tally),
                                Arc::clone(&seen),
                                client.clone(),
                                upstream.clone(),
                            );
                            async move {
                                let (parts, body) = request.into_parts();
                                let body = body
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                let operation = operation(&parts.headers, &body);
                                seen.lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .insert(iam_action(&parts.headers, &operation));
                                *tally
                                    .lock()
                                    .unwrap_or_else(|p| p.into_inner())
                                    .entry(operation)
                                    .or_default() += 1;
                                let url = format!(
                                    "{upstream}{}",
                                    parts
                                        .uri
                                        .path_and_query()
                                        .map(|p| p.as_str())
                                        .unwrap_or("/")
                                );
                                let mut forward =
                                    client.request(parts.method.clone(), url).body(body);
                                for (name, value) in &parts.headers {
                                    if name != http::header::HOST {
                                        forward = forward.header(name, value);
                                    }
                                }
                                let response = match forward.send().await {
                                    Ok(upstream_response) => {
                                        let status = upstream_response.status();
                                        let headers = upstream_response.headers().clone();
                                        let bytes =
                                            upstream_response.bytes().await.unwrap_or_default();
                                        let mut response = hyper::Response::new(Full::new(bytes));
                                        *response.status_mut() = status;
                                        for (name, value) in &headers {
                                            if name != http::header::TRANSFER_ENCODING
                                                && name != http::header::CONTENT_LENGTH
                                            {
                                                response.headers_mut().insert(name, value.clone());
                                            }
                                        }
                                        response
                                    }
                                    Err(_) => {
                                        let mut response = hyper::Response::new(Full::new(
                                            Bytes::from_static(b"proxy: moto unreachable"),
                                        ));
                                        *response.status_mut() = http::StatusCode::BAD_GATEWAY;
                                        response
                                    }
                                };
                                Ok::<_, Infallible>(response)
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        CountingProxy {
            endpoint: format!("http://{address}"),
            counts,
            actions,
            task,
        }
    }

    /// The IAM actions (`service:Operation`) of every request since the proxy started.
    pub fn actions(&self) -> BTreeSet<String> {
        self.actions
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Requests by operation since the last call, starting again from zero.
    pub fn take(&self) -> BTreeMap<String, u64> {
        std::mem::take(&mut *self.counts.lock().unwrap_or_else(|p| p.into_inner()))
    }
}
