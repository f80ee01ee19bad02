//! HTTP clients for the two APIs the command line talks to: the ping API (`jobwatch run`) and
//! the admin API (`jobwatch jobs`, `jobwatch status`). Failures become messages that say what
//! to do next (unreachable URL, wrong key, unknown job), and the same code works against
//! `jobwatch serve` and a deployed stack, since both answer the same HTTP surface.

use std::future::Future;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use jobwatch_core::{JobDoc, Run};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use serde_json::Value;
use tokio::time::Instant;

pub const DEFAULT_URL: &str = "http://127.0.0.1:8000";
/// What the ping API keeps when it does not say otherwise (its `Ping-Body-Limit` header).
pub const DEFAULT_PING_BODY_LIMIT: usize = 10_000;
/// Each single request gives up after this long; retries stay within their caller's budget.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(5);
const ADMIN_TIMEOUT: Duration = Duration::from_secs(15);
/// Admin calls are retried this often on network errors and 5xx (the server answers 503 on
/// transient storage contention).
const ADMIN_ATTEMPTS: u32 = 3;

/// Where the admin API is and how to authenticate, shared by `jobs` and `status`.
#[derive(Args, Debug, Clone)]
pub struct AdminOpts {
    /// Base URL of jobwatch: `jobwatch serve`'s address or the deployed stack's URL.
    #[arg(long, env = "JOBWATCH_URL", default_value = DEFAULT_URL, global = true)]
    pub url: String,
    /// Key for the admin API (the one `jobwatch serve` was given or printed).
    #[arg(long, env = "JOBWATCH_API_KEY", hide_env_values = true, global = true)]
    pub api_key: Option<String>,
}

/// Runs `future` to completion on a small runtime: the commands are short-lived and sequential.
pub fn block_on<F: Future>(future: F) -> Result<F::Output> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    Ok(runtime.block_on(future))
}

/// Checks and normalises a base URL: `http(s)://host[:port][/prefix]`, without trailing `/`.
pub fn base_url(url: &str) -> Result<String> {
    let trimmed = url.trim().trim_end_matches('/');
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| {
        anyhow!(
            "invalid jobwatch URL '{trimmed}' ({e}): give the server's base URL, e.g. {DEFAULT_URL}, with --url or JOBWATCH_URL"
        )
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        bail!(
            "invalid jobwatch URL '{trimmed}': it must start with http:// or https://, e.g. {DEFAULT_URL}"
        );
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        bail!(
            "invalid jobwatch URL '{trimmed}': give the base URL only, without ?query or #fragment"
        );
    }
    Ok(trimmed.to_string())
}

/// Percent-encodes one path segment (keys are usually URL-safe already; this keeps odd ones
/// from changing the path).
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The most useful line of a request error: the innermost cause (e.g. "Connection refused"),
/// which reqwest's own message ("error sending request") hides.
fn describe(error: &reqwest::Error) -> String {
    if error.is_timeout() {
        return "timed out".to_string();
    }
    let mut cause: &dyn std::error::Error = error;
    while let Some(source) = cause.source() {
        cause = source;
    }
    let text = cause.to_string();
    if text.is_empty() {
        error.to_string()
    } else {
        text
    }
}

/// A server's plain-text reason, on one line and not too long for a terminal.
/// A server's reason on one line, short enough for a terminal.
pub(crate) fn one_line(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text.lines().next().unwrap_or("").trim();
    let mut out: String = line.chars().take(200).collect();
    if out.len() < line.len() {
        out.push('…');
    }
    out
}

fn http_client() -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .connect_timeout(ATTEMPT_TIMEOUT)
        .user_agent(concat!("jobwatch/", env!("CARGO_PKG_VERSION")))
        .build()
        .context("setting up the HTTP client")
}

/// Backoff before retry `attempt` (0-based): 250 ms doubling, at most 4 s.
fn backoff(attempt: u32) -> Duration {
    Duration::from_millis(250u64.saturating_mul(1 << attempt.min(4)))
}

// ----------------------------------------------------------------------------------- ping API

