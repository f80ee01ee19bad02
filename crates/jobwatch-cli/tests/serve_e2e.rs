//! End to end: the real `jobwatch serve` binary on a free loopback port, a local Slack
//! receiver, jobs declared through the admin API and pinged with plain HTTP as `curl` would.
//! The team sees exactly the expected Slack messages, and no others; jobs of one group missing
//! together make one message.

use std::process::Command;
use std::time::{Duration, Instant};

use jobwatch_testkit::http_client::call;
use jobwatch_testkit::serve_process::ServeProcess;
use jobwatch_testkit::slack::SlackReceiver;

const API_KEY: &str = "e2e-api-key";
const PING_KEY: &str = "e2e-ping-key";

/// `jobwatch serve` for the prod environment, posting to `slack_url`, grouping alerts that
/// arrive within `group_window`.
fn start_grouping_server(slack_url: &str, group_window: &str) -> ServeProcess {
    ServeProcess::start(
        env!("CARGO_BIN_EXE_jobwatch"),
        API_KEY,
        PING_KEY,
        &["--env", "prod", "--sweep-interval", "1s"],
        &[
            ("JOBWATCH_SLACK_WEBHOOK", slack_url),
            ("JOBWATCH_GROUP_WINDOW", group_window),
            // A recovery right after its outage is held to watch for flapping, for at most the
            // fatigue window: 2 s here, so the scenarios see it promptly.
            ("JOBWATCH_FATIGUE_WINDOW", "2s"),
        ],
    )
}

/// `jobwatch serve` for the prod environment, posting to `slack_url`; grouping off, as these
/// scenarios time one job's messages (grouping has its own below).
fn start_server(slack_url: &str) -> ServeProcess {
    start_grouping_server(slack_url, "0s")
}

