//! Slack webhooks kept in Secrets Manager (`slack-webhook-<env>` by default: JSON with
//! `webhook_url` and optional `channel` and `escalation_webhook_url`, or the bare URL). The
//! secret is cached for a few minutes, and read again at once when Slack answers 404 or 410
//! (a revoked or rotated webhook). The URLs are credentials: never logged. Every post is
//! counted: `SlackPostFailures` (an EMF metric, with its `Reason` as a property) and
//! `SlackPosts` (a log line: Logs Insights counts them without a billed metric).
//!
//! A secret that does not exist (yet: the README allows putting it after the first deploy)
//! or holds no usable webhook is not an outage: the message is kept, and the answer is
//! [`DeliveryError::NotConfigured`], which says what to run, so the formatter does not fail
//! its invocation into retries. That answer is cached for [`MISSING_CACHE`], so a burst of
//! events does not read the secret once each.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::{DisplayErrorContext, ProvideErrorMetadata};
use jiff::Timestamp;
use jobwatch_notify::{DeliveryError, Route, Sender, SlackClient};
use serde_json::Value;
use tokio::sync::Mutex;

use crate::emf;

/// How long a read secret is used before it is read again.
pub const SECRET_CACHE: Duration = Duration::from_secs(5 * 60);

/// How long "there is no usable secret" is believed before the secret is read again.
pub const MISSING_CACHE: Duration = Duration::from_secs(60);

/// The webhooks of one environment, as the secret holds them.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    pub webhook_url: String,
    pub channel: Option<String>,
    pub escalation_webhook_url: Option<String>,
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("webhook_url", &"<secret>")
            .field("channel", &self.channel)
            .field(
                "escalation_webhook_url",
                &self.escalation_webhook_url.as_ref().map(|_| "<secret>"),
            )
            .finish()
    }
}

fn is_url(text: &str) -> bool {
    (text.starts_with("https://") || text.starts_with("http://"))
        && !text.contains(char::is_whitespace)
}

/// Reads the secret's value (never quoting it in errors).
pub fn parse_webhook_secret(secret_id: &str, raw: &str) -> Result<WebhookConfig, String> {
    let raw = raw.trim();
    let config = match serde_json::from_str::<Value>(raw) {
        Ok(Value::Object(map)) => {
            let text = |name: &str| {
                map.get(name)
                    .and_then(Value::as_str)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string)
            };
            WebhookConfig {
                webhook_url: text("webhook_url").ok_or_else(|| {
                    format!("secret {secret_id} is JSON without a string `webhook_url` field")
                })?,
                channel: text("channel"),
                escalation_webhook_url: text("escalation_webhook_url"),
            }
        }
        _ => WebhookConfig {
            webhook_url: raw.to_string(),
            channel: None,
            escalation_webhook_url: None,
        },
    };
    if !is_url(&config.webhook_url) {
        return Err(format!(
            "secret {secret_id}: `webhook_url` is not an http(s) URL"
        ));
    }
    if config
        .escalation_webhook_url
        .as_deref()
        .is_some_and(|u| !is_url(u))
    {
        return Err(format!(
            "secret {secret_id}: `escalation_webhook_url` is not an http(s) URL"
        ));
    }
    Ok(config)
}

struct Cached {
    /// The webhooks, or why there are none (what to run).
    config: Result<Arc<WebhookConfig>, String>,
    read_at: Instant,
}

/// Why the webhooks could not be had.
enum Unavailable {
    /// There is no usable secret: not configured (the reason says what to run).
    NotConfigured(String),
    /// Reading it failed (network, throttling, permissions): may work on a retry.
    Failed(String),
}

/// Secrets Manager's answers that mean "there is no such secret to read": missing, or
/// scheduled for deletion (which it reports as an invalid request).
fn is_missing(code: Option<&str>) -> bool {
    matches!(
        code,
        Some("ResourceNotFoundException" | "InvalidRequestException")
    )
}

