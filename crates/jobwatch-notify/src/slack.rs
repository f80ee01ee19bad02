//! Delivery to a Slack incoming webhook, with bounded retries.

use std::time::{Duration, Instant};

use serde_json::Value;

/// Why a message was not delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Slack refused the message (4xx other than 429): retrying cannot help.
    #[error("Slack rejected the message: HTTP {status}: {reason}")]
    Rejected { status: u16, reason: String },
    /// Slack kept failing (429, 5xx, timeouts) until the time allowed ran out.
    #[error("Slack unavailable after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
    /// There is no webhook to post to yet (its secret is missing or unreadable): the message
    /// is kept and tried again once it may be there, without failing the invocation, since
    /// retrying the event sooner cannot help. `reason` says what is missing and what to run.
    #[error("{reason}")]
    NotConfigured { reason: String },
}

impl DeliveryError {
    /// Whether a later attempt may succeed soon: Slack itself was unavailable. (A message
    /// without a webhook, [`DeliveryError::NotConfigured`], is kept too, but waits for the
    /// configuration rather than for a retry of the event.)
    pub fn is_retryable(&self) -> bool {
        matches!(self, DeliveryError::GaveUp { .. })
    }

    /// Whether the webhook is not configured yet ([`DeliveryError::NotConfigured`]).
    pub fn is_not_configured(&self) -> bool {
        matches!(self, DeliveryError::NotConfigured { .. })
    }

    /// Whether the webhook itself is gone (revoked, or its channel archived): the secret
    /// holding it should be read again.
    pub fn is_gone(&self) -> bool {
        matches!(
            self,
            DeliveryError::Rejected {
                status: 404 | 410,
                ..
            }
        )
    }

    /// A short reason for metrics: Slack's error code (`no_service`, `invalid_blocks`), or
    /// `http_<status>`, `rate_limited`, `timeout`, `connect`.
    pub fn metric_reason(&self) -> String {
        let code = |text: &str| -> Option<String> {
            let word = text.split_whitespace().next()?;
            (word.len() <= 40
                && word
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_'))
            .then(|| word.to_string())
        };
        match self {
            DeliveryError::Rejected { status, reason } => {
                code(reason).unwrap_or_else(|| format!("http_{status}"))
            }
            DeliveryError::NotConfigured { .. } => "not_configured".into(),
            DeliveryError::GaveUp { last, .. } => {
                if last.starts_with("HTTP 429") {
                    "rate_limited".into()
                } else if let Some(status) = last.strip_prefix("HTTP ") {
                    format!("http_{}", status.split_whitespace().next().unwrap_or("5xx"))
                } else if last.contains("timed out") {
                    "timeout".into()
                } else if last.contains("connect") {
                    "connect".into()
                } else {
                    "request_failed".into()
                }
            }
        }
    }
}

/// A Slack incoming webhook. The URL is a credential: it is never logged.
pub struct SlackClient {
    http: reqwest::Client,
    webhook_url: String,
    /// Total time one delivery may take, retries included.
    budget: Duration,
}

/// The HTTP client for Slack: bounded connection and request times.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .user_agent(concat!("jobwatch/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// At most this much of Slack's answer is read (its error reasons are a word or two).
const REASON_MAX: usize = 200;

impl SlackClient {
    pub fn new(webhook_url: impl Into<String>) -> Result<SlackClient, reqwest::Error> {
        Ok(SlackClient::with_http(http_client()?, webhook_url))
    }

    /// A client for `webhook_url` sharing `http`'s connections.
    pub fn with_http(http: reqwest::Client, webhook_url: impl Into<String>) -> SlackClient {
        SlackClient {
            http,
            webhook_url: webhook_url.into(),
            budget: Duration::from_secs(30),
        }
    }

    /// Limits the time one delivery may take, retries included.
    pub fn with_budget(mut self, budget: Duration) -> Self {
        self.budget = budget;
        self
    }

    /// Whether this client posts to `url` (without revealing it).
    pub fn posts_to(&self, url: &str) -> bool {
        self.webhook_url == url
    }

    /// Posts `payload`, retrying 429 (after `Retry-After`), 5xx and network errors with
    /// backoff while the budget lasts.
    pub async fn post(&self, payload: &Value) -> Result<(), DeliveryError> {
        self.post_until(payload, Instant::now() + self.budget).await
    }

    /// Posts `payload`, retrying 429 (after `Retry-After`), 5xx and network errors with
    /// backoff until `deadline`; no attempt starts after it.
    pub async fn post_until(
        &self,
        payload: &Value,
        deadline: Instant,
    ) -> Result<(), DeliveryError> {
        let mut attempts = 0u32;
        let mut backoff = Duration::from_millis(250);
        let body = serde_json::to_vec(payload).unwrap_or_default();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left < Duration::from_millis(50) {
                return Err(DeliveryError::GaveUp {
                    attempts,
                    last: if attempts == 0 {
                        "no time left to try".into()
                    } else {
                        "timed out".into()
                    },
                });
            }
            attempts += 1;
            let outcome = self
                .http
                .post(&self.webhook_url)
                .timeout(left.min(Duration::from_secs(10)))
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
                    let reason = read_reason(response).await;
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
            if Instant::now() + wait >= deadline {
                return Err(DeliveryError::GaveUp { attempts, last });
            }
            tracing::warn!(attempt = attempts, wait_ms = wait.as_millis() as u64, reason = %last, "Slack delivery failed, retrying");
            tokio::time::sleep(wait).await;
            backoff = (backoff * 2).min(Duration::from_secs(8));
        }
    }
}

/// The first line of Slack's plain-text answer, read up to a bound.
async fn read_reason(mut response: reqwest::Response) -> String {
    let mut bytes = Vec::new();
    while bytes.len() < REASON_MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    text.lines()
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_control())
        .take(REASON_MAX)
        .collect::<String>()
        .trim()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metric_reasons_are_short_codes() {
        let rejected = |status, reason: &str| DeliveryError::Rejected {
            status,
            reason: reason.into(),
        };
        assert_eq!(rejected(404, "no_service").metric_reason(), "no_service");
        assert_eq!(rejected(400, "Bad <html> page").metric_reason(), "http_400");
        assert!(rejected(410, "channel_is_archived").is_gone());
        assert!(!rejected(400, "invalid_blocks").is_gone());
        let gave_up = |last: &str| DeliveryError::GaveUp {
            attempts: 3,
            last: last.into(),
        };
        assert_eq!(gave_up("HTTP 429 ").metric_reason(), "rate_limited");
        assert_eq!(gave_up("HTTP 503 rollup_error").metric_reason(), "http_503");
        assert_eq!(gave_up("timed out").metric_reason(), "timeout");
        assert_eq!(gave_up("could not connect").metric_reason(), "connect");
    }
}
