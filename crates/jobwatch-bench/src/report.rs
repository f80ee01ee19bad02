//! What a ping run measured: each connection's [`Tally`], and the [`Report`] made from all of
//! them (throughput, errors, nearest-rank latency percentiles), as text or JSON.

use std::fmt::Write as _;
use std::time::Duration;

use serde_json::json;

use crate::cli::PingArgs;

#[derive(Default)]
pub(crate) struct Tally {
    /// Latencies of the requests answered 200, in nanoseconds.
    pub(crate) latencies: Vec<u64>,
    pub(crate) status_errors: u64,
    pub(crate) io_errors: u64,
    pub(crate) connections_opened: u64,
    pub(crate) first_error: Option<String>,
}

impl Tally {
    pub(crate) fn error(&mut self, io: bool, message: impl FnOnce() -> String) {
        if io {
            self.io_errors += 1;
        } else {
            self.status_errors += 1;
        }
        if self.first_error.is_none() {
            self.first_error = Some(message());
        }
    }
}

pub(crate) struct Report {
    connections: u32,
    jobs: u32,
    body_bytes: usize,
    threads: u32,
    duration: Duration,
    elapsed: Duration,
    pub(crate) ok: u64,
    status_errors: u64,
    io_errors: u64,
    connections_opened: u64,
    /// p50, p90, p99 and max in nanoseconds, when anything succeeded.
    latency: Option<[u64; 4]>,
    pub(crate) first_error: Option<String>,
}

impl Report {
    pub(crate) fn new(
        args: &PingArgs,
        duration: Duration,
        elapsed: Duration,
        mut tally: Tally,
    ) -> Report {
        tally.latencies.sort_unstable();
        let samples = &tally.latencies;
        let latency = samples.last().map(|&max| {
            [
                percentile(samples, 500),
                percentile(samples, 900),
                percentile(samples, 990),
                max,
            ]
        });
        Report {
            connections: args.connections,
            jobs: args.jobs,
            body_bytes: args.body_bytes,
            threads: args.threads,
            duration,
            elapsed,
            ok: samples.len() as u64,
            status_errors: tally.status_errors,
            io_errors: tally.io_errors,
            connections_opened: tally.connections_opened,
            latency,
            first_error: tally.first_error,
        }
    }

    fn errors(&self) -> u64 {
        self.status_errors + self.io_errors
    }

    fn requests(&self) -> u64 {
        self.ok + self.errors()
    }

    /// Requests answered (any status) per second; failed connections and I/O errors are
    /// not throughput.
    fn requests_per_s(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        if seconds > 0.0 {
            (self.ok + self.status_errors) as f64 / seconds
        } else {
            0.0
        }
    }

    pub(crate) fn to_json(&self) -> serde_json::Value {
        let ms = |i: usize| self.latency.map(|l| round3(l[i] as f64 / 1e6));
        json!({
            "connections": self.connections,
            "jobs": self.jobs,
            "body_bytes": self.body_bytes,
            "client_threads": self.threads,
            "duration_s": self.duration.as_secs_f64(),
            "elapsed_s": round3(self.elapsed.as_secs_f64()),
            "requests": self.requests(),
            "ok": self.ok,
            "errors": self.errors(),
            "errors_status": self.status_errors,
            "errors_io": self.io_errors,
            "connections_opened": self.connections_opened,
            "requests_per_s": round3(self.requests_per_s()),
            "latency_ms": {
                "p50": ms(0),
                "p90": ms(1),
                "p99": ms(2),
                "max": ms(3),
            },
        })
    }

    pub(crate) fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "jobwatch-bench ping: {} connections, {} jobs, {}-byte bodies, {:.2} s",
            self.connections,
            self.jobs,
            self.body_bytes,
            self.elapsed.as_secs_f64()
        );
        let _ = writeln!(
            out,
            "  requests     {} (ok {}, errors {}: {} non-200, {} I/O)",
            self.requests(),
            self.ok,
            self.errors(),
            self.status_errors,
            self.io_errors
        );
        let _ = writeln!(
            out,
            "  throughput   {:.1} requests/s answered",
            self.requests_per_s()
        );
        match self.latency {
            Some([p50, p90, p99, max]) => {
                let ms = |n: u64| n as f64 / 1e6;
                let _ = writeln!(
                    out,
                    "  latency ms   p50 {:.3}  p90 {:.3}  p99 {:.3}  max {:.3}",
                    ms(p50),
                    ms(p90),
                    ms(p99),
                    ms(max)
                );
            }
            None => {
                let _ = writeln!(out, "  latency ms   (no successful request)");
            }
        }
        let _ = writeln!(out, "  connections  {} opened", self.connections_opened);
        out
    }
}

/// Exact nearest-rank percentile of sorted, non-empty `samples`; `permille` is 500 for p50.
fn percentile(samples: &[u64], permille: usize) -> u64 {
    let rank = (samples.len() * permille).div_ceil(1000).max(1);
    samples[rank.min(samples.len()) - 1]
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&samples, 500), 50);
        assert_eq!(percentile(&samples, 900), 90);
        assert_eq!(percentile(&samples, 990), 99);
        assert_eq!(percentile(&[7], 990), 7);
        assert_eq!(percentile(&[1, 2, 3], 500), 2);
    }
}
