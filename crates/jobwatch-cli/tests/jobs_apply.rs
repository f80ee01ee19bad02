//! `jobwatch jobs` against a real `jobwatch serve`: applying the example jobs file creates the
//! jobs, a second apply has nothing to change, an edit is exactly one update, `--prune`
//! deletes what the file no longer names; errors say what to do next.

use std::path::Path;
use std::process::{Command, Output};

use jobwatch_core::{Duration, JobDoc, Severity, Slug};
use jobwatch_testkit::serve_process::{ServeProcess, clean_env};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jobwatch");
const API_KEY: &str = "jobs-api-key";
const PING_KEY: &str = "jobs-ping-key";
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../infra/jobs.example.toml");

fn server() -> ServeProcess {
    ServeProcess::start(BIN, API_KEY, PING_KEY, &[], &[])
}

fn jobwatch(url: &str, args: &[&str]) -> Output {
    let mut command = Command::new(BIN);
    clean_env(&mut command)
        .args(args)
        .env("JOBWATCH_URL", url)
        .env("JOBWATCH_API_KEY", API_KEY)
        .output()
        .expect("run jobwatch")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Runs `jobwatch jobs apply -f <file> <extra>` and returns its stdout; it must succeed.
fn apply(server: &ServeProcess, file: &Path, extra: &[&str]) -> String {
    let file = file.to_str().expect("utf-8 path");
    let mut args = vec!["jobs", "apply", "-f", file];
    args.extend_from_slice(extra);
    let output = jobwatch(&server.url(), &args);
    assert!(
        output.status.success(),
        "{args:?}: {}{}",
        stdout(&output),
        stderr(&output)
    );
    stdout(&output)
}

/// The plan's lines: everything before the `Plan:` summary.
fn plan_lines(out: &str) -> Vec<&str> {
    out.lines()
        .take_while(|l| !l.starts_with("Plan:"))
        .collect()
}

fn summary(out: &str) -> &str {
    out.lines()
        .find(|l| l.starts_with("Plan:"))
        .unwrap_or_default()
}

fn server_jobs(server: &ServeProcess) -> Vec<Value> {
    let reply = server.admin("GET", "/api/v1/jobs", "");
    assert_eq!(reply.status, 200);
    reply.json()["jobs"].as_array().cloned().unwrap_or_default()
}

fn slugs(server: &ServeProcess) -> Vec<String> {
    let mut slugs: Vec<String> = server_jobs(server)
        .iter()
        .filter_map(|j| j["slug"].as_str().map(str::to_string))
        .collect();
    slugs.sort();
    slugs
}

fn job(server: &ServeProcess, slug: &str) -> Value {
    server
        .admin("GET", &format!("/api/v1/jobs/{slug}"), "")
        .json()
}

#[test]
fn apply_creates_then_has_nothing_to_change_then_exactly_the_edit_then_prunes() {
    let server = server();
    let example = Path::new(EXAMPLE);

    let out = apply(&server, example, &[]);
    assert_eq!(
        plan_lines(&out),
        [
            "+ create    heartbeat       (every 1m)",
            "+ create    nightly-backup  (0 3 * * * Europe/Berlin)",
            "+ create    reports         (30 6 * * 1-5 America/New_York)",
        ]
    );
    assert_eq!(
        summary(&out),
        "Plan: 3 to create, 0 to update, 0 to delete, 0 unchanged."
    );
    assert!(
        out.contains("Applied: 3 created, 0 updated, 0 deleted."),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "created reports (its UUID ping URL: {}/ping/",
            server.url()
        )),
        "{out}"
    );
    assert_eq!(slugs(&server), ["heartbeat", "nightly-backup", "reports"]);
    let backup = job(&server, "nightly-backup");
    assert_eq!(
        (
            &backup["max_runtime"],
            &backup["min_runtime"],
            &backup["tags"]
        ),
        (
            &Value::from("2h"),
            &Value::from("1m"),
            &serde_json::json!(["db", "backup"])
        )
    );

    // Again: nothing to change, and nothing is changed.
    let out = apply(&server, example, &[]);
    assert_eq!(
        plan_lines(&out),
        [
            "= unchanged heartbeat",
            "= unchanged nightly-backup",
            "= unchanged reports",
        ]
    );
    assert_eq!(
        summary(&out),
        "Plan: 0 to create, 0 to update, 0 to delete, 3 unchanged."
    );
    assert!(out.contains("No changes: jobwatch matches "), "{out}");

    // One edit: exactly that update.
    let dir = tempfile::tempdir().expect("temp dir");
    let edited = dir.path().join("jobs.toml");
    let text = std::fs::read_to_string(example).expect("example");
    assert!(text.contains("grace = \"10m\""));
    std::fs::write(&edited, text.replace("grace = \"10m\"", "grace = \"15m\"")).expect("write");
    let out = apply(&server, &edited, &["--dry-run"]);
    assert_eq!(
        plan_lines(&out),
        [
            "= unchanged heartbeat",
            "= unchanged nightly-backup",
            "~ update    reports         grace: 10m -> 15m",
        ]
    );
    assert!(out.contains("Dry run: nothing was changed."), "{out}");
    assert_eq!(
        job(&server, "reports")["grace"],
        "10m",
        "a dry run changes nothing"
    );
    let out = apply(&server, &edited, &[]);
    assert_eq!(
        summary(&out),
        "Plan: 0 to create, 1 to update, 0 to delete, 2 unchanged."
    );
    assert!(
        out.contains("updated reports\nApplied: 0 created, 1 updated, 0 deleted."),
        "{out}"
    );
    assert_eq!(job(&server, "reports")["grace"], "15m");

    // The file drops a job: kept without --prune, deleted with it.
    let without_heartbeat: String = {
        let text = std::fs::read_to_string(&edited).expect("edited");
        let start = text.find("[jobs.heartbeat]").expect("heartbeat table");
        let end = start + text[start..].find("\n\n").expect("end of table") + 2;
        format!("{}{}", &text[..start], &text[end..])
    };
    std::fs::write(&edited, without_heartbeat).expect("write");
    let out = apply(&server, &edited, &[]);
    assert!(out.contains("Kept (not in "), "{out}");
    assert!(out.contains("--prune deletes them): heartbeat"), "{out}");
    assert!(out.contains("No changes"), "{out}");
    assert_eq!(slugs(&server).len(), 3);
    let out = apply(&server, &edited, &["--prune"]);
    assert_eq!(
        plan_lines(&out),
        [
            "= unchanged nightly-backup",
            "= unchanged reports",
            "- delete    heartbeat",
        ]
    );
    assert_eq!(
        summary(&out),
        "Plan: 0 to create, 0 to update, 1 to delete, 2 unchanged."
    );
    assert!(out.contains("deleted heartbeat"), "{out}");
    assert_eq!(slugs(&server), ["nightly-backup", "reports"]);
}

