//! `jobwatch-sweeper`: the health sweeper Lambda, the only part that notices what did *not*
//! happen. EventBridge invokes it every minute: it applies every deadline that has passed (a
//! missed or late start, a run past `max_runtime` or slow, a reminder that a job is still
//! down) to the jobs the due index lists, publishes the alerts, re-publishes alerts whose
//! delivery has not been acknowledged, and reports gauges and its own heartbeat to
//! CloudWatch. A second schedule invokes it with `{"mode": "report"}` for the daily report.
//!
//! Catch-up needs no bookkeeping of its own: a deadline stays in the due index until a sweep
//! applies it, backdated to when it passed, so a late, failed or throttled invocation is made
//! good by the next one, and compare-and-set commits keep overlapping sweeps from alerting
//! twice.
//!
//! Configuration (environment): `JOBWATCH_TABLE`, `JOBWATCH_ENV`, and optionally
//! `JOBWATCH_ALERT_TOPIC_ARN`, `JOBWATCH_RUN_LOG_GROUP`, `JOBWATCH_REPEAT_INTERVAL` (default
//! `4h`), `JOBWATCH_REPUBLISH_AFTER` (default `10m`).
//! The list, with what a deployment must set and the AWS actions this binary calls, is
//! [`jobwatch_aws::functions::SWEEPER`]; `tests/template.rs` holds `template.yaml` to it.

use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use aws_sdk_cloudwatch::types::StandardUnit;
use jiff::Timestamp;
use jobwatch_aws::lambda::{optional, required};
use jobwatch_aws::metrics::MetricsPublisher;
use jobwatch_aws::observer::LambdaObserver;
use jobwatch_aws::publisher::AlertPublisher;
use jobwatch_aws::run_log::RunLogWriter;
use jobwatch_core::Duration;
use jobwatch_core::report::daily_report;
use jobwatch_dynamo::DynamoStore;
use jobwatch_store::{Engine, JobStore, Outbox};
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Runs fetched per job for the daily report.
const REPORT_RUNS_PER_JOB: usize = 200;

fn duration(name: &str, default: Duration) -> anyhow::Result<Duration> {
    optional(name).map_or(Ok(default), |v| {
        v.parse()
            .with_context(|| format!("{name} is not a duration (e.g. 4h, 10m): {v}"))
    })
}

struct Sweeper {
    environment: String,
    engine: Engine<DynamoStore>,
    publisher: Option<Arc<AlertPublisher>>,
    metrics: MetricsPublisher,
    republish_after: Duration,
    webhooks: jobwatch_aws::slack::SecretWebhooks,
    policy: jobwatch_notify::Policy,
}

