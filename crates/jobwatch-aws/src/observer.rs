//! What the ingest (and sweeper) Lambdas do with every committed change: EMF metrics on
//! stdout, run output to CloudWatch Logs, alert events to SNS. The alerts are already in the
//! store's outbox, so a failed publish is logged and retried from there, never lost.

use std::future::Future;
use std::pin::Pin;

use jiff::Timestamp;
use jobwatch_core::Effects;
use jobwatch_store::{CommitObserver, JobRecord};

use crate::emf;
use crate::publisher::AlertPublisher;
use crate::run_log::RunLogWriter;

pub struct LambdaObserver {
    pub environment: String,
    pub publisher: Option<AlertPublisher>,
    pub run_logs: Option<RunLogWriter>,
    /// Run metrics by job too (`JOBWATCH_PER_JOB_METRICS`): billed per job, off by default.
    pub per_job_metrics: bool,
}

impl LambdaObserver {
    /// From `JOBWATCH_ALERT_TOPIC_ARN`, `JOBWATCH_RUN_LOG_GROUP` (both optional) and
    /// `JOBWATCH_PER_JOB_METRICS`, with clients of `sdk`.
    pub fn from_env(
        sdk: &aws_types::SdkConfig,
        environment: &str,
    ) -> Result<LambdaObserver, crate::lambda::BadVariable> {
        use crate::lambda::{flag, optional};
        let region = sdk.region().map(ToString::to_string).unwrap_or_default();
        Ok(LambdaObserver {
            environment: environment.to_string(),
            publisher: optional("JOBWATCH_ALERT_TOPIC_ARN")
                .map(|arn| AlertPublisher::new(aws_sdk_sns::Client::new(sdk), arn)),
            run_logs: optional("JOBWATCH_RUN_LOG_GROUP").map(|group| {
                RunLogWriter::new(aws_sdk_cloudwatchlogs::Client::new(sdk), group, region)
            }),
            per_job_metrics: flag("JOBWATCH_PER_JOB_METRICS")?,
        })
    }
}

impl CommitObserver for LambdaObserver {
    fn decorate(&self, job: &JobRecord, effects: &mut Effects) {
        let Some(logs) = &self.run_logs else { return };
        for alert in &mut effects.alerts {
            if let Some(run_id) = &alert.run_id {
                alert.run_log_url = Some(logs.link(job.slug(), run_id, alert.detected_at));
            }
        }
    }

    fn committed<'a>(
        &'a self,
        job: &'a JobRecord,
        effects: &'a Effects,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>> {
        Box::pin(async move {
            let now = Timestamp::now();
            let lines = effects
                .runs
                .iter()
                .filter_map(|run| {
                    emf::run_line(
                        &self.environment,
                        job.slug(),
                        run,
                        now,
                        self.per_job_metrics,
                    )
                })
                .chain(effects.alerts.iter().map(emf::alert_line));
            emf::emit(lines);
            let write_logs = async {
                if let Some(logs) = &self.run_logs
                    && let Err(e) = logs.write(job.slug(), &effects.runs, now).await
                {
                    tracing::error!(job = job.slug(), error = %e, "writing run output to CloudWatch Logs failed");
                }
            };
            let publish = async {
                if let Some(publisher) = &self.publisher {
                    for alert in &effects.alerts {
                        if let Err(e) = publisher.publish(alert).await {
                            tracing::error!(alert = %alert.id, error = %e, "publishing the alert failed; it stays in the outbox");
                        }
                    }
                }
            };
            tokio::join!(write_logs, publish);
        })
    }

    fn queued<'a>(
        &'a self,
        alert: &'a jobwatch_core::AlertEvent,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>> {
        Box::pin(async move {
            match &self.publisher {
                Some(publisher) => publisher
                    .publish(alert)
                    .await
                    .map(|()| Some("published to the alert topic".to_string())),
                None => Err("no alert topic is configured (JOBWATCH_ALERT_TOPIC_ARN)".to_string()),
            }
        })
    }
}
