//! `jobwatch-bench`: a closed-loop HTTP/1.1 load generator for `jobwatch serve`.
//!
//! It answers "how much can one local jobwatch server take, and how fast does it answer?":
//! pings per second, the latency of each ping, and (with `bench/serve.sh`) the server's CPU
//! time per ping and its memory. It is a measuring tool, not a test: CI does not run it, and
//! the figures it printed on one machine are recorded in `docs/performance.md`.
//!
//! It speaks HTTP/1.1 itself on raw `tokio::net::TcpStream`s with keep-alive (write a request,
//! read the status line and headers, read exactly `Content-Length` bytes of body), so what is
//! measured is the server and not an HTTP client library. Every connection is closed-loop: it
//! sends its next request only once the previous answer is in. A connection that fails (I/O
//! error, malformed answer) is counted as an error, dropped and reopened. Only plain `http://`
//! URLs are supported.
//!
//! - `setup` creates the jobs `bench-0` .. `bench-{N-1}` through the admin API.
//! - `ping` opens C connections for a fixed time. Each one takes its next job in turn (round
//!   robin over its own share of the jobs, so connections do not contend on one job while
//!   there are at least as many jobs as connections), sends `/start?rid=X` and then the success
//!   ping `?rid=X` with the same fresh rid, each carrying a `--body-bytes` body as the run's
//!   output, and records the latency of every request (write to last body byte; connecting is
//!   not included). The report gives the requests sent, the errors (non-200 answers, I/O
//!   errors and failed connections), the requests answered per second, and exact nearest-rank
//!   latency percentiles of the 200 answers from all recorded samples.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Parser, Subcommand};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, sleep_until, timeout, timeout_at};

/// Longest `ping --duration` accepted; longer values are capped to it.
const MAX_DURATION: Duration = Duration::from_secs(120);
/// Largest response head (status line and headers) read before giving up on a connection.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest response body read; anything bigger is treated as a broken answer.
const MAX_RESPONSE_BODY: usize = 16 * 1024 * 1024;
/// Largest ping body sent.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Time limit of each admin request during `setup`.
const SETUP_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause after a failed connection attempt, so a dead server is not hammered in a tight loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

#[derive(Parser)]
#[command(
    name = "jobwatch-bench",
    version,
    about = "Closed-loop HTTP/1.1 load generator for `jobwatch serve` (a measuring tool, not a test)",
    after_help = "Examples:
  jobwatch-bench setup --url http://127.0.0.1:8000 --api-key K --jobs 100
  jobwatch-bench ping --url http://127.0.0.1:8000 --ping-key P --jobs 100 --connections 16 --duration 10s --body-bytes 1024 --json

bench/serve.sh builds the server and this tool, starts a throwaway server and runs both."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    Setup(SetupArgs),
    Ping(PingArgs),
}

/// Create the jobs bench-0 .. bench-{N-1} through the admin API (PUT /api/v1/jobs/<slug>).
#[derive(Args)]
struct SetupArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8000 (plain HTTP only).
    #[arg(long)]
    url: BaseUrl,
    /// Admin API key, sent as `Authorization: Bearer <key>`.
    #[arg(long)]
    api_key: String,
    /// Number of jobs to create: bench-0 .. bench-{N-1}. Existing jobs are updated in place.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    jobs: u32,
    /// Period of each job: the `every` field of the job JSON.
    #[arg(long, default_value = "1h")]
    every: String,
}

/// Send start + success pings from C keep-alive connections for a fixed time and report
/// throughput and latency.
#[derive(Args)]
struct PingArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8000 (plain HTTP only).
    #[arg(long)]
    url: BaseUrl,
    /// Ping key, the first path segment of /ping/<ping-key>/<slug>.
    #[arg(long)]
    ping_key: String,
    /// Number of jobs to ping, bench-0 .. bench-{N-1} (create them first with `setup`).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    jobs: u32,
    /// Concurrent connections, each with one request in flight at a time.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    connections: u32,
    /// How long to send for, e.g. 500ms, 10s, 1m (at most 120s). Requests still in flight at
    /// the end are abandoned and not counted.
    #[arg(long, default_value = "10s")]
    duration: BenchDuration,
    /// Size in bytes of the body of every ping (the run's output).
    #[arg(long, default_value_t = 1024)]
    body_bytes: usize,
    /// Worker threads of the load generator itself. One is plenty for a few dozen
    /// connections and leaves the other cores to the server.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    threads: u32,
    /// Print the report as one JSON object on stdout instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Ping(args) => args.threads,
        Command::Setup(_) => 1,
    };
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads as usize)
            .enable_all()
            .build()
    }
    .context("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Setup(args) => setup(args).await,
            Command::Ping(args) => ping(args).await,
        }
    })
}

