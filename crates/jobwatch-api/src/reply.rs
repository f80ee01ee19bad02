//! Building responses: plain-text one-line reasons and JSON documents.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};

/// Set by a transport on a request whose body was longer than [`crate::Api::max_body_bytes`]
/// and was cut there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyOverflow;

/// A plain-text response: `reason` is one line.
pub fn text(status: StatusCode, reason: &str) -> Response<Bytes> {
    let mut response = Response::new(Bytes::from(reason.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

pub fn json(status: StatusCode, value: &serde_json::Value) -> Response<Bytes> {
    let mut body = serde_json::to_vec_pretty(value).unwrap_or_default();
    body.push(b'\n');
    let mut response = Response::new(Bytes::from(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Storage trouble is the server's, and worth a retry by the client.
pub fn unavailable() -> Response<Bytes> {
    text(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage temporarily unavailable, retry",
    )
}