/// A [`Sender`] posting to the webhooks of a Secrets Manager secret.
pub struct SecretWebhooks {
    client: Client,
    secret_id: String,
    environment: String,
    http: reqwest::Client,
    cache_for: Duration,
    cached: Mutex<Option<Cached>>,
    reads: AtomicU64,
    /// Posts made whose recording in the table failed (`jobwatch_notify::Settlements`).
    unrecorded: jobwatch_notify::Settlements,
}

/// The variable naming the webhook secret (by default `slack-webhook-<env>`).
pub const SECRET_VARIABLE: &str = "JOBWATCH_SLACK_SECRET";

/// The webhook secret's name: `configured`, or `slack-webhook-<env>`.
pub fn secret_id(configured: Option<&str>, environment: &str) -> String {
    configured
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .unwrap_or_else(|| format!("slack-webhook-{environment}"))
}

impl SecretWebhooks {
    /// The webhooks of `environment`, from the secret `JOBWATCH_SLACK_SECRET` names (by default
    /// `slack-webhook-<env>`): the formatter and the sweeper read the same one.
    pub fn from_env(client: Client, environment: &str) -> Result<SecretWebhooks, String> {
        let configured = std::env::var(SECRET_VARIABLE).ok();
        SecretWebhooks::new(
            client,
            secret_id(configured.as_deref(), environment),
            environment,
        )
    }

    pub fn new(
        client: Client,
        secret_id: impl Into<String>,
        environment: impl Into<String>,
    ) -> Result<SecretWebhooks, String> {
        Ok(SecretWebhooks {
            client,
            secret_id: secret_id.into(),
            environment: environment.into(),
            http: jobwatch_notify::http_client().map_err(|e| e.to_string())?,
            cache_for: SECRET_CACHE,
            cached: Mutex::new(None),
            reads: AtomicU64::new(0),
            unrecorded: Default::default(),
        })
    }

    /// How many times the secret was read (for logs and tests).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// What to run to put the secret.
    fn remedy(&self) -> String {
        let command = if self.secret_id == format!("slack-webhook-{}", self.environment) {
            format!("infra/put-slack-webhook --env {}", self.environment)
        } else {
            format!("infra/put-slack-webhook --secret-name {}", self.secret_id)
        };
        format!("run `{command}`; the message is kept and posted within a minute of it")
    }

    /// The webhooks: from the cache while it is fresh (a missing secret's answer for
    /// [`MISSING_CACHE`]), unless `again` (Slack said the webhook is gone).
    async fn config(&self, again: bool) -> Result<Arc<WebhookConfig>, Unavailable> {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            match &c.config {
                Ok(config) if !again && c.read_at.elapsed() < self.cache_for => {
                    return Ok(Arc::clone(config));
                }
                Err(reason) if c.read_at.elapsed() < MISSING_CACHE => {
                    return Err(Unavailable::NotConfigured(reason.clone()));
                }
                _ => {}
            }
        }
        self.reads.fetch_add(1, Ordering::Relaxed);
        let read = self
            .client
            .get_secret_value()
            .secret_id(&self.secret_id)
            .send()
            .await;
        let config = match read {
            Ok(output) => match output.secret_string() {
                None => Err(format!(
                    "the Slack webhook secret {} has no string value: {}",
                    self.secret_id,
                    self.remedy()
                )),
                Some(raw) => parse_webhook_secret(&self.secret_id, raw)
                    .map(Arc::new)
                    .map_err(|e| {
                        format!(
                            "the Slack webhook secret is not usable ({e}): {}",
                            self.remedy()
                        )
                    }),
            },
            Err(e) if is_missing(e.code()) => Err(format!(
                "the Slack webhook secret {} does not exist: {}",
                self.secret_id,
                self.remedy()
            )),
            Err(e) => {
                return Err(Unavailable::Failed(format!(
                    "reading secret {}: {}",
                    self.secret_id,
                    DisplayErrorContext(e)
                )));
            }
        };
        *cached = Some(Cached {
            config: config.clone(),
            read_at: Instant::now(),
        });
        config.map_err(Unavailable::NotConfigured)
    }

    async fn post(
        &self,
        config: &WebhookConfig,
        route: Route,
        payload: &Value,
        deadline: Instant,
    ) -> Option<Result<(), DeliveryError>> {
        let url = match route {
            Route::Slack | Route::Digest | Route::Group => &config.webhook_url,
            Route::Escalation => config.escalation_webhook_url.as_ref()?,
        };
        let mut payload = payload.clone();
        if let (Some(channel), Route::Slack | Route::Digest | Route::Group) =
            (&config.channel, route)
        {
            payload["channel"] = Value::String(channel.clone());
        }
        let client = SlackClient::with_http(self.http.clone(), url.clone());
        Some(client.post_until(&payload, deadline).await)
    }

    fn count(&self, metric: &str, reason: Option<&str>) {
        emf::emit([emf::count_line(
            Timestamp::now(),
            &self.environment,
            metric,
            reason.map(|r| ("Reason", r)),
            1.0,
        )]);
    }
}

