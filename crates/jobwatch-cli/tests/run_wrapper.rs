//! `jobwatch run` against a real `jobwatch serve`: the run history shows each run paired by its
//! run id with its exit status and the tail of its output, the wrapper passes input and output
//! through and exits with the command's own status, and a server that is down costs the job
//! nothing but a bounded delay.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use jobwatch_testkit::serve_process::{ServeProcess, clean_env};
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_jobwatch");
const API_KEY: &str = "run-api-key";
const PING_KEY: &str = "run-ping-key";
/// The server keeps this much of a ping body; the wrapper must learn it from the server.
const BODY_LIMIT: usize = 4096;

fn server_with(jobs: &[&str]) -> ServeProcess {
    let limit = BODY_LIMIT.to_string();
    let server = ServeProcess::start(BIN, API_KEY, PING_KEY, &["--ping-body-limit", &limit], &[]);
    for job in jobs {
        let reply = server.admin("PUT", &format!("/api/v1/jobs/{job}"), r#"{"every": "1h"}"#);
        assert_eq!(reply.status, 201, "{}", reply.body);
    }
    server
}

/// `jobwatch run <args>` pointed at `url`, with short ping budgets (unless `args` sets them)
/// so a failure shows quickly.
fn wrapper(url: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BIN);
    clean_env(&mut command).arg("run");
    if !args.contains(&"--finish-timeout") {
        command.args(["--start-timeout", "3s", "--finish-timeout", "5s"]);
    }
    command
        .args(args)
        .env("JOBWATCH_URL", url)
        .env("JOBWATCH_PING_KEY", PING_KEY)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` at most `limit`, collecting its output; kills it and fails otherwise.
fn finish_within(mut child: Child, limit: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stdout.read_to_end(&mut buf);
        buf
    });
    let err = std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = stderr.read_to_end(&mut buf);
        buf
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            panic!("jobwatch run did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let elapsed = started.elapsed();
    let output = Output {
        status,
        stdout: out.join().expect("stdout reader"),
        stderr: err.join().expect("stderr reader"),
    };
    (output, elapsed)
}

fn run(url: &str, args: &[&str]) -> (Output, Duration) {
    let child = wrapper(url, args).spawn().expect("start jobwatch run");
    finish_within(child, Duration::from_secs(15))
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn only_run(server: &ServeProcess, job: &str) -> Value {
    let runs = server.runs(job);
    assert_eq!(runs.len(), 1, "{runs:#?}");
    runs[0].clone()
}

fn is_uuid_v4(s: &str) -> bool {
    s.len() == 36
        && s.chars().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
        && &s[14..15] == "4"
}

#[test]
fn a_succeeding_command_is_reported_with_its_output_and_passes_io_through() {
    let server = server_with(&["backup"]);
    let mut child = wrapper(
        &server.url(),
        &[
            "backup",
            "--",
            "sh",
            "-c",
            "cat; echo to-stdout; echo to-stderr >&2",
        ],
    )
    .stdin(Stdio::piped())
    .spawn()
    .expect("start");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"from-stdin\n").expect("write stdin");
    drop(stdin);
    let (output, _) = finish_within(child, Duration::from_secs(15));

    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), "from-stdin\nto-stdout\n");
    assert_eq!(text(&output.stderr), "to-stderr\n", "no warnings");
    let run = only_run(&server, "backup");
    assert_eq!(run["outcome"], "success");
    assert_eq!(run["exit_code"], 0);
    assert!(
        run["started_at"].is_string(),
        "paired with its start: {run}"
    );
    assert!(
        is_uuid_v4(run["run_id"].as_str().unwrap_or_default()),
        "{run}"
    );
    let kept = run["output"].as_str().unwrap_or_default();
    for line in ["from-stdin", "to-stdout", "to-stderr"] {
        assert!(kept.contains(line), "{kept:?}");
    }
    let job = server.admin("GET", "/api/v1/jobs/backup", "").json();
    assert_eq!(job["status"], "up");
}

#[test]
fn a_failing_command_is_reported_with_its_exit_status_and_the_wrapper_exits_with_it() {
    let server = server_with(&["reports"]);
    let (output, _) = run(
        &server.url(),
        &["reports", "--", "sh", "-c", "echo half done; exit 3"],
    );
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(text(&output.stdout), "half done\n");
    let run = only_run(&server, "reports");
    assert_eq!(
        (&run["outcome"], &run["exit_code"], &run["output"]),
        (
            &Value::from("failed"),
            &Value::from(3),
            &Value::from("half done\n")
        )
    );
    assert!(run["started_at"].is_string(), "{run}");
    let job = server.admin("GET", "/api/v1/jobs/reports", "").json();
    assert_eq!(job["status"], "down");

    // Where it ran: the wrapper names its host, the server saw its address and User-Agent;
    // the alert says so, and links the run, which the API serves.
    let source = &run["source"];
    let host = source["host"].as_str().unwrap_or_default();
    assert!(!host.is_empty(), "the host header: {run}");
    assert_eq!(source["ip"], "127.0.0.1", "{run}");
    assert!(
        source["ua"]
            .as_str()
            .is_some_and(|ua| ua.starts_with("jobwatch/")),
        "{run}"
    );
    let run_id = run["run_id"].as_str().unwrap_or_default();
    let linked = server.admin("GET", &format!("/api/v1/jobs/reports/runs/{run_id}"), "");
    assert_eq!(linked.status, 200, "{}", linked.body);
    assert_eq!(linked.json()["source"]["host"], host);
    let lines = server.output(Duration::from_secs(5));
    let alert = lines
        .iter()
        .find(|l| l.contains("FAILED reports"))
        .unwrap_or_else(|| panic!("the alert on the console: {lines:#?}"));
    assert!(
        alert.contains(&format!("from {host} · 127.0.0.1")),
        "{alert}"
    );
    // The alert links the run's page, signed so it opens without logging in.
    let link = alert
        .split(' ')
        .find(|word| word.contains(&format!("/jobs/reports/runs/{run_id}?exp=")))
        .unwrap_or_else(|| panic!("a signed link to the run's page: {alert}"));
    let path = &link[link.find("/jobs/").unwrap_or_default()..];
    let page = server.get(path);
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains("half done"),
        "the run's output: {}",
        page.body
    );
}

/// Starts the wrapper and waits until the command has printed `ready`.
fn start_until_ready(url: &str, args: &[&str]) -> (Child, BufReader<std::process::ChildStdout>) {
    let mut child = wrapper(url, args).spawn().expect("start");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("ready line");
    assert_eq!(line, "ready\n");
    (child, stdout)
}

fn sigterm(child: &Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("pid");
    // SAFETY: sends SIGTERM to the wrapper this test started.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGTERM) }, 0);
}

fn wait_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn sigterm_is_forwarded_and_a_command_killed_by_it_is_reported_as_143() {
    let server = server_with(&["worker", "graceful"]);

    // The command dies of the forwarded SIGTERM: 128 + 15, as a shell reports it.
    let (mut child, _stdout) = start_until_ready(
        &server.url(),
        &["worker", "--", "sh", "-c", "echo ready; exec sleep 30"],
    );
    sigterm(&child);
    let status = wait_within(&mut child, Duration::from_secs(10));
    assert_eq!(status.code(), Some(143));
    let run = only_run(&server, "worker");
    assert_eq!(
        (&run["outcome"], &run["exit_code"]),
        (&Value::from("failed"), &Value::from(143))
    );

    // A command that handles SIGTERM sees it, and its own exit status is what counts.
    let (mut child, mut stdout) = start_until_ready(
        &server.url(),
        &[
            "graceful",
            "--",
            "sh",
            "-c",
            "trap 'echo got-TERM; kill $! 2>/dev/null; exit 5' TERM; echo ready; sleep 30 & wait",
        ],
    );
    sigterm(&child);
    let status = wait_within(&mut child, Duration::from_secs(10));
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).expect("rest of stdout");
    assert_eq!(status.code(), Some(5));
    assert_eq!(rest, "got-TERM\n");
    let run = only_run(&server, "graceful");
    assert_eq!(run["exit_code"], 5);
    assert!(
        run["output"]
            .as_str()
            .unwrap_or_default()
            .ends_with("got-TERM\n"),
        "{run}"
    );
}

#[test]
fn ctrl_c_to_the_whole_process_group_is_still_reported() {
    use std::os::unix::process::CommandExt;
    let server = server_with(&["interactive"]);
    for attempt in 0..5 {
        // As a terminal does: SIGINT to the wrapper and the command at once.
        let mut child = wrapper(
            &server.url(),
            &["interactive", "--", "sh", "-c", "echo ready; exec sleep 30"],
        )
        .process_group(0)
        .spawn()
        .expect("start");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("ready line");
        let group = libc::pid_t::try_from(child.id()).expect("pid");
        // SAFETY: signals the process group this test just created.
        assert_eq!(unsafe { libc::kill(-group, libc::SIGINT) }, 0);
        let status = wait_within(&mut child, Duration::from_secs(10));
        assert_eq!(status.code(), Some(130), "attempt {attempt}");
        let runs = server.runs("interactive");
        assert_eq!(runs.len(), attempt + 1, "attempt {attempt}: {runs:#?}");
        assert_eq!(runs[0]["exit_code"], 130, "attempt {attempt}");
    }
}

#[test]
fn of_a_megabyte_of_output_everything_is_passed_through_and_only_the_tail_is_sent() {
    let server = server_with(&["export"]);
    let (output, _) = run(&server.url(), &["export", "--", "seq", "1", "170000"]);
    assert_eq!(output.status.code(), Some(0));
    let expected: String = (1..=170_000).map(|n| format!("{n}\n")).collect();
    assert!(expected.len() > 1024 * 1024);
    assert!(
        output.stdout == expected.as_bytes(),
        "stdout passed through unchanged ({} bytes of {})",
        output.stdout.len(),
        expected.len()
    );
    let run = only_run(&server, "export");
    let kept = run["output"].as_str().unwrap_or_default();
    assert_eq!(
        kept.len(),
        BODY_LIMIT,
        "the server's Ping-Body-Limit, no more"
    );
    assert!(expected.ends_with(kept), "the tail: {:?}", &kept[..40]);
}

#[test]
fn when_jobwatch_is_down_the_job_still_runs_and_keeps_its_status() {
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("http://127.0.0.1:{port}");
    let child = wrapper(
        &url,
        &[
            "--start-timeout",
            "1s",
            "--finish-timeout",
            "2s",
            "nightly",
            "--",
            "sh",
            "-c",
            "echo ran; exit 4",
        ],
    )
    .spawn()
    .expect("start");
    let (output, elapsed) = finish_within(child, Duration::from_secs(15));
    assert_eq!(output.status.code(), Some(4));
    assert_eq!(text(&output.stdout), "ran\n");
    let stderr = text(&output.stderr);
    assert!(
        stderr.contains(&format!("jobwatch: could not reach jobwatch at {url}")),
        "{stderr}"
    );
    assert!(
        elapsed < Duration::from_secs(5),
        "bounded by --finish-timeout: took {elapsed:?}"
    );
}

/// The status `sh` itself reports for running `command`: the standard the wrapper follows.
fn shell_status(command: &str) -> Option<i32> {
    Command::new("sh")
        .args(["-c", "\"$0\" 2>/dev/null", command])
        .status()
        .expect("run sh")
        .code()
}

#[test]
fn a_command_that_cannot_run_exits_126_and_one_not_found_127_as_in_a_shell() {
    use std::os::unix::fs::PermissionsExt;

    let server = server_with(&["backup"]);
    let dir = tempfile::tempdir().expect("temp dir");
    let script = dir.path().join("backup.sh");
    std::fs::write(&script, "#!/bin/sh\necho dumping\n").expect("write");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    let script = script.to_str().expect("utf-8").to_string();
    let directory = dir.path().to_str().expect("utf-8").to_string();
    let missing = dir
        .path()
        .join("missing.sh")
        .to_str()
        .expect("utf-8")
        .to_string();

    for (command, status, reason) in [
        (
            script.as_str(),
            126,
            "permission denied (is it executable?)",
        ),
        (
            directory.as_str(),
            126,
            "permission denied (is it executable?)",
        ),
        (
            missing.as_str(),
            127,
            "command not found (check the name and PATH)",
        ),
        (
            "no-such-command-on-path",
            127,
            "command not found (check the name and PATH)",
        ),
    ] {
        assert_eq!(shell_status(command), Some(status), "sh on {command}");
        let (output, _) = run(&server.url(), &["backup", "--", command]);
        assert_eq!(output.status.code(), Some(status), "{command}");
        assert_eq!(
            text(&output.stderr),
            format!("jobwatch: cannot run '{command}': {reason}\n"),
            "{command}"
        );
        let last = &server.runs("backup")[0];
        assert_eq!(
            last["exit_code"], status,
            "{command}: reported as that status"
        );
        assert_eq!(last["outcome"], "failed", "{command}");
    }
}

#[test]
fn configuration_mistakes_are_explained_and_never_stop_the_job() {
    let server = server_with(&[]);

    // An unknown job: the job runs; the message says how to create it.
    let (output, _) = run(&server.url(), &["nosuch", "--", "sh", "-c", "echo ok"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(text(&output.stdout), "ok\n");
    assert_eq!(
        text(&output.stderr),
        "jobwatch: job 'nosuch' not found or wrong ping key; create it with `jobwatch jobs apply` or pass --create (ping with ?create=1)\n"
    );

    // --create creates it on the first ping.
    let (output, _) = run(&server.url(), &["--create", "nosuch", "--", "true"]);
    assert_eq!(
        (output.status.code(), text(&output.stderr)),
        (Some(0), String::new())
    );
    assert_eq!(only_run(&server, "nosuch")["outcome"], "success");

    // A command that does not exist: 127, as in a shell, and reported as such.
    let (output, _) = run(&server.url(), &["nosuch", "--", "./no-such-command"]);
    assert_eq!(output.status.code(), Some(127));
    assert!(
        text(&output.stderr).contains("cannot run './no-such-command': command not found"),
        "{}",
        text(&output.stderr)
    );
    assert_eq!(server.runs("nosuch")[0]["exit_code"], 127);

    // No ping key: the job runs unmonitored, with a warning saying what to set.
    let mut command = wrapper(&server.url(), &["nosuch", "--", "sh", "-c", "exit 2"]);
    command.env_remove("JOBWATCH_PING_KEY");
    let (output, _) = finish_within(command.spawn().expect("start"), Duration::from_secs(15));
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("no ping key: pass --ping-key or set JOBWATCH_PING_KEY"),
        "{}",
        text(&output.stderr)
    );
}