impl Sweeper {
    async fn from_env() -> anyhow::Result<Sweeper> {
        let table = required("JOBWATCH_TABLE")?;
        let environment = required("JOBWATCH_ENV")?;
        let repeat_interval = duration(
            "JOBWATCH_REPEAT_INTERVAL",
            jobwatch_core::machine::DEFAULT_REPEAT_INTERVAL,
        )?;
        let republish_after = duration("JOBWATCH_REPUBLISH_AFTER", Duration::from_mins(10))?;
        let sdk = jobwatch_aws::sdk::from_env()?;
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        let store = DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table);
        let topic = optional("JOBWATCH_ALERT_TOPIC_ARN");
        let observer = LambdaObserver {
            environment: environment.clone(),
            publisher: topic
                .clone()
                .map(|arn| AlertPublisher::new(aws_sdk_sns::Client::new(&sdk), arn)),
            run_logs: optional("JOBWATCH_RUN_LOG_GROUP").map(|group| {
                RunLogWriter::new(aws_sdk_cloudwatchlogs::Client::new(&sdk), group, region)
            }),
        };
        Ok(Sweeper {
            engine: Engine::new(store, environment.clone())
                .with_repeat_interval(repeat_interval)
                .with_observer(Arc::new(observer)),
            publisher: topic
                .map(|arn| Arc::new(AlertPublisher::new(aws_sdk_sns::Client::new(&sdk), arn))),
            metrics: MetricsPublisher::new(
                aws_sdk_cloudwatch::Client::new(&sdk),
                environment.clone(),
            ),
            webhooks: jobwatch_aws::slack::SecretWebhooks::from_env(
                aws_sdk_secretsmanager::Client::new(&sdk),
                &environment,
            )
            .map_err(|e| anyhow::anyhow!(e))?,
            policy: jobwatch_notify::Policy::from_vars(|name| std::env::var(name).ok())
                .map_err(|e| anyhow::anyhow!(e))?,
            environment,
            republish_after,
        })
    }

    /// One sweep at `now`: transitions, re-publishing, gauges and heartbeat.
    async fn sweep(&self, now: Timestamp) -> Result<Value, Error> {
        let started = Instant::now();
        let report = self
            .engine
            .sweep(now)
            .await
            .map_err(|e| Error::from(format!("sweep failed: {e}")))?;
        let republished = self.republish_stale(now).await;
        // Held summaries and digests whose window closed go out now, even if no new alert
        // wakes the formatter: between the two, nothing held waits more than a minute.
        let flush_deadline = Instant::now() + std::time::Duration::from_secs(20);
        let flushed = jobwatch_notify::flush_due(
            self.engine.store(),
            &self.webhooks,
            &self.policy,
            &self.environment,
            now,
            flush_deadline,
        )
        .await
        .map_err(|e| tracing::error!(error = %e, "flushing held notifications failed; the next sweep retries"))
        .map(|report| report.delivered)
        .unwrap_or(0);
        let counts = self
            .engine
            .store()
            .status_counts(now)
            .await
            .map_err(|e| Error::from(format!("counting jobs: {e}")))?;
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let metrics = [
            ("SweeperHeartbeat", StandardUnit::Count, 1.0),
            ("JobsDown", StandardUnit::Count, counts.down as f64),
            ("JobsLate", StandardUnit::Count, counts.late as f64),
            ("JobsRunning", StandardUnit::Count, counts.running as f64),
            (
                "DueJobsProcessed",
                StandardUnit::Count,
                report.jobs_examined as f64,
            ),
            (
                "SweepAlerts",
                StandardUnit::Count,
                report.alerts.len() as f64,
            ),
            ("SweepDurationMs", StandardUnit::Milliseconds, elapsed_ms),
        ];
        // A failed heartbeat is worth a retry of the whole invocation: the alarm on it would fire.
        self.metrics
            .put(&metrics, now)
            .await
            .map_err(|e| Error::from(format!("PutMetricData failed: {e}")))?;
        Ok(json!({
            "mode": "sweep",
            "jobs_examined": report.jobs_examined,
            "jobs_changed": report.jobs_changed,
            "alerts": report.alerts.len(),
            "republished": republished,
            "flushed": flushed,
            "jobs_down": counts.down,
            "jobs_late": counts.late,
            "jobs_running": counts.running,
        }))
    }

    /// Alerts still in the outbox long after they were raised were not acknowledged by the
    /// formatter (the publish or the delivery failed): publish them again. The formatter
    /// de-duplicates by alert id.
    async fn republish_stale(&self, now: Timestamp) -> usize {
        let Some(publisher) = &self.publisher else {
            return 0;
        };
        let cutoff = now
            .checked_sub(self.republish_after.to_signed())
            .unwrap_or(now);
        let pending = match self.engine.store().pending_alerts(100).await {
            Ok(pending) => pending,
            Err(e) => {
                tracing::error!(error = %e, "reading the outbox failed");
                return 0;
            }
        };
        let mut republished = 0;
        for alert in pending.iter().filter(|a| a.event.detected_at <= cutoff) {
            match publisher.publish(&alert.event).await {
                Ok(()) => republished += 1,
                Err(e) => {
                    tracing::error!(alert = %alert.event.id, error = %e, "re-publishing failed")
                }
            }
        }
        republished
    }

    /// The daily report of the environment, published as one `report` alert event.
    async fn report(&self, now: Timestamp) -> Result<Value, Error> {
        let store = self.engine.store();
        let jobs = store
            .list_jobs()
            .await
            .map_err(|e| Error::from(format!("listing jobs: {e}")))?;
        let mut inputs = Vec::with_capacity(jobs.len());
        for job in jobs {
            let runs = store
                .runs(job.slug(), REPORT_RUNS_PER_JOB)
                .await
                .map_err(|e| Error::from(format!("reading runs: {e}")))?;
            inputs.push((job.spec, job.state, runs));
        }
        let event = daily_report(&self.environment, &inputs, now);
        if let Some(publisher) = &self.publisher {
            publisher
                .publish(&event)
                .await
                .map_err(|e| Error::from(format!("publishing the report failed: {e}")))?;
        }
        Ok(json!({"mode": "report", "jobs": inputs.len(), "id": event.id}))
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    jobwatch_aws::lambda::init_tracing();
    let sweeper = Arc::new(
        Sweeper::from_env()
            .await
            .map_err(|e| Error::from(format!("{e:#}")))?,
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let sweeper = Arc::clone(&sweeper);
        async move {
            // The schedule's own time is when the sweep should have run; sweeping at "now"
            // catches up with everything due since, whatever the delay.
            let now = Timestamp::now();
            match event.payload.get("mode").and_then(Value::as_str) {
                Some("report") => sweeper.report(now).await,
                Some("sweep") | None => sweeper.sweep(now).await,
                Some(other) => Err(Error::from(format!(
                    "unknown mode '{other}': use \"sweep\" or \"report\""
                ))),
            }
        }
    }))
    .await
}
