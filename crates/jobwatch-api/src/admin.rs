//! The admin API: define, list, inspect, pause, resume and delete jobs, and read their runs.

// Rejections are ready-made responses on the cold path; boxing them would buy nothing.
#![allow(clippy::result_large_err)]

use bytes::Bytes;
use http::header::{AUTHORIZATION, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::{Duration, JobDoc, RunRecords, Slug};
use jobwatch_store::{EngineError, JobRecord, Store};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::keys::sha256_hex;
use crate::reply::{BodyOverflow, json, text, unavailable};
use crate::{ADMIN_BODY_LIMIT, Api};

const DEFAULT_RUNS_LIMIT: usize = 20;
const MAX_RUNS_LIMIT: usize = 1_000;

type Reply = Response<Bytes>;

pub(crate) async fn handle<S: Store>(
    api: &Api<S>,
    request: Request<Bytes>,
    path: &str,
    now: Timestamp,
) -> Reply {
    route(api, request, path, now)
        .await
        .unwrap_or_else(|reply| reply)
}

async fn route<S: Store>(
    api: &Api<S>,
    request: Request<Bytes>,
    path: &str,
    now: Timestamp,
) -> Result<Reply, Reply> {
    authenticate(api, &request)?;
    if request.extensions().get::<BodyOverflow>().is_some()
        || request.body().len() > ADMIN_BODY_LIMIT
    {
        return Err(text(
            StatusCode::PAYLOAD_TOO_LARGE,
            "request body too large: the limit is 65536 bytes",
        ));
    }
    let rest = path.strip_prefix("/api/v1/jobs").unwrap_or_default();
    let segments: Vec<&str> = rest.split('/').skip(1).collect();
    let method = request.method().clone();
    match (segments.as_slice(), &method) {
        ([], &Method::GET) => list(api, now).await,
        ([], _) => Err(not_allowed("GET")),
        ([slug], m) => {
            let slug = parse_slug(slug)?;
            match *m {
                Method::GET => get(api, &slug, now).await,
                Method::PUT => put(api, &slug, request.body(), now).await,
                Method::DELETE => delete(api, &slug).await,
                _ => Err(not_allowed("GET, PUT, DELETE")),
            }
        }
        ([slug, action], m) => {
            let slug = parse_slug(slug)?;
            match (*action, m) {
                ("pause", &Method::POST) => pause(api, &slug, request.body(), now).await,
                ("resume", &Method::POST) => resume(api, &slug, now).await,
                ("runs", &Method::GET) => runs(api, &slug, request.uri().query()).await,
                ("pause" | "resume", _) => Err(not_allowed("POST")),
                ("runs", _) => Err(not_allowed("GET")),
                _ => Err(text(StatusCode::NOT_FOUND, "not found")),
            }
        }
        ([slug, "runs", run_id], m) => {
            let slug = parse_slug(slug)?;
            match *m {
                Method::GET => run(api, &slug, run_id).await,
                _ => Err(not_allowed("GET")),
            }
        }
        _ => Err(text(StatusCode::NOT_FOUND, "not found")),
    }
}

pub(crate) fn authenticate<S: Store>(api: &Api<S>, request: &Request<Bytes>) -> Result<(), Reply> {
    let headers = request.headers();
    let bearer = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);
    let key = bearer.or_else(|| {
        headers
            .get("x-api-key")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    });
    let unauthorized = |reason: &str| {
        let mut reply = text(StatusCode::UNAUTHORIZED, reason);
        reply.headers_mut().insert(
            http::header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer"),
        );
        reply
    };
    match key {
        None => Err(unauthorized(
            "missing API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'",
        )),
        Some(key) if api.config.api_key.matches(key) => Ok(()),
        Some(_) => Err(unauthorized("invalid API key")),
    }
}

pub(crate) fn not_allowed(allow: &'static str) -> Reply {
    let mut reply = text(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed: use {allow}"),
    );
    reply
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    reply
}

fn parse_slug(slug: &str) -> Result<Slug, Reply> {
    Slug::parse(slug).map_err(|e| text(StatusCode::BAD_REQUEST, &e.to_string()))
}

