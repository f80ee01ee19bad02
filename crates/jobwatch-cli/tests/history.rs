//! History in the terminal, on a real `jobwatch serve`: `jobwatch runs <job>` (the latest
//! runs, newest first, times in the job's zone), `jobwatch runs <job> <run-id>` (the pings in
//! the order they came and the whole kept output), and `jobwatch jobs show <job>` (every
//! setting and both ping URLs, the UUID one included, which works).

use std::process::Output;

use jobwatch_testkit::serve_process::ServeProcess;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jobwatch");
const API_KEY: &str = "history-api-key";
const PING_KEY: &str = "history-ping-key";
const FAILED_RUN: &str = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

/// `backup` (cron, Seoul) with a failed run that logged on its way, then a good run wrapped
/// by `jobwatch run`.
fn server_with_history() -> ServeProcess {
    let server = ServeProcess::start(BIN, API_KEY, PING_KEY, &[], &[]);
    let reply = server.admin(
        "PUT",
        "/api/v1/jobs/backup",
        r#"{"schedule": "0 3 * * *", "tz": "Asia/Seoul", "max_runtime": "2h"}"#,
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    for (path, body) in [
        ("start", ""),
        ("log", "copied 3 of 4 tables"),
        ("3", "copying...\ndisk full\n"),
    ] {
        let reply = server.ping(
            &format!("/ping/{PING_KEY}/backup/{path}?rid={FAILED_RUN}"),
            body,
        );
        assert_eq!(reply.status, 200, "{path}: {}", reply.body);
    }
    let output = server.cli(
        BIN,
        &["run", "backup", "--", "sh", "-c", "echo all tables copied"],
    );
    assert!(output.status.success(), "{output:?}");
    server
}

#[test]
fn runs_lists_the_latest_runs_newest_first_in_the_job_s_zone() {
    let server = server_with_history();
    let out = stdout(&server.cli(BIN, &["runs", "backup"]));
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "a header and two runs (the log line is not a run):\n{out}"
    );
    assert!(
        lines[0].starts_with("RUN")
            && lines[0].ends_with("OUTCOME  STARTED                  DURATION  EXIT  HOST"),
        "{out}"
    );
    assert!(
        lines[1].contains("  success  ") && lines[1].contains(" KST "),
        "{out}"
    );
    assert!(
        lines[2].starts_with(FAILED_RUN) && lines[2].contains("  failed  "),
        "{out}"
    );
    let cells: Vec<&str> = lines[2].split("  ").filter(|c| !c.is_empty()).collect();
    assert_eq!(cells[4].trim(), "3", "the exit status: {out}");

    let output = server.cli(BIN, &["runs", "backup", "--json", "--limit", "1"]);
    let runs: Value = serde_json::from_str(&stdout(&output)).expect("JSON only");
    assert_eq!(runs.as_array().map(Vec::len), Some(1), "--limit 1: {runs}");
    assert_eq!(runs[0]["outcome"], "success");
    assert!(
        runs[0]["output"]
            .as_str()
            .is_some_and(|o| o.contains("all tables copied")),
        "{runs}"
    );
}

#[test]
fn runs_with_a_run_id_shows_its_pings_in_order_and_its_whole_output() {
    let server = server_with_history();
    let out = stdout(&server.cli(BIN, &["runs", "backup", FAILED_RUN]));
    assert!(
        out.starts_with(&format!("run {FAILED_RUN} of backup: failed\n")),
        "{out}"
    );
    assert!(out.contains("  exit status  3\n"), "{out}");
    assert!(
        out.contains("  limits       max_runtime 2h, min_runtime none\n"),
        "{out}"
    );
    let pings: Vec<&str> = out
        .lines()
        .skip_while(|l| !l.starts_with("pings:"))
        .skip(2)
        .take_while(|l| !l.is_empty())
        .map(|l| l.split_whitespace().next().unwrap_or_default())
        .collect();
    assert_eq!(
        pings,
        ["start", "log", "exit"],
        "in the order they came:\n{out}"
    );
    assert!(
        out.contains("output of the exit status ping (21 bytes kept):\ncopying...\ndisk full\n"),
        "{out}"
    );
    assert!(
        out.contains("output of the log ping (20 bytes kept):\ncopied 3 of 4 tables\n"),
        "{out}"
    );

    let output = server.cli(BIN, &["runs", "backup", FAILED_RUN, "--json"]);
    let run: Value = serde_json::from_str(&stdout(&output)).expect("JSON only");
    assert_eq!(run["outcome"], "failed");
    assert_eq!(run["records"].as_array().map(Vec::len), Some(2), "{run}");
}

