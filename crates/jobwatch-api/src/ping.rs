//! The Healthchecks-compatible ping API, and `GET /ping/<ping-key>/`, a probe that the ping key
//! is right, touching no job.

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, Request, Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::text::shorten;
use jobwatch_core::{JobSpec, Ping, PingEvent, PingSource, Slug};
use jobwatch_store::{EngineError, JobLookup, Store};

use crate::keys::sha256_hex;
use crate::reply::{text, unavailable};
use crate::{Api, HOST_HEADER, RemoteAddr};

/// Unknown keys and unknown jobs answer alike, so neither can be probed.
const NOT_FOUND: &str = "not found";

#[derive(Debug, PartialEq)]
enum Target<'a> {
    Uuid(uuid::Uuid),
    KeySlug { key: &'a str, slug: &'a str },
}

/// Splits `<uuid>[/<suffix>]` or `<ping-key>/<slug>[/<suffix>]`.
fn parse_path(rest: &str) -> Result<(Target<'_>, PingEvent), (StatusCode, String)> {
    let parts: Vec<&str> = rest.split('/').collect();
    let not_found = || (StatusCode::NOT_FOUND, NOT_FOUND.to_string());
    if parts.iter().any(|p| p.is_empty()) {
        return Err(not_found());
    }
    let uuid = uuid::Uuid::try_parse(parts[0]).ok();
    match (parts.as_slice(), uuid) {
        ([_], Some(uuid)) => Ok((Target::Uuid(uuid), PingEvent::Success)),
        ([_, suffix], Some(uuid)) if looks_like_suffix(suffix) => {
            Ok((Target::Uuid(uuid), parse_suffix(suffix)?))
        }
        ([key, slug], _) => Ok((Target::KeySlug { key, slug }, PingEvent::Success)),
        ([key, slug, suffix], _) => Ok((Target::KeySlug { key, slug }, parse_suffix(suffix)?)),
        ([_], None) => Err((
            StatusCode::NOT_FOUND,
            "not found: expected /ping/<uuid> or /ping/<ping-key>/<slug>".into(),
        )),
        _ => Err(not_found()),
    }
}

fn looks_like_suffix(s: &str) -> bool {
    matches!(s, "start" | "fail" | "log") || s.bytes().all(|b| b.is_ascii_digit() || b == b'-')
}

fn parse_suffix(s: &str) -> Result<PingEvent, (StatusCode, String)> {
    match s {
        "start" => Ok(PingEvent::Start),
        "fail" => Ok(PingEvent::Fail),
        "log" => Ok(PingEvent::Log),
        _ if s.bytes().all(|b| b.is_ascii_digit() || b == b'-') => match s.parse::<u8>() {
            Ok(code) => Ok(PingEvent::Exit(code)),
            Err(_) => Err((
                StatusCode::BAD_REQUEST,
                format!("invalid exit status '{}': must be 0-255", shorten(s)),
            )),
        },
        _ => Err((
            StatusCode::BAD_REQUEST,
            format!(
                "unknown ping suffix '{}': use /start, /fail, /log or /<exit-status 0-255>",
                shorten(s)
            ),
        )),
    }
}

struct Query {
    rid: Option<String>,
    /// `?create=1` (a daily job, as Healthchecks does) or `?create=on-demand` (no schedule).
    create: Option<fn(Slug) -> JobSpec>,
}

fn parse_query(query: Option<&str>) -> Result<Query, (StatusCode, String)> {
    let mut parsed = Query {
        rid: None,
        create: None,
    };
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "rid" => {
                let rid = uuid::Uuid::try_parse(&value).map_err(|_| {
                    (
                        StatusCode::BAD_REQUEST,
                        format!("invalid rid '{}': must be a UUID", shorten(&value)),
                    )
                })?;
                parsed.rid = Some(rid.hyphenated().to_string());
            }
            "create" => {
                parsed.create = match value.as_ref() {
                    "1" => Some(JobSpec::auto_created),
                    "on-demand" => Some(JobSpec::auto_created_on_demand),
                    _ => None,
                }
            }
            _ => {} // unknown parameters are ignored, as by Healthchecks
        }
    }
    Ok(parsed)
}

pub(crate) async fn handle<S: Store>(
    api: &Api<S>,
    request: &Request<Bytes>,
    rest: &str,
    now: Timestamp,
) -> Response<Bytes> {
    let limit = api.config.ping_body_limit;
    let mut response = answer(api, request, rest, now).await;
    if let Ok(value) = HeaderValue::from_str(&limit.to_string()) {
        response.headers_mut().insert("ping-body-limit", value);
    }
    response
        .headers_mut()
        .insert("access-control-allow-origin", HeaderValue::from_static("*"));
    if request.method() == Method::HEAD {
        *response.body_mut() = Bytes::new();
    }
    response
}