impl Sender for SecretWebhooks {
    fn webhook_secret(&self) -> Option<&str> {
        Some(&self.secret_id)
    }

    async fn send(
        &self,
        route: Route,
        payload: &Value,
        deadline: Instant,
    ) -> Result<(), DeliveryError> {
        let config = match self.config(false).await {
            Ok(config) => config,
            // Logged once per message by the notifier, with this reason.
            Err(Unavailable::NotConfigured(reason)) => {
                self.count("SlackPostFailures", Some("not_configured"));
                return Err(DeliveryError::NotConfigured { reason });
            }
            Err(Unavailable::Failed(e)) => {
                tracing::error!(error = %e, "cannot read the Slack webhook secret");
                self.count("SlackPostFailures", Some("secret_unreadable"));
                return Err(DeliveryError::GaveUp {
                    attempts: 0,
                    last: e,
                });
            }
        };
        let Some(mut result) = self.post(&config, route, payload, deadline).await else {
            return Ok(()); // no escalation webhook configured
        };
        if let Err(e) = &result
            && e.is_gone()
        {
            tracing::warn!(error = %e, secret = %self.secret_id, "Slack says the webhook is gone; reading the secret again");
            match self.config(true).await {
                Ok(fresh) => {
                    if let Some(again) = self.post(&fresh, route, payload, deadline).await {
                        result = again;
                    }
                }
                Err(Unavailable::NotConfigured(read) | Unavailable::Failed(read)) => {
                    tracing::error!(error = %read, "reading the Slack webhook secret again failed")
                }
            }
        }
        match &result {
            Ok(()) => emf::emit([emf::event_line(
                Timestamp::now(),
                &self.environment,
                "SlackPosts",
                None,
                1.0,
            )]),
            Err(e) => {
                if !e.is_retryable() {
                    tracing::error!(error = %e, "Slack refused the message; not retried");
                }
                self.count("SlackPostFailures", Some(&e.metric_reason()));
            }
        }
        result
    }

    fn unrecorded(&self) -> Option<&jobwatch_notify::Settlements> {
        Some(&self.unrecorded)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_named_after_the_environment_unless_configured() {
        assert_eq!(secret_id(None, "prod"), "slack-webhook-prod");
        assert_eq!(secret_id(Some("  "), "prod"), "slack-webhook-prod");
        assert_eq!(secret_id(Some("team/slack"), "prod"), "team/slack");
    }

    #[test]
    fn the_secret_is_json_or_the_bare_url() {
        let config = parse_webhook_secret(
            "s",
            r##"{"webhook_url": "https://hooks.slack.com/services/T/B/x", "channel": "#ops", "escalation_webhook_url": "https://hooks.slack.com/services/T/B/y"}"##,
        )
        .expect("config");
        assert_eq!(config.channel.as_deref(), Some("#ops"));
        assert!(config.escalation_webhook_url.is_some());
        let bare =
            parse_webhook_secret("s", " https://hooks.slack.com/services/T/B/x\n").expect("config");
        assert_eq!(bare.webhook_url, "https://hooks.slack.com/services/T/B/x");
        let err = parse_webhook_secret("s", r#"{"url": "https://secret"}"#).unwrap_err();
        assert!(
            !err.contains("https://secret"),
            "never quotes the value: {err}"
        );
        assert!(parse_webhook_secret("s", "not a url").is_err());
        assert!(!format!("{config:?}").contains("hooks.slack.com"));
    }
}