fn engine_error(e: EngineError, slug: &str) -> Reply {
    match e {
        EngineError::NotFound => text(StatusCode::NOT_FOUND, &format!("job '{slug}' not found")),
        EngineError::Contention | EngineError::Store(_) => {
            tracing::warn!(error = %e, job = %slug, "admin request failed");
            unavailable()
        }
    }
}

/// Parses a JSON body; serde's message is one line and names the field and position.
fn parse_json<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, Reply> {
    serde_json::from_slice(body)
        .map_err(|e| text(StatusCode::BAD_REQUEST, &format!("invalid job JSON: {e}")))
}

/// The JSON view of a job: its definition with every setting explicit, its state and URLs.
fn view<S: Store>(api: &Api<S>, job: &JobRecord, now: Timestamp) -> Value {
    let state = &job.state;
    let mut value = job.spec.to_settings_object();
    let base = api.config.public_url.trim_end_matches('/');
    let key = api.config.ping_key.plain().unwrap_or("<ping-key>");
    let extra = json!({
        "slug": job.slug(),
        "status": state.status(now).as_str(),
        "paused": state.paused.is_some(),
        "paused_until": state.paused.as_ref().and_then(|p| p.until),
        "next_expected_at": state.expected,
        "next_deadline": job.next_deadline(),
        // A down job comes back after `recovery_threshold` good runs in a row: how many so far.
        "good_runs_in_a_row": state.good_in_a_row,
        "last_ping_at": state.last_ping_at,
        "last_success_at": state.last_success_at,
        "last_failure_at": state.last_failure_at,
        "last_duration_ms": state.last_duration_ms,
        "down_since": state.down_since,
        "running": state.open_runs.iter().filter(|r| !r.timed_out).count(),
        "ping_url": format!("{base}/ping/{key}/{}", job.slug()),
    });
    if let Value::Object(extra) = extra {
        value.extend(extra);
    }
    // Stores keep only the UUID's hash: the URL is shown when the UUID is the one derived from
    // the signing secret (jobs created before UUIDs were derived, or before the secret was
    // rotated, keep a working UUID that can no longer be shown).
    let uuid = api.config.web.signer.ping_uuid(job.slug());
    if sha256_hex(&uuid) == job.uuid_hash {
        value.insert(
            "ping_url_uuid".into(),
            Value::String(format!("{base}/ping/{uuid}")),
        );
    }
    Value::Object(value)
}

async fn list<S: Store>(api: &Api<S>, now: Timestamp) -> Result<Reply, Reply> {
    let jobs = api
        .engine
        .list_jobs()
        .await
        .map_err(|e| engine_error(e, "*"))?;
    let views: Vec<Value> = jobs.iter().map(|job| view(api, job, now)).collect();
    Ok(json(StatusCode::OK, &json!({ "jobs": views })))
}

async fn get<S: Store>(api: &Api<S>, slug: &Slug, now: Timestamp) -> Result<Reply, Reply> {
    let job = api
        .engine
        .get_job(slug.as_str())
        .await
        .map_err(|e| engine_error(e, slug.as_str()))?;
    Ok(json(StatusCode::OK, &view(api, &job, now)))
}

async fn put<S: Store>(
    api: &Api<S>,
    slug: &Slug,
    body: &[u8],
    now: Timestamp,
) -> Result<Reply, Reply> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(text(
            StatusCode::BAD_REQUEST,
            "missing job JSON body, e.g. {\"schedule\": \"0 9 * * *\", \"tz\": \"UTC\"}",
        ));
    }
    let doc: JobDoc = parse_json(body)?;
    let paused = doc.paused;
    let spec = doc
        .into_spec(slug.clone())
        .map_err(|e| text(StatusCode::BAD_REQUEST, &e.to_string()))?;
    let uuid = api.config.web.signer.ping_uuid(slug.as_str());
    let (job, created) = api
        .engine
        .put_job(spec, paused, &sha256_hex(&uuid), now)
        .await
        .map_err(|e| engine_error(e, slug.as_str()))?;
    if created {
        let mut reply = json(StatusCode::CREATED, &view(api, &job, now));
        if let Ok(location) = HeaderValue::from_str(&format!("/api/v1/jobs/{slug}")) {
            reply.headers_mut().insert(http::header::LOCATION, location);
        }
        Ok(reply)
    } else {
        Ok(json(StatusCode::OK, &view(api, &job, now)))
    }
}