async fn answer<S: Store>(
    api: &Api<S>,
    request: &Request<Bytes>,
    rest: &str,
    now: Timestamp,
) -> Response<Bytes> {
    if !matches!(*request.method(), Method::GET | Method::HEAD | Method::POST) {
        let mut response = text(
            StatusCode::METHOD_NOT_ALLOWED,
            "method not allowed: use GET, HEAD or POST",
        );
        response.headers_mut().insert(
            http::header::ALLOW,
            HeaderValue::from_static("GET, HEAD, POST"),
        );
        return response;
    }
    // `/ping/<ping-key>/`, no job: a probe that the key is right (`jobwatch doctor`), which
    // touches no job and records no run. Not a Healthchecks URL, so nothing sends it by chance.
    if let Some(key) = rest.strip_suffix('/')
        && !key.is_empty()
        && !key.contains('/')
        && uuid::Uuid::try_parse(key).is_err()
    {
        return if *request.method() == Method::POST {
            text(StatusCode::NOT_FOUND, NOT_FOUND)
        } else if api.config.ping_key.matches(key) {
            text(StatusCode::OK, "OK: the ping key is valid")
        } else {
            text(StatusCode::NOT_FOUND, NOT_FOUND)
        };
    }
    let (target, event) = match parse_path(rest) {
        Ok(parsed) => parsed,
        Err((status, reason)) => return text(status, &reason),
    };
    let query = match parse_query(request.uri().query()) {
        Ok(query) => query,
        Err((status, reason)) => return text(status, &reason),
    };
    let body = request.body();
    let kept = &body[..body.len().min(api.config.ping_body_limit)];
    let ping = Ping {
        event,
        rid: query.rid,
        body: (!kept.is_empty()).then(|| String::from_utf8_lossy(kept).into_owned()),
        source: source(request),
    };
    let engine = &api.engine;
    let result = match target {
        Target::Uuid(uuid) => {
            let hash = sha256_hex(&uuid.hyphenated().to_string());
            engine
                .ping(JobLookup::UuidHash(&hash), &ping, now)
                .await
                .map(|_| false)
        }
        Target::KeySlug { key, slug } => {
            let slug = match Slug::parse(slug) {
                Ok(slug) => slug,
                Err(e) => return text(StatusCode::BAD_REQUEST, &e.to_string()),
            };
            if !api.config.ping_key.matches(key) {
                return text(StatusCode::NOT_FOUND, NOT_FOUND);
            }
            let mut created = false;
            if let Some(definition) = query.create {
                let uuid_hash = sha256_hex(&api.config.web.signer.ping_uuid(slug.as_str()));
                match engine
                    .ensure_job(definition(slug.clone()), &uuid_hash, now)
                    .await
                {
                    Ok((_, was_created)) => created = was_created,
                    Err(e) => return engine_error(e),
                }
            }
            engine
                .ping(JobLookup::Slug(slug.as_str()), &ping, now)
                .await
                .map(|_| created)
        }
    };
    match result {
        Ok(true) => text(StatusCode::CREATED, "Created"),
        Ok(false) => text(StatusCode::OK, "OK"),
        Err(e) => engine_error(e),
    }
}

/// Where the ping came from: the address the transport saw, the User-Agent and the host
/// `jobwatch run` names, as the run and its alerts keep them (each bounded).
fn source(request: &Request<Bytes>) -> Option<PingSource> {
    let header = |name: &str| request.headers().get(name).and_then(|v| v.to_str().ok());
    let ip = request
        .extensions()
        .get::<RemoteAddr>()
        .map(|addr| addr.0.to_string());
    PingSource::new(
        ip.as_deref(),
        header(http::header::USER_AGENT.as_str()),
        header(HOST_HEADER),
    )
}

fn engine_error(e: EngineError) -> Response<Bytes> {
    match e {
        EngineError::NotFound => text(StatusCode::NOT_FOUND, NOT_FOUND),
        EngineError::Contention | EngineError::Store(_) => {
            tracing::warn!(error = %e, "ping not applied");
            unavailable()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_a_job_and_an_event() {
        let uuid = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
        let (target, event) = parse_path(uuid).unwrap();
        assert!(matches!(target, Target::Uuid(_)));
        assert_eq!(event, PingEvent::Success);
        assert_eq!(
            parse_path(&format!("{uuid}/start")).unwrap().1,
            PingEvent::Start
        );
        assert_eq!(
            parse_path(&format!("{uuid}/7")).unwrap().1,
            PingEvent::Exit(7)
        );
        assert_eq!(
            parse_path("key/backup").unwrap(),
            (
                Target::KeySlug {
                    key: "key",
                    slug: "backup"
                },
                PingEvent::Success
            )
        );
        assert_eq!(parse_path("key/backup/fail").unwrap().1, PingEvent::Fail);
        assert_eq!(parse_path("key/backup/0").unwrap().1, PingEvent::Exit(0));
        assert_eq!(parse_path("key/backup/log").unwrap().1, PingEvent::Log);
    }

    #[test]
    fn bad_suffixes_are_precise_400s() {
        let (status, reason) = parse_path("key/backup/256").unwrap_err();
        assert_eq!(
            (status, reason.as_str()),
            (
                StatusCode::BAD_REQUEST,
                "invalid exit status '256': must be 0-255"
            )
        );
        let (status, _) = parse_path("key/backup/-1").unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, reason) = parse_path("key/backup/finish").unwrap_err();
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(
            reason.starts_with("unknown ping suffix 'finish'"),
            "{reason}"
        );
        assert_eq!(parse_path("a/b/c/d").unwrap_err().0, StatusCode::NOT_FOUND);
        assert_eq!(
            parse_path("key//start").unwrap_err().0,
            StatusCode::NOT_FOUND
        );
    }
}
