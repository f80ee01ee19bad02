//! A local Slack incoming-webhook receiver for tests. It enforces Slack's documented message
//! limits (answering `400 invalid_blocks` like Slack does when they are broken), records
//! every accepted message, and can be told to answer with scripted failures (429, 500, 404).

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;

/// A scripted answer to the next post.
#[derive(Debug, Clone)]
pub struct Scripted {
    pub status: u16,
    pub retry_after: Option<u64>,
    pub body: &'static str,
}

#[derive(Default)]
struct Shared {
    accepted: Vec<Value>,
    rejected: Vec<String>,
    script: VecDeque<Scripted>,
    posts: usize,
}

pub struct SlackReceiver {
    /// The webhook URL to give jobwatch.
    pub url: String,
    shared: Arc<Mutex<Shared>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for SlackReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl SlackReceiver {
    /// Starts a receiver on a free loopback port, on the current tokio runtime.
    pub async fn start() -> SlackReceiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind Slack receiver");
        let address = listener.local_addr().expect("address");
        let shared = Arc::new(Mutex::new(Shared::default()));
        let state = Arc::clone(&shared);
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = Arc::clone(&state);
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let state = Arc::clone(&state);
                            async move {
                                let body = request
                                    .into_body()
                                    .collect()
                                    .await
                                    .map(|b| b.to_bytes())
                                    .unwrap_or_default();
                                Ok::<_, Infallible>(answer(&state, &body))
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        SlackReceiver {
            url: format!("http://{address}/services/T000/B000/XXXX"),
            shared,
            task,
        }
    }

    /// Makes the next posts get these answers, in order, before normal service resumes.
    pub fn script(&self, answers: impl IntoIterator<Item = Scripted>) {
        self.lock().script.extend(answers);
    }

    /// Messages accepted so far.
    pub fn messages(&self) -> Vec<Value> {
        self.lock().accepted.clone()
    }

    /// Why each rejected message was rejected (limit violations).
    pub fn rejections(&self) -> Vec<String> {
        self.lock().rejected.clone()
    }

    /// How many posts arrived, answered or not.
    pub fn posts(&self) -> usize {
        self.lock().posts
    }

    /// Waits (bounded) until at least `n` messages were accepted; returns them all.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.lock().accepted.len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.messages()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn answer(state: &Mutex<Shared>, body: &Bytes) -> hyper::Response<Full<Bytes>> {
    let mut shared = state.lock().unwrap_or_else(|p| p.into_inner());
    shared.posts += 1;
    if let Some(scripted) = shared.script.pop_front() {
        let mut response =
            hyper::Response::new(Full::new(Bytes::from_static(scripted.body.as_bytes())));
        *response.status_mut() = http::StatusCode::from_u16(scripted.status)
            .unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
        if let Some(secs) = scripted.retry_after {
            response
                .headers_mut()
                .insert("retry-after", http::HeaderValue::from(secs));
        }
        return response;
    }
    let (status, reply) = match serde_json::from_slice::<Value>(body) {
        Err(_) => (400, "invalid_payload"),
        Ok(payload) => match check_slack_limits(&payload) {
            Ok(()) => {
                shared.accepted.push(payload);
                (200, "ok")
            }
            Err(reason) => {
                shared.rejected.push(reason);
                (400, "invalid_blocks")
            }
        },
    };
    let mut response = hyper::Response::new(Full::new(Bytes::from_static(reply.as_bytes())));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::BAD_REQUEST);
    response
}

fn chars(value: &Value) -> usize {
    value.as_str().map_or(0, |s| s.chars().count())
}

/// Slack's documented limits for webhook messages; the first violation found, if any.
pub fn check_slack_limits(payload: &Value) -> Result<(), String> {
    let text = payload.get("text");
    let attachments = payload.get("attachments").and_then(Value::as_array);
    let top_blocks = payload.get("blocks").and_then(Value::as_array);
    if text.is_none_or(|t| chars(t) == 0) && attachments.is_none() && top_blocks.is_none() {
        return Err("no_text: a message needs text, blocks or attachments".into());
    }
    if text.is_some_and(|t| chars(t) > 40_000) {
        return Err("text over 40,000 characters".into());
    }
    if attachments.is_some_and(|a| a.len() > 100) {
        return Err("too_many_attachments".into());
    }
    let mut all_blocks: Vec<&Vec<Value>> = top_blocks.into_iter().collect();
    all_blocks.extend(
        attachments
            .into_iter()
            .flatten()
            .filter_map(|a| a.get("blocks").and_then(Value::as_array)),
    );
    for blocks in all_blocks {
        if blocks.len() > 50 {
            return Err(format!("{} blocks (max 50)", blocks.len()));
        }
        for block in blocks {
            check_block(block)?;
        }
    }
    Ok(())
}

fn check_block(block: &Value) -> Result<(), String> {
    let kind = block.get("type").and_then(Value::as_str).unwrap_or("");
    match kind {
        "header" => {
            let text = &block["text"];
            if text["type"] != "plain_text" {
                return Err("header text must be plain_text".into());
            }
            if chars(&text["text"]) > 150 {
                return Err(format!(
                    "header text {} characters (max 150)",
                    chars(&text["text"])
                ));
            }
        }
        "section" => {
            let text = block.get("text");
            let fields = block.get("fields").and_then(Value::as_array);
            if text.is_none() && fields.is_none() {
                return Err("section needs text or fields".into());
            }
            if let Some(text) = text {
                let n = chars(&text["text"]);
                if n == 0 || n > 3_000 {
                    return Err(format!("section text {n} characters (must be 1-3000)"));
                }
            }
            if let Some(fields) = fields {
                if fields.len() > 10 {
                    return Err(format!("{} fields (max 10)", fields.len()));
                }
                if let Some(long) = fields.iter().find(|f| chars(&f["text"]) > 2_000) {
                    return Err(format!(
                        "field of {} characters (max 2000)",
                        chars(&long["text"])
                    ));
                }
            }
        }
        "context" => {
            let elements = block
                .get("elements")
                .and_then(Value::as_array)
                .map_or(0, Vec::len);
            if elements == 0 || elements > 10 {
                return Err(format!("context with {elements} elements (must be 1-10)"));
            }
        }
        "divider" | "actions" | "image" | "rich_text" | "markdown" => {}
        other => return Err(format!("unknown block type '{other}'")),
    }
    if block.get("block_id").is_some_and(|id| chars(id) > 255) {
        return Err("block_id over 255 characters".into());
    }
    Ok(())
}
