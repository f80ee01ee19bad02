//! `jobwatch doctor`: the check a team runs after `sam deploy` (and in CI), hop by hop: the
//! URL answers and is jobwatch (and which version), the API and ping keys work, the
//! environment is the one expected, then a test alert travels the whole path to Slack
//! (ingest -> topic -> formatter -> Slack; locally serve -> Slack) and its delivery record
//! is awaited. One line per hop, `✓`, `✗` (with what to do) or `-` (skipped after a failure);
//! exit status 0 only when the test alert was delivered.

mod probe;

use std::process::ExitCode;
use std::time::{Duration as StdDuration, Instant};

use clap::Args;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::client::{DEFAULT_URL, base_url, block_on, segment};
use probe::{Answer, Probe};

/// Exit status when a hop failed (the test alert was not delivered).
const EXIT_FAILED: u8 = 1;
/// Exit status for a usage error (an invalid URL or option).
const EXIT_USAGE: u8 = 2;
/// How often the delivery record is read while waiting.
const POLL: StdDuration = StdDuration::from_millis(250);

#[derive(Args, Debug)]
#[command(
    about = "Check a deployment hop by hop and send a test alert through to Slack",
    after_help = "Examples:
  jobwatch doctor                                   # against JOBWATCH_URL with the keys in the environment
  jobwatch doctor --env prod --timeout 2m           # and check it is the prod stack
  jobwatch doctor --json                            # for CI

Exit status: 0 when the test alert was delivered to Slack; 1 when a hop failed (the
failing hop is named, with what to do); 2 for a usage error."
)]
pub struct DoctorArgs {
    /// Base URL of jobwatch: `jobwatch serve`'s address or the stack's IngestUrl output.
    #[arg(long, env = "JOBWATCH_URL", default_value = DEFAULT_URL)]
    url: String,
    /// Key for the admin API.
    #[arg(long, env = "JOBWATCH_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Key for the ping API.
    #[arg(long, env = "JOBWATCH_PING_KEY", hide_env_values = true)]
    ping_key: Option<String>,
    /// The environment the server must be (`dev`, `staging`, `prod`, ...).
    #[arg(long)]
    env: Option<String>,
    /// How long to wait for the test alert's delivery.
    #[arg(long, default_value = "60s")]
    timeout: jobwatch_core::Duration,
    /// One JSON document instead of lines.
    #[arg(long)]
    json: bool,
}

/// How a hop went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    Ok,
    /// Fine, but worth a look (e.g. a version other than this CLI's).
    Warn,
    Failed,
    /// Not tried: an earlier hop failed.
    Skipped,
}

impl Mark {
    fn symbol(self) -> &'static str {
        match self {
            Mark::Ok => "✓",
            Mark::Warn => "!",
            Mark::Failed => "✗",
            Mark::Skipped => "-",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Mark::Ok => "ok",
            Mark::Warn => "warning",
            Mark::Failed => "failed",
            Mark::Skipped => "skipped",
        }
    }
}

#[derive(Debug, Clone)]
struct Hop {
    name: &'static str,
    mark: Mark,
    detail: String,
    /// What to do about a failure or warning.
    fix: Option<String>,
}

/// The hops in order, printed as they are checked (unless `--json`).
struct Report {
    hops: Vec<Hop>,
    json: bool,
}

impl Report {
    fn add(
        &mut self,
        name: &'static str,
        mark: Mark,
        detail: impl Into<String>,
        fix: Option<String>,
    ) {
        let hop = Hop {
            name,
            mark,
            detail: detail.into(),
            fix,
        };
        if !self.json {
            println!("{} {:<12} {}", hop.mark.symbol(), hop.name, hop.detail);
            if let Some(fix) = &hop.fix {
                println!("  -> {fix}");
            }
        }
        self.hops.push(hop);
    }

    fn ok(&mut self, name: &'static str, detail: impl Into<String>) {
        self.add(name, Mark::Ok, detail, None);
    }

