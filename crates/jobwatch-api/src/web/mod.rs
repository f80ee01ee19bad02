//! The web view: server-rendered pages of jobs, runs and outages, served by the same router
//! as the ping and admin APIs (so `jobwatch serve` and the ingest Function URL both have it).
//!
//! - `/` every job, trouble first; `/jobs/<slug>` one job; `/jobs/<slug>/runs/<run-id>` one
//!   run; `/badge/<badge-key>/<slug-or-tag>.svg` status badges.
//! - Access: a session cookie set by `/login` (the API key), or, for one page and read-only,
//!   a link signed by the server (what alerts carry). See [`auth`].
//! - No script, no framework, nothing fetched from elsewhere: one embedded stylesheet and
//!   inline SVG; every user-provided string goes through the template engine's escaping.

mod auth;
mod badge;
mod chart;
mod layout;
mod pages;
mod reply;

use std::sync::Arc;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::links::Signer;
use jobwatch_core::{Duration, Run};
use jobwatch_store::Store;

use crate::Api;
use auth::Access;

pub use auth::SESSION_COOKIE;

/// How long a login lasts by default.
pub const DEFAULT_SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A link to where a run's whole output is kept outside the store (CloudWatch Logs in AWS).
pub type RunLogLink = Arc<dyn Fn(&str, &Run) -> Option<String> + Send + Sync>;

/// How the web view is set up.
#[derive(Clone)]
pub struct WebConfig {
    /// Signs sessions, form tokens and links; its badge key is derived from it.
    pub signer: Signer,
    pub session_lifetime: Duration,
    pub run_log_link: Option<RunLogLink>,
}

impl std::fmt::Debug for WebConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebConfig")
            .field("session_lifetime", &self.session_lifetime)
            .field("run_log_link", &self.run_log_link.is_some())
            .finish_non_exhaustive()
    }
}

impl WebConfig {
    /// The web view signing with `secret`, with the default session lifetime.
    pub fn new(secret: &[u8]) -> WebConfig {
        WebConfig {
            signer: Signer::new(secret),
            session_lifetime: DEFAULT_SESSION_LIFETIME,
            run_log_link: None,
        }
    }

    /// The read-only key of badge URLs: derived from the signing secret, so it needs no
    /// storage of its own and changes when the secret does.
    pub fn badge_key(&self) -> String {
        self.signer.mac_hex("badge", "")[..32].to_string()
    }
}

pub(crate) fn is_route(path: &str) -> bool {
    matches!(path, "/" | "/login" | "/logout")
        || path.starts_with("/jobs/")
        || path.starts_with("/badge/")
}

pub(crate) async fn handle<S: Store>(
    api: &Api<S>,
    request: Request<Bytes>,
    path: &str,
    now: Timestamp,
) -> Response<Bytes> {
    let web = &api.config.web;
    let https = api.config.public_url.starts_with("https://");
    let method = request.method().clone();
    let read = matches!(method, Method::GET | Method::HEAD);
    if let Some(rest) = path.strip_prefix("/badge/") {
        return if read {
            badge::handle(api, rest, now).await
        } else {
            reply::not_allowed("GET")
        };
    }
    if path == "/login" {
        return match method {
            Method::GET | Method::HEAD => pages::login::form(web, &request, now, None),
            Method::POST => pages::login::submit(api, &request, https, now),
            _ => reply::not_allowed("GET, POST"),
        };
    }
    let access = auth::access(web, &request, path, now);
    if path == "/logout" {
        return match (method, &access) {
            (Method::POST, Access::Session(session)) => {
                match auth::check_form_token(web, session, request.body()) {
                    Ok(_) => reply::logged_out(https),
                    Err(refusal) => refusal,
                }
            }
            (Method::POST, _) => reply::logged_out(https),
            _ => reply::not_allowed("POST"),
        };
    }
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    match (segments.as_slice(), read) {
        ([""], true) => match access {
            Access::Session(session) => pages::overview::page(api, &request, &session, now).await,
            refused => auth::refuse(refused, path, request.uri().query()),
        },
        (["jobs", slug], true) => match access {
            Access::Session(_) | Access::Link => {
                pages::job::page(api, slug, &access, path, now).await
            }
            refused => auth::refuse(refused, path, request.uri().query()),
        },
        (["jobs", slug, action @ ("pause" | "resume")], false) if method == Method::POST => {
            match access {
                Access::Session(session) => {
                    pages::job::act(api, slug, action, &session, request.body(), now).await
                }
                _ => reply::status_page(
                    StatusCode::FORBIDDEN,
                    "Log in to change a job",
                    "Pausing and resuming need a login: a signed link only shows its page.",
                ),
            }
        }
        (["jobs", slug, "runs", run_id], true) => match access {
            Access::Session(_) | Access::Link => {
                pages::run::page(api, slug, run_id, &access, path, now).await
            }
            refused => auth::refuse(refused, path, request.uri().query()),
        },
        ([""] | ["jobs", ..], false) => reply::not_allowed("GET"),
        _ => reply::status_page(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no page at this address.",
        ),
    }
}
