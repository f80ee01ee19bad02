//! `jobwatch-sweeper`: the health sweeper Lambda, the only part that notices what did *not*
//! happen. EventBridge invokes it every minute for a sweep ([`jobwatch_aws::sweeper`]), and a
//! second schedule with `{"mode": "report"}` for the daily report.
//!
//! Configuration (environment): `JOBWATCH_TABLE`, `JOBWATCH_ENV`, and optionally
//! `JOBWATCH_ALERT_TOPIC_ARN`, `JOBWATCH_RUN_LOG_GROUP`, `JOBWATCH_REPEAT_INTERVAL` (default
//! `4h`), `JOBWATCH_REPUBLISH_AFTER` (default `30s`: the next sweep publishes again what the
//! formatter has not acknowledged), `JOBWATCH_REPORT_TIME`, `JOBWATCH_REPORT_TIMEZONE`,
//! `JOBWATCH_PER_JOB_METRICS`, `JOBWATCH_PUBLIC_URL` and `JOBWATCH_WEB_SECRET` (the base of
//! run links in alerts, and the secret signing them).
//! The list, with what a deployment must set and the AWS actions this binary calls, is
//! [`jobwatch_aws::functions::SWEEPER`]; `tests/template.rs` holds `template.yaml` to it.

use std::sync::Arc;

use anyhow::{Context, anyhow};
use jiff::Timestamp;
use jobwatch_aws::failure::Failure;
use jobwatch_aws::lambda::{optional, required};
use jobwatch_aws::observer::LambdaObserver;
use jobwatch_aws::publisher::AlertPublisher;
use jobwatch_aws::sweeper::{DEFAULT_REPUBLISH_AFTER, LinkSecret, Sweeper};
use jobwatch_core::Duration;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::Value;

fn duration(name: &str, default: Duration) -> anyhow::Result<Duration> {
    optional(name).map_or(Ok(default), |v| {
        v.parse()
            .with_context(|| format!("{name} is not a duration (e.g. 4h, 10m): {v}"))
    })
}

fn sweeper_from_env() -> anyhow::Result<Sweeper> {
    let table = required("JOBWATCH_TABLE")?;
    let environment = required("JOBWATCH_ENV")?;
    let repeat = jobwatch_core::machine::DEFAULT_REPEAT_INTERVAL;
    let repeat = duration("JOBWATCH_REPEAT_INTERVAL", repeat)?;
    let republish_after = duration("JOBWATCH_REPUBLISH_AFTER", DEFAULT_REPUBLISH_AFTER)?;
    let sdk = jobwatch_aws::sdk::from_env()?;
    let store = jobwatch_dynamo::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
    let topic = optional("JOBWATCH_ALERT_TOPIC_ARN");
    let observer = Arc::new(LambdaObserver::from_env(&sdk, &environment)?);
    let public_url = optional("JOBWATCH_PUBLIC_URL");
    let secrets = aws_sdk_secretsmanager::Client::new(&sdk);
    Ok(Sweeper {
        link_secret: optional("JOBWATCH_WEB_SECRET").map(|id| LinkSecret::new(&secrets, id)),
        webhooks: jobwatch_aws::slack::SecretWebhooks::from_env(secrets, &environment)
            .map_err(|e| anyhow!(e))?,
        policy: jobwatch_notify::Policy::from_vars(|name| std::env::var(name).ok())
            .map_err(|e| anyhow!(e))?,
        engine: match public_url {
            Some(url) => {
                jobwatch_aws::lambda::engine(store, environment, observer)?.with_public_url(url)
            }
            None => jobwatch_aws::lambda::engine(store, environment, observer)?,
        }
        .with_repeat_interval(repeat),
        publisher: topic.map(|arn| AlertPublisher::new(aws_sdk_sns::Client::new(&sdk), arn)),
        republish_after,
        upgraded: Default::default(),
    })
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    jobwatch_aws::lambda::init_tracing();
    let sweeper = match sweeper_from_env() {
        Ok(sweeper) => Arc::new(sweeper),
        Err(e) => return Err(jobwatch_aws::failure::init_failed(e).await),
    };
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let sweeper = Arc::clone(&sweeper);
        // The schedule's own time is when the sweep should have run; sweeping at "now"
        // catches up with everything due since, whatever the delay.
        async move { (sweeper.handle(&event.payload, Timestamp::now()).await).map_err(Failure::from) }
    }))
    .await
}
