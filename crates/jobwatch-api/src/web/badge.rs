//! `/badge/<badge-key>/<slug-or-tag>.svg`: a status badge for a README or a wiki, as
//! Healthchecks has. The badge key opens badges only (read-only, one per deployment, derived
//! from the signing secret); a tag's badge shows the worst state among its jobs.

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::Status;
use jobwatch_store::{EngineError, Store};
use maud::html;

use crate::Api;

pub async fn handle<S: Store>(api: &Api<S>, rest: &str, now: Timestamp) -> Response<Bytes> {
    let Some((key, file)) = rest.split_once('/') else {
        return crate::reply::text(
            StatusCode::NOT_FOUND,
            "not found: use /badge/<badge-key>/<slug-or-tag>.svg",
        );
    };
    if !api.config.web.signer.verify_hex("badge", "", key) || key.len() != 32 {
        return crate::reply::text(StatusCode::NOT_FOUND, "not found: unknown badge key");
    }
    let Some(name) = file
        .strip_suffix(".svg")
        .filter(|n| !n.is_empty() && !n.contains('/'))
    else {
        return crate::reply::text(StatusCode::NOT_FOUND, "not found: badges end in .svg");
    };
    let status = match api.engine.get_job(name).await {
        Ok(job) => Some(job.state.status(now)),
        Err(EngineError::NotFound) => match api.engine.list_jobs().await {
            Ok(jobs) => jobs
                .iter()
                .filter(|j| j.spec.tags.iter().any(|t| t == name))
                .map(|j| j.state.status(now))
                .min_by_key(|s| super::pages::trouble_rank(*s)),
            Err(_) => return crate::reply::unavailable(),
        },
        Err(_) => return crate::reply::unavailable(),
    };
    match status {
        Some(status) => svg(StatusCode::OK, name, status),
        None => crate::reply::text(
            StatusCode::NOT_FOUND,
            &format!("no job or tag '{}'", jobwatch_core::text::shorten(name)),
        ),
    }
}

fn svg(code: StatusCode, label: &str, status: Status) -> Response<Bytes> {
    let (word, colour) = match status {
        Status::Down => ("down", "#cf222e"),
        Status::Late => ("late", "#bf8700"),
        Status::Paused => ("paused", "#6e7781"),
        Status::New => ("new", "#6e7781"),
        Status::Up | Status::Running => ("up", "#1a7f37"),
    };
    let label: String = label.chars().take(40).collect();
    let text_width = |s: &str| s.chars().count() as u32 * 7 + 12;
    let (left, right) = (text_width(&label), text_width(word));
    let width = left + right;
    let markup = html! {
        svg xmlns="http://www.w3.org/2000/svg" width=(width) height="20" role="img" aria-label={(label) ": " (word)} {
            title { (label) ": " (word) }
            rect width=(left) height="20" fill="#555" {}
            rect x=(left) width=(right) height="20" fill=(colour) {}
            g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle" {
                text x=(left / 2) y="14" { (label) }
                text x=(left + right / 2) y="14" { (word) }
            }
        }
    };
    let mut response = Response::new(Bytes::from(markup.into_string()));
    *response.status_mut() = code;
    let headers = response.headers_mut();
    headers.insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("image/svg+xml"),
    );
    // Shown from other sites (a README), so it must be fetched fresh, not cached for long.
    headers.insert(
        http::header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, max-age=0"),
    );
    headers.insert(
        http::header::HeaderName::from_static("content-security-policy"),
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'"),
    );
    response
}
