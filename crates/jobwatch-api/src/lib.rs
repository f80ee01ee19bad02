//! jobwatch-api: the HTTP surface of jobwatch as one transport-independent function,
//! `http::Request<Bytes> -> http::Response<Bytes>`. The local server and the ingest Lambda
//! both call [`Api::handle`]; neither contains any routing or validation of its own.
//!
//! - Ping API, compatible with the Healthchecks.io protocol: `/ping/<uuid>[/<suffix>]` and
//!   `/ping/<ping-key>/<slug>[/<suffix>]`, suffix `start`, `fail`, `log` or an exit status.
//! - The web view: pages of jobs, runs and outages, and status badges (see `web`).
//! - Admin API under `/api/v1/jobs`, JSON, authenticated with the API key; and what
//!   `jobwatch doctor` asks: `/api/v1/about` and `/api/v1/test-alert[/<id>]`.
//!
//! Every rejection is a precise status with a one-line plain-text reason. Secrets (keys, job
//! UUIDs) are compared as SHA-256 digests in constant time and never logged.

mod admin;
mod doctor;
mod keys;
mod ping;
mod reply;
mod web;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response};
use jiff::Timestamp;
use jobwatch_store::{Engine, Store};

pub use doctor::About;
pub use keys::{Secret, generate_key, sha256_hex};
pub use reply::{BodyOverflow, text};
pub use web::{DEFAULT_SESSION_LIFETIME, RunLogLink, SESSION_COOKIE, WebConfig};

/// Default number of ping body bytes kept, as Healthchecks does.
pub const DEFAULT_PING_BODY_LIMIT: usize = 10_000;
/// Admin request bodies (job definitions) larger than this are refused.
pub const ADMIN_BODY_LIMIT: usize = 64 * 1024;

/// The header `jobwatch run` names the machine a run is on with; kept with the run and shown
/// in its alerts.
pub const HOST_HEADER: &str = "x-jobwatch-host";

/// The client's address, as the transport saw it (the local server's peer, a Function URL's
/// `requestContext.http.sourceIp`): a request extension, kept with the pings it sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteAddr(pub std::net::IpAddr);

/// How the API is set up for one deployment.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Base URL the ping URLs in responses start with, e.g. `http://127.0.0.1:8000`.
    pub public_url: String,
    pub api_key: Secret,
    pub ping_key: Secret,
    /// Bytes of a ping body kept as the run's output; the rest is dropped, not refused.
    pub ping_body_limit: usize,
    /// The web view's signing secret and settings.
    pub web: WebConfig,
}

/// The API over one engine.
pub struct Api<S> {
    engine: Arc<Engine<S>>,
    config: ApiConfig,
    about: About,
}

impl<S: Store> Api<S> {
    pub fn new(engine: Arc<Engine<S>>, config: ApiConfig) -> Self {
        Api {
            engine,
            config,
            about: About::default(),
        }
    }

    /// What `GET /api/v1/about` says of the deployment besides what the API knows.
    pub fn with_about(mut self, about: About) -> Self {
        self.about = about;
        self
    }

    pub fn engine(&self) -> &Arc<Engine<S>> {
        &self.engine
    }

    pub fn config(&self) -> &ApiConfig {
        &self.config
    }

    /// The most body bytes a transport needs to read for any request: it may discard the rest,
    /// marking the request with [`BodyOverflow`].
    pub fn max_body_bytes(&self) -> usize {
        self.config.ping_body_limit.max(ADMIN_BODY_LIMIT) + 1
    }

    /// Answers one request received at `now`.
    pub async fn handle(&self, request: Request<Bytes>, now: Timestamp) -> Response<Bytes> {
        let path = request.uri().path().to_string();
        if let Some(rest) = path.strip_prefix("/ping/") {
            return ping::handle(self, &request, rest, now).await;
        }
        if path == "/api/v1/jobs" || path.starts_with("/api/v1/jobs/") {
            return admin::handle(self, request, &path, now).await;
        }
        if doctor::is_route(&path) {
            return doctor::handle(self, request, &path, now).await;
        }
        if web::is_route(&path) {
            let head = request.method() == Method::HEAD;
            let mut response = web::handle(self, request, &path, now).await;
            if head {
                *response.body_mut() = Bytes::new();
            }
            return response;
        }
        match (request.method(), path.as_str()) {
            (&Method::GET | &Method::HEAD, "/healthz") => text(http::StatusCode::OK, "OK"),
            _ => text(http::StatusCode::NOT_FOUND, "not found"),
        }
    }
}
