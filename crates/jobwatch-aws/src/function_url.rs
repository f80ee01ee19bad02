//! Lambda Function URL events (payload format 2.0) to and from `http` types, so the ingest
//! Lambda serves the very same [`jobwatch_api::Api`] as the local server. A malformed event
//! is answered with a 400 and a one-line reason, never an invocation error: the runtime loop
//! keeps serving.
//!
//! The event is read field by field from JSON rather than deserialised into
//! `aws_lambda_events`' types: a typed read fails whole on one missing or mistyped field, and
//! could then only say "bad event", where this names the field.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;
use http::{Request, Response, StatusCode};
use serde_json::{Map, Value, json};

/// Set on a request whose body was cut at the reading limit (mirrors the local transport).
pub use jobwatch_api::BodyOverflow;
use jobwatch_api::RemoteAddr;

/// Why an event could not be turned into a request.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedEvent(String);

fn field<'a>(event: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(event, |value, key| value.get(key))
}

/// The HTTP request a Function URL event carries, with its body cut to `max_body` bytes.
pub fn to_request(event: &Value, max_body: usize) -> Result<Request<Bytes>, MalformedEvent> {
    let missing =
        |what: &str| MalformedEvent(format!("malformed Function URL event: missing {what}"));
    let method = field(event, &["requestContext", "http", "method"])
        .and_then(Value::as_str)
        .ok_or_else(|| missing("requestContext.http.method"))?;
    let path = event
        .get("rawPath")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("rawPath"))?;
    let query = event
        .get("rawQueryString")
        .and_then(Value::as_str)
        .unwrap_or("");
    let uri = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let mut builder = Request::builder().method(method).uri(&uri);
    if let Some(headers) = event.get("headers").and_then(Value::as_object) {
        for (name, value) in headers {
            if let Some(value) = value.as_str() {
                builder = builder.header(name.as_str(), value);
            }
        }
    }
    // Function URLs pass the request's cookies in `cookies`, not as a Cookie header.
    if let Some(cookies) = event.get("cookies").and_then(Value::as_array) {
        let joined: Vec<&str> = cookies.iter().filter_map(Value::as_str).collect();
        if !joined.is_empty() {
            builder = builder.header(http::header::COOKIE, joined.join("; "));
        }
    }
    let body = match event.get("body") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(text))
            if event
                .get("isBase64Encoded")
                .and_then(Value::as_bool)
                .unwrap_or(false) =>
        {
            BASE64
                .decode(text)
                .map_err(|_| MalformedEvent("request body is not valid base64".into()))?
        }
        Some(Value::String(text)) => text.clone().into_bytes(),
        Some(_) => {
            return Err(MalformedEvent(
                "malformed Function URL event: body is not a string".into(),
            ));
        }
    };
    let source_ip = field(event, &["requestContext", "http", "sourceIp"])
        .and_then(Value::as_str)
        .and_then(|ip| ip.parse().ok());
    // The header is what the client sent; the context repeats it, and is all there is when
    // a test or proxy leaves the header out.
    let user_agent = field(event, &["requestContext", "http", "userAgent"]).and_then(Value::as_str);
    let has_user_agent = event
        .get("headers")
        .and_then(Value::as_object)
        .is_some_and(|h| h.keys().any(|k| k.eq_ignore_ascii_case("user-agent")));
    if let Some(user_agent) = user_agent.filter(|_| !has_user_agent) {
        builder = builder.header(http::header::USER_AGENT, user_agent);
    }
    let overflow = body.len() > max_body;
    let mut body = body;
    body.truncate(max_body);
    let mut request = builder
        .body(Bytes::from(body))
        .map_err(|e| MalformedEvent(format!("invalid request: {e}")))?;
    if overflow {
        request.extensions_mut().insert(BodyOverflow);
    }
    if let Some(ip) = source_ip {
        request.extensions_mut().insert(RemoteAddr(ip));
    }
    Ok(request)
}

