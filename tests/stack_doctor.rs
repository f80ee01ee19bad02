//! `jobwatch doctor` against the three real Lambda binaries on moto, stood up as
//! `template.yaml` declares them (`jobwatch_tests::stack`): the doctor, a child process, talks
//! HTTP to a loopback bridge that hands each request to the ingest binary as a Function URL
//! event (`jobwatch_tests::bridge`), while the test plays SNS's subscription and forwards what
//! the topic published to the formatter binary. The test alert travels ingest -> topic ->
//! formatter -> Slack and the doctor exits 0; with the Slack secret gone it names that hop and
//! exits 1. Every AWS request stays within each function's IAM policy.

use std::process::{Command, Output};

use jobwatch_tests::aws::{receive_envelopes, secrets};
use jobwatch_tests::bridge::serve_function_url;
use jobwatch_tests::lambda::workspace_binary;
use jobwatch_tests::serve_process::clean_env;
use jobwatch_tests::stack::{LiveStack, sns_lambda_event};
use tokio::net::TcpListener;

/// Runs `jobwatch doctor --env prod` against the stack until it exits, serving its requests
/// and delivering what the topic publishes to the formatter meanwhile.
async fn doctor_against(stack: &LiveStack) -> Output {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind bridge");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let mut command = Command::new(workspace_binary("jobwatch"));
    clean_env(&mut command)
        .args(["doctor", "--env", "prod", "--timeout", "30s"])
        .env("JOBWATCH_URL", &url)
        .env("JOBWATCH_API_KEY", &stack.api_key)
        .env("JOBWATCH_PING_KEY", &stack.ping_key);
    let doctor = tokio::task::spawn_blocking(move || command.output());
    // SNS's subscription of the formatter, played by the test (moto invokes no Lambda).
    let subscription = async {
        loop {
            for envelope in receive_envelopes(&stack.tap.queue_url).await {
                let _ = stack
                    .formatter
                    .runtime
                    .invoke(sns_lambda_event(&envelope))
                    .await;
            }
        }
    };
    tokio::select! {
        output = doctor => output.expect("join").expect("run jobwatch doctor"),
        () = serve_function_url(&listener, &stack.ingest) => unreachable!("the bridge serves until dropped"),
        () = subscription => unreachable!("the subscription runs until dropped"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_doctor_proves_the_path_from_the_ingest_through_the_topic_and_formatter_to_slack() {
    let stack = LiveStack::stand_up("doctor", "warn").await;
    let output = doctor_against(&stack).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    for hop in [
        "✓ url",
        "✓ api key",
        "✓ ping key",
        "✓ environment  prod (dynamodb store)",
        "✓ published",
        "✓ received     the formatter received it",
        "✓ slack secret",
        "✓ slack post",
        "✓ delivery",
    ] {
        assert!(stdout.contains(hop), "no {hop:?} in:\n{stdout}");
    }
    let messages = stack.slack.messages();
    assert_eq!(messages.len(), 1, "one post: {messages:#?}");
    assert!(
        messages[0]
            .to_string()
            .contains("jobwatch test alert from prod"),
        "{}",
        messages[0]
    );
    stack.ingest.assert_within_its_policy();
    stack.formatter.assert_within_its_policy();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_slack_secret_the_doctor_names_that_hop_and_fails() {
    let stack = LiveStack::stand_up("doctor-nosecret", "warn").await;
    secrets()
        .delete_secret()
        .secret_id(format!("slack-webhook-prod-{}", stack.table))
        .force_delete_without_recovery(true)
        .send()
        .await
        .expect("delete the Slack secret");
    let output = doctor_against(&stack).await;
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    assert_eq!(output.status.code(), Some(1), "{stdout}");
    let line = stdout
        .lines()
        .find(|l| l.contains("slack secret"))
        .unwrap_or_else(|| panic!("no slack secret line:\n{stdout}"));
    assert!(
        line.starts_with('✗') && line.ends_with("not found"),
        "{stdout}"
    );
    assert!(stdout.contains("infra/put-slack-webhook"), "{stdout}");
    assert_eq!(stack.slack.posts(), 0);
}
