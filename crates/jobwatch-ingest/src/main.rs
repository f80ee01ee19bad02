//! `jobwatch-ingest`: the ping ingest Lambda. Jobs call its Function URL exactly as they would
//! call Healthchecks.io; operators use the admin API on the same URL. It serves the very same
//! API as `jobwatch serve` ([`jobwatch_aws::ingest`]), on DynamoDB, and for every committed
//! change emits EMF metrics, writes the run's output to CloudWatch Logs and publishes alert
//! events to SNS.
//!
//! Configuration (environment): `JOBWATCH_TABLE`, `JOBWATCH_ENV`, `JOBWATCH_KEYS_SECRET` (the
//! Secrets Manager id of the ping and API keys), and optionally `JOBWATCH_WEB_SECRET` (the id
//! of the web view's signing secret), `JOBWATCH_ALERT_TOPIC_ARN`,
//! `JOBWATCH_RUN_LOG_GROUP`, `JOBWATCH_PUBLIC_URL`, `JOBWATCH_RUN_RETENTION_DAYS`,
//! `JOBWATCH_REPORT_TIME`, `JOBWATCH_REPORT_TIMEZONE`, `JOBWATCH_PER_JOB_METRICS`.
//! The list, with what a deployment must set and the AWS actions this binary calls, is
//! [`jobwatch_aws::functions::INGEST`]; `tests/template.rs` holds `template.yaml` to it.

use std::sync::Arc;

use anyhow::Context;
use jobwatch_aws::failure::Failure;
use jobwatch_aws::ingest::Ingest;
use jobwatch_aws::lambda::{optional, required};
use jobwatch_aws::observer::LambdaObserver;
use jobwatch_dynamo::DynamoStore;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn ingest_from_env() -> anyhow::Result<Ingest> {
    let table = required("JOBWATCH_TABLE")?;
    let environment = required("JOBWATCH_ENV")?;
    let keys_secret = required("JOBWATCH_KEYS_SECRET")?;
    let retention_days = match optional("JOBWATCH_RUN_RETENTION_DAYS") {
        Some(days) => days.parse().with_context(|| {
            format!("JOBWATCH_RUN_RETENTION_DAYS is not a number of days: {days}")
        })?,
        None => jobwatch_dynamo::DEFAULT_RUN_RETENTION_DAYS,
    };
    let sdk = jobwatch_aws::sdk::from_env()?;
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table)
        .with_run_retention_days(retention_days);
    let observer = Arc::new(LambdaObserver::from_env(&sdk, &environment)?);
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let run_log_link = optional("JOBWATCH_RUN_LOG_GROUP")
        .map(|group| jobwatch_aws::run_log::web_link(region, group));
    Ok(Ingest::new(
        jobwatch_aws::lambda::engine(store, environment, observer)?,
        aws_sdk_secretsmanager::Client::new(&sdk),
        keys_secret,
        optional("JOBWATCH_PUBLIC_URL"),
    )
    .with_web_secret(optional("JOBWATCH_WEB_SECRET"))
    .with_run_log_link(run_log_link))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    jobwatch_aws::lambda::init_tracing();
    let ingest = match ingest_from_env() {
        Ok(ingest) => Arc::new(ingest),
        Err(e) => return Err(jobwatch_aws::failure::init_failed(e).await),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let ingest = Arc::clone(&ingest);
        async move { (ingest.handle(&event.payload).await).map_err(Failure::keys_unavailable) }
    }))
    .await
}
