//! Running the real Lambda executables in tests: a test-side Lambda Runtime API (the HTTP
//! interface the Lambda service offers a function's process) that hands events to the binary
//! and collects its answers, and the process itself with its stdout (EMF lines) and stderr
//! (its log) captured.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio::sync::{Mutex as AsyncMutex, mpsc, oneshot};

/// What the function answered to one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Invocation {
    Response(Value),
    Error(Value),
}

impl Invocation {
    pub fn response(self) -> Value {
        match self {
            Invocation::Response(value) => value,
            Invocation::Error(error) => panic!("the invocation failed: {error}"),
        }
    }
}

type Pending = Arc<Mutex<HashMap<String, oneshot::Sender<Invocation>>>>;
/// When the function first asked for an event: it is initialised and ready.
type FirstPoll = Arc<Mutex<Option<std::time::Instant>>>;
/// What the function reported to `/runtime/init/error`.
type InitErrors = Arc<Mutex<Vec<Value>>>;

pub struct RuntimeApi {
    /// `host:port`, for `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    events: mpsc::UnboundedSender<(String, Value)>,
    pending: Pending,
    first_poll: FirstPoll,
    init_errors: InitErrors,
    next_id: std::sync::atomic::AtomicU64,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    pub async fn start() -> RuntimeApi {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind runtime API");
        let address = listener.local_addr().expect("address").to_string();
        let (events, queue) = mpsc::unbounded_channel::<(String, Value)>();
        let queue = Arc::new(AsyncMutex::new(queue));
        let pending: Pending = Arc::default();
        let first_poll: FirstPoll = Arc::default();
        let init_errors: InitErrors = Arc::default();
        let state = (
            Arc::clone(&queue),
            Arc::clone(&pending),
            Arc::clone(&first_poll),
            Arc::clone(&init_errors),
        );
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (queue, pending, first, init) = (
                    Arc::clone(&state.0),
                    Arc::clone(&state.1),
                    Arc::clone(&state.2),
                    Arc::clone(&state.3),
                );
                tokio::spawn(async move {
                    let service =
                        service_fn(move |request: hyper::Request<hyper::body::Incoming>| {
                            let (queue, pending, first, init) = (
                                Arc::clone(&queue),
                                Arc::clone(&pending),
                                Arc::clone(&first),
                                Arc::clone(&init),
                            );
                            async move {
                                Ok::<_, Infallible>(
                                    route(request, &queue, &pending, &first, &init).await,
                                )
                            }
                        });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        RuntimeApi {
            address,
            events,
            pending,
            first_poll,
            init_errors,
            next_id: 0.into(),
            task,
        }
    }

    /// When the function first asked for an event (waiting up to 30 s for it).
    pub async fn first_poll(&self) -> std::time::Instant {
        for _ in 0..30_000 {
            if let Some(at) = *self.first_poll.lock().unwrap_or_else(|p| p.into_inner()) {
                return at;
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        panic!("the function never asked for an event");
    }

    /// What the function reported to `/runtime/init/error` (it could not start), waiting up
    /// to `wait` for a first report.
    pub async fn init_errors(&self, wait: Duration) -> Vec<Value> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            let reported = self
                .init_errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .clone();
            if !reported.is_empty() || std::time::Instant::now() >= deadline {
                return reported;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// Delivers `event` to the function and waits (bounded) for its answer.
    pub async fn invoke(&self, event: Value) -> Invocation {
        let id = format!(
            "req-{}",
            self.next_id
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        let (answer, answered) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(id.clone(), answer);
        self.events.send((id, event)).expect("runtime API running");
        tokio::time::timeout(Duration::from_secs(30), answered)
            .await
            .expect("the function answered within 30 s")
            .expect("answer channel")
    }
}

fn reply(
    status: u16,
    body: Bytes,
    headers: &[(&'static str, String)],
) -> hyper::Response<Full<Bytes>> {
    let mut response = hyper::Response::new(Full::new(body));
    *response.status_mut() =
        http::StatusCode::from_u16(status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in headers {
        if let Ok(value) = http::HeaderValue::from_str(value) {
            response.headers_mut().insert(*name, value);
        }
    }
    response
}

async fn route(
    request: hyper::Request<hyper::body::Incoming>,
    queue: &AsyncMutex<mpsc::UnboundedReceiver<(String, Value)>>,
    pending: &Pending,
    first_poll: &FirstPoll,
    init_errors: &InitErrors,
) -> hyper::Response<Full<Bytes>> {
    let path = request.uri().path().to_string();
    if path == "/2018-06-01/runtime/invocation/next" {
        first_poll
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_or_insert_with(std::time::Instant::now);
    }
    let body = request
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    if path == "/2018-06-01/runtime/invocation/next" {
        let Some((id, event)) = queue.lock().await.recv().await else {
            return reply(500, Bytes::from_static(b"shutting down"), &[]);
        };
        let deadline = jiff::Timestamp::now().as_millisecond() + 30_000;
        return reply(
            200,
            Bytes::from(event.to_string()),
            &[
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:jobwatch-test".into(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-00000000-000000000000000000000000;Sampled=0".into(),
                ),
                ("content-type", "application/json".into()),
            ],
        );
    }
    let parts: Vec<&str> = path
        .trim_start_matches("/2018-06-01/runtime/")
        .split('/')
        .collect();
    match parts.as_slice() {
        ["invocation", id, outcome @ ("response" | "error")] => {
            let value = serde_json::from_slice(&body)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
            let invocation = if *outcome == "response" {
                Invocation::Response(value)
            } else {
                Invocation::Error(value)
            };
            if let Some(answer) = pending
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .remove(*id)
            {
                let _ = answer.send(invocation);
            }
            reply(202, Bytes::from_static(b"{\"status\":\"OK\"}"), &[])
        }
        ["init", "error"] => {
            eprintln!("function init error: {}", String::from_utf8_lossy(&body));
            init_errors
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
            reply(202, Bytes::from_static(b"{\"status\":\"OK\"}"), &[])
        }
        _ => reply(404, Bytes::from_static(b"unknown runtime API path"), &[]),
    }
}

/// A Lambda function's process, started as the Lambda service starts it.
pub struct LambdaProcess {
    child: Child,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
}

impl Drop for LambdaProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl LambdaProcess {
    /// Starts `binary` against `runtime`, with AWS pointed at `aws_endpoint` and `env` added.
    pub fn spawn(
        binary: &Path,
        runtime: &RuntimeApi,
        aws_endpoint: &str,
        env: &[(&str, &str)],
    ) -> LambdaProcess {
        let mut command = Command::new(binary);
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
            .env("AWS_LAMBDA_FUNCTION_NAME", "jobwatch-test")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "/aws/lambda/jobwatch-test")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "test")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_ENDPOINT_URL", aws_endpoint)
            .env("JOBWATCH_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (name, value) in env {
            command.env(name, value);
        }
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", binary.display()));
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stdout);
        let pipe = child.stdout.take().expect("stdout");
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        // Kept, and passed on to the test process's own stderr as before (not to the test
        // harness's capture, which only takes `eprintln!`).
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let lines = Arc::clone(&stderr);
        let pipe = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            use std::io::Write as _;
            for line in BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = writeln!(std::io::stderr(), "{line}");
                lines.lock().unwrap_or_else(|p| p.into_inner()).push(line);
            }
        });
        LambdaProcess {
            child,
            stdout,
            stderr,
        }
    }

    /// Lines the function wrote to stdout so far.
    pub fn stdout(&self) -> Vec<String> {
        self.stdout
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Lines the function wrote to stderr (its log, apart from the EMF lines) so far.
    pub fn stderr(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Peak resident memory so far (VmHWM), in KiB, on Linux.
    pub fn peak_rss_kib(&self) -> Option<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).ok()?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))?
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    }

