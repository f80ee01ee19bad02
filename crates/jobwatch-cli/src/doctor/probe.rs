//! The HTTP side of `jobwatch doctor`: one request at a time, each failure named precisely
//! (connection refused, DNS, TLS, timeout, or the status and the server's one-line reason),
//! since telling them apart is the whole point of the check.

use std::time::Duration;

use anyhow::{Context, Result};
use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Each request gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// How a request went.
#[derive(Debug)]
pub enum Answer {
    /// The server answered (any status), with its body.
    Status(StatusCode, String),
    /// No answer: why, in words (`connection refused`, `DNS lookup failed`, ...).
    NoAnswer(String),
}

impl Answer {
    /// The body as JSON, for a 2xx answer.
    pub fn json(&self) -> Option<Value> {
        match self {
            Answer::Status(status, body) if status.is_success() => serde_json::from_str(body).ok(),
            _ => None,
        }
    }

    /// `404 (not found)` or the reason there was no answer.
    pub fn describe(&self) -> String {
        match self {
            Answer::Status(status, body) => {
                let reason = crate::client::one_line(body.as_bytes());
                if reason.is_empty() {
                    status.as_u16().to_string()
                } else {
                    format!("{} ({reason})", status.as_u16())
                }
            }
            Answer::NoAnswer(why) => why.clone(),
        }
    }
}

pub struct Probe {
    http: reqwest::Client,
    pub base: String,
    api_key: Option<String>,
}

impl Probe {
    pub fn new(base: String, api_key: Option<String>) -> Result<Probe> {
        let http = reqwest::Client::builder()
            .connect_timeout(REQUEST_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            .user_agent(concat!("jobwatch-doctor/", env!("CARGO_PKG_VERSION")))
            .build()
            .context("setting up the HTTP client")?;
        Ok(Probe {
            http,
            base,
            api_key,
        })
    }

    pub fn api_key(&self) -> Option<&str> {
        self.api_key.as_deref()
    }

    /// `method path`, with the API key when `admin`.
    pub async fn call(&self, method: Method, path: &str, admin: bool) -> Answer {
        let mut request = self.http.request(method, format!("{}{path}", self.base));
        if admin && let Some(key) = &self.api_key {
            request = request.bearer_auth(key);
        }
        if let Some(host) = crate::client::hostname() {
            request = request.header(jobwatch_api::HOST_HEADER, host);
        }
        match request.send().await {
            Ok(response) => {
                let status = response.status();
                match response.text().await {
                    Ok(body) => Answer::Status(status, body),
                    Err(e) => Answer::NoAnswer(format!("the answer broke off ({})", why(&e))),
                }
            }
            Err(e) => Answer::NoAnswer(why(&e)),
        }
    }
}

/// Why a request got no answer, in the words a person acts on.
pub fn why(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return format!("timed out after {} s", REQUEST_TIMEOUT.as_secs());
    }
    let mut chain = Vec::new();
    let mut cause: Option<&dyn std::error::Error> = Some(error);
    while let Some(e) = cause {
        chain.push(e.to_string());
        cause = e.source();
    }
    let all = chain.join(": ").to_lowercase();
    let innermost = chain.last().cloned().unwrap_or_default();
    if all.contains("connection refused") {
        "connection refused (nothing listens there)".to_string()
    } else if all.contains("dns error") || all.contains("failed to lookup address") {
        format!("DNS lookup failed ({innermost})")
    } else if all.contains("certificate") || all.contains("tls") || all.contains("ssl") {
        format!("TLS failed ({innermost})")
    } else if all.contains("timed out") {
        "timed out".to_string()
    } else {
        innermost
    }
}
