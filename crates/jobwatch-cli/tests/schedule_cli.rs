//! `jobwatch schedule` prints exactly what its `--help` examples say, and rejects bad input
//! with exit status 2 and a one-line reason.

use std::process::Command;

fn jobwatch(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_jobwatch"))
        .args(args)
        .output()
        .expect("run jobwatch")
}

/// Splits a shell-quoted example line into arguments (single quotes only, as in the help).
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '\'' => quoted = !quoted,
            ' ' if !quoted => {
                if !current.is_empty() {
                    words.push(std::mem::take(&mut current));
                }
            }
            c => current.push(c),
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

#[test]
fn the_help_examples_print_what_they_promise() {
    let help = String::from_utf8(jobwatch(&["schedule", "--help"]).stdout).expect("utf-8 help");
    let examples = help.split_once("Examples").expect("help has examples").1;
    let mut checked = 0;
    let mut lines = examples.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(command) = line.trim().strip_prefix("$ jobwatch ") else {
            continue;
        };
        let mut expected = Vec::new();
        while let Some(next) = lines.peek() {
            if next.trim().starts_with("$ ") || next.trim().is_empty() {
                break;
            }
            expected.push(next.strip_prefix("    ").unwrap_or(next).to_string());
            lines.next();
        }
        let args = shell_words(command);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = jobwatch(&args);
        assert!(output.status.success(), "{command}");
        let stdout = String::from_utf8(output.stdout).expect("utf-8");
        assert_eq!(
            stdout.lines().collect::<Vec<_>>(),
            expected,
            "jobwatch {command}"
        );
        checked += 1;
    }
    assert_eq!(checked, 4, "every example was checked");
}

#[test]
fn json_output_is_only_a_list_of_utc_instants() {
    let output = jobwatch(&[
        "schedule",
        "0 9 * * *",
        "--tz",
        "Asia/Seoul",
        "--after",
        "2026-01-01T00:00:00Z",
        "--count",
        "2",
        "--json",
    ]);
    assert!(output.status.success());
    let value: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON only");
    assert_eq!(
        value,
        serde_json::json!(["2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z"])
    );
}

#[test]
fn invalid_schedules_exit_2_with_one_line_on_stderr() {
    for (args, reason) in [
        (
            vec!["schedule", "61 * * * *"],
            "jobwatch schedule: invalid cron schedule: minute field: value 61 is out of range 0-59",
        ),
        (
            vec!["schedule", "* * * * *", "--tz", "Nowhere/Land"],
            "jobwatch schedule: tz \"Nowhere/Land\" is not a known time zone: use an IANA name such as Europe/Berlin or UTC",
        ),
        (
            vec!["schedule", "0 9 * * *", "--tz", "CET"],
            "jobwatch schedule: tz \"CET\" is an abbreviation, not a time zone: use an IANA name such as Europe/Berlin (or Etc/GMT-1 for a fixed offset of UTC+1)",
        ),
        (
            vec!["schedule", "0 0 30 2 *"],
            "jobwatch schedule: invalid cron schedule: schedule never fires (day 30 does not exist in February)",
        ),
        (
            vec!["schedule", "every soon"],
            "jobwatch schedule: invalid duration 'soon': use e.g. 90s, 10m, 1h30m, 2d or whole seconds",
        ),
        (
            vec!["schedule", "@daily", "--after", "yesterday"],
            "jobwatch schedule: invalid --after (use RFC 3339, e.g. 2026-01-01T00:00:00Z)",
        ),
    ] {
        let output = jobwatch(&args);
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(output.stderr).expect("utf-8");
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.starts_with(reason), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty());
    }
}