    /// Whether the process is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

/// A Function URL event (payload format 2.0) as the Lambda service delivers it.
pub fn function_url_event(
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Value {
    use base64::Engine as _;
    let (path, query) = path_and_query
        .split_once('?')
        .unwrap_or((path_and_query, ""));
    let mut header_map = serde_json::Map::new();
    header_map.insert(
        "host".into(),
        "abcdefghijklmnop.lambda-url.us-east-1.on.aws".into(),
    );
    header_map.insert("user-agent".into(), "curl/8.5.0".into());
    for (name, value) in headers {
        header_map.insert(
            name.to_ascii_lowercase(),
            Value::String((*value).to_string()),
        );
    }
    let (body, base64) = match std::str::from_utf8(body) {
        Ok(text) => (Value::String(text.to_string()), false),
        Err(_) => (
            Value::String(base64::engine::general_purpose::STANDARD.encode(body)),
            true,
        ),
    };
    serde_json::json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": query,
        "headers": header_map,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnop",
            "domainName": "abcdefghijklmnop.lambda-url.us-east-1.on.aws",
            "domainPrefix": "abcdefghijklmnop",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "192.0.2.10", "userAgent": "curl/8.5.0"},
            "requestId": "00000000-0000-4000-8000-000000000000",
            "routeKey": "$default",
            "stage": "$default",
            "time": "15/Jan/2026:03:00:00 +0000",
            "timeEpoch": 1768446000000u64
        },
        "body": body,
        "isBase64Encoded": base64
    })
}

/// The path of a binary of another package of the workspace, for tests that run several
/// Lambda binaries (`CARGO_BIN_EXE_*` names only the binaries of the test's own package).
///
/// The binaries are built up front (`./scripts/test` does it), never here: a test that
/// built what it found missing could also run a binary older than the sources. So a missing
/// binary, or one older than a source file it was built from (per cargo's dep-info file
/// beside it), is a failure that names the command to run.
pub fn workspace_binary(name: &str) -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable in target/<profile>/deps");
    let release = profile_dir.file_name().is_some_and(|d| d == "release");
    let build = if release {
        "cargo build --workspace --bins --locked --release"
    } else {
        "cargo build --workspace --bins --locked"
    };
    let path = profile_dir.join(name);
    let Some(built) = modified(&path) else {
        panic!(
            "{} is missing: build the workspace's binaries first with `{build}` (./scripts/test does)",
            path.display()
        );
    };
    if let Some(source) = newer_source(&path.with_extension("d"), built) {
        panic!(
            "{} is older than {}: rebuild the workspace's binaries with `{build}` (./scripts/test does)",
            path.display(),
            source.display()
        );
    }
    path
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// A source file listed in the dep-info file `dep_info` (`<binary>: <source> <source> ...`,
/// spaces in paths escaped) that changed after `built`, if any.
fn newer_source(dep_info: &Path, built: std::time::SystemTime) -> Option<std::path::PathBuf> {
    let text = std::fs::read_to_string(dep_info).ok()?;
    let (_, sources) = text.lines().next()?.split_once(": ")?;
    let escaped_space = "\u{0}";
    sources
        .replace("\\ ", escaped_space)
        .split_whitespace()
        .map(|source| std::path::PathBuf::from(source.replace(escaped_space, " ")))
        .find(|source| modified(source).is_some_and(|changed| changed > built))
}
