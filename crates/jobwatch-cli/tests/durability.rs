//! "Acknowledged means durable": the real `jobwatch serve` binary takes concurrent pings from
//! several connections, is killed with SIGKILL in the middle of them, and is started again on
//! the same SQLite file. Every ping that was answered 200 before the kill must be there.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jobwatch_testkit::http_client::call;
use jobwatch_testkit::serve_process::ServeProcess;

const API_KEY: &str = "durability-api-key";
const PING_KEY: &str = "durability-ping-key";
/// Concurrent clients, one job each.
const CLIENTS: usize = 8;
/// Runs each client starts at most: below the 1,000 runs a job keeps and the runs API lists.
const MAX_RUNS_PER_CLIENT: usize = 900;
/// Load before the kill.
const LOAD_BEFORE_KILL: Duration = Duration::from_millis(1500);
/// No client goes on longer than this, whatever happens.
const CLIENT_TIME_LIMIT: Duration = Duration::from_secs(20);

/// What one client got answered 200 for.
#[derive(Default)]
struct Acknowledged {
    /// rid -> whether its success ping (with body `output of <rid>`) was acknowledged too.
    runs: HashMap<String, bool>,
    /// Requests that failed (connection refused or cut, or a non-200 answer).
    failures: usize,
}

/// Sends start and success pings with fresh rids until the server stops answering, the run
/// budget is spent or time is up.
fn client(address: String, slug: String, index: usize, stop: Arc<AtomicBool>) -> Acknowledged {
    let started = Instant::now();
    let mut acknowledged = Acknowledged::default();
    for run in 0..MAX_RUNS_PER_CLIENT {
        if stop.load(Ordering::SeqCst) || started.elapsed() > CLIENT_TIME_LIMIT {
            break;
        }
        let rid = format!("00000000-0000-4000-8000-{:04x}{:08x}", index, run);
        let output = format!("output of {rid} {}", "x".repeat(1000));
        let start = call(
            &address,
            "POST",
            &format!("/ping/{PING_KEY}/{slug}/start?rid={rid}"),
            &[],
            output.as_bytes(),
        );
        match start {
            Ok(reply) if reply.status == 200 => {
                acknowledged.runs.insert(rid.clone(), false);
            }
            _ => {
                acknowledged.failures += 1;
                break;
            }
        }
        let success = call(
            &address,
            "POST",
            &format!("/ping/{PING_KEY}/{slug}?rid={rid}"),
            &[],
            output.as_bytes(),
        );
        match success {
            Ok(reply) if reply.status == 200 => {
                acknowledged.runs.insert(rid, true);
            }
            _ => {
                acknowledged.failures += 1;
                break;
            }
        }
    }
    acknowledged
}

#[test]
fn every_acknowledged_ping_survives_sigkill_under_load() {
    let binary = env!("CARGO_BIN_EXE_jobwatch");
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("jobwatch.db");
    let mut server = ServeProcess::start_on(binary, &data, API_KEY, PING_KEY, &[], &[]);
    let slugs: Vec<String> = (0..CLIENTS).map(|i| format!("durable-{i}")).collect();
    for slug in &slugs {
        let created = server.admin(
            "PUT",
            &format!("/api/v1/jobs/{slug}"),
            r#"{"every": "1h", "max_runtime": "1h"}"#,
        );
        assert_eq!(created.status, 201, "{}", created.body);
    }

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = slugs
        .iter()
        .enumerate()
        .map(|(index, slug)| {
            let (address, slug, stop) = (server.address.clone(), slug.clone(), Arc::clone(&stop));
            std::thread::spawn(move || client(address, slug, index, stop))
        })
        .collect();
    std::thread::sleep(LOAD_BEFORE_KILL);
    server.child.kill().expect("SIGKILL the server");
    let status = server.child.wait().expect("wait for the killed server");
    assert!(
        !status.success(),
        "the server was killed, not stopped: {status}"
    );
    stop.store(true, Ordering::SeqCst);
    let acknowledged: Vec<Acknowledged> = clients
        .into_iter()
        .map(|c| c.join().expect("client thread"))
        .collect();
    drop(server);

    let total_runs: usize = acknowledged.iter().map(|a| a.runs.len()).sum();
    let cut_off = acknowledged.iter().filter(|a| a.failures > 0).count();
    assert!(
        total_runs >= 50,
        "the load was too light to mean anything ({total_runs} runs acknowledged)"
    );
    assert!(
        cut_off > 0,
        "no client was cut off by the kill: it did not happen under load"
    );

    let server = ServeProcess::start_on(binary, &data, API_KEY, PING_KEY, &[], &[]);
    let mut pings = 0;
    for (slug, acknowledged) in slugs.iter().zip(&acknowledged) {
        let reply = server.admin("GET", &format!("/api/v1/jobs/{slug}/runs?limit=1000"), "");
        assert_eq!(reply.status, 200, "{}", reply.body);
        let stored: HashMap<String, serde_json::Value> = reply.json()["runs"]
            .as_array()
            .expect("runs")
            .iter()
            .map(|run| {
                (
                    run["run_id"].as_str().unwrap_or_default().to_string(),
                    run.clone(),
                )
            })
            .collect();
        for (rid, finished) in &acknowledged.runs {
            let run = stored
                .get(rid)
                .unwrap_or_else(|| panic!("{slug}: the acknowledged start of run {rid} is lost"));
            pings += 1;
            if *finished {
                pings += 1;
                assert_eq!(
                    run["outcome"], "success",
                    "{slug}: the acknowledged success of run {rid} is lost (stored: {})",
                    run["outcome"]
                );
                let output = run["output"].as_str().unwrap_or_default();
                assert!(
                    output.starts_with(&format!("output of {rid} ")) && output.len() > 1000,
                    "{slug}: run {rid} has the wrong output"
                );
            }
        }
    }
    eprintln!(
        "{pings} acknowledged pings ({total_runs} runs) from {CLIENTS} clients, all present after SIGKILL and restart"
    );
}