/// What became of one ping.
#[derive(Debug)]
pub enum PingResult {
    /// Accepted; carries the server's `Ping-Body-Limit` when it sent one.
    Delivered { body_limit: Option<usize> },
    /// A 4xx: retrying would not help. `reason` is the server's one-line answer.
    Refused { status: u16, reason: String },
    /// Network errors or 5xx until the time budget ran out.
    Unreachable { error: String },
}

pub struct PingClient {
    http: reqwest::Client,
    base: String,
    key: String,
    /// This machine's name, sent with every ping so alerts say where the run ran.
    host: Option<String>,
}

/// This machine's host name (`None` if it has none the system will say).
pub fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its whole length, which is what we pass.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|b| *b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

impl PingClient {
    pub fn new(url: &str, key: &str) -> Result<PingClient> {
        Ok(PingClient {
            http: http_client()?,
            base: base_url(url)?,
            key: key.to_string(),
            host: hostname(),
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// Sends one ping (`suffix` is `start`, an exit status, ...), retrying network errors and
    /// 5xx with backoff until `budget` is spent. Never retries a 4xx. The same `rid` makes a
    /// retry that did reach the server count once.
    pub async fn ping(
        &self,
        slug: &str,
        suffix: Option<&str>,
        rid: &str,
        create: bool,
        body: Vec<u8>,
        budget: Duration,
    ) -> PingResult {
        let mut url = format!(
            "{}/ping/{}/{}",
            self.base,
            segment(&self.key),
            segment(slug)
        );
        if let Some(suffix) = suffix {
            url.push('/');
            url.push_str(suffix);
        }
        url.push_str("?rid=");
        url.push_str(rid);
        if create {
            url.push_str("&create=1");
        }
        let deadline = Instant::now() + budget;
        let mut last_error = String::from("no attempt was made (the time budget is zero)");
        for attempt in 0u32.. {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining < Duration::from_millis(20) {
                break;
            }
            let mut request = self.http.post(&url).timeout(remaining.min(ATTEMPT_TIMEOUT));
            if let Some(host) = &self.host {
                request = request.header(jobwatch_api::HOST_HEADER, host);
            }
            let sent = request.body(body.clone()).send().await;
            match sent {
                Ok(response) => {
                    let status = response.status();
                    let body_limit = response
                        .headers()
                        .get("ping-body-limit")
                        .and_then(|v| v.to_str().ok())
                        .and_then(|v| v.trim().parse::<usize>().ok());
                    let text = response.bytes().await.unwrap_or_default();
                    if status.is_success() {
                        return PingResult::Delivered { body_limit };
                    }
                    if status.is_client_error() {
                        return PingResult::Refused {
                            status: status.as_u16(),
                            reason: one_line(&text),
                        };
                    }
                    last_error = format!("the server answered {status}: {}", one_line(&text));
                }
                Err(e) => last_error = describe(&e),
            }
            let pause = backoff(attempt).min(deadline.saturating_duration_since(Instant::now()));
            tokio::time::sleep(pause).await;
        }
        PingResult::Unreachable { error: last_error }
    }
}

// ---------------------------------------------------------------------------------- admin API

/// A job as the admin API shows it; only the fields the command line reads.
#[derive(Debug, Clone, Deserialize)]
pub struct JobView {
    pub slug: String,
    pub status: String,
    #[serde(default)]
    pub schedule: Option<String>,
    #[serde(default)]
    pub tz: Option<String>,
    #[serde(default)]
    pub every: Option<String>,
    #[serde(default)]
    pub on_demand: bool,
    #[serde(default)]
    pub paused_until: Option<jiff::Timestamp>,
    #[serde(default)]
    pub next_expected_at: Option<jiff::Timestamp>,
    /// When the server next checks the job (a missed slot, a timeout, a reminder).
    #[serde(default)]
    pub next_deadline: Option<jiff::Timestamp>,
    #[serde(default)]
    pub good_runs_in_a_row: u32,
    #[serde(default = "one")]
    pub recovery_threshold: u32,
    /// The whole document, for the settings and for `--json`.
    #[serde(skip)]
    pub raw: Value,
}

fn one() -> u32 {
    1
}

impl JobView {
    fn from_value(value: Value) -> Result<JobView> {
        let mut view: JobView = serde_json::from_value(value.clone())
            .context("the server's job document is not what this jobwatch expects")?;
        view.raw = value;
        Ok(view)
    }

    /// The zone a job's times are shown in: its cron schedule's, else UTC.
    pub fn zone_name(&self) -> &str {
        match (&self.schedule, &self.tz) {
            (Some(_), Some(tz)) => tz,
            _ => "UTC",
        }
    }

    /// `0 3 * * * Europe/Berlin`, `every 15m` or `on demand`.
    pub fn schedule_text(&self) -> String {
        match (&self.schedule, &self.every) {
            (Some(expr), _) => format!("{expr} {}", self.tz.as_deref().unwrap_or("UTC")),
            (None, Some(every)) => format!("every {every}"),
            (None, None) if self.on_demand => jobwatch_core::job::ON_DEMAND.to_string(),
            (None, None) => "-".to_string(),
        }
    }
}

pub struct AdminClient {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl AdminClient {
    pub fn new(opts: &AdminOpts) -> Result<AdminClient> {
        let key = opts
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                anyhow!(
                    "no API key: pass --api-key or set JOBWATCH_API_KEY to the key jobwatch was started with"
                )
            })?;
        Ok(AdminClient {
            http: http_client()?,
            base: base_url(&opts.url)?,
            key: key.to_string(),
        })
    }

    /// One admin request, retried on network errors and 5xx; any other non-2xx becomes an
    /// error that says what to do. `slug` names the job for a 404.
    async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
        slug: Option<&str>,
    ) -> Result<(StatusCode, bytes::Bytes)> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            let mut request = self
                .http
                .request(method.clone(), &url)
                .timeout(ADMIN_TIMEOUT)
                .bearer_auth(&self.key);
            if let Some(body) = &body {
                request = request
                    .header(reqwest::header::CONTENT_TYPE, "application/json")
                    .body(body.clone());
            }
            let failure = match request.send().await {
                Ok(response) => {
                    let status = response.status();
                    let text = response.bytes().await.with_context(|| {
                        format!("reading the answer to {method} {url} from jobwatch")
                    })?;
                    if status.is_success() {
                        return Ok((status, text));
                    }
                    if !status.is_server_error() {
                        return Err(self.refusal(status, &text, path, slug));
                    }
                    format!(
                        "jobwatch at {} failed ({status}: {}); try again in a moment",
                        self.base,
                        one_line(&text)
                    )
                }
                Err(e) => format!(
                    "cannot reach jobwatch at {} ({}): is the server running there? Set --url or JOBWATCH_URL to its address",
                    self.base,
                    describe(&e)
                ),
            };
            attempt += 1;
            if attempt >= ADMIN_ATTEMPTS {
                bail!(failure);
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
    }

    fn refusal(
        &self,
        status: StatusCode,
        body: &[u8],
        path: &str,
        slug: Option<&str>,
    ) -> anyhow::Error {
        let reason = one_line(body);
        match (status, slug) {
            (StatusCode::UNAUTHORIZED, _) => anyhow!(
                "jobwatch at {} refused the API key ({reason}): pass --api-key or set JOBWATCH_API_KEY to the key the server was started with",
                self.base
            ),
            (StatusCode::NOT_FOUND, Some(slug)) if reason.starts_with("job ") => anyhow!(
                "job '{slug}' not found: `jobwatch jobs list` shows the jobs there are; declare it in your jobs file and run `jobwatch jobs apply`"
            ),
            (StatusCode::NOT_FOUND, Some(slug)) if reason.starts_with("run ") => {
                anyhow!("{reason}: `jobwatch runs {slug}` lists its latest runs")
            }
            (StatusCode::NOT_FOUND, _) => anyhow!(
                "{}{path} is not a jobwatch admin API (404 {reason}): is --url / JOBWATCH_URL the jobwatch base URL?",
                self.base
            ),
            _ => anyhow!("jobwatch refused the request ({status}): {reason}"),
        }
    }

    fn json(body: &[u8], what: &str) -> Result<Value> {
        serde_json::from_slice(body)
            .with_context(|| format!("jobwatch's answer to {what} is not the JSON expected"))
    }

    pub async fn list_jobs(&self) -> Result<Vec<JobView>> {
        let (_, body) = self.call(Method::GET, "/api/v1/jobs", None, None).await?;
        let value = Self::json(&body, "the job list")?;
        let jobs = match value.get("jobs") {
            Some(Value::Array(jobs)) => jobs.clone(),
            _ => bail!("jobwatch's job list has no `jobs` array"),
        };
        jobs.into_iter().map(JobView::from_value).collect()
    }

    /// Creates or updates a job; returns its view and whether it was created.
    pub async fn put_job(&self, slug: &str, doc: &JobDoc) -> Result<(JobView, bool)> {
        let body = serde_json::to_vec(doc).context("encoding the job definition")?;
        let (status, body) = self
            .call(
                Method::PUT,
                &format!("/api/v1/jobs/{}", segment(slug)),
                Some(body),
                Some(slug),
            )
            .await?;
        let view = JobView::from_value(Self::json(&body, "a job definition")?)?;
        Ok((view, status == StatusCode::CREATED))
    }

    pub async fn delete_job(&self, slug: &str) -> Result<()> {
        self.call(
            Method::DELETE,
            &format!("/api/v1/jobs/{}", segment(slug)),
            None,
            Some(slug),
        )
        .await?;
        Ok(())
    }

    /// Pauses a job; `body` is `{}` or `{"for": "2h"}` or `{"until": "<RFC 3339>"}`.
    pub async fn pause(&self, slug: &str, body: &Value) -> Result<JobView> {
        let (_, answer) = self
            .call(
                Method::POST,
                &format!("/api/v1/jobs/{}/pause", segment(slug)),
                Some(body.to_string().into_bytes()),
                Some(slug),
            )
            .await?;
        JobView::from_value(Self::json(&answer, "pause")?)
    }

    pub async fn resume(&self, slug: &str) -> Result<JobView> {
        let (_, answer) = self
            .call(
                Method::POST,
                &format!("/api/v1/jobs/{}/resume", segment(slug)),
                None,
                Some(slug),
            )
            .await?;
        JobView::from_value(Self::json(&answer, "resume")?)
    }

    pub async fn get_job(&self, slug: &str) -> Result<JobView> {
        let (_, body) = self
            .call(
                Method::GET,
                &format!("/api/v1/jobs/{}", segment(slug)),
                None,
                Some(slug),
            )
            .await?;
        JobView::from_value(Self::json(&body, "a job definition")?)
    }

    /// One run: the record that says how it went, with `records`, every record of the run.
    pub async fn run(&self, slug: &str, run_id: &str) -> Result<Value> {
        let path = format!("/api/v1/jobs/{}/runs/{}", segment(slug), segment(run_id));
        let (_, body) = self.call(Method::GET, &path, None, Some(slug)).await?;
        Self::json(&body, "a run")
    }

    /// The job's most recent runs, newest first.
    pub async fn runs(&self, slug: &str, limit: usize) -> Result<Vec<Run>> {
        let (_, body) = self
            .call(
                Method::GET,
                &format!("/api/v1/jobs/{}/runs?limit={limit}", segment(slug)),
                None,
                Some(slug),
            )
            .await?;
        let value = Self::json(&body, "the run history")?;
        let runs = value
            .get("runs")
            .cloned()
            .ok_or_else(|| anyhow!("jobwatch's run history has no `runs` array"))?;
        serde_json::from_value(runs)
            .context("jobwatch's run history is not what this jobwatch expects")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls_are_checked_and_normalised() {
        assert_eq!(
            base_url("http://127.0.0.1:8000/").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            base_url("https://abc.lambda-url.eu-west-1.on.aws/").unwrap(),
            "https://abc.lambda-url.eu-west-1.on.aws"
        );
        for bad in ["127.0.0.1:8000", "ftp://x", "http://x/?a=1", ""] {
            assert!(base_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn path_segments_are_escaped() {
        assert_eq!(segment("nightly-backup_2"), "nightly-backup_2");
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(0), Duration::from_millis(250));
        assert_eq!(backoff(2), Duration::from_secs(1));
        assert_eq!(backoff(10), Duration::from_secs(4));
    }
}
