//! A loopback HTTP server in front of the ingest Lambda of a [`crate::stack::LiveStack`]: each
//! request becomes the Function URL event Lambda would deliver to the real ingest binary, and
//! its answer the HTTP response. So a client that speaks HTTP (the `jobwatch` binary, e.g.
//! `jobwatch doctor`) talks to the stack on moto as it would to the deployed Function URL.
//!
//! One request per connection (`Connection: close`): served one after the other, no client
//! can wait on a kept-alive connection while another is served.

use std::time::Duration;

use jobwatch_testkit::lambda::{Invocation, function_url_event};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

use crate::stack::Running;

/// The largest request the bridge reads (the admin API's limit and headers).
const MAX_REQUEST: usize = 128 * 1024;

/// Serves requests on `listener` through `ingest` until dropped (run it in a `select!`).
pub async fn serve_function_url(listener: &TcpListener, ingest: &Running) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // A client that never finishes its request must not stall the bridge.
        let _ = tokio::time::timeout(Duration::from_secs(30), answer(stream, ingest)).await;
    }
}

async fn answer(mut stream: TcpStream, ingest: &Running) {
    let Some((method, target, headers, body)) = read_request(&mut stream).await else {
        return;
    };
    let header_refs: Vec<(&str, &str)> = headers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let event = function_url_event(&method, &target, &header_refs, &body);
    let reply = match ingest.runtime.invoke(event).await {
        Invocation::Response(reply) => reply,
        // The Function URL answers a failed invocation with 502, as AWS does.
        Invocation::Error(_) => {
            serde_json::json!({"statusCode": 502, "body": "Internal Server Error"})
        }
    };
    let _ = stream.write_all(&http_response(&reply)).await;
    let _ = stream.shutdown().await;
}

type Request = (String, String, Vec<(String, String)>, Vec<u8>);

async fn read_request(stream: &mut TcpStream) -> Option<Request> {
    let mut buffer = Vec::new();
    let mut chunk = [0u8; 8192];
    let head_end = loop {
        if let Some(end) = buffer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 || buffer.len() > MAX_REQUEST {
            return None;
        }
        buffer.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buffer[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split_whitespace();
    let (method, target) = (first.next()?.to_string(), first.next()?.to_string());
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .filter(|(k, _)| k != "host" && k != "connection")
        .collect();
    let length = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok())
        .unwrap_or(0)
        .min(MAX_REQUEST);
    let mut body = buffer[head_end + 4..].to_vec();
    while body.len() < length {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    body.truncate(length);
    Some((method, target, headers, body))
}

/// The HTTP/1.1 response of a Function URL answer (`statusCode`, `headers`, `body`,
/// `isBase64Encoded`).
fn http_response(reply: &Value) -> Vec<u8> {
    let status = reply["statusCode"].as_u64().unwrap_or(502);
    // The API's answers to what the bridge carries are text and JSON, never base64.
    let body = match reply["isBase64Encoded"].as_bool() {
        Some(true) => b"a binary answer the bridge does not carry".to_vec(),
        _ => reply["body"]
            .as_str()
            .unwrap_or_default()
            .as_bytes()
            .to_vec(),
    };
    let mut out = format!("HTTP/1.1 {status} Status\r\n").into_bytes();
    if let Some(headers) = reply["headers"].as_object() {
        for (name, value) in headers {
            if let Some(value) = value.as_str()
                && name != "content-length"
                && name != "connection"
            {
                out.extend_from_slice(format!("{name}: {value}\r\n").as_bytes());
            }
        }
    }
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(&body);
    out
}
