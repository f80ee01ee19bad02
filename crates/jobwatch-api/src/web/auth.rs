//! Who may see a page: a session (the cookie `/login` sets after checking the API key) sees
//! and changes everything; a signed link (what an alert carries) shows its one page,
//! read-only, until it expires. Forms carry a token tied to the session (or, for the login
//! form, to its own expiry), so no other site can submit them on someone's behalf.
//!
//! A session cookie is `<expiry>.<nonce>.<signature>`: nothing is stored server-side, so the
//! Lambdas need no session table, and a new signing secret logs everyone out.

// Refusals are ready-made responses on the cold path; boxing them would buy nothing.
#![allow(clippy::result_large_err)]

use bytes::Bytes;
use http::header::COOKIE;
use http::{Request, Response, StatusCode};
use jiff::Timestamp;

use super::WebConfig;
use super::reply;

pub const SESSION_COOKIE: &str = "jobwatch_session";
/// Hex characters of a session's and a form token's signature.
const SIG_CHARS: usize = 32;
/// How long a login form may wait before it is submitted.
const LOGIN_FORM_LIFETIME_SECS: i64 = 3600;

/// A valid session: what its forms' tokens are made from.
#[derive(Debug, Clone)]
pub struct Session {
    nonce: String,
}

/// How a request may see a page.
#[derive(Debug, Clone)]
pub enum Access {
    Session(Session),
    /// A valid signed link to this very page.
    Link,
    /// A signed link that is not (or no longer) valid: refused with the reason.
    BadLink(jobwatch_core::links::LinkError),
    /// Neither: the login page.
    Anonymous,
}

pub fn access(web: &WebConfig, request: &Request<Bytes>, path: &str, now: Timestamp) -> Access {
    if let Some(session) = session(web, request, now) {
        return Access::Session(session);
    }
    let query = request.uri().query().unwrap_or_default();
    let (mut exp, mut sig) = (None, None);
    for (name, value) in form_urlencoded::parse(query.as_bytes()) {
        match &*name {
            "exp" => exp = Some(value.into_owned()),
            "sig" => sig = Some(value.into_owned()),
            _ => {}
        }
    }
    match (exp, sig) {
        (Some(exp), Some(sig)) => match web.signer.verify_path(path, &exp, &sig, now) {
            Ok(()) => Access::Link,
            Err(e) => Access::BadLink(e),
        },
        (None, None) => Access::Anonymous,
        _ => Access::BadLink(jobwatch_core::links::LinkError::BadSignature),
    }
}

/// The answer to a request without access: a bad link is refused (403) with a way to log
/// in; anyone else is sent to the login page, which brings them back here.
pub fn refuse(access: Access, path: &str, query: Option<&str>) -> Response<Bytes> {
    match access {
        Access::BadLink(e) => reply::refused_link(&e.to_string(), path),
        _ => {
            let next = match query.filter(|q| !q.is_empty()) {
                Some(q) => format!("{path}?{q}"),
                None => path.to_string(),
            };
            reply::see_other(&login_url(&next))
        }
    }
}

/// `/login?next=<path>`.
pub fn login_url(next: &str) -> String {
    let next: String = form_urlencoded::byte_serialize(next.as_bytes()).collect();
    format!("/login?next={next}")
}

fn session(web: &WebConfig, request: &Request<Bytes>, now: Timestamp) -> Option<Session> {
    let value = cookie(request, SESSION_COOKIE)?;
    let mut parts = value.splitn(3, '.');
    let (exp, nonce, sig) = (parts.next()?, parts.next()?, parts.next()?);
    let expires: i64 = exp.parse().ok()?;
    (web.signer
        .verify_hex("session", &format!("{expires}.{nonce}"), sig)
        && now.as_second() < expires)
        .then(|| Session {
            nonce: nonce.to_string(),
        })
}

fn cookie<'a>(request: &'a Request<Bytes>, name: &str) -> Option<&'a str> {
    request
        .headers()
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// A new session's cookie value, valid for the configured lifetime from `now`.
pub fn new_session(web: &WebConfig, now: Timestamp) -> Result<(String, i64), getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    let nonce = hex::encode(bytes);
    let lifetime = i64::try_from(web.session_lifetime.as_millis() / 1000).unwrap_or(i64::MAX);
    let expires = now.as_second().saturating_add(lifetime);
    let data = format!("{expires}.{nonce}");
    let sig = web.signer.mac_hex("session", &data);
    Ok((format!("{data}.{}", &sig[..SIG_CHARS]), lifetime))
}

/// The token the forms of `session` carry.
pub fn form_token(web: &WebConfig, session: &Session) -> String {
    web.signer.mac_hex("csrf", &session.nonce)[..SIG_CHARS].to_string()
}

/// The fields of a form posted by `session`, once its token is checked: 403 without it.
pub fn check_form_token(
    web: &WebConfig,
    session: &Session,
    body: &[u8],
) -> Result<Vec<(String, String)>, Response<Bytes>> {
    let fields = fields(body);
    let token = field(&fields, "csrf").unwrap_or_default();
    if web.signer.verify_hex("csrf", &session.nonce, token) {
        Ok(fields)
    } else {
        Err(reply::status_page(
            StatusCode::FORBIDDEN,
            "Form expired",
            "This form's security token is missing or does not belong to your session: reload the page and try again.",
        ))
    }
}

/// The token of a login form shown at `now`: `<expiry>.<signature>`.
pub fn login_token(web: &WebConfig, now: Timestamp) -> String {
    let expires = now.as_second() + LOGIN_FORM_LIFETIME_SECS;
    let sig = web.signer.mac_hex("login", &expires.to_string());
    format!("{expires}.{}", &sig[..SIG_CHARS])
}

pub fn check_login_token(web: &WebConfig, token: &str, now: Timestamp) -> bool {
    let Some((exp, sig)) = token.split_once('.') else {
        return false;
    };
    let Ok(expires) = exp.parse::<i64>() else {
        return false;
    };
    now.as_second() < expires && web.signer.verify_hex("login", &expires.to_string(), sig)
}

pub fn fields(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

pub fn field<'a>(fields: &'a [(String, String)], name: &str) -> Option<&'a str> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// Where to go after logging in: a path on this server, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n.starts_with("/\\")
                && !n.chars().any(|c| c.is_control()) =>
        {
            n.to_string()
        }
        _ => "/".to_string(),
    }
}