// ---------------------------------------------------------------------------------------------
// Command-line values

/// A plain `http://host[:port][/prefix]` URL.
#[derive(Clone, Debug)]
struct BaseUrl {
    /// `host[:port]` as given: the Host header.
    authority: String,
    /// `host:port` to connect to (port 80 when none is given).
    connect_to: String,
    /// Path prefix without a trailing slash ("" for none).
    prefix: String,
}

impl FromStr for BaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<BaseUrl, String> {
        let s = s.trim();
        let rest = s
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &s[7..])
            .ok_or_else(|| format!("'{s}' is not an http:// URL (https is not supported)"))?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("'{s}' has no usable host"));
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "'{s}' has a query or fragment; give only the base URL"
            ));
        }
        let after_brackets = authority.rsplit(']').next().unwrap_or(authority);
        let connect_to = if after_brackets.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(BaseUrl {
            authority: authority.to_string(),
            connect_to,
            prefix: path.trim_end_matches('/').to_string(),
        })
    }
}

impl BaseUrl {
    /// Resolves the address once, so reconnects do not measure name resolution.
    async fn resolve(&self) -> Result<SocketAddr> {
        tokio::net::lookup_host(self.connect_to.as_str())
            .await
            .with_context(|| format!("resolving {}", self.connect_to))?
            .next()
            .ok_or_else(|| anyhow!("{} resolves to no address", self.connect_to))
    }
}

/// A duration such as `500ms`, `10s`, `1.5s` or `2m`.
#[derive(Clone, Copy, Debug)]
struct BenchDuration(Duration);

impl FromStr for BenchDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<BenchDuration, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("'{s}' is not a duration like 500ms, 10s or 2m"))?;
        let seconds = match unit.trim() {
            "ms" => number / 1000.0,
            "s" | "" => number,
            "m" | "min" => number * 60.0,
            other => return Err(format!("unknown duration unit '{other}' (use ms, s or m)")),
        };
        if !seconds.is_finite() || seconds <= 0.0 {
            return Err(format!("'{s}' must be a positive duration"));
        }
        // Anything above the cap is capped later, so the conversion cannot overflow.
        Ok(BenchDuration(Duration::from_secs_f64(
            seconds.min(MAX_DURATION.as_secs_f64() * 2.0),
        )))
    }
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// A minimal HTTP/1.1 client connection

/// One keep-alive connection.
struct Conn {
    stream: TcpStream,
    /// Bytes read from the socket and not consumed yet.
    buf: Vec<u8>,
}

struct Response {
    status: u16,
    body: Vec<u8>,
    /// The server will close the connection after this response.
    close: bool,
}

impl Conn {
    async fn connect(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Writes one complete request and reads its response: the head, then exactly
    /// `Content-Length` bytes of body.
    async fn exchange(&mut self, request: &[u8]) -> Result<Response> {
        self.stream
            .write_all(request)
            .await
            .context("writing the request")?;
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            if self.buf.len() > MAX_HEAD_BYTES {
                bail!("response head longer than {MAX_HEAD_BYTES} bytes");
            }
            self.fill().await?;
        };
        let head = parse_head(&self.buf[..head_end])?;
        let end = head_end + head.content_length;
        while self.buf.len() < end {
            self.buf.reserve(end - self.buf.len());
            self.fill().await?;
        }
        let body = self.buf[head_end..end].to_vec();
        self.buf.drain(..end);
        Ok(Response {
            status: head.status,
            body,
            close: head.close,
        })
    }

