//! `jobwatch doctor` against the real `jobwatch serve` and a local Slack receiver: every hop
//! passes and the test alert reaches Slack (even in dev, whose policy posts no job alert),
//! exit status 0; a wrong API key, a wrong ping key, an unreachable URL, a revoked webhook
//! and a server without Slack each name the failing hop and exit 1. The happy path's output
//! is a golden file (times, ids and the port masked): regenerate it with
//! `UPDATE_GOLDEN=1 cargo test -p jobwatch-cli --test doctor` and review the diff.

use std::path::Path;
use std::process::Command;

use jobwatch_testkit::serve_process::{ServeProcess, clean_env};
use jobwatch_testkit::slack::{Scripted, SlackReceiver};

const API_KEY: &str = "doctor-api-key";
const PING_KEY: &str = "doctor-ping-key";

struct Doctor {
    code: Option<i32>,
    stdout: String,
}

/// Runs `jobwatch doctor` with `args`, the URL and keys given as the environment gives them.
async fn doctor(url: &str, api_key: &str, ping_key: &str, args: &[&str]) -> Doctor {
    let mut command = Command::new(env!("CARGO_BIN_EXE_jobwatch"));
    clean_env(&mut command)
        .arg("doctor")
        .args(args)
        .args(["--timeout", "20s"])
        .env("JOBWATCH_URL", url)
        .env("JOBWATCH_API_KEY", api_key)
        .env("JOBWATCH_PING_KEY", ping_key);
    let output = tokio::task::spawn_blocking(move || command.output())
        .await
        .expect("join")
        .expect("run jobwatch doctor");
    Doctor {
        code: output.status.code(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

fn serve(slack_url: Option<&str>) -> ServeProcess {
    let env: Vec<(&str, &str)> = slack_url
        .map(|url| ("JOBWATCH_SLACK_WEBHOOK", url))
        .into_iter()
        .collect();
    ServeProcess::start(env!("CARGO_BIN_EXE_jobwatch"), API_KEY, PING_KEY, &[], &env)
}

/// The line of `hop`, e.g. `✗ api key     the API key was refused: 401 (invalid API key)`.
fn line_of<'a>(out: &'a Doctor, hop: &str) -> &'a str {
    out.stdout
        .lines()
        .find(|l| {
            l.split_once(' ')
                .is_some_and(|(_, rest)| rest.starts_with(&format!("{hop} ")))
        })
        .unwrap_or_else(|| panic!("no line for {hop}:\n{}", out.stdout))
}

/// The output with what changes from run to run masked: the URL, times and the test id.
fn masked(out: &str, url: &str) -> String {
    let mut text = out.replace(url, "<url>");
    if let Some(id) = text
        .split("raised test alert ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
    {
        text = text.replace(id, "<id>");
    }
    // `(12 ms)`
    let mut masked = String::new();
    let mut rest = text.as_str();
    while let Some(start) = rest.find('(') {
        let (before, from) = rest.split_at(start);
        masked.push_str(before);
        match from.find(" ms)") {
            Some(end) if from[1..end].bytes().all(|b| b.is_ascii_digit()) => {
                masked.push_str("(<ms> ms)");
                rest = &from[end + 4..];
            }
            _ => {
                masked.push('(');
                rest = &from[1..];
            }
        }
    }
    masked.push_str(rest);
    masked
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_hop_passes_and_the_test_alert_reaches_slack_even_in_dev() {
    let slack = SlackReceiver::start().await;
    let server = serve(Some(&slack.url));
    let out = doctor(&server.url(), API_KEY, PING_KEY, &["--env", "dev"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    assert!(!out.stdout.contains('✗'), "{}", out.stdout);

    let messages = slack.messages();
    assert_eq!(messages.len(), 1, "one post: {messages:?}");
    let header = messages[0]["attachments"][0]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(header, "🧪 jobwatch test alert from dev");
    // The check touches no job: no job was created, no run recorded.
    assert_eq!(
        server.admin("GET", "/api/v1/jobs", "").json()["jobs"],
        serde_json::json!([])
    );

    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/doctor-serve.txt");
    let actual = masked(&out.stdout, &server.url());
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(golden.parent().expect("dir")).expect("golden dir");
        std::fs::write(&golden, &actual).expect("write golden");
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|_| panic!("no {} (run with UPDATE_GOLDEN=1)", golden.display()));
    assert_eq!(
        actual,
        expected,
        "the doctor's output differs from {}",
        golden.display()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_api_key_is_named_and_fails() {
    let slack = SlackReceiver::start().await;
    let server = serve(Some(&slack.url));
    let out = doctor(&server.url(), "not-the-key", PING_KEY, &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(line_of(&out, "api key").starts_with("✗"), "{}", out.stdout);
    assert!(
        out.stdout.contains("the API key was refused: 401"),
        "{}",
        out.stdout
    );
    assert!(
        line_of(&out, "test alert").starts_with("-"),
        "{}",
        out.stdout
    );
    assert_eq!(slack.posts(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_ping_key_is_named_and_fails() {
    let slack = SlackReceiver::start().await;
    let server = serve(Some(&slack.url));
    let out = doctor(&server.url(), API_KEY, "not-the-ping-key", &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(line_of(&out, "api key").starts_with("✓"), "{}", out.stdout);
    assert!(line_of(&out, "ping key").starts_with("✗"), "{}", out.stdout);
    assert!(
        line_of(&out, "test alert").starts_with("-"),
        "{}",
        out.stdout
    );
    assert_eq!(
        server.admin("GET", "/api/v1/jobs", "").json()["jobs"],
        serde_json::json!([])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_url_is_named_and_fails() {
    // A loopback port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let out = doctor(&format!("http://127.0.0.1:{port}"), API_KEY, PING_KEY, &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let url = line_of(&out, "url");
    assert!(
        url.starts_with("✗") && url.contains("connection refused"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("-> check --url"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_webhook_is_slack_answering_404() {
    let slack = SlackReceiver::start().await;
    slack.script([Scripted {
        status: 404,
        retry_after: None,
        body: "no_service",
    }]);
    let server = serve(Some(&slack.url));
    let out = doctor(&server.url(), API_KEY, PING_KEY, &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(line_of(&out, "received").starts_with("✓"), "{}", out.stdout);
    let post = line_of(&out, "slack post");
    assert!(
        post.starts_with("✗") && post.contains("Slack answered 404"),
        "{}",
        out.stdout
    );
    assert_eq!(slack.posts(), 1, "a refused post is not retried");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_without_slack_is_named_and_fails() {
    let server = serve(None);
    let out = doctor(&server.url(), API_KEY, PING_KEY, &[]).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    assert!(line_of(&out, "slack").starts_with("✗"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_environment_than_expected_fails() {
    let slack = SlackReceiver::start().await;
    let server = serve(Some(&slack.url));
    let out = doctor(&server.url(), API_KEY, PING_KEY, &["--env", "prod"]).await;
    assert_eq!(out.code, Some(1), "{}", out.stdout);
    let line = line_of(&out, "environment");
    assert!(
        line.starts_with("✗") && line.contains("not prod"),
        "{}",
        out.stdout
    );
    assert_eq!(slack.posts(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_url_is_a_usage_error() {
    let out = doctor("not-a-url", API_KEY, PING_KEY, &[]).await;
    assert_eq!(out.code, Some(2), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_output_is_one_document_for_ci() {
    let slack = SlackReceiver::start().await;
    let server = serve(Some(&slack.url));
    let out = doctor(&server.url(), API_KEY, PING_KEY, &["--json"]).await;
    assert_eq!(out.code, Some(0), "{}", out.stdout);
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(doc["delivered"], true);
    assert_eq!(doc["test_alert"]["status"], "delivered");
    let hops = doc["hops"].as_array().expect("hops");
    assert!(hops.iter().all(|h| h["status"] == "ok"), "{doc}");
    assert_eq!(
        hops.last().map(|h| h["hop"].clone()),
        Some("delivery".into())
    );
}
