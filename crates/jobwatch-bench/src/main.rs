//! `jobwatch-bench`: a closed-loop HTTP/1.1 load generator for `jobwatch serve`.
//!
//! It answers "how much can one local jobwatch server take, and how fast does it answer?":
//! pings per second, the latency of each ping, and (with `bench/serve.sh`) the server's CPU
//! time per ping and its memory. It is a measuring tool, not a test: CI does not run it, and
//! the figures it printed on one machine are recorded in `docs/performance.md`.
//!
//! It speaks HTTP/1.1 itself on raw `tokio::net::TcpStream`s with keep-alive (write a request,
//! read the status line and headers, read exactly `Content-Length` bytes of body), so what is
//! measured is the server and not an HTTP client library. Every connection is closed-loop: it
//! sends its next request only once the previous answer is in. A connection that fails (I/O
//! error, malformed answer) is counted as an error, dropped and reopened. Only plain `http://`
//! URLs are supported.
//!
//! - `setup` creates the jobs `bench-0` .. `bench-{N-1}` through the admin API.
//! - `ping` opens C connections for a fixed time. Each one takes its next job in turn (round
//!   robin over its own share of the jobs, so connections do not contend on one job while
//!   there are at least as many jobs as connections), sends `/start?rid=X` and then the success
//!   ping `?rid=X` with the same fresh rid, each carrying a `--body-bytes` body as the run's
//!   output, and records the latency of every request (write to last body byte; connecting is
//!   not included). The report gives the requests sent, the errors (non-200 answers, I/O
//!   errors and failed connections), the requests answered per second, and exact nearest-rank
//!   latency percentiles of the 200 answers from all recorded samples.

mod cli;
mod http;
mod ping;
mod report;
mod setup;

use anyhow::{Context, Result};
use clap::Parser;

use cli::{Cli, Command};

fn main() -> Result<()> {
    let cli = Cli::parse();
    let threads = match &cli.command {
        Command::Ping(args) => args.threads,
        Command::Setup(_) => 1,
    };
    let runtime = if threads <= 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads as usize)
            .enable_all()
            .build()
    }
    .context("starting the async runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Setup(args) => setup::setup(args).await,
            Command::Ping(args) => ping::ping(args).await,
        }
    })
}