    async fn fill(&mut self) -> Result<()> {
        let n = self
            .stream
            .read_buf(&mut self.buf)
            .await
            .context("reading the response")?;
        if n == 0 {
            bail!("the server closed the connection mid-response");
        }
        Ok(())
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

struct Head {
    status: u16,
    content_length: usize,
    close: bool,
}

fn parse_head(head: &[u8]) -> Result<Head> {
    let head = std::str::from_utf8(head).context("response head is not UTF-8")?;
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let mut parts = status_line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    let status: u16 = parts
        .next()
        .and_then(|code| code.parse().ok())
        .filter(|code| (100..600).contains(code))
        .ok_or_else(|| anyhow!("malformed status line '{status_line}'"))?;
    if !version.starts_with("HTTP/1.") {
        bail!("not an HTTP/1.x response: '{status_line}'");
    }
    let mut close = version == "HTTP/1.0";
    let mut content_length: Option<usize> = None;
    for line in lines.filter(|l| !l.is_empty()) {
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| anyhow!("malformed header line '{line}'"))?;
        let value = value.trim();
        if name.eq_ignore_ascii_case("content-length") {
            let n: usize = value
                .parse()
                .map_err(|_| anyhow!("malformed Content-Length '{value}'"))?;
            if content_length.is_some_and(|seen| seen != n) {
                bail!("conflicting Content-Length headers");
            }
            content_length = Some(n);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            bail!("Transfer-Encoding '{value}' is not supported (expected Content-Length)");
        } else if name.eq_ignore_ascii_case("connection") {
            for token in value.split(',').map(str::trim) {
                if token.eq_ignore_ascii_case("close") {
                    close = true;
                } else if token.eq_ignore_ascii_case("keep-alive") {
                    close = false;
                }
            }
        }
    }
    let content_length = match content_length {
        Some(n) if n > MAX_RESPONSE_BODY => bail!("response body of {n} bytes is too large"),
        Some(n) => n,
        None if status == 204 || status == 304 || status < 200 => 0,
        None => bail!("response without Content-Length (status {status})"),
    };
    Ok(Head {
        status,
        content_length,
        close,
    })
}

/// Appends a complete request (head and body) to `out`.
fn build_request(
    out: &mut Vec<u8>,
    method: &str,
    path: &str,
    host: &str,
    extra_headers: &str,
    content_type: &str,
    body: &[u8],
) {
    out.clear();
    let mut head = String::with_capacity(256);
    let _ = write!(
        head,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: jobwatch-bench\r\n{extra_headers}\
         Content-Type: {content_type}\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(body);
}

/// A short, printable excerpt of a response body for error messages.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}...", &text[..i]),
        None => text.to_string(),
    }
}

// ---------------------------------------------------------------------------------------------
// setup

