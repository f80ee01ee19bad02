//! Building responses: plain-text one-line reasons and JSON documents.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, HeaderValue};
use http::{Response, StatusCode};

/// Set by a transport on a request whose body was longer than [`crate::Api::max_body_bytes`]
/// and was cut there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyOverflow;

/// The longest reason a response carries: values quoted in it are cut to 40 characters where
/// they are quoted, and this bounds the rest (a library's message quoting a whole field name).
pub const MAX_REASON_CHARS: usize = 600;

/// A plain-text response: `reason`, as one line of at most [`MAX_REASON_CHARS`] characters.
pub fn text(status: StatusCode, reason: &str) -> Response<Bytes> {
    let reason = jobwatch_core::text::one_line(reason, MAX_REASON_CHARS);
    let mut response = Response::new(Bytes::from(reason));
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