#[test]
fn environment_sections_add_jobs_and_override_settings() {
    let server = server();
    let example = Path::new(EXAMPLE);
    apply(&server, example, &[]);
    let out = apply(&server, example, &["--env", "prod"]);
    assert_eq!(
        plan_lines(&out),
        [
            "+ create    billing-export  (0 1 1 * * UTC)",
            "= unchanged heartbeat",
            "~ update    nightly-backup  severity: error -> critical",
            "= unchanged reports",
        ]
    );
    assert_eq!(job(&server, "nightly-backup")["severity"], "critical");
    assert_eq!(
        job(&server, "nightly-backup")["tz"],
        "Europe/Berlin",
        "the rest stays"
    );
    assert_eq!(job(&server, "billing-export")["max_runtime"], "4h");

    let output = jobwatch(
        &server.url(),
        &["jobs", "apply", "-f", EXAMPLE, "--env", "staging"],
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output)
            .ends_with("has no [env.staging] section; its environments are: dev, prod\n"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn late_alert_and_repeat_interval_alone_are_updates_top_level_and_per_environment() {
    let server = server();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("jobs.toml");
    let write = |text: &str| std::fs::write(&file, text).expect("write");
    let heartbeat = "[jobs.heartbeat]\nevery = \"1m\"\n";
    write(heartbeat);
    apply(&server, &file, &[]);

    // Each setting alone, top level: planned, applied, and then nothing left to change.
    let with_late = format!("{heartbeat}late_alert = true\n");
    write(&with_late);
    let out = apply(&server, &file, &[]);
    assert_eq!(
        plan_lines(&out),
        ["~ update    heartbeat  late_alert: false -> true"]
    );
    assert!(
        out.contains("updated heartbeat\nApplied: 0 created, 1 updated, 0 deleted."),
        "{out}"
    );
    assert_eq!(job(&server, "heartbeat")["late_alert"], true);
    let with_both = format!("{with_late}repeat_interval = \"2h\"\n");
    write(&with_both);
    let out = apply(&server, &file, &[]);
    assert_eq!(
        plan_lines(&out),
        ["~ update    heartbeat  repeat_interval: none -> 2h"]
    );
    assert!(
        out.contains("Applied: 0 created, 1 updated, 0 deleted."),
        "{out}"
    );
    assert_eq!(job(&server, "heartbeat")["repeat_interval"], "2h");
    let out = apply(&server, &file, &[]);
    assert_eq!(plan_lines(&out), ["= unchanged heartbeat"]);

    // Each setting alone, as an environment's override of the top-level job.
    let env_late = format!("{with_both}\n[env.prod.jobs.heartbeat]\nlate_alert = false\n");
    write(&env_late);
    let out = apply(&server, &file, &["--env", "prod"]);
    assert_eq!(
        plan_lines(&out),
        ["~ update    heartbeat  late_alert: true -> false"]
    );
    assert!(
        out.contains("Applied: 0 created, 1 updated, 0 deleted."),
        "{out}"
    );
    let job_now = job(&server, "heartbeat");
    assert_eq!(
        (&job_now["late_alert"], &job_now["repeat_interval"]),
        (&Value::from(false), &Value::from("2h")),
        "the rest stays"
    );
    write(&format!("{env_late}repeat_interval = \"30m\"\n"));
    let out = apply(&server, &file, &["--env", "prod"]);
    assert_eq!(
        plan_lines(&out),
        ["~ update    heartbeat  repeat_interval: 2h -> 30m"]
    );
    assert!(
        out.contains("Applied: 0 created, 1 updated, 0 deleted."),
        "{out}"
    );
    assert_eq!(job(&server, "heartbeat")["repeat_interval"], "30m");
    let out = apply(&server, &file, &["--env", "prod"]);
    assert_eq!(plan_lines(&out), ["= unchanged heartbeat"]);
}

/// A cron job with every setting away from its default. A struct literal without `..`: a new
/// `JobDoc` field does not compile until it is given a value here, and the test below then
/// checks that it reaches the server.
fn every_setting() -> JobDoc {
    JobDoc {
        schedule: Some("*/5 * * * *".into()),
        tz: Some("Asia/Seoul".into()),
        every: None,
        on_demand: None,
        grace: Some(Duration::from_mins(2)),
        max_runtime: Some(Duration::from_hours(2)),
        min_runtime: Some(Duration::from_secs(10)),
        failure_threshold: Some(3),
        recovery_threshold: Some(2),
        severity: Some(Severity::Critical),
        tags: Some(vec!["db".into()]),
        description: Some("nightly dump".into()),
        late_alert: Some(true),
        repeat_interval: Some(Duration::from_hours(8)),
        group: Some("db-hosts".into()),
        flap_threshold: Some(6),
        flap_window: Some(Duration::from_hours(2)),
        flap_stable: Some(Duration::from_mins(45)),
        paused: None,
    }
}

#[test]
fn every_setting_goes_from_the_file_through_the_plan_to_the_server() {
    let server = server();
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("jobs.toml");
    std::fs::write(&file, "[jobs.full]\nevery = \"1h\"\n").expect("write");
    apply(&server, &file, &[]);

    let cron = every_setting();
    let interval = cron.clone().overlay(JobDoc {
        every: Some(Duration::from_mins(15)),
        ..JobDoc::default()
    });
    let on_demand = cron.clone().overlay(JobDoc {
        on_demand: Some(true),
        ..JobDoc::default()
    });
    for doc in [cron, interval, on_demand] {
        // A JSON scalar or list of strings is also TOML.
        let table: String = doc
            .settings()
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| format!("{name} = {value}\n"))
            .collect();
        std::fs::write(&file, format!("[jobs.full]\n{table}")).expect("write");
        let out = apply(&server, &file, &[]);
        assert!(
            out.contains("Applied: 0 created, 1 updated, 0 deleted."),
            "{out}"
        );
        let on_server = job(&server, "full");
        let explicit = doc
            .clone()
            .explicit(Slug::parse("full").expect("slug"))
            .expect("valid");
        for (name, value) in explicit.settings() {
            let shown = on_server.get(name).cloned().unwrap_or(Value::Null);
            assert_eq!(shown, value, "{name} on the server");
        }
        let out = apply(&server, &file, &[]);
        assert_eq!(plan_lines(&out), ["= unchanged full"], "{table}");
    }
}

#[test]
fn list_pause_and_resume_act_on_single_jobs() {
    let server = server();
    apply(&server, Path::new(EXAMPLE), &[]);

    let output = jobwatch(&server.url(), &["jobs", "list"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let out = stdout(&output);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "JOB             SCHEDULE                       GRACE  MAX RUNTIME  SEVERITY  TAGS       STATE"
    );
    assert_eq!(
        lines[2],
        "nightly-backup  0 3 * * * Europe/Berlin        5m     2h           error     db,backup  new"
    );
    let output = jobwatch(&server.url(), &["jobs", "list", "--json"]);
    let listed: Value = serde_json::from_slice(&output.stdout).expect("JSON only");
    assert_eq!(listed.as_array().map(Vec::len), Some(3));
    assert_eq!(listed[2]["slug"], "reports");

    let output = jobwatch(&server.url(), &["jobs", "pause", "reports", "--for", "2h"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).starts_with("paused reports until "),
        "{}",
        stdout(&output)
    );
    let paused = job(&server, "reports");
    assert_eq!(paused["status"], "paused");
    let until: jiff::Timestamp = paused["paused_until"]
        .as_str()
        .expect("until")
        .parse()
        .expect("time");
    let in_two_hours = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2);
    assert!(in_two_hours.duration_since(until).abs() < jiff::SignedDuration::from_mins(1));

    let output = jobwatch(&server.url(), &["jobs", "resume", "reports"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).starts_with("resumed reports: watching it again"));
    assert_eq!(job(&server, "reports")["status"], "new");
}

#[test]
fn pause_until_takes_a_time_or_a_duration_and_says_so() {
    let server = server();
    apply(&server, Path::new(EXAMPLE), &[]);

    let output = jobwatch(
        &server.url(),
        &["jobs", "pause", "reports", "--until", "tomorrow"],
    );
    assert_eq!(output.status.code(), Some(2));
    let err = stderr(&output);
    assert!(
        err.contains(
            "invalid value 'tomorrow' for '--until <TIME>': expected an RFC 3339 time with its \
             offset, such as 2026-12-03T08:00:00Z or 2026-12-03T09:00:00+01:00, or a duration \
             from now such as 2h"
        ),
        "{err}"
    );
    assert_eq!(
        job(&server, "reports")["status"],
        "new",
        "nothing was paused"
    );

    let output = jobwatch(&server.url(), &["jobs", "pause", "--help"]);
    let help = stdout(&output);
    assert!(help.contains("--until <TIME>"), "{help}");
    assert!(help.contains("duration from now such as 2h"), "{help}");

    let output = jobwatch(
        &server.url(),
        &["jobs", "pause", "reports", "--until", "2h"],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let until: jiff::Timestamp = job(&server, "reports")["paused_until"]
        .as_str()
        .expect("until")
        .parse()
        .expect("time");
    let in_two_hours = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(2);
    assert!(in_two_hours.duration_since(until).abs() < jiff::SignedDuration::from_mins(1));

    let output = jobwatch(
        &server.url(),
        &[
            "jobs",
            "pause",
            "reports",
            "--until",
            "2099-01-01T09:00:00+01:00",
        ],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(
        job(&server, "reports")["paused_until"],
        "2099-01-01T08:00:00Z"
    );
}

#[test]
fn errors_say_what_to_do_next() {
    let server = server();
    let check = |output: Output, expected: &str| {
        assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
        let err = stderr(&output);
        assert!(err.contains(expected), "expected {expected:?} in {err:?}");
        assert!(stdout(&output).is_empty(), "{}", stdout(&output));
    };

    // Wrong key.
    let mut command = Command::new(BIN);
    let output = clean_env(&mut command)
        .args(["jobs", "list", "--url", &server.url(), "--api-key", "wrong"])
        .output()
        .expect("run");
    check(
        output,
        &format!(
            "jobwatch jobs list: jobwatch at {} refused the API key (invalid API key): pass --api-key or set JOBWATCH_API_KEY",
            server.url()
        ),
    );

    // No key at all.
    let mut command = Command::new(BIN);
    let output = clean_env(&mut command)
        .args(["status", "--url", &server.url()])
        .output()
        .expect("run");
    check(
        output,
        "jobwatch status: no API key: pass --api-key or set JOBWATCH_API_KEY",
    );

    // Nobody listening.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let output = jobwatch(&format!("http://127.0.0.1:{port}"), &["jobs", "list"]);
    let err = stderr(&output);
    assert!(
        err.starts_with(&format!(
            "jobwatch jobs list: cannot reach jobwatch at http://127.0.0.1:{port} ("
        )),
        "{err}"
    );
    check(
        output,
        "is the server running there? Set --url or JOBWATCH_URL to its address",
    );
    check(
        jobwatch("127.0.0.1:8000", &["jobs", "list"]),
        "invalid jobwatch URL",
    );

    // Unknown job.
    check(
        jobwatch(&server.url(), &["jobs", "pause", "nope"]),
        "jobwatch jobs pause: job 'nope' not found: `jobwatch jobs list` shows the jobs there are",
    );
    check(
        jobwatch(&server.url(), &["jobs", "resume", "Not-A-Slug"]),
        "invalid slug 'Not-A-Slug'",
    );

    // A bad file: its line and field; nothing is applied.
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("jobs.toml");
    std::fs::write(
        &bad,
        "[jobs.a]\nevery = \"1m\"\n\n[jobs.b]\nschedule = \"0 25 * * *\"\n",
    )
    .expect("write");
    let bad = bad.to_str().expect("utf-8");
    check(
        jobwatch(&server.url(), &["jobs", "apply", "-f", bad]),
        &format!("{bad}:5:12: job 'b': invalid cron schedule: hour field"),
    );
    std::fs::write(
        dir.path().join("jobs.toml"),
        "[jobs.a]\nevery = \"1m\"\ngrace = \"soon\"\n",
    )
    .expect("write");
    check(
        jobwatch(&server.url(), &["jobs", "apply", "-f", bad]),
        &format!("{bad}:3:9: invalid duration 'soon'"),
    );
    check(
        jobwatch(
            &server.url(),
            &["jobs", "apply", "-f", "/no/such/jobs.toml"],
        ),
        "cannot read the jobs file /no/such/jobs.toml",
    );
    std::fs::write(dir.path().join("jobs.toml"), "# nothing yet\n").expect("write");
    check(
        jobwatch(&server.url(), &["jobs", "apply", "-f", bad, "--prune"]),
        "declares no jobs: refusing to --prune",
    );
    assert!(slugs(&server).is_empty());
}
