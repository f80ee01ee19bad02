//! `jobwatch run`: wraps a job's command. Pings `start`, runs the command with its input and
//! output passed through, forwards SIGINT/SIGTERM to it, then pings its exit status with the
//! tail of its output, and exits with the command's own status. Monitoring must never hurt
//! the job: pings have bounded retries, and an unreachable or misconfigured jobwatch only
//! costs a warning on stderr.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitCode, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration as StdDuration;

use clap::Args;
use jobwatch_core::{Duration, Slug};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::time::Instant;

use crate::client::{DEFAULT_PING_BODY_LIMIT, DEFAULT_URL, PingClient, PingResult};

/// The most output kept in memory for the finish ping: the server keeps at most its
/// `Ping-Body-Limit` of it, usually 10,000 bytes.
const MAX_TAIL: usize = 1024 * 1024;
/// After the command exits, how long to wait for its output pipes to close: a background
/// process it left behind may hold them open forever.
const DRAIN_WAIT: StdDuration = StdDuration::from_secs(2);

#[derive(Args)]
#[command(
    about = "Run a command as a monitored job: ping start, run it, ping its exit status and output",
    after_help = "The command's input and output are passed through unchanged, SIGINT and SIGTERM are \
forwarded to it, and jobwatch exits with the command's own exit status (128+N when it was killed \
by signal N), or as a shell would when the command cannot run: 127 when it is not found, 126 when \
it cannot be executed (not executable, permission denied). The last part of its combined output (up to the \
server's Ping-Body-Limit) is sent with the exit status. When jobwatch cannot be reached the job \
still runs; pings give up after --start-timeout / --finish-timeout.

Examples:
  # In a crontab: report the backup's runs, output and exit status to the job nightly-backup
  0 3 * * * JOBWATCH_URL=https://jobwatch.example.com JOBWATCH_PING_KEY=... jobwatch run nightly-backup -- /usr/local/bin/backup.sh --full

  # Against a local `jobwatch serve`, creating the job on its first ping
  JOBWATCH_PING_KEY=local-ping-key jobwatch run --create reports -- python3 make_reports.py

  # Shell syntax needs a shell
  jobwatch run cleanup -- sh -c 'find /tmp/exports -mtime +7 -delete && echo done'"
)]
pub struct RunArgs {
    /// The job's slug (as in the ping URL /ping/<ping-key>/<job>).
    job: String,
    /// The command and its arguments, after `--`.
    #[arg(last = true, required = true, num_args = 1.., value_name = "COMMAND")]
    command: Vec<OsString>,
    /// Base URL of jobwatch: `jobwatch serve`'s address or the deployed stack's URL.
    #[arg(long, env = "JOBWATCH_URL", default_value = DEFAULT_URL)]
    url: String,
    /// The ping key (the <ping-key> in /ping/<ping-key>/<job>).
    #[arg(long, env = "JOBWATCH_PING_KEY", hide_env_values = true)]
    ping_key: Option<String>,
    /// Give each run a fresh random run id (`?rid=`), so overlapping runs are tracked one by
    /// one. Always on; accepted for compatibility with other wrappers.
    #[arg(long)]
    rid_auto: bool,
    /// Create the job on its first ping if it does not exist (`?create=1`; expects a daily run).
    #[arg(long)]
    create: bool,
    /// Longest time spent trying to deliver the start ping (it runs alongside the command).
    #[arg(long, default_value = "10s", value_name = "DURATION")]
    start_timeout: Duration,
    /// Longest time spent after the command exits on delivering its result.
    #[arg(long, default_value = "20s", value_name = "DURATION")]
    finish_timeout: Duration,
}

fn warn(message: &str) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "jobwatch: {message}");
}

fn std_duration(d: Duration) -> StdDuration {
    StdDuration::from_millis(d.as_millis())
}

pub fn run(args: RunArgs) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            // Without a runtime there are no pings, but the job itself must still run.
            warn(&format!(
                "cannot start the async runtime ({e}); running the job without monitoring"
            ));
            return ExitCode::from(run_plain(&args.command));
        }
    };
    ExitCode::from(runtime.block_on(wrap(args)))
}

