//! Delivery to a Slack incoming webhook, with bounded retries.

use std::time::{Duration, Instant};

use serde_json::Value;

/// Why a message was not delivered.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// Slack refused the message (4xx other than 429): retrying cannot help.
    #[error("Slack rejected the message: HTTP {status}: {reason}")]
    Rejected { status: u16, reason: String },
    /// Slack kept failing (429, 5xx, timeouts) until the time allowed ran out.
    #[error("Slack unavailable after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
}

impl DeliveryError {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::GaveUp { .. })
    }
}

/// A Slack incoming webhook. The URL is a credential: it is never logged.
pub struct SlackClient {
    http: reqwest::Client,
    webhook_url: String,
    /// Total time one delivery may take, retries included.
    budget: Duration,
}

impl SlackClient {
    pub fn new(webhook_url: impl Into<String>) -> Result<SlackClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("jobwatch/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(SlackClient {
            http,
            webhook_url: webhook_url.into(),
            budget: Duration::from_secs(30),
        })
    }

    /// Limits the time one delivery may take, retries included.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Posts `payload`, retrying 429 (after `Retry-After`), 5xx and network errors with
    /// backoff while the budget lasts.
    pub async fn post(&self, payload: &Value) -> Result<(), DeliveryError> {
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut backoff = Duration::from_millis(250);
        let body = serde_json::to_vec(payload).unwrap_or_default();
        loop {
            attempts += 1;
            let outcome = self
                .http
                .post(&self.webhook_url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
                .await;
            let (wait, last) = match outcome {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry_after = response
                        .headers()
                        .get("retry-after")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<u64>().ok())
                        .map(Duration::from_secs);
                    let reason = response.text().await.unwrap_or_default();
                    let reason = reason
                        .lines()
                        .next()
                        .unwrap_or("")
                        .chars()
                        .take(200)
                        .collect::<String>();
                    match status {
                        429 => (retry_after.unwrap_or(backoff), format!("HTTP 429 {reason}")),
                        500..=599 => (backoff, format!("HTTP {status} {reason}")),
                        _ => return Err(DeliveryError::Rejected { status, reason }),
                    }
                }
                // The error's text can include the URL, which is secret: keep only its kind.
                Err(e) if e.is_timeout() => (backoff, "timed out".to_string()),
                Err(e) if e.is_connect() => (backoff, "could not connect".to_string()),
                Err(_) => (backoff, "request failed".to_string()),
            };
            if started.elapsed() + wait > self.budget {
                return Err(DeliveryError::GaveUp { attempts, last });
            }
            tracing::warn!(attempt = attempts, wait_ms = wait.as_millis() as u64, reason = %last, "Slack delivery failed, retrying");
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(8));
        }
    }
}