    fn failed(&mut self, name: &'static str, detail: impl Into<String>, fix: impl Into<String>) {
        self.add(name, Mark::Failed, detail, Some(fix.into()));
    }

    fn skip(&mut self, names: &[&'static str]) {
        for name in names {
            self.add(name, Mark::Skipped, "not checked", None);
        }
    }

    fn failed_any(&self) -> bool {
        self.hops.iter().any(|h| h.mark == Mark::Failed)
    }
}

/// Hops after the keys, skipped when an earlier one fails.
const LATER: [&str; 4] = ["environment", "slack", "test alert", "delivery"];

pub fn run(args: DoctorArgs) -> ExitCode {
    let base = match base_url(&args.url) {
        Ok(base) => base,
        Err(e) => {
            eprintln!("jobwatch doctor: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let key = |k: &Option<String>| {
        k.as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .map(str::to_string)
    };
    let probe = match Probe::new(base.clone(), key(&args.api_key)) {
        Ok(probe) => probe,
        Err(e) => {
            eprintln!("jobwatch doctor: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let mut report = Report {
        hops: Vec::new(),
        json: args.json,
    };
    if !args.json {
        println!("jobwatch doctor: checking {base}");
    }
    let record = match block_on(check(&probe, &args, key(&args.ping_key), &mut report)) {
        Ok(record) => record,
        Err(e) => {
            eprintln!("jobwatch doctor: {e:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let delivered = !report.failed_any()
        && record
            .as_ref()
            .is_some_and(|r| r.get("status").and_then(Value::as_str) == Some("delivered"));
    if args.json {
        let hops: Vec<Value> = report
            .hops
            .iter()
            .map(|h| json!({"hop": h.name, "status": h.mark.name(), "detail": h.detail, "fix": h.fix}))
            .collect();
        let doc = json!({"url": base, "delivered": delivered, "hops": hops, "test_alert": record});
        println!("{}", serde_json::to_string_pretty(&doc).unwrap_or_default());
    } else if delivered {
        println!("all hops passed: the test alert is in Slack");
    } else {
        println!(
            "the test alert was not delivered: fix the hop marked ✗ and run jobwatch doctor again"
        );
    }
    if delivered {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(EXIT_FAILED)
    }
}

/// Every hop in order; returns the test alert's last delivery record, if one was raised.
async fn check(
    probe: &Probe,
    args: &DoctorArgs,
    ping_key: Option<String>,
    report: &mut Report,
) -> Option<Value> {
    let base = &probe.base;
    let all_later = ["api key", "version", "ping key"]
        .into_iter()
        .chain(LATER)
        .collect::<Vec<_>>();
    // 1. The URL answers, and is jobwatch.
    let started = Instant::now();
    match probe.call(Method::GET, "/healthz", false).await {
        Answer::Status(StatusCode::OK, body) if body.trim() == "OK" => report.ok(
            "url",
            format!(
                "jobwatch answers at {base} ({} ms)",
                started.elapsed().as_millis()
            ),
        ),
        Answer::NoAnswer(why) => {
            report.failed(
                "url",
                format!("no answer from {base}: {why}"),
                "check --url / JOBWATCH_URL: `jobwatch serve`'s address, or the stack's IngestUrl output (`sam list stack-outputs`)",
            );
            report.skip(&all_later);
            return None;
        }
        other => {
            report.failed(
                "url",
                format!(
                    "{base} answers, but is not jobwatch: GET /healthz answered {}",
                    other.describe()
                ),
                "check --url / JOBWATCH_URL: give jobwatch's base URL, without a path",
            );
            report.skip(&all_later);
            return None;
        }
    }
    // 2. The API key, and what the server says of itself.
    let about = match &probe.api_key() {
        None => {
            report.failed(
                "api key",
                "no API key given",
                "pass --api-key or set JOBWATCH_API_KEY (in AWS: the last 32 characters of the KeysSecret, sam's KeysSecretArn output)",
            );
            None
        }
        Some(_) => match probe.call(Method::GET, "/api/v1/about", true).await {
            answer @ Answer::Status(StatusCode::OK, _) => {
                report.ok("api key", "the admin API accepted the API key");
                answer.json()
            }
            answer @ Answer::Status(StatusCode::UNAUTHORIZED, _) => {
                report.failed(
                    "api key",
                    format!("the API key was refused: {}", answer.describe()),
                    "use the key the server was started with (in AWS: the last 32 characters of the KeysSecret, sam's KeysSecretArn output)",
                );
                None
            }
            answer @ Answer::Status(StatusCode::NOT_FOUND, _) => {
                report.failed(
                    "api key",
                    format!("GET /api/v1/about answered {}", answer.describe()),
                    "the server is an older jobwatch without /api/v1/about: deploy this version (sam build && sam deploy)",
                );
                None
            }
            other => {
                report.failed(
                    "api key",
                    format!("GET /api/v1/about answered {}", other.describe()),
                    "try again in a moment; if it persists, read the ingest function's logs",
                );
                None
            }
        },
    };
    match &about {
        Some(about) => {
            let theirs = about.get("version").and_then(Value::as_str).unwrap_or("?");
            let ours = env!("CARGO_PKG_VERSION");
            if theirs == ours {
                report.ok("version", format!("jobwatch {theirs}, as this CLI"));
            } else {
                report.add(
                    "version",
                    Mark::Warn,
                    format!("the server runs jobwatch {theirs}, this CLI is {ours}"),
                    Some("deploy the same version as the CLI, or use the CLI of the server's version".into()),
                );
            }
        }
        None => report.skip(&["version"]),
    }
    // 3. The ping key, with a probe that touches no job.
    match &ping_key {
        None => report.failed(
            "ping key",
            "no ping key given",
            "pass --ping-key or set JOBWATCH_PING_KEY (in AWS: the first 32 characters of the KeysSecret)",
        ),
        Some(key) => match probe
            .call(Method::GET, &format!("/ping/{}/", segment(key)), false)
            .await
        {
            Answer::Status(StatusCode::OK, _) => report.ok("ping key", "the ping API accepted the ping key"),
            answer @ Answer::Status(StatusCode::NOT_FOUND, _) => report.failed(
                "ping key",
                format!("the ping key was refused: {}", answer.describe()),
                "use the ping key the server was started with (in AWS: the first 32 characters of the KeysSecret)",
            ),
            other => report.failed(
                "ping key",
                format!("GET /ping/<ping-key>/ answered {}", other.describe()),
                "try again in a moment; if it persists, read the ingest function's logs",
            ),
        },
    }
    let Some(about) = about.filter(|_| !report.failed_any()) else {
        report.skip(&LATER);
        return None;
    };
    // 4. The environment and its policy.
    let environment = about
        .get("environment")
        .and_then(Value::as_str)
        .unwrap_or("?");
    let store = about.get("store").and_then(Value::as_str).unwrap_or("?");
    let policy = about.get("policy").and_then(Value::as_str).unwrap_or("?");
    match &args.env {
        Some(expected) if expected != environment => {
            report.failed(
                "environment",
                format!("this is environment {environment}, not {expected}"),
                format!("point --url at the {expected} stack (its IngestUrl output), or pass --env {environment}"),
            );
            report.skip(&LATER[1..]);
            return None;
        }
        _ => report.ok(
            "environment",
            format!("{environment} ({store} store); {policy}"),
        ),
    }
    let slack = &about["slack"];
    let slack_detail = slack.get("detail").and_then(Value::as_str).unwrap_or("?");
    if slack.get("configured").and_then(Value::as_bool) == Some(false) {
        report.failed(
            "slack",
            format!("no Slack destination: {slack_detail}"),
            "give the server a Slack incoming webhook (jobwatch serve --slack-webhook URL)",
        );
        report.skip(&LATER[2..]);
        return None;
    }
    report.ok("slack", slack_detail);
    // 5. The test alert, through the whole path.
    let answer = probe.call(Method::POST, "/api/v1/test-alert", true).await;
    let Some(id) = answer
        .json()
        .filter(|_| matches!(answer, Answer::Status(StatusCode::ACCEPTED, _)))
        .and_then(|v| v.get("id").and_then(Value::as_str).map(str::to_string))
    else {
        report.failed(
            "test alert",
            format!("POST /api/v1/test-alert answered {}", answer.describe()),
            "try again in a moment; if it persists, read the ingest function's logs",
        );
        report.skip(&LATER[3..]);
        return None;
    };
    report.ok("test alert", format!("raised test alert {id}"));
    let record = wait_for_delivery(probe, &id, args.timeout).await;
    show_delivery(report, record.as_ref(), args.timeout);
    record
}

/// Reads the delivery record until it is final or `timeout` passes; the last one read.
async fn wait_for_delivery(
    probe: &Probe,
    id: &str,
    timeout: jobwatch_core::Duration,
) -> Option<Value> {
    let deadline = Instant::now() + StdDuration::from_millis(timeout.as_millis());
    let mut last = None;
    loop {
        let answer = probe
            .call(
                Method::GET,
                &format!("/api/v1/test-alert/{}", segment(id)),
                true,
            )
            .await;
        if let Some(record) = answer.json() {
            let done = record.get("status").and_then(Value::as_str) != Some("pending");
            last = Some(record);
            if done {
                return last;
            }
        }
        if Instant::now() + POLL >= deadline {
            return last;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The hops the server saw, one line each, then the verdict.
fn show_delivery(report: &mut Report, record: Option<&Value>, timeout: jobwatch_core::Duration) {
    let hops = record
        .and_then(|r| r.get("hops"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for hop in &hops {
        let name = match hop.get("name").and_then(Value::as_str) {
            Some("queued") => "queued",
            Some("published") => "published",
            Some("received") => "received",
            Some("secret") => "slack secret",
            Some("slack") => "slack post",
            _ => "server",
        };
        let detail = hop
            .get("detail")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        if hop.get("ok").and_then(Value::as_bool) == Some(true) {
            report.ok(name, detail);
        } else {
            report.failed(name, detail, fix_for(name));
        }
    }
    match record.and_then(|r| r.get("status")).and_then(Value::as_str) {
        Some("delivered") => report.ok("delivery", "delivered: look for it in the Slack channel"),
        Some("failed") if report.failed_any() => {}
        Some("failed") => {
            let detail = record
                .and_then(|r| r.get("detail"))
                .and_then(Value::as_str)
                .unwrap_or("");
            report.failed("delivery", format!("failed: {detail}"), fix_for("server"));
        }
        _ => {
            let seen: Vec<&str> = hops
                .iter()
                .filter_map(|h| h.get("name").and_then(Value::as_str))
                .collect();
            let fix = if seen.contains(&"published") && !seen.contains(&"received") {
                "the formatter has not received it: check its subscription to the alert topic and its logs (sam logs -n FormatterFunction)"
            } else {
                "the deliverer has not recorded it: read its logs (the formatter's in AWS, the console of jobwatch serve), or wait longer with --timeout"
            };
            report.failed("delivery", format!("still pending after {timeout}"), fix);
        }
    }
}

/// What to do when a server-side hop failed.
fn fix_for(hop: &str) -> String {
    match hop {
        "published" => "check the ingest function's sns:Publish permission and the alert topic; the sweeper republishes it from the outbox".into(),
        "slack secret" => "put the webhook in the secret: infra/put-slack-webhook (JSON {\"webhook_url\": \"https://hooks.slack.com/...\"})".into(),
        "slack post" => "check the webhook: Slack answers 404/410 for a revoked webhook or archived channel; create a new one and store it".into(),
        _ => "read the deliverer's logs (the formatter's in AWS, the console of jobwatch serve)".into(),
    }
}