async fn delete<S: Store>(api: &Api<S>, slug: &Slug) -> Result<Reply, Reply> {
    api.engine
        .delete_job(slug.as_str())
        .await
        .map_err(|e| engine_error(e, slug.as_str()))?;
    let mut reply = Response::new(Bytes::new());
    *reply.status_mut() = StatusCode::NO_CONTENT;
    Ok(reply)
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct PauseRequest {
    /// Pause for this long, then resume by itself.
    #[serde(rename = "for", default)]
    for_: Option<Duration>,
    /// Pause until this instant (RFC 3339), then resume by itself.
    #[serde(default)]
    until: Option<Timestamp>,
}

async fn pause<S: Store>(
    api: &Api<S>,
    slug: &Slug,
    body: &[u8],
    now: Timestamp,
) -> Result<Reply, Reply> {
    let request: PauseRequest = if body.iter().all(u8::is_ascii_whitespace) {
        PauseRequest::default()
    } else {
        serde_json::from_slice(body).map_err(|e| {
            text(
                StatusCode::BAD_REQUEST,
                &format!("invalid pause JSON: {e} (expected {{\"for\": \"2h\"}})"),
            )
        })?
    };
    let until = match (request.for_, request.until) {
        (Some(_), Some(_)) => {
            return Err(text(
                StatusCode::BAD_REQUEST,
                "give either `for` or `until`, not both",
            ));
        }
        (Some(d), None) => Some(
            now.checked_add(d.to_signed())
                .map_err(|_| text(StatusCode::BAD_REQUEST, "pause duration is too long"))?,
        ),
        (None, Some(until)) if until <= now => {
            return Err(text(StatusCode::BAD_REQUEST, "`until` is in the past"));
        }
        (None, until) => until,
    };
    let job = api
        .engine
        .pause(slug.as_str(), until, now)
        .await
        .map_err(|e| engine_error(e, slug.as_str()))?;
    Ok(json(StatusCode::OK, &view(api, &job, now)))
}

async fn resume<S: Store>(api: &Api<S>, slug: &Slug, now: Timestamp) -> Result<Reply, Reply> {
    let job = api
        .engine
        .resume(slug.as_str(), now)
        .await
        .map_err(|e| engine_error(e, slug.as_str()))?;
    Ok(json(StatusCode::OK, &view(api, &job, now)))
}

async fn runs<S: Store>(api: &Api<S>, slug: &Slug, query: Option<&str>) -> Result<Reply, Reply> {
    let mut limit = DEFAULT_RUNS_LIMIT;
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        if key == "limit" {
            limit = value
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=MAX_RUNS_LIMIT).contains(n))
                .ok_or_else(|| {
                    text(
                        StatusCode::BAD_REQUEST,
                        &format!(
                            "invalid limit '{}': must be 1-{MAX_RUNS_LIMIT}",
                            jobwatch_core::text::shorten(&value)
                        ),
                    )
                })?;
        }
    }
    let runs = api
        .engine
        .runs(slug.as_str(), limit)
        .await
        .map_err(|e| engine_error(e, slug.as_str()))?;
    Ok(json(StatusCode::OK, &json!({ "runs": runs })))
}

/// One run, as alerts link it: its records among the job's latest runs (a run alerted on is
/// recent; older ones have left the history anyway).
async fn run<S: Store>(api: &Api<S>, slug: &Slug, run_id: &str) -> Result<Reply, Reply> {
    let runs = api
        .engine
        .runs(slug.as_str(), MAX_RUNS_LIMIT)
        .await
        .map_err(|e| engine_error(e, slug.as_str()))?;
    // Run ids are UUIDs or `r<n>`: nothing in them is percent-encoded.
    match RunRecords::find(&runs, run_id) {
        // The record that says how the run went, with every record of it (oldest first).
        Some(found) => {
            let mut view = json!(found.main);
            if let Value::Object(fields) = &mut view {
                fields.insert("records".into(), json!(found.records));
            }
            Ok(json(StatusCode::OK, &view))
        }
        None => Err(text(
            StatusCode::NOT_FOUND,
            &format!(
                "run '{}' of job '{slug}' not found (not among its latest {MAX_RUNS_LIMIT} runs)",
                jobwatch_core::text::shorten(run_id)
            ),
        )),
    }
}
