//! `jobwatch-formatter`: the SNS-to-Slack formatter Lambda. Every Slack message of a
//! deployment goes through it: jobwatch alert events (published by the ingest and sweeper
//! Lambdas), CloudWatch alarms (SNS notifications and EventBridge state-change events, every
//! shape), and a readable fallback for anything else published to the topic. The work is
//! [`jobwatch_aws::formatter`] over `jobwatch-notify`'s policy, fatigue and delivery.
//!
//! Configuration (environment): `JOBWATCH_TABLE`, `JOBWATCH_ENV`, optionally
//! `JOBWATCH_SLACK_SECRET` (default `slack-webhook-<env>`), `JOBWATCH_SLACK_TIMEOUT` (the
//! longest time spent delivering per invocation; default: all the invocation has), and the
//! policy variables of [`jobwatch_notify::POLICY_VARIABLES`].
//! The list, with what a deployment must set and the AWS actions this binary calls, is
//! [`jobwatch_aws::functions::FORMATTER`]; `tests/template.rs` holds `template.yaml` to it.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use anyhow::anyhow;
use jobwatch_aws::failure::Failure;
use jobwatch_aws::formatter::Formatter;
use jobwatch_aws::lambda::{optional, required};
use jobwatch_aws::slack::SecretWebhooks;
use jobwatch_core::Duration;
use jobwatch_notify::Policy;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn formatter_from_env() -> anyhow::Result<Formatter> {
    let table = required("JOBWATCH_TABLE")?;
    let environment = required("JOBWATCH_ENV")?;
    let slack_timeout = match optional("JOBWATCH_SLACK_TIMEOUT") {
        Some(text) => Some(
            text.trim()
                .parse::<Duration>()
                .map(|d| StdDuration::from_millis(d.as_millis()))
                .map_err(|e| anyhow!("JOBWATCH_SLACK_TIMEOUT: {e}"))?,
        ),
        None => None,
    };
    let sdk = jobwatch_aws::sdk::from_env()?;
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    Ok(Formatter {
        store: jobwatch_dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
        webhooks: SecretWebhooks::from_env(secrets, &environment).map_err(|e| anyhow!(e))?,
        policy: Policy::from_vars(|name| std::env::var(name).ok()).map_err(|e| anyhow!(e))?,
        environment,
        slack_timeout,
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    jobwatch_aws::lambda::init_tracing();
    let formatter = match formatter_from_env() {
        Ok(formatter) => Arc::new(formatter),
        Err(e) => return Err(jobwatch_aws::failure::init_failed(e).await),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let formatter = Arc::clone(&formatter);
        async move {
            let deadline_ms = event.context.deadline;
            formatter
                .handle(&event.payload, deadline_ms)
                .await
                .map_err(Failure::from)
        }
    }))
    .await
}
