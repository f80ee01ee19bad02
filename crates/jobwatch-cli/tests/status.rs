//! `jobwatch status` for a known set of jobs on a real `jobwatch serve` (up, down, running,
//! new, paused), in plain and JSON form; and every command's help has examples.

use std::process::{Command, Output};

use jobwatch_testkit::serve_process::{ServeProcess, clean_env};
use serde_json::{Value, json};

const BIN: &str = env!("CARGO_BIN_EXE_jobwatch");
const API_KEY: &str = "status-api-key";
const PING_KEY: &str = "status-ping-key";

fn jobwatch(url: &str, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    clean_env(&mut command)
        .args(args)
        .env("JOBWATCH_URL", url)
        .env("JOBWATCH_API_KEY", API_KEY)
        .output()
        .expect("run jobwatch")
}

/// Five jobs, one in each state `status` shows.
fn server_with_known_jobs() -> ServeProcess {
    let server = ServeProcess::start(BIN, API_KEY, PING_KEY, &[], &[]);
    for (slug, definition) in [
        (
            "backup",
            r#"{"schedule": "0 3 * * *", "tz": "Europe/Berlin"}"#,
        ),
        ("reports", r#"{"every": "1h"}"#),
        ("etl", r#"{"every": "1h"}"#),
        ("fresh", r#"{"every": "1h"}"#),
        ("legacy", r#"{"every": "1h"}"#),
    ] {
        let reply = server.admin("PUT", &format!("/api/v1/jobs/{slug}"), definition);
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    let ping = |path: &str| {
        let reply = server.ping(&format!("/ping/{PING_KEY}/{path}"), "");
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    };
    ping("backup/start");
    ping("backup/0");
    for _ in 0..2 {
        ping("reports/start");
        ping("reports/3");
    }
    ping("etl/start");
    let output = jobwatch(&server.url(), &["jobs", "pause", "legacy"]);
    assert!(output.status.success());
    server
}

/// The table's cells: columns are separated by two or more spaces, cells hold single spaces.
fn rows(table: &str) -> Vec<Vec<String>> {
    table
        .lines()
        .map(|line| {
            line.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .map(str::to_string)
                .collect()
        })
        .collect()
}

#[test]
fn status_shows_each_job_s_state_last_run_next_run_and_failures() {
    let server = server_with_known_jobs();
    // Relative times from a fixed hour later, so they read the same on every run.
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1)).to_string();
    let output = jobwatch(&server.url(), &["status", "--now", &later]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let out = String::from_utf8(output.stdout).expect("utf-8");
    assert!(!out.contains('\x1b'), "plain when piped: {out:?}");
    let table = rows(&out);
    assert_eq!(
        table[0],
        [
            "JOB",
            "STATE",
            "LAST RUN",
            "DURATION",
            "NEXT EXPECTED",
            "FAILS 24H"
        ]
    );
    assert_eq!(table.len(), 6, "{out}");
    let row = |job: &str| -> Vec<String> {
        table
            .iter()
            .find(|r| r[0] == job)
            .cloned()
            .unwrap_or_else(|| panic!("no row for {job}: {out}"))
    };
    let order: Vec<&str> = table[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(order, ["backup", "etl", "fresh", "legacy", "reports"]);

    let backup = row("backup");
    assert_eq!(backup[1..3], ["up", "1h ago success"]);
    assert!(
        backup[3].ends_with("ms") || backup[3].ends_with('s'),
        "{backup:?}"
    );
    let next = &backup[4];
    assert!(
        next.ends_with(" 03:00 CET") || next.ends_with(" 03:00 CEST"),
        "next run in the job's zone: {next}"
    );
    assert_eq!(backup[5], "0");

    let reports = row("reports");
    assert_eq!(reports[1..3], ["down", "1h ago failed (exit 3)"]);
    assert!(
        reports[4].ends_with(" UTC"),
        "intervals in UTC: {reports:?}"
    );
    assert_eq!(reports[5], "2");

    let etl = row("etl");
    assert_eq!(etl[1..3], ["running", "1h ago running"]);
    assert!(
        etl[3].starts_with("1h00m") && etl[3].ends_with("so far"),
        "{etl:?}"
    );
    assert_eq!(etl[5], "0");

    assert_eq!(row("fresh")[1..4], ["new", "-", "-"]);
    assert!(row("fresh")[4].ends_with(" UTC"));
    assert_eq!(row("legacy")[1..], ["paused", "-", "-", "paused", "0"]);
}

#[test]
fn status_json_has_one_object_per_job_for_scripts() {
    let server = server_with_known_jobs();
    let output = jobwatch(&server.url(), &["status", "--json"]);
    assert!(output.status.success());
    let all: Value = serde_json::from_slice(&output.stdout).expect("JSON only");
    let all = all.as_array().expect("an array");
    let by_job = |job: &str| -> &Value {
        all.iter()
            .find(|j| j["job"] == job)
            .unwrap_or_else(|| panic!("no {job}"))
    };
    let states: Vec<(&str, &str)> = all
        .iter()
        .map(|j| {
            (
                j["job"].as_str().unwrap_or(""),
                j["state"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            ("backup", "up"),
            ("etl", "running"),
            ("fresh", "new"),
            ("legacy", "paused"),
            ("reports", "down")
        ]
    );
    let reports = by_job("reports");
    assert_eq!(reports["last_run"]["outcome"], "failed");
    assert_eq!(reports["last_run"]["exit_code"], 3);
    assert_eq!(
        (&reports["fails_24h"], &reports["fails_24h_exact"]),
        (&json!(2), &json!(true))
    );
    assert_eq!(reports["schedule"], "every 1h");
    let backup = by_job("backup");
    assert_eq!(backup["zone"], "Europe/Berlin");
    assert_eq!(backup["schedule"], "0 3 * * * Europe/Berlin");
    let next: jiff::Timestamp = backup["next_expected_at"]
        .as_str()
        .expect("next")
        .parse()
        .expect("instant");
    let local = next.to_zoned(jiff::tz::TimeZone::get("Europe/Berlin").expect("zone"));
    assert_eq!((local.hour(), local.minute()), (3, 0));
    assert!(by_job("fresh")["last_run"].is_null());
    assert_eq!(by_job("etl")["last_run"]["outcome"], "running");

    // Only the jobs asked for; an unknown one is an error that says where to look.
    let output = jobwatch(&server.url(), &["status", "--json", "reports"]);
    let some: Value = serde_json::from_slice(&output.stdout).expect("JSON only");
    assert_eq!(some.as_array().map(Vec::len), Some(1));
    let output = jobwatch(&server.url(), &["status", "nope"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .starts_with("jobwatch status: job 'nope' not found: `jobwatch jobs list`")
    );
}

#[test]
fn every_command_s_help_has_examples() {
    for command in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["run", "--help"],
        vec!["jobs", "--help"],
        vec!["jobs", "apply", "--help"],
        vec!["jobs", "list", "--help"],
        vec!["jobs", "pause", "--help"],
        vec!["jobs", "resume", "--help"],
        vec!["jobs", "show", "--help"],
        vec!["status", "--help"],
        vec!["runs", "--help"],
        vec!["discover", "--help"],
        vec!["schedule", "--help"],
    ] {
        let output = Command::new(BIN).args(&command).output().expect("help");
        assert!(output.status.success(), "{command:?}");
        let help = String::from_utf8_lossy(&output.stdout);
        assert!(
            help.contains("Example") && help.contains("jobwatch "),
            "{command:?} has examples: {help}"
        );
    }
}