#[test]
fn runs_says_what_is_missing() {
    let server = server_with_history();
    for (args, code, message) in [
        (
            vec!["runs", "backup", "0e0e0e0e-0000-4000-8000-000000000000"],
            1,
            "run '0e0e0e0e-0000-4000-8000-000000000000' of job 'backup' not found (not among its latest 1000 runs): `jobwatch runs backup` lists its latest runs",
        ),
        (vec!["runs", "nope"], 1, "job 'nope' not found"),
        (
            vec!["runs", "backup", "--limit", "0"],
            2,
            "0 is not in 1..=1000",
        ),
    ] {
        let output = server.cli(BIN, &args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(code), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn jobs_show_prints_every_setting_and_a_uuid_ping_url_that_works() {
    let server = server_with_history();
    let out = stdout(&server.cli(BIN, &["jobs", "show", "backup"]));
    assert!(
        out.starts_with("backup\n  state               up\n"),
        "{out}"
    );
    for line in [
        "  schedule            0 3 * * * Asia/Seoul",
        "  max_runtime         2h",
        "  grace               5m",
        "  severity            error",
        "  min_runtime         none",
    ] {
        assert!(out.contains(&format!("{line}\n")), "{line}:\n{out}");
    }
    assert!(out.contains(" KST\n"), "times in the job's zone:\n{out}");
    let ping_url = format!(
        "  ping URL            {}/ping/{PING_KEY}/backup\n",
        server.url()
    );
    assert!(out.contains(&ping_url), "{out}");
    let uuid_url = out
        .lines()
        .find_map(|l| l.strip_prefix("  UUID ping URL       "))
        .expect("the UUID ping URL is shown");
    let path = uuid_url.trim_start_matches(&server.url());
    assert!(
        path.starts_with("/ping/") && path.len() == 6 + 36,
        "{uuid_url}"
    );
    let failed = server.ping(&format!("{path}/fail"), "");
    assert_eq!(failed.status, 200, "the UUID URL pings the job");
    let again = stdout(&server.cli(BIN, &["jobs", "show", "backup"]));
    assert!(again.contains("  state               down\n"), "{again}");

    let output = server.cli(BIN, &["jobs", "show", "backup", "--json"]);
    let job: Value = serde_json::from_str(&stdout(&output)).expect("JSON only");
    assert_eq!(job["ping_url_uuid"].as_str(), Some(uuid_url));
}

#[test]
fn an_on_demand_job_is_shown_as_such_everywhere() {
    let server = server_with_history();
    let reply = server.ping(
        &format!("/ping/{PING_KEY}/resize-images/start?rid={FAILED_RUN}&create=on-demand"),
        "",
    );
    assert_eq!(reply.status, 201, "{}", reply.body);
    let out = stdout(&server.cli(BIN, &["jobs", "show", "resize-images"]));
    assert!(out.contains("  schedule            on demand\n"), "{out}");
    assert!(out.contains("  next expected       -\n"), "{out}");
    let out = stdout(&server.cli(BIN, &["jobs", "list"]));
    let row = out
        .lines()
        .find(|l| l.starts_with("resize-images"))
        .expect("listed");
    assert!(row.contains("  on demand  "), "{out}");
    let out = stdout(&server.cli(BIN, &["status", "resize-images"]));
    assert!(
        out.lines()
            .nth(1)
            .is_some_and(|l| l.contains("  on demand  ")),
        "{out}"
    );
}
