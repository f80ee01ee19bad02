//! `jobwatch-ingest`: the ping ingest Lambda. Jobs call its Function URL exactly as they would
//! call Healthchecks.io; operators use the admin API on the same URL. It serves the very same
//! API as `jobwatch serve` ([`jobwatch_aws::ingest`]), on DynamoDB, and for every committed
//! change emits EMF metrics, writes the run's output to CloudWatch Logs and publishes alert
//! events to SNS.
//!
//! Configuration (environment): `JOBWATCH_TABLE`, `JOBWATCH_ENV`, `JOBWATCH_PING_KEY_SECRET`,
//! `JOBWATCH_API_KEY_SECRET` (Secrets Manager ids), and optionally `JOBWATCH_ALERT_TOPIC_ARN`,
//! `JOBWATCH_RUN_LOG_GROUP`, `JOBWATCH_PUBLIC_URL`, `JOBWATCH_RUN_RETENTION_DAYS`.
//! The list, with what a deployment must set and the AWS actions this binary calls, is
//! [`jobwatch_aws::functions::INGEST`]; `tests/template.rs` holds `template.yaml` to it.

use std::sync::Arc;

use anyhow::Context;
use jobwatch_aws::ingest::Ingest;
use jobwatch_aws::lambda::{optional, required};
use jobwatch_aws::observer::LambdaObserver;
use jobwatch_aws::publisher::AlertPublisher;
use jobwatch_aws::run_log::RunLogWriter;
use jobwatch_dynamo::DynamoStore;
use jobwatch_store::Engine;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn ingest_from_env() -> anyhow::Result<Ingest> {
    let table = required("JOBWATCH_TABLE")?;
    let environment = required("JOBWATCH_ENV")?;
    let ping_key_secret = required("JOBWATCH_PING_KEY_SECRET")?;
    let api_key_secret = required("JOBWATCH_API_KEY_SECRET")?;
    let retention_days = match optional("JOBWATCH_RUN_RETENTION_DAYS") {
        Some(days) => days.parse().with_context(|| {
            format!("JOBWATCH_RUN_RETENTION_DAYS is not a number of days: {days}")
        })?,
        None => jobwatch_dynamo::DEFAULT_RUN_RETENTION_DAYS,
    };
    let sdk = jobwatch_aws::sdk::from_env()?;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
        .with_run_retention_days(retention_days);
    let observer = LambdaObserver {
        environment: environment.clone(),
        publisher: optional("JOBWATCH_ALERT_TOPIC_ARN")
            .map(|arn| AlertPublisher::new(aws_sdk_sns::Client::new(&sdk), arn)),
        run_logs: optional("JOBWATCH_RUN_LOG_GROUP").map(|group| {
            RunLogWriter::new(aws_sdk_cloudwatchlogs::Client::new(&sdk), group, region)
        }),
    };
    Ok(Ingest::new(
        Engine::new(store, environment).with_observer(Arc::new(observer)),
        aws_sdk_secretsmanager::Client::new(&sdk),
        ping_key_secret,
        api_key_secret,
        optional("JOBWATCH_PUBLIC_URL"),
    ))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    jobwatch_aws::lambda::init_tracing();
    let ingest = Arc::new(ingest_from_env().map_err(|e| Error::from(format!("{e:#}")))?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ingest = Arc::clone(&ingest);
        async move { ingest.handle(&event.payload).await.map_err(Error::from) }
    }))
    .await
}