async fn setup(args: SetupArgs) -> Result<()> {
    let addr = args.url.resolve().await?;
    let auth = format!("Authorization: Bearer {}\r\n", args.api_key.trim());
    let body = json!({ "every": args.every }).to_string();
    let mut conn: Option<Conn> = None;
    let mut request = Vec::new();
    let (mut created, mut existing) = (0u32, 0u32);
    for i in 0..args.jobs {
        let slug = format!("bench-{i}");
        let path = format!("{}/api/v1/jobs/{slug}", args.url.prefix);
        build_request(
            &mut request,
            "PUT",
            &path,
            &args.url.authority,
            &auth,
            "application/json",
            body.as_bytes(),
        );
        let mut c = match conn.take() {
            Some(c) => c,
            None => timeout(SETUP_REQUEST_TIMEOUT, Conn::connect(addr))
                .await
                .map_err(|_| anyhow!("connecting to {addr} timed out"))?
                .with_context(|| format!("connecting to {addr}"))?,
        };
        let response = timeout(SETUP_REQUEST_TIMEOUT, c.exchange(&request))
            .await
            .map_err(|_| anyhow!("PUT {path} timed out"))?
            .with_context(|| format!("PUT {path}"))?;
        match response.status {
            201 => created += 1,
            200 => existing += 1,
            status => bail!("PUT {path} answered {status}: {}", excerpt(&response.body)),
        }
        if !response.close {
            conn = Some(c);
        }
    }
    println!(
        "jobs bench-0 .. bench-{}: {created} created, {existing} already existed",
        args.jobs - 1
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// ping

/// What every connection shares.
struct Plan {
    addr: SocketAddr,
    authority: String,
    /// `<prefix>/ping/<key>/<slug>` of every job.
    job_paths: Vec<String>,
    connections: usize,
    body: Vec<u8>,
    /// Random high half of every rid (holds the UUID version nibble); the low half is the
    /// connection number and a counter, so rids are unique within and across runs.
    rid_high: u128,
}

impl Plan {
    /// Indices of the jobs connection `index` pings in turn: every `connections`-th job, or a
    /// shared one when there are more connections than jobs.
    fn jobs_of(&self, index: usize) -> Vec<usize> {
        let n = self.job_paths.len();
        if index < n {
            (index..n).step_by(self.connections).collect()
        } else {
            vec![index % n]
        }
    }

    fn rid(&self, index: usize, seq: u64) -> uuid::Uuid {
        // Variant bits 10 on top of the low half, then 14 bits of connection, 44 of counter.
        let low =
            0x8000_0000_0000_0000_u64 | ((index as u64 & 0x3fff) << 44) | (seq & 0x0fff_ffff_ffff);
        uuid::Uuid::from_u128(self.rid_high | u128::from(low))
    }
}

#[derive(Default)]
struct Tally {
    /// Latencies of the requests answered 200, in nanoseconds.
    latencies: Vec<u64>,
    status_errors: u64,
    io_errors: u64,
    connections_opened: u64,
    first_error: Option<String>,
}

impl Tally {
    fn error(&mut self, io: bool, message: impl FnOnce() -> String) {
        if io {
            self.io_errors += 1;
        } else {
            self.status_errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }
}

async fn ping(args: PingArgs) -> Result<()> {
    if args.body_bytes > MAX_BODY_BYTES {
        bail!("--body-bytes is at most {MAX_BODY_BYTES}");
    }
    let key = args.ping_key.trim();
    if key.is_empty() {
        bail!("--ping-key is empty");
    }
    let mut duration = args.duration.0;
    if duration > MAX_DURATION {
        eprintln!("note: --duration capped at {} s", MAX_DURATION.as_secs());
        duration = MAX_DURATION;
    }
    let addr = args.url.resolve().await?;
    let key = encode_segment(key);
    let job_paths = (0..args.jobs)
        .map(|i| format!("{}/ping/{key}/bench-{i}", args.url.prefix))
        .collect();
    let line = b"jobwatch-bench: simulated job output, one line of a longer log\n";
    let body = line.iter().copied().cycle().take(args.body_bytes).collect();
    let rid_high = uuid::Uuid::new_v4().as_u128() & !u128::from(u64::MAX);
    let plan = Arc::new(Plan {
        addr,
        authority: args.url.authority.clone(),
        job_paths,
        connections: args.connections as usize,
        body,
        rid_high,
    });

    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..plan.connections)
        .map(|index| tokio::spawn(worker(Arc::clone(&plan), index, deadline)))
        .collect();
    let mut total = Tally::default();
    for handle in workers {
        let tally = handle.await.context("a connection task failed")?;
        total.latencies.extend_from_slice(&tally.latencies);
        total.status_errors += tally.status_errors;
        total.io_errors += tally.io_errors;
        total.connections_opened += tally.connections_opened;
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    let elapsed = started.elapsed().min(duration);

    let report = Report::new(&args, duration, elapsed, total);
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if let Some(first) = &report.first_error {
        eprintln!("first error: {first}");
    }
    if report.ok == 0 {
        bail!(
            "no ping succeeded; are the jobs set up (jobwatch-bench setup --jobs {}) and the ping key right?",
            args.jobs
        );
    }
    Ok(())
}

/// One closed-loop connection: start + success for its next job, until the deadline.
async fn worker(plan: Arc<Plan>, index: usize, deadline: Instant) -> Tally {
    let jobs = plan.jobs_of(index);
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    let mut request = Vec::with_capacity(plan.body.len() + 512);
    let mut path = String::with_capacity(256);
    'run: for (seq, job) in (0_u64..).zip(jobs.iter().copied().cycle()) {
        let rid = plan.rid(index, seq);
        for start in [true, false] {
            if Instant::now() >= deadline {
                break 'run;
            }
            if conn.is_none() {
                match timeout_at(deadline, Conn::connect(plan.addr)).await {
                    Err(_) => break 'run,
                    Ok(Ok(c)) => {
                        tally.connections_opened += 1;
                        conn = Some(c);
                    }
                    Ok(Err(e)) => {
                        tally.error(true, || format!("connecting to {}: {e}", plan.addr));
                        sleep_until(deadline.min(Instant::now() + RECONNECT_PAUSE)).await;
                        continue 'run;
                    }
                }
            }
            let Some(c) = conn.as_mut() else {
                continue 'run;
            };
            path.clear();
            let suffix = if start { "/start" } else { "" };
            let _ = write!(path, "{}{suffix}?rid={rid}", plan.job_paths[job]);
            build_request(
                &mut request,
                "POST",
                &path,
                &plan.authority,
                "",
                "text/plain",
                &plan.body,
            );
            let sent = Instant::now();
            match timeout_at(deadline, c.exchange(&request)).await {
                // Still in flight at the deadline: neither counted nor timed.
                Err(_) => break 'run,
                Ok(Ok(response)) => {
                    let latency = sent.elapsed();
                    if response.status == 200 {
                        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                        tally.latencies.push(nanos);
                    } else {
                        tally.error(false, || {
                            format!(
                                "POST {path} answered {}: {}",
                                response.status,
                                excerpt(&response.body)
                            )
                        });
                    }
                    if response.close {
                        conn = None;
                    }
                }
                Ok(Err(e)) => {
                    tally.error(true, || format!("POST {path}: {e:#}"));
                    conn = None;
                    // The pair is broken; go on with the next job on a new connection.
                    continue 'run;
                }
            }
        }
    }
    tally
}

struct Report {
    connections: u32,
    jobs: u32,
    body_bytes: usize,
    threads: u32,
    duration: Duration,
    elapsed: Duration,
    ok: u64,
    status_errors: u64,
    io_errors: u64,
    connections_opened: u64,
    /// p50, p90, p99 and max in nanoseconds, when anything succeeded.
    latency: Option<[u64; 4]>,
    first_error: Option<String>,
}

impl Report {
    fn new(args: &PingArgs, duration: Duration, elapsed: Duration, mut tally: Tally) -> Report {
        tally.latencies.sort_unstable();
        let samples = &tally.latencies;
        let latency = samples.last().map(|&max| {
            [
                percentile(samples, 500),
                percentile(samples, 900),
                percentile(samples, 990),
                max,
            ]
        });
        Report {
            connections: args.connections,
            jobs: args.jobs,
            body_bytes: args.body_bytes,
            threads: args.threads,
            duration,
            elapsed,
            ok: samples.len() as u64,
            status_errors: tally.status_errors,
            io_errors: tally.io_errors,
            connections_opened: tally.connections_opened,
            latency,
            first_error: tally.first_error,
        }
    }

    fn errors(&self) -> u64 {
        self.status_errors + self.io_errors
    }

    fn requests(&self) -> u64 {
        self.ok + self.errors()
    }

    /// Requests answered (any status) per second; failed connections and I/O errors are
    /// not throughput.
    fn requests_per_s(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            (self.ok + self.status_errors) as f64 / seconds
        } else {
            0.0
        }
    }

    fn to_json(&self) -> serde_json::Value {
        let ms = |i: usize| self.latency.map(|l| round3(l[i] as f64 / 1e6));
        json!({
            "connections": self.connections,
            "jobs": self.jobs,
            "body_bytes": self.body_bytes,
            "client_threads": self.threads,
            "duration_s": self.duration.as_secs_f64(),
            "elapsed_s": round3(self.elapsed.as_secs_f64()),
            "requests": self.requests(),
            "ok": self.ok,
            "errors": self.errors(),
            "errors_status": self.status_errors,
            "errors_io": self.io_errors,
            "connections_opened": self.connections_opened,
            "requests_per_s": round3(self.requests_per_s()),
            "latency_ms": {
                "p50": ms(0),
                "p90": ms(1),
                "p99": ms(2),
                "max": ms(3),
            },
        })
    }

    fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "jobwatch-bench ping: {} connections, {} jobs, {}-byte bodies, {:.2} s",
            self.connections,
            self.jobs,
            self.body_bytes,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  requests     {} (ok {}, errors {}: {} non-200, {} I/O)",
            self.requests(),
            self.ok,
            self.errors(),
            self.status_errors,
            self.io_errors
        );
        let _ = writeln!(
            out,
            "  throughput   {:.1} requests/s answered",
            self.requests_per_s()
        );
        match self.latency {
            Some([p50, p90, p99, max]) => {
                let ms = |n: u64| n as f64 / 1e6;
                let _ = writeln!(
                    out,
                    "  latency ms   p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
                    ms(p50),
                    ms(p90),
                    ms(p99),
                    ms(max)
                );
            }
            None => {
                let _ = writeln!(out, "  latency ms   (no successful request)");
            }
        }
        let _ = writeln!(out, "  connections  {} opened", self.connections_opened);
        out
    }
}

