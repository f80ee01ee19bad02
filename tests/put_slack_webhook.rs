//! `infra/put-slack-webhook`, the real script with the real AWS CLI, against moto: it creates
//! the secret when there is none, puts a new value into one that exists (rotation), and
//! restores one scheduled for deletion (a stack torn down and deployed again) before putting
//! the value, saying so. moto, unlike AWS, accepts a new value into a secret scheduled for
//! deletion, so the test checks that the secret is no longer scheduled for deletion, which
//! only a restore does.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use jobwatch_tests::aws::secrets;
use jobwatch_tests::moto::{endpoint, unique_name};
use jobwatch_tests::template::repo_root;

/// The AWS CLI: beside moto_server (a virtualenv that has it), or on the PATH.
fn aws_cli() -> PathBuf {
    if let Some(beside) = std::env::var_os("JOBWATCH_MOTO_SERVER")
        .map(PathBuf::from)
        .and_then(|moto| moto.parent().map(|dir| dir.join("aws")))
        .filter(|aws| aws.exists())
    {
        return beside;
    }
    let found = std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .map(|dir| dir.join("aws"))
            .find(|aws| aws.exists())
    });
    found.unwrap_or_else(|| {
        panic!("the AWS CLI (aws) is not installed: pip install awscli (the deploy needs it too)")
    })
}

/// What one run of the script printed, and whether it succeeded.
struct Run {
    ok: bool,
    stdout: String,
    stderr: String,
}

/// Runs the script for `secret` with `webhook` on its standard input (not a terminal, so it
/// reads the URL from there), with the AWS CLI pointed at moto.
fn put_slack_webhook(secret: &str, webhook: &str) -> Run {
    let aws = aws_cli();
    let path = match (aws.parent(), std::env::var_os("PATH")) {
        (Some(dir), Some(path)) => std::env::join_paths(
            std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path)),
        )
        .expect("PATH"),
        (_, path) => path.unwrap_or_default(),
    };
    let mut child = Command::new(repo_root().join("infra/put-slack-webhook"))
        .args(["--secret-name", secret])
        .env("PATH", path)
        .env("AWS_ENDPOINT_URL", endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_DEFAULT_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_REGION")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("infra/put-slack-webhook runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(format!("{webhook}\n").as_bytes())
        .expect("the URL on stdin");
    let output = child.wait_with_output().expect("the script ends");
    Run {
        ok: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

async fn stored(secret: &str) -> String {
    secrets()
        .get_secret_value()
        .secret_id(secret)
        .send()
        .await
        .unwrap_or_else(|e| panic!("reading {secret}: {e:?}"))
        .secret_string
        .unwrap_or_default()
}

async fn scheduled_for_deletion(secret: &str) -> bool {
    secrets()
        .describe_secret()
        .secret_id(secret)
        .send()
        .await
        .unwrap_or_else(|e| panic!("describing {secret}: {e:?}"))
        .deleted_date
        .is_some()
}

const FIRST: &str = "https://hooks.slack.com/services/T000/B000/first";
const SECOND: &str = "https://hooks.slack.com/services/T000/B000/second";
const THIRD: &str = "https://hooks.slack.com/services/T000/B000/third";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn put_slack_webhook_creates_rotates_and_restores_a_secret_scheduled_for_deletion() {
    let secret = unique_name("slack-webhook-test");

    // No secret yet: it is created.
    let run = put_slack_webhook(&secret, FIRST);
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.trim(), format!("Created secret {secret}."));
    assert_eq!(
        stored(&secret).await,
        format!(r#"{{"webhook_url": "{FIRST}"}}"#)
    );

    // It exists: a new value is put.
    let run = put_slack_webhook(&secret, SECOND);
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    assert!(run.stdout.starts_with("Rotated secret"), "{}", run.stdout);
    assert_eq!(
        stored(&secret).await,
        format!(r#"{{"webhook_url": "{SECOND}"}}"#)
    );

    // Deleted, as `aws secretsmanager delete-secret` does: only scheduled for deletion.
    secrets()
        .delete_secret()
        .secret_id(&secret)
        .send()
        .await
        .expect("delete-secret");
    assert!(scheduled_for_deletion(&secret).await);
    let run = put_slack_webhook(&secret, THIRD);
    assert!(run.ok, "{}{}", run.stdout, run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(
        lines.first().copied(),
        Some(format!("Secret {secret} was scheduled for deletion: restored it.").as_str()),
        "{}",
        run.stdout
    );
    assert!(
        lines
            .get(1)
            .is_some_and(|l| l.starts_with("Rotated secret")),
        "{}",
        run.stdout
    );
    assert!(
        !scheduled_for_deletion(&secret).await,
        "the secret was restored"
    );
    assert_eq!(
        stored(&secret).await,
        format!(r#"{{"webhook_url": "{THIRD}"}}"#)
    );
}

#[test]
fn put_slack_webhook_refuses_what_is_not_a_slack_webhook_and_changes_nothing() {
    let secret = unique_name("slack-webhook-test");
    let run = put_slack_webhook(&secret, "https://example.com/not-slack");
    assert!(!run.ok);
    assert!(run.stderr.contains("nothing was changed"), "{}", run.stderr);
}
