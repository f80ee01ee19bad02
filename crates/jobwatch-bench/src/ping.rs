//! `ping`: C closed-loop keep-alive connections send start + success pings for a fixed time,
//! each recording the latency of every request; their tallies make the report.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::time::{Instant, sleep_until, timeout_at};

use crate::cli::{MAX_DURATION, PingArgs, encode_segment};
use crate::http::{Conn, build_request, excerpt};
use crate::report::{Report, Tally};

/// Largest ping body sent.
const MAX_BODY_BYTES: usize = 16 * 1024 * 1024;
/// Pause after a failed connection attempt, so a dead server is not hammered in a tight loop.
const RECONNECT_PAUSE: Duration = Duration::from_millis(10);

/// What every connection shares.
struct Plan {
    addr: SocketAddr,
    authority: String,
    /// `<prefix>/ping/<key>/<slug>` of every job.
    job_paths: Vec<String>,
    connections: usize,
    body: Vec<u8>,
    /// Random high half of every rid (holds the UUID version nibble); the low half is the
    /// connection number and a counter, so rids are unique within and across runs.
    rid_high: u128,
}

impl Plan {
    /// Indices of the jobs connection `index` pings in turn: every `connections`-th job, or a
    /// shared one when there are more connections than jobs.
    fn jobs_of(&self, index: usize) -> Vec<usize> {
        let n = self.job_paths.len();
        if index < n {
            (index..n).step_by(self.connections).collect()
        } else {
            vec![index % n]
        }
    }

    fn rid(&self, index: usize, seq: u64) -> uuid::Uuid {
        // Variant bits 10 on top of the low half, then 14 bits of connection, 44 of counter.
        let low =
            0x8000_0000_0000_0000_u64 | ((index as u64 & 0x3fff) << 44) | (seq & 0x0fff_ffff_ffff);
        uuid::Uuid::from_u128(self.rid_high | u128::from(low))
    }
}

pub(crate) async fn ping(args: PingArgs) -> Result<()> {
    if args.body_bytes > MAX_BODY_BYTES {
        bail!("--body-bytes is at most {MAX_BODY_BYTES}");
    }
    let key = args.ping_key.trim();
    if key.is_empty() {
        bail!("--ping-key is empty");
    }
    let mut duration = args.duration.0;
    if duration > MAX_DURATION {
        eprintln!("note: --duration capped at {} s", MAX_DURATION.as_secs());
        duration = MAX_DURATION;
    }
    let addr = args.url.resolve().await?;
    let key = encode_segment(key);
    let job_paths = (0..args.jobs)
        .map(|i| format!("{}/ping/{key}/bench-{i}", args.url.prefix))
        .collect();
    let line = b"jobwatch-bench: simulated job output, one line of a longer log\n";
    let body = line.iter().copied().cycle().take(args.body_bytes).collect();
    let rid_high = uuid::Uuid::new_v4().as_u128() & !u128::from(u64::MAX);
    let plan = Arc::new(Plan {
        addr,
        authority: args.url.authority.clone(),
        job_paths,
        connections: args.connections as usize,
        body,
        rid_high,
    });

    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..plan.connections)
        .map(|index| tokio::spawn(worker(Arc::clone(&plan), index, deadline)))
        .collect();
    let mut total = Tally::default();
    for handle in workers {
        let tally = handle.await.context("a connection task failed")?;
        total.latencies.extend_from_slice(&tally.latencies);
        total.status_errors += tally.status_errors;
        total.io_errors += tally.io_errors;
        total.connections_opened += tally.connections_opened;
        if total.first_error.is_none() {
            total.first_error = tally.first_error;
        }
    }
    let elapsed = started.elapsed().min(duration);

    let report = Report::new(&args, duration, elapsed, total);
    if args.json {
        println!("{}", report.to_json());
    } else {
        print!("{}", report.to_text());
    }
    if let Some(first) = &report.first_error {
        eprintln!("first error: {first}");
    }
    if report.ok == 0 {
        bail!(
            "no ping succeeded; are the jobs set up (jobwatch-bench setup --jobs {}) and the ping key right?",
            args.jobs
        );
    }
    Ok(())
}

/// One closed-loop connection: start + success for its next job, until the deadline.
async fn worker(plan: Arc<Plan>, index: usize, deadline: Instant) -> Tally {
    let jobs = plan.jobs_of(index);
    let mut tally = Tally::default();
    let mut conn: Option<Conn> = None;
    let mut request = Vec::with_capacity(plan.body.len() + 512);
    let mut path = String::with_capacity(256);
    'run: for (seq, job) in (0_u64..).zip(jobs.iter().copied().cycle()) {
        let rid = plan.rid(index, seq);
        for start in [true, false] {
            if Instant::now() >= deadline {
                break 'run;
            }
            if conn.is_none() {
                match timeout_at(deadline, Conn::connect(plan.addr)).await {
                    Err(_) => break 'run,
                    Ok(Ok(c)) => {
                        tally.connections_opened += 1;
                        conn = Some(c);
                    }
                    Ok(Err(e)) => {
                        tally.error(true, || format!("connecting to {}: {e}", plan.addr));
                        sleep_until(deadline.min(Instant::now() + RECONNECT_PAUSE)).await;
                        continue 'run;
                    }
                }
            }
            let Some(c) = conn.as_mut() else {
                continue 'run;
            };
            path.clear();
            let suffix = if start { "/start" } else { "" };
            let _ = write!(path, "{}{suffix}?rid={rid}", plan.job_paths[job]);
            build_request(
                &mut request,
                "POST",
                &path,
                &plan.authority,
                "",
                "text/plain",
                &plan.body,
            );
            let sent = Instant::now();
            match timeout_at(deadline, c.exchange(&request)).await {
                // Still in flight at the deadline: neither counted nor timed.
                Err(_) => break 'run,
                Ok(Ok(response)) => {
                    let latency = sent.elapsed();
                    if response.status == 200 {
                        let nanos = u64::try_from(latency.as_nanos()).unwrap_or(u64::MAX);
                        tally.latencies.push(nanos);
                    } else {
                        tally.error(false, || {
                            format!(
                                "POST {path} answered {}: {}",
                                response.status,
                                excerpt(&response.body)
                            )
                        });
                    }
                    if response.close {
                        conn = None;
                    }
                }
                Ok(Err(e)) => {
                    tally.error(true, || format!("POST {path}: {e:#}"));
                    conn = None;
                    // The pair is broken; go on with the next job on a new connection.
                    continue 'run;
                }
            }
        }
    }
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rids_are_canonical_and_distinct() {
        let plan = Plan {
            addr: SocketAddr::from(([127, 0, 0, 1], 1)),
            authority: String::new(),
            job_paths: (0..10).map(|i| format!("/ping/k/bench-{i}")).collect(),
            connections: 4,
            body: Vec::new(),
            rid_high: uuid::Uuid::new_v4().as_u128() & !u128::from(u64::MAX),
        };
        let a = plan.rid(0, 0);
        let b = plan.rid(1, 0);
        let c = plan.rid(0, 1);
        assert!(a != b && a != c && b != c);
        assert_eq!(a.get_version_num(), 4);
        assert_eq!(a.get_variant(), uuid::Variant::RFC4122);
        let text = a.to_string();
        assert_eq!(uuid::Uuid::try_parse(&text).ok(), Some(a));
        assert_eq!(plan.jobs_of(1), vec![1, 5, 9]);
        assert_eq!(plan.jobs_of(3), vec![3, 7]);
        let crowded = Plan {
            connections: 16,
            ..plan
        };
        assert_eq!(crowded.jobs_of(12), vec![2]);
    }
}
