//! What `jobwatch doctor` asks the admin API, after a deploy or in CI:
//!
//! - `GET /api/v1/about`: which jobwatch answers (version, environment, store, public URL) and
//!   how it posts (the environment's Slack policy in words, whether a Slack destination is
//!   configured where this server can know it);
//! - `POST /api/v1/test-alert`: raises a test alert (202, `{"id": ...}`) that travels the whole
//!   path to Slack as a job alert does;
//! - `GET /api/v1/test-alert/<id>`: its delivery record (`pending` until the deliverer wrote
//!   it; 404 for an unknown or expired id).
//!
//! All three need the API key, as every admin route does.

// Rejections are ready-made responses on the cold path; boxing them would buy nothing.
#![allow(clippy::result_large_err)]

use bytes::Bytes;
use http::header::{LOCATION, USER_AGENT};
use http::{HeaderValue, Method, Request, Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::PingSource;
use jobwatch_core::test_alert::valid_id;
use jobwatch_store::Store;
use serde_json::json;

use crate::reply::{json, text, unavailable};
use crate::{Api, HOST_HEADER, RemoteAddr};

type Reply = Response<Bytes>;

/// What a deployment says about itself at `GET /api/v1/about`, besides what the API knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct About {
    /// `sqlite` (`jobwatch serve`) or `dynamodb` (the ingest Lambda).
    pub store: String,
    /// The environment's Slack posting policy, in words.
    pub policy: String,
    /// Whether a Slack destination is configured: `None` where this server cannot know (in
    /// AWS the formatter reads the secret, the ingest does not).
    pub slack_configured: Option<bool>,
    /// Where the Slack destination comes from, in words.
    pub slack: String,
}

impl Default for About {
    fn default() -> Self {
        About {
            store: "unknown".into(),
            policy: "unknown".into(),
            slack_configured: None,
            slack: "unknown".into(),
        }
    }
}

/// Whether `path` is one of this module's routes.
pub(crate) fn is_route(path: &str) -> bool {
    path == "/api/v1/about"
        || path == "/api/v1/test-alert"
        || path.starts_with("/api/v1/test-alert/")
}

pub(crate) async fn handle<S: Store>(
    api: &Api<S>,
    request: Request<Bytes>,
    path: &str,
    now: Timestamp,
) -> Reply {
    if let Err(reply) = crate::admin::authenticate(api, &request) {
        return reply;
    }
    let method = request.method().clone();
    match (path, &method) {
        ("/api/v1/about", &Method::GET) => about(api),
        ("/api/v1/about", _) => crate::admin::not_allowed("GET"),
        ("/api/v1/test-alert", &Method::POST) => raise(api, &request, now).await,
        ("/api/v1/test-alert", _) => crate::admin::not_allowed("POST"),
        (_, &Method::GET) => {
            let id = path.strip_prefix("/api/v1/test-alert/").unwrap_or_default();
            record(api, id, now).await
        }
        _ => crate::admin::not_allowed("GET"),
    }
}

fn about<S: Store>(api: &Api<S>) -> Reply {
    let about = &api.about;
    json(
        StatusCode::OK,
        &json!({
            "service": "jobwatch",
            "version": env!("CARGO_PKG_VERSION"),
            "environment": api.engine.environment(),
            "store": about.store,
            "public_url": api.config.public_url,
            "policy": about.policy,
            "slack": {"configured": about.slack_configured, "detail": about.slack},
        }),
    )
}

async fn raise<S: Store>(api: &Api<S>, request: &Request<Bytes>, now: Timestamp) -> Reply {
    let headers = request.headers();
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let ip = request
        .extensions()
        .get::<RemoteAddr>()
        .map(|a| a.0.to_string());
    let source = PingSource::new(
        ip.as_deref(),
        header(USER_AGENT.as_str()),
        header(HOST_HEADER),
    );
    let id = uuid::Uuid::new_v4().hyphenated().to_string();
    match api.engine.raise_test_alert(&id, source, now).await {
        Ok(receipt) => {
            let location = format!("/api/v1/test-alert/{id}");
            let mut reply = json(
                StatusCode::ACCEPTED,
                &json!({"id": id, "alert_id": receipt.event.id, "record": receipt.record, "url": location}),
            );
            if let Ok(value) = HeaderValue::from_str(&location) {
                reply.headers_mut().insert(LOCATION, value);
            }
            reply
        }
        Err(e) => {
            tracing::warn!(error = %e, "raising a test alert failed");
            unavailable()
        }
    }
}

async fn record<S: Store>(api: &Api<S>, id: &str, now: Timestamp) -> Reply {
    let not_found = || {
        let shown: String = id.chars().take(40).collect();
        let more = if shown.len() < id.len() { "…" } else { "" };
        text(
            StatusCode::NOT_FOUND,
            &format!(
                "test alert '{shown}{more}' not found (ids come from POST /api/v1/test-alert; records are kept for a day)"
            ),
        )
    };
    if !valid_id(id) {
        return not_found();
    }
    match api.engine.test_alert_record(id, now).await {
        Ok(Some(record)) => json(StatusCode::OK, &json!(record)),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::warn!(error = %e, "reading a test alert record failed");
            unavailable()
        }
    }
}