/// Runs the command with nothing around it; the fallback when monitoring cannot work at all.
fn run_plain(command: &[OsString]) -> u8 {
    let Some((program, rest)) = command.split_first() else {
        return 127;
    };
    match std::process::Command::new(program).args(rest).status() {
        Ok(status) => exit_code(status),
        Err(e) => {
            warn(&spawn_error_message(program, &e));
            spawn_error_code(&e)
        }
    }
}

/// The pinger, or `None` (with a warning saying how to fix it) when the configuration cannot
/// work; the job runs either way.
fn pinger(args: &RunArgs) -> Option<(PingClient, String)> {
    let slug = match Slug::parse(&args.job) {
        Ok(slug) => slug,
        Err(e) => {
            warn(&format!("{e}; running the job without monitoring"));
            return None;
        }
    };
    let Some(key) = args
        .ping_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
    else {
        warn(
            "no ping key: pass --ping-key or set JOBWATCH_PING_KEY; running the job without monitoring",
        );
        return None;
    };
    match PingClient::new(&args.url, key) {
        Ok(client) => Some((client, slug.as_str().to_string())),
        Err(e) => {
            warn(&format!("{e:#}; running the job without monitoring"));
            None
        }
    }
}

/// Says what a refused ping means and what to do about it.
fn refusal_message(slug: &str, status: u16, reason: &str) -> String {
    match status {
        404 => format!(
            "job '{slug}' not found or wrong ping key; create it with `jobwatch jobs apply` or pass --create (ping with ?create=1)"
        ),
        _ => format!("jobwatch refused the ping ({status}): {reason}"),
    }
}