/// Exact nearest-rank percentile of sorted, non-empty `samples`; `permille` is 500 for p50.
fn percentile(samples: &[u64], permille: usize) -> u64 {
    let rank = (samples.len() * permille).div_ceil(1000).max(1);
    samples[rank.min(samples.len()) - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls() {
        let url: BaseUrl = "http://127.0.0.1:8000/".parse().expect("valid");
        assert_eq!(url.authority, "127.0.0.1:8000");
        assert_eq!(url.connect_to, "127.0.0.1:8000");
        assert_eq!(url.prefix, "");
        let url: BaseUrl = "HTTP://localhost/jw/".parse().expect("valid");
        assert_eq!(url.connect_to, "localhost:80");
        assert_eq!(url.prefix, "/jw");
        let url: BaseUrl = "http://[::1]".parse().expect("valid");
        assert_eq!(url.connect_to, "[::1]:80");
        assert!("https://example.com".parse::<BaseUrl>().is_err());
        assert!("http://".parse::<BaseUrl>().is_err());
        assert!("127.0.0.1:8000".parse::<BaseUrl>().is_err());
    }

    #[test]
    fn parses_durations() {
        let d = |s: &str| s.parse::<BenchDuration>().map(|d| d.0);
        assert_eq!(d("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(d("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(d("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(d("0s").is_err());
        assert!(d("ten").is_err());
        assert!(d("5h").is_err());
        assert!(d("1e999s").is_err());
    }

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 500), 50);
        assert_eq!(percentile(&samples, 900), 90);
        assert_eq!(percentile(&samples, 990), 99);
        assert_eq!(percentile(&[7], 990), 7);
        assert_eq!(percentile(&[1, 2, 3], 500), 2);
    }

    #[test]
    fn parses_response_heads() {
        let head = parse_head(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n").expect("valid");
        assert_eq!(
            (head.status, head.content_length, head.close),
            (200, 2, false)
        );
        let head =
            parse_head(b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\n")
                .expect("valid");
        assert_eq!(
            (head.status, head.content_length, head.close),
            (404, 9, true)
        );
        assert!(parse_head(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n").is_err());
        assert!(parse_head(b"HTTP/1.1 200 OK\r\n\r\n").is_err());
        assert!(parse_head(b"garbage\r\n\r\n").is_err());
    }

    #[test]
    fn rids_are_canonical_and_distinct() {
        let plan = Plan {
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            authority: String::new(),
            job_paths: (0..10).map(|i| format!("/ping/k/bench-{i}")).collect(),
            connections: 4,
            body: Vec::new(),
            rid_high: uuid::Uuid::new_v4().as_u128() & !u128::from(u64::MAX),
        };
        let a = plan.rid(0, 0);
        let b = plan.rid(1, 0);
        let c = plan.rid(0, 1);
        assert!(a != b && a != c && b != c);
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        let text = a.to_string();
        assert_eq!(uuid::Uuid::try_parse(&text).ok(), Some(a));
        assert_eq!(plan.jobs_of(1), vec![1, 5, 9]);
        assert_eq!(plan.jobs_of(3), vec![3, 7]);
        let crowded = Plan {
            connections: 16,
            ..plan
        };
        assert_eq!(crowded.jobs_of(12), vec![2]);
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode_segment("abc-DEF_1.~"), "abc-DEF_1.~");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
