//! How `jobwatch serve` starts and stops, as an operator meets it: a stop is prompt whatever
//! Slack does, and loses no alert; a start that cannot listen creates and prints nothing; a
//! URL that is not one is refused at start in one line, before anything else happens.

use std::io::Read as _;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use jobwatch_testkit::serve_process::{ServeProcess, clean_env};
use jobwatch_testkit::slack::SlackReceiver;

const API_KEY: &str = "lifecycle-api-key";
const PING_KEY: &str = "lifecycle-ping-key";
const JOBWATCH: &str = env!("CARGO_BIN_EXE_jobwatch");

/// A "Slack" that accepts connections and never answers: every post hangs until its
/// timeout, the worst a webhook can do.
struct BlackHole {
    url: String,
    listener: TcpListener,
}

impl BlackHole {
    fn start() -> BlackHole {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("address");
        listener.set_nonblocking(true).expect("nonblocking");
        BlackHole {
            url: format!("http://{address}/services/T000/B000/XXXX"),
            listener,
        }
    }

    /// Waits (bounded) for a post to arrive, and keeps its connection open, unanswered.
    fn wait_for_a_post(&self, timeout: Duration) -> std::net::TcpStream {
        let deadline = Instant::now() + timeout;
        loop {
            match self.listener.accept() {
                Ok((stream, _)) => return stream,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("no post reached the black hole: {e}"),
            }
        }
    }
}

fn sigterm(server: &ServeProcess) {
    let killed = Command::new("kill")
        .args(["-TERM", &server.child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
}

/// Runs `jobwatch serve` with `args` until it exits (bounded), with a clean environment.
fn serve_until_exit(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(JOBWATCH);
    let mut child = clean_env(&mut command)
        .arg("serve")
        .args(args)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start jobwatch serve");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("jobwatch serve {args:?} kept running; it should have refused to start");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().expect("output")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_while_slack_hangs_stops_within_two_seconds_and_the_alert_is_posted_after_restart()
{
    let hole = BlackHole::start();
    let mut server = ServeProcess::start(
        JOBWATCH,
        API_KEY,
        PING_KEY,
        &["--env", "prod"],
        &[
            ("JOBWATCH_SLACK_WEBHOOK", hole.url.as_str()),
            ("JOBWATCH_GROUP_WINDOW", "0s"),
        ],
    );
    let created = server.admin("PUT", "/api/v1/jobs/invoices", r#"{"every": "1d"}"#);
    assert_eq!(created.status, 201, "{}", created.body);
    let failed = server.ping(&format!("/ping/{PING_KEY}/invoices/3"), "smtp: timeout");
    assert_eq!(failed.status, 200, "{}", failed.body);
    // The alert's post is in flight, and Slack will not answer it.
    let mut in_flight = hole.wait_for_a_post(Duration::from_secs(10));

    let asked = Instant::now();
    sigterm(&server);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(10),
            "serve did not stop within 10 s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    let took = asked.elapsed();
    assert!(status.success(), "clean exit: {status}");
    assert!(
        took < Duration::from_secs(2),
        "stopping took {took:?} with Slack hanging"
    );
    // The unanswered post's connection was closed by the stopping server.
    let _ = in_flight.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = in_flight.read(&mut [0u8; 1024]);

    // The next start, with Slack back, posts the alert: once.
    let slack = SlackReceiver::start().await;
    let again = ServeProcess::start_on(
        JOBWATCH,
        &server.data,
        API_KEY,
        PING_KEY,
        &["--env", "prod"],
        &[
            ("JOBWATCH_SLACK_WEBHOOK", slack.url.as_str()),
            ("JOBWATCH_GROUP_WINDOW", "0s"),
        ],
    );
    let posted = slack.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(posted.len(), 1, "{posted:#?}");
    assert!(posted[0].to_string().contains("invoices"), "{}", posted[0]);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(slack.messages().len(), 1, "posted once");
    drop(again);
}

#[test]
fn a_start_on_a_taken_port_prints_no_keys_and_stores_none() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = taken.local_addr().expect("address").to_string();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("jobwatch.db");
    let data = data.to_str().expect("utf-8 path");

    // No keys given: a first start would generate both and show them once.
    let refused = serve_until_exit(&["--listen", &address, "--data", data], &[]);
    assert!(!refused.status.success());
    let (stdout, stderr) = (text(&refused.stdout), text(&refused.stderr));
    assert!(!stdout.contains("generated"), "keys printed: {stdout}");
    assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.starts_with(&format!("jobwatch serve: listening on {address}: ")),
        "{stderr}"
    );

    // So the next start, on a free port, generates them and shows them, once.
    drop(taken);
    let mut command = Command::new(JOBWATCH);
    let mut child = clean_env(&mut command)
        .args(["serve", "--listen", "127.0.0.1:0", "--data", data])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start jobwatch serve");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut seen = String::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut buffer = [0u8; 4096];
    while seen.matches("generated").count() < 2 && Instant::now() < deadline {
        match stdout.read(&mut buffer) {
            Ok(0) | Err(_) => break,
            Ok(n) => seen.push_str(&text(&buffer[..n])),
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(seen.contains("generated API key: "), "{seen}");
    assert!(seen.contains("generated ping key: "), "{seen}");
}

#[test]
fn a_webhook_or_public_url_that_is_not_a_url_is_refused_at_start_in_one_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("jobwatch.db");
    let data = data.to_str().expect("utf-8 path");
    let base = ["--listen", "127.0.0.1:0", "--data", data];
    let cases: [(&[&str], &str); 4] = [
        (
            &["--slack-webhook", "not-a-url"],
            "jobwatch serve: --slack-webhook is not a URL (relative URL without a base): give the Slack incoming webhook, https://hooks.slack.com/services/...",
        ),
        (
            &["--slack-webhook", "ftp://hooks.example.com/x"],
            "jobwatch serve: --slack-webhook is not an http(s) URL: give the Slack incoming webhook, https://hooks.slack.com/services/...",
        ),
        (
            &[
                "--slack-webhook",
                "https://hooks.slack.com/services/T/B/X",
                "--escalation-webhook",
                "hooks.slack.com/services/T/B/Y",
            ],
            "jobwatch serve: --escalation-webhook is not a URL (relative URL without a base): give the Slack incoming webhook, https://hooks.slack.com/services/...",
        ),
        (
            &["--public-url", "jobwatch.example.com"],
            "jobwatch serve: --public-url 'jobwatch.example.com' is not a URL (relative URL without a base): give the address people reach this server at, e.g. https://jobwatch.example.com",
        ),
    ];
    for (args, expected) in cases {
        let all: Vec<&str> = base.iter().chain(args).copied().collect();
        let refused = serve_until_exit(&all, &[("JOBWATCH_API_KEY", API_KEY)]);
        assert!(!refused.status.success(), "{args:?}");
        assert_eq!(text(&refused.stderr).trim_end(), expected, "{args:?}");
        assert_eq!(text(&refused.stdout), "", "nothing started: {args:?}");
    }
    assert!(
        !dir.path().join("jobwatch.db").exists(),
        "no database created by a refused start"
    );
}