async fn wrap(args: RunArgs) -> u8 {
    let pinger = pinger(&args).map(Arc::new);
    let rid = new_uuid_v4();
    let start_budget = std_duration(args.start_timeout);
    let finish_budget = std_duration(args.finish_timeout);

    // Handlers first, so a signal arriving right after the spawn is forwarded, not fatal to us.
    let mut sigint = signal(SignalKind::interrupt()).ok();
    let mut sigterm = signal(SignalKind::terminate()).ok();

    let tail = Arc::new(Mutex::new(Tail::new(MAX_TAIL)));
    let Some((program, rest)) = args.command.split_first() else {
        return 127; // clap requires a command; kept for safety
    };
    let mut child = match std::process::Command::new(program)
        .args(rest)
        .stdin(Stdio::inherit())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let message = spawn_error_message(program, &e);
            warn(&message);
            let code = spawn_error_code(&e);
            if let Some(pinger) = &pinger {
                let (client, slug) = pinger.as_ref();
                let result = client
                    .ping(
                        slug,
                        Some(&code.to_string()),
                        &rid,
                        args.create,
                        message.into_bytes(),
                        finish_budget,
                    )
                    .await;
                match result {
                    PingResult::Delivered { .. } => {}
                    PingResult::Refused { status, reason } => {
                        warn(&refusal_message(slug, status, &reason));
                    }
                    PingResult::Unreachable { error } => warn(&format!(
                        "could not reach jobwatch at {} ({error}); this run was not recorded",
                        client.base()
                    )),
                }
            }
            return code;
        }
    };
    let pid = child.id();

    // Pipes are copied by plain threads: writing to our own stdout may block, and a blocked
    // writer must hold up only its own stream.
    let (drained_tx, drained_rx) = mpsc::channel::<()>();
    let mut copiers = 0;
    if let Some(out) = child.stdout.take() {
        copiers += 1;
        spawn_copier(out, Sink::Stdout, Arc::clone(&tail), drained_tx.clone());
    }
    if let Some(err) = child.stderr.take() {
        copiers += 1;
        spawn_copier(err, Sink::Stderr, Arc::clone(&tail), drained_tx.clone());
    }
    drop(drained_tx);
    let (exit_tx, mut exit_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let _ = exit_tx.send(child.wait());
    });

    // The start ping goes out alongside the command, so an unreachable jobwatch never delays
    // the job; its answer carries the server's body limit for the finish ping. A refusal is
    // reported at once: it needs fixing, and the job may run for hours.
    let start = pinger.as_ref().map(|pinger| {
        let pinger = Arc::clone(pinger);
        let rid = rid.clone();
        let create = args.create;
        tokio::spawn(async move {
            let (client, slug) = pinger.as_ref();
            let result = client
                .ping(slug, Some("start"), &rid, create, Vec::new(), start_budget)
                .await;
            if let PingResult::Refused { status, reason } = &result {
                warn(&refusal_message(slug, *status, reason));
            }
            result
        })
    });

    let status = loop {
        tokio::select! {
            status = &mut exit_rx => break status,
            Some(()) = recv(&mut sigint) => forward(pid, libc::SIGINT),
            Some(()) = recv(&mut sigterm) => forward(pid, libc::SIGTERM),
        }
    };
    let code = match status {
        Ok(Ok(status)) => exit_code(status),
        Ok(Err(e)) => {
            warn(&format!("lost track of the command: {e}"));
            1
        }
        Err(_) => {
            warn("lost track of the command");
            1
        }
    };
    let finish_deadline = Instant::now() + finish_budget;

    // The output: wait (bounded) for both pipes to reach end of file.
    let drain_deadline = std::time::Instant::now() + DRAIN_WAIT;
    let drained = tokio::task::spawn_blocking(move || {
        for _ in 0..copiers {
            let left = drain_deadline.saturating_duration_since(std::time::Instant::now());
            if drained_rx.recv_timeout(left).is_err() {
                break;
            }
        }
    });
    let _ = drained.await;
    // A signal that came with the command's end (a terminal's Ctrl-C reaches the command and
    // us alike) is not a request to skip the report: forget it; only later ones count.
    for pending in [&mut sigint, &mut sigterm] {
        while let Ok(Some(())) = tokio::time::timeout(StdDuration::ZERO, recv(pending)).await {}
    }

    let Some(pinger) = pinger else {
        return code;
    };
    let finish = async {
        // The finish must follow the start to pair with it; waiting is bounded by the budgets.
        let started = match start {
            Some(start) => tokio::time::timeout_at(finish_deadline, start)
                .await
                .ok()
                .and_then(Result::ok),
            None => None,
        };
        let limit = match &started {
            Some(PingResult::Refused { status: 404, .. }) => return, // said why already
            Some(PingResult::Delivered {
                body_limit: Some(limit),
            }) => *limit,
            _ => DEFAULT_PING_BODY_LIMIT,
        };
        let body = match tail.lock() {
            Ok(tail) => tail.last(limit.min(MAX_TAIL)),
            Err(poisoned) => poisoned.into_inner().last(limit.min(MAX_TAIL)),
        };
        let (client, slug) = pinger.as_ref();
        let budget = finish_deadline.saturating_duration_since(Instant::now());
        let finished = client
            .ping(
                slug,
                Some(&code.to_string()),
                &rid,
                args.create,
                body,
                budget,
            )
            .await;
        let base = client.base();
        match (&started, &finished) {
            (_, PingResult::Refused { status, reason }) => {
                warn(&refusal_message(slug, *status, reason));
            }
            (_, PingResult::Unreachable { error }) => warn(&format!(
                "could not reach jobwatch at {base} ({error}); the job ran (exit status {code}) but this run was not recorded"
            )),
            (Some(PingResult::Unreachable { error }), PingResult::Delivered { .. }) => {
                warn(&format!(
                    "the start ping did not reach jobwatch at {base} ({error}); the run was recorded without its start"
                ));
            }
            (None, PingResult::Delivered { .. }) => warn(&format!(
                "the start ping to {base} did not finish in time; the run was recorded without its start"
            )),
            _ => {}
        }
    };
    // A second signal while reporting means "stop now": the job is over, its status stands.
    tokio::select! {
        () = finish => {}
        Some(()) = recv(&mut sigint) => warn("interrupted; the run's result was not sent"),
        Some(()) = recv(&mut sigterm) => warn("terminated; the run's result was not sent"),
    }
    code
}

async fn recv(signal: &mut Option<Signal>) -> Option<()> {
    match signal {
        Some(signal) => signal.recv().await,
        None => std::future::pending().await,
    }
}