/// The Function URL response document for `response`.
pub fn from_response(response: Response<Bytes>) -> Value {
    let (parts, body) = response.into_parts();
    let mut headers = Map::new();
    // Set-Cookie goes in `cookies`: a headers map holds one value per name.
    let mut cookies = Vec::new();
    for (name, value) in &parts.headers {
        if let Ok(value) = value.to_str() {
            if name == http::header::SET_COOKIE {
                cookies.push(Value::String(value.to_string()));
            } else {
                headers.insert(name.as_str().to_string(), Value::String(value.to_string()));
            }
        }
    }
    let (body, base64) = match std::str::from_utf8(&body) {
        Ok(text) => (text.to_string(), false),
        Err(_) => (BASE64.encode(&body), true),
    };
    json!({
        "statusCode": parts.status.as_u16(),
        "headers": headers,
        "body": body,
        "isBase64Encoded": base64,
        "cookies": cookies,
    })
}

/// Answers one Function URL event with `api`: the same routing, validation and answers as the
/// local server.
pub async fn handle<S: jobwatch_store::Store>(api: &jobwatch_api::Api<S>, event: &Value) -> Value {
    match to_request(event, api.max_body_bytes()) {
        Ok(request) => from_response(api.handle(request, jiff::Timestamp::now()).await),
        Err(reason) => malformed(&reason),
    }
}

/// The base URL clients reach the function at, from the event (`https://<domainName>`).
pub fn public_url(event: &Value) -> Option<String> {
    field(event, &["requestContext", "domainName"])
        .and_then(Value::as_str)
        .map(|domain| format!("https://{domain}"))
}

/// The response to an event that is not a request at all.
pub fn malformed(reason: &MalformedEvent) -> Value {
    let mut response = Response::new(Bytes::from(reason.to_string()));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    from_response(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(body: Value, base64: bool) -> Value {
        json!({
            "version": "2.0", "routeKey": "$default", "rawPath": "/ping/key/backup/fail", "rawQueryString": "rid=5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278",
            "headers": {"host": "abc.lambda-url.eu-west-1.on.aws", "content-type": "text/plain"},
            "requestContext": {"http": {"method": "POST", "path": "/ping/key/backup/fail", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "curl/8"}, "domainName": "abc.lambda-url.eu-west-1.on.aws"},
            "body": body, "isBase64Encoded": base64
        })
    }

    #[test]
    fn a_function_url_event_becomes_the_same_request_curl_sent() {
        let request = to_request(&event(json!("disk full"), false), 100).expect("request");
        assert_eq!(request.method(), "POST");
        assert_eq!(
            request.uri(),
            "/ping/key/backup/fail?rid=5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278"
        );
        assert_eq!(request.headers()["host"], "abc.lambda-url.eu-west-1.on.aws");
        assert_eq!(request.body().as_ref(), b"disk full");
        assert_eq!(
            request.extensions().get::<RemoteAddr>(),
            Some(&RemoteAddr("192.0.2.1".parse().expect("ip")))
        );
        assert_eq!(
            request.headers()["user-agent"],
            "curl/8",
            "from the context"
        );
        let request = to_request(&event(json!(BASE64.encode("\u{0}binary\u{ff}")), true), 100)
            .expect("request");
        assert_eq!(request.body().as_ref(), "\u{0}binary\u{ff}".as_bytes());
    }

    #[test]
    fn bodies_past_the_limit_are_cut_and_marked() {
        let request = to_request(&event(json!("x".repeat(50)), false), 10).expect("request");
        assert_eq!(request.body().len(), 10);
        assert!(request.extensions().get::<BodyOverflow>().is_some());
    }

    #[test]
    fn malformed_events_say_what_is_wrong() {
        assert_eq!(
            to_request(&json!({}), 10).unwrap_err().to_string(),
            "malformed Function URL event: missing requestContext.http.method"
        );
        assert_eq!(
            to_request(&event(json!("%%%"), true), 10)
                .unwrap_err()
                .to_string(),
            "request body is not valid base64"
        );
        assert_eq!(
            to_request(&event(json!(42), false), 10)
                .unwrap_err()
                .to_string(),
            "malformed Function URL event: body is not a string"
        );
        let reply = malformed(&MalformedEvent("bad".into()));
        assert_eq!(
            (reply["statusCode"].as_u64(), reply["body"].as_str()),
            (Some(400), Some("bad"))
        );
    }
}