fn header_of(message: &serde_json::Value) -> String {
    message["attachments"][0]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_declared_and_pinged_over_http_produce_exactly_the_expected_slack_messages() {
    let slack = SlackReceiver::start().await;
    let server = start_server(&slack.url);

    // A nightly job, a heartbeat every 2 seconds (never pinged at first), and a healthy job.
    let created = server.admin(
        "PUT",
        "/api/v1/jobs/nightly-backup",
        r#"{"schedule": "0 3 * * *", "tz": "Europe/Berlin"}"#,
    );
    assert_eq!(created.status, 201, "{}", created.body);
    let uuid_url = created.json()["ping_url_uuid"]
        .as_str()
        .expect("uuid url")
        .to_string();
    let uuid_path = &uuid_url[uuid_url.find("/ping/").expect("path")..];
    assert_eq!(
        server
            .admin(
                "PUT",
                "/api/v1/jobs/heartbeat",
                r#"{"every": "2s", "grace": "1s"}"#
            )
            .status,
        201
    );
    assert_eq!(
        server
            .admin("PUT", "/api/v1/jobs/healthy", r#"{"every": "1h"}"#)
            .status,
        201
    );

    // The healthy job runs fine; the backup fails with output; the heartbeat stays silent.
    let ok = server.ping(&format!("/ping/{PING_KEY}/healthy/start"), "");
    assert_eq!(
        (ok.status, ok.body.as_str(), ok.header("ping-body-limit")),
        (200, "OK", Some("10000"))
    );
    assert_eq!(
        server
            .ping(&format!("/ping/{PING_KEY}/healthy/0"), "all good")
            .status,
        200
    );
    assert_eq!(server.ping(&format!("{uuid_path}/start"), "").status, 200);
    let failed = server.ping(
        &format!("{uuid_path}/2"),
        "dumping db\npg_dump: error: connection refused\n",
    );
    assert_eq!((failed.status, failed.body.as_str()), (200, "OK"));

    let messages = slack.wait_for(2, Duration::from_secs(15)).await;
    let headers: Vec<String> = messages.iter().map(header_of).collect();
    assert_eq!(
        headers,
        [
            "🔴 nightly-backup failed (exit status 2)",
            "⏰ heartbeat did not run"
        ],
        "{messages:#?}"
    );
    let failure = serde_json::to_string(&messages[0]).expect("json");
    assert!(
        failure.contains("connection refused"),
        "the output excerpt is shown: {failure}"
    );
    assert_eq!(
        messages[0]["attachments"][0]["color"], "#FF0000",
        "prod is red"
    );

    // The heartbeat comes back: one recovery.
    assert_eq!(
        server
            .ping(&format!("/ping/{PING_KEY}/heartbeat"), "")
            .status,
        200
    );
    let messages = slack.wait_for(3, Duration::from_secs(10)).await;
    assert_eq!(header_of(&messages[2]), "✅ heartbeat is back up");
    assert_eq!(messages[2]["attachments"][0]["color"], "#2EB67D");

    // Quiet afterwards: pause the heartbeat (it would miss again) and check nothing else arrives.
    assert_eq!(
        server
            .admin("POST", "/api/v1/jobs/heartbeat/pause", "")
            .status,
        200
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        slack.messages().len(),
        3,
        "no other messages: {:#?}",
        slack.messages()
    );
    assert_eq!(
        slack.rejections(),
        Vec::<String>::new(),
        "every message within Slack's limits"
    );

    let console = server.output(Duration::from_millis(300));
    let alerts: Vec<&String> = console.iter().filter(|l| l.starts_with("ALERT ")).collect();
    assert_eq!(
        alerts.len(),
        3,
        "each alert printed once to the console: {console:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_the_server_cleanly_and_keeps_every_accepted_ping() {
    let slack = SlackReceiver::start().await;
    let mut server = start_server(&slack.url);
    assert_eq!(
        server
            .admin("PUT", "/api/v1/jobs/batch", r#"{"every": "1h"}"#)
            .status,
        201
    );
    for n in 0..20 {
        let rid = format!("00000000-0000-4000-8000-{n:012}");
        assert_eq!(
            server
                .ping(&format!("/ping/{PING_KEY}/batch/log?rid={rid}"), "line")
                .status,
            200
        );
    }
    let pid = server.child.id().to_string();
    let killed = Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(15);
    let status = loop {
        if let Some(status) = server.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "serve did not stop within 15s of SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "clean exit: {status}");
    let output = server.output(Duration::from_millis(200));
    assert_eq!(
        output.last().map(String::as_str),
        Some("stopped"),
        "{output:#?}"
    );

    // Restart on the same file: all 20 runs are there.
    let again = ServeProcess::start_on(
        env!("CARGO_BIN_EXE_jobwatch"),
        &server.data,
        API_KEY,
        PING_KEY,
        &[],
        &[],
    );
    let auth = format!("Bearer {API_KEY}");
    let runs = call(
        &again.address,
        "GET",
        "/api/v1/jobs/batch/runs?limit=100",
        &[("Authorization", &auth)],
        b"",
    )
    .expect("runs");
    drop(again);
    assert_eq!(runs.json()["runs"].as_array().map(Vec::len), Some(20));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jobs_of_one_group_missing_together_make_one_message() {
    let slack = SlackReceiver::start().await;
    let server = start_grouping_server(&slack.url, "2s");
    for slug in ["replica-check-a", "replica-check-b", "replica-check-c"] {
        let definition = r#"{"every": "2s", "grace": "1s", "group": "replicas"}"#;
        let created = server.admin("PUT", &format!("/api/v1/jobs/{slug}"), definition);
        assert_eq!(created.status, 201, "{}", created.body);
    }
    let messages = slack.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(
        header_of(&messages[0]),
        "🔴 3 jobs missed their runs (group replicas)"
    );
    // Down jobs do not alert again: nothing else arrives.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(slack.messages().len(), 1, "{:#?}", slack.messages());
    assert_eq!(slack.rejections(), Vec::<String>::new());
}
