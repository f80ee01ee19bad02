//! `jobwatch-formatter`: the SNS-to-Slack formatter Lambda. Every Slack message of a
//! deployment goes through it: jobwatch alert events (published by the ingest and sweeper
//! Lambdas), CloudWatch alarms (SNS notifications and EventBridge state-change events, every
//! shape), and a readable fallback for anything else published to the topic.
//!
//! Each record is handled on its own: the environment policy, de-duplication and alert
//! fatigue of `jobwatch-notify`, with the state in DynamoDB; then Slack. A jobwatch alert is
//! acknowledged in the outbox once delivered (or decided not to post), so the sweeper does not
//! publish it again. Every invocation also flushes held summaries and digests whose window has
//! closed. When a message cannot be delivered in the invocation's time, it stays in the table
//! and the invocation fails, so Lambda's asynchronous retries and the on-failure destination
//! keep the event too.
//!
//! Configuration (environment): `JOBWATCH_TABLE`, `JOBWATCH_ENV`, optionally
//! `JOBWATCH_SLACK_SECRET` (default `slack-webhook-<env>`), `JOBWATCH_SLACK_TIMEOUT` (the
//! longest time spent delivering per invocation; default: all the invocation has), and the
//! policy variables of [`jobwatch_notify::POLICY_VARIABLES`].
//! The list, with what a deployment must set and the AWS actions this binary calls, is
//! [`jobwatch_aws::functions::FORMATTER`]; `tests/template.rs` holds `template.yaml` to it.

use std::sync::Arc;
use std::time::{Duration as StdDuration, Instant};

use jiff::Timestamp;
use jobwatch_aws::emf;
use jobwatch_aws::lambda::{optional, required};
use jobwatch_aws::slack::SecretWebhooks;
use jobwatch_core::Duration;
use jobwatch_dynamo::{DynamoStore, outbox_token};
use jobwatch_notify::{Action, Incoming, Notice, Notifier, Policy, classify, sns_records};
use jobwatch_store::Outbox;
use lambda_runtime::{Error, LambdaEvent, service_fn};
use serde_json::{Value, json};

/// Time kept back from the invocation's deadline for the writes after the last post.
const MARGIN: StdDuration = StdDuration::from_millis(1_500);

/// Everything built once per cold start.
struct Formatter {
    store: DynamoStore,
    webhooks: SecretWebhooks,
    policy: Policy,
    environment: String,
    slack_timeout: Option<StdDuration>,
}

impl Formatter {
    async fn from_env() -> anyhow::Result<Formatter> {
        let table = required("JOBWATCH_TABLE")?;
        let environment = required("JOBWATCH_ENV")?;
        let slack_timeout = match optional("JOBWATCH_SLACK_TIMEOUT") {
            Some(text) => Some(
                text.trim()
                    .parse::<Duration>()
                    .map(|d| StdDuration::from_millis(d.as_millis()))
                    .map_err(|e| anyhow::anyhow!("JOBWATCH_SLACK_TIMEOUT: {e}"))?,
            ),
            None => None,
        };
        let policy =
            Policy::from_vars(|name| std::env::var(name).ok()).map_err(|e| anyhow::anyhow!(e))?;
        let sdk = jobwatch_aws::sdk::from_env()?;
        Ok(Formatter {
            store: DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), table),
            webhooks: SecretWebhooks::from_env(
                aws_sdk_secretsmanager::Client::new(&sdk),
                &environment,
            )
            .map_err(|e| anyhow::anyhow!(e))?,
            policy,
            environment,
            slack_timeout,
        })
    }

    /// The instant deliveries must end by.
    fn deadline(&self, invocation_deadline_ms: u64) -> Instant {
        let now_ms = u64::try_from(Timestamp::now().as_millisecond()).unwrap_or(0);
        let left = StdDuration::from_millis(invocation_deadline_ms.saturating_sub(now_ms))
            .saturating_sub(MARGIN);
        let left = match self.slack_timeout {
            Some(limit) => left.min(limit),
            None => left,
        };
        Instant::now() + left
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, Error> {
        let deadline = self.deadline(event.context.deadline);
        let notifier = Notifier {
            store: &self.store,
            sender: &self.webhooks,
            policy: &self.policy,
            environment: &self.environment,
        };
        let records = sns_records(&event.payload);
        let mut tally = serde_json::Map::new();
        let mut undelivered = 0usize;
        let mut metrics = Vec::new();
        for record in &records {
            let incoming = classify(record);
            let line = incoming.notice.console_line();
            let action = match notifier.handle(&incoming, Timestamp::now(), deadline).await {
                Ok(outcome) => {
                    tracing::info!(action = ?outcome.action, delivered = outcome.delivered, failed = outcome.failed, "{line}");
                    if outcome.is_settled() {
                        self.acknowledge(&incoming).await;
                    } else {
                        undelivered += 1;
                    }
                    action_name(outcome.action)
                }
                Err(e) => {
                    tracing::error!(error = %e, "handling a message failed: {line}");
                    undelivered += 1;
                    "error"
                }
            };
            metrics.push(emf::count_line(
                Timestamp::now(),
                &self.environment,
                "Notifications",
                Some(("Action", action)),
                1.0,
            ));
            let count = tally.entry(action).or_insert(json!(0));
            *count = json!(count.as_u64().unwrap_or(0) + 1);
        }
        emf::emit(metrics);
        let flushed = match notifier.flush_due(Timestamp::now(), deadline).await {
            Ok(report) => json!({
                "records": report.records, "delivered": report.delivered,
                "failed": report.failed, "rejected": report.rejected,
            }),
            Err(e) => {
                tracing::error!(error = %e, "flushing held notifications failed; the sweeper retries");
                json!({"error": e.to_string()})
            }
        };
        if undelivered > 0 {
            return Err(Error::from(format!(
                "{undelivered} of {} messages could not be delivered yet; they are kept and retried",
                records.len()
            )));
        }
        Ok(json!({"records": records.len(), "actions": tally, "flushed": flushed}))
    }

    /// Takes a jobwatch alert out of the outbox, so the sweeper does not publish it again.
    async fn acknowledge(&self, incoming: &Incoming) {
        let event = match &incoming.notice {
            Notice::Alert(event) | Notice::UnknownKind { event, .. } => event,
            _ => return,
        };
        if let Err(e) = self.store.ack_alerts(&[outbox_token(event)]).await {
            tracing::warn!(alert = %event.id, error = %e, "acknowledging the alert failed; a republished copy will be recognised");
        }
    }
}

fn action_name(action: Action) -> &'static str {
    match action {
        Action::LogOnly => "log_only",
        Action::Duplicate => "duplicate",
        Action::InFlight => "in_flight",
        Action::Held => "held",
        Action::Posted => "posted",
        Action::Digested => "digested",
    }
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    jobwatch_aws::lambda::init_tracing();
    let formatter = Arc::new(
        Formatter::from_env()
            .await
            .map_err(|e| Error::from(format!("{e:#}")))?,
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let formatter = Arc::clone(&formatter);
        async move { formatter.handle(event).await }
    }))
    .await
}
