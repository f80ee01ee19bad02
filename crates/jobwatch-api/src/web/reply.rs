//! The web view's responses: HTML with the headers every page carries (no script may run,
//! nothing may be framed, no address leaves in a Referer), redirects and cookies.

use bytes::Bytes;
use http::header::{
    CACHE_CONTROL, CONTENT_ENCODING, CONTENT_TYPE, HeaderName, HeaderValue, LOCATION, SET_COOKIE,
    VARY,
};
use http::{Request, Response, StatusCode};
use maud::{Markup, html};

use super::auth::SESSION_COOKIE;
use super::layout;

/// No script at all, styles only inline, images only inline or from here, forms only to here.
const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Pages this large are worth compressing (the overview of many jobs).
const COMPRESS_FROM_BYTES: usize = 8 * 1024;

fn secure_headers(response: &mut Response<Bytes>) {
    let headers = response.headers_mut();
    let pairs: [(HeaderName, &'static str); 5] = [
        (
            HeaderName::from_static("content-security-policy"),
            CONTENT_SECURITY_POLICY,
        ),
        (HeaderName::from_static("x-content-type-options"), "nosniff"),
        (HeaderName::from_static("referrer-policy"), "no-referrer"),
        (HeaderName::from_static("x-frame-options"), "DENY"),
        (CACHE_CONTROL, "no-store"),
    ];
    for (name, value) in pairs {
        headers.insert(name, HeaderValue::from_static(value));
    }
}

/// An HTML page.
pub fn html_page(status: StatusCode, markup: Markup) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(markup.into_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    secure_headers(&mut response);
    response
}

/// `response` gzip-compressed when the client takes it and the body is large enough to gain.
pub fn compressed(request: &Request<Bytes>, mut response: Response<Bytes>) -> Response<Bytes> {
    use std::io::Write as _;
    response
        .headers_mut()
        .insert(VARY, HeaderValue::from_static("Accept-Encoding"));
    let accepts_gzip = request
        .headers()
        .get_all(http::header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| coding.split(';').next().is_some_and(|c| c.trim() == "gzip"));
    if !accepts_gzip || response.body().len() < COMPRESS_FROM_BYTES {
        return response;
    }
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    if encoder.write_all(response.body()).is_err() {
        return response;
    }
    let Ok(gzipped) = encoder.finish() else {
        return response;
    };
    *response.body_mut() = Bytes::from(gzipped);
    response
        .headers_mut()
        .insert(CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    response
}

/// A short page saying what happened.
pub fn status_page(status: StatusCode, title: &str, message: &str) -> Response<Bytes> {
    html_page(
        status,
        layout::page(
            title,
            None,
            html! {
                h1 { (title) }
                p { (message) }
                p { a href="/" { "All jobs" } }
            },
        ),
    )
}

/// 403 for a tampered or expired signed link, with a way in.
pub fn refused_link(reason: &str, path: &str) -> Response<Bytes> {
    let login = super::auth::login_url(path);
    html_page(
        StatusCode::FORBIDDEN,
        layout::page(
            "Link refused",
            None,
            html! {
                h1 { "Link refused" }
                p { (reason) ": it no longer opens this page by itself." }
                p { a.button href=(login) { "Log in to see it" } }
            },
        ),
    )
}

pub fn not_allowed(allow: &'static str) -> Response<Bytes> {
    let mut response = crate::reply::text(
        StatusCode::METHOD_NOT_ALLOWED,
        &format!("method not allowed: use {allow}"),
    );
    response
        .headers_mut()
        .insert(http::header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// 303 See Other to `location` (a path on this server).
pub fn see_other(location: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(LOCATION, value);
    }
    secure_headers(&mut response);
    response
}

/// The session cookie: unreadable by script, never sent by another site's request, only
/// over https when served over https.
pub fn session_cookie(value: &str, max_age_secs: i64, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!(
        "{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age_secs}; HttpOnly; SameSite=Strict{secure}"
    )
}

pub fn with_cookie(mut response: Response<Bytes>, cookie: &str) -> Response<Bytes> {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(SET_COOKIE, value);
    }
    response
}

/// Clears the session and goes to the login page.
pub fn logged_out(https: bool) -> Response<Bytes> {
    with_cookie(see_other("/login"), &session_cookie("", 0, https))
}