fn forward(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: kill(2) only sends a signal; the pid is our own child's.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// The status a shell would report: the exit code, or 128+N for a command killed by signal N.
fn exit_code(status: std::process::ExitStatus) -> u8 {
    if let Some(code) = status.code() {
        return u8::try_from(code & 0xff).unwrap_or(1);
    }
    match status.signal() {
        Some(signal) => u8::try_from(128 + (signal & 0x7f)).unwrap_or(255),
        None => 1,
    }
}

/// 127 "not found" and 126 "found but cannot run", as shells report them.
fn spawn_error_code(e: &std::io::Error) -> u8 {
    match e.kind() {
        std::io::ErrorKind::NotFound => 127,
        _ => 126,
    }
}

fn spawn_error_message(program: &OsString, e: &std::io::Error) -> String {
    let program = program.to_string_lossy();
    match e.kind() {
        std::io::ErrorKind::NotFound => {
            format!("cannot run '{program}': command not found (check the name and PATH)")
        }
        std::io::ErrorKind::PermissionDenied => {
            format!("cannot run '{program}': permission denied (is it executable?)")
        }
        _ => format!("cannot run '{program}': {e}"),
    }
}

#[derive(Clone, Copy)]
enum Sink {
    Stdout,
    Stderr,
}

/// Copies one of the command's output pipes to ours, chunk by chunk (flushed at once, so the
/// job's logs keep their timing), and into the shared tail.
fn spawn_copier<R: Read + Send + 'static>(
    mut pipe: R,
    sink: Sink,
    tail: Arc<Mutex<Tail>>,
    done: mpsc::Sender<()>,
) {
    std::thread::spawn(move || {
        let mut buffer = vec![0u8; 64 * 1024];
        let mut passing = true; // false once our own output is gone (closed pipe)
        loop {
            let n = match pipe.read(&mut buffer) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let chunk = &buffer[..n];
            if passing {
                let written = match sink {
                    Sink::Stdout => {
                        let mut out = std::io::stdout().lock();
                        out.write_all(chunk).and_then(|()| out.flush())
                    }
                    Sink::Stderr => std::io::stderr().lock().write_all(chunk),
                };
                // Keep draining the command even when nobody reads us, so it never blocks.
                passing = written.is_ok();
            }
            match tail.lock() {
                Ok(mut tail) => tail.push(chunk),
                Err(poisoned) => poisoned.into_inner().push(chunk),
            }
        }
        let _ = done.send(());
    });
}

/// The last `capacity` bytes written to it.
struct Tail {
    bytes: VecDeque<u8>,
    capacity: usize,
}

impl Tail {
    fn new(capacity: usize) -> Tail {
        Tail {
            bytes: VecDeque::new(),
            capacity,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let chunk = &chunk[chunk.len().saturating_sub(self.capacity)..];
        let overflow = (self.bytes.len() + chunk.len()).saturating_sub(self.capacity);
        self.bytes.drain(..overflow);
        self.bytes.extend(chunk);
    }

    /// The last `limit` bytes, starting at a character boundary when the text is UTF-8, so the
    /// excerpt does not open with a broken character.
    fn last(&self, limit: usize) -> Vec<u8> {
        let skip = self.bytes.len().saturating_sub(limit);
        let mut out: Vec<u8> = self.bytes.iter().skip(skip).copied().collect();
        if skip > 0 {
            let continuation = out
                .iter()
                .take(3)
                .take_while(|b| (**b & 0xC0) == 0x80)
                .count();
            out.drain(..continuation);
        }
        out
    }
}

/// A random (version 4) UUID for `?rid=`, pairing this run's start and finish.
fn new_uuid_v4() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tail_keeps_the_last_bytes_across_chunks() {
        let mut tail = Tail::new(10);
        tail.push(b"hello ");
        tail.push(b"world, ");
        tail.push(b"bye");
        assert_eq!(tail.last(10), b"world, bye");
        assert_eq!(tail.last(3), b"bye");
        tail.push(b"0123456789abcdef");
        assert_eq!(tail.last(100), b"6789abcdef");
    }

    #[test]
    fn the_tail_does_not_start_inside_a_character() {
        let mut tail = Tail::new(100);
        tail.push("aé€b".as_bytes()); // é is 2 bytes, € is 3
        assert_eq!(tail.last(4), "€b".as_bytes());
        assert_eq!(tail.last(5), "€b".as_bytes());
        assert_eq!(tail.last(6), "é€b".as_bytes());
    }

    #[test]
    fn run_ids_are_version_4_uuids() {
        let a = new_uuid_v4();
        let b = new_uuid_v4();
        assert_ne!(a, b);
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4");
        assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"), "{a}");
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(exit_code(std::process::ExitStatus::from_raw(3 << 8)), 3);
        assert_eq!(exit_code(std::process::ExitStatus::from_raw(15)), 143);
        assert_eq!(exit_code(std::process::ExitStatus::from_raw(9)), 137);
    }
}
