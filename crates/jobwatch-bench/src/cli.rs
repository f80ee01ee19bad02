//! The command line: the subcommands, their arguments, and the values they parse (the
//! server's base URL, durations).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context, Result, anyhow};
use clap::{Args, Parser, Subcommand};

/// Longest `ping --duration` accepted; longer values are capped to it.
pub(crate) const MAX_DURATION: Duration = Duration::from_secs(120);

#[derive(Parser)]
#[command(
    name = "jobwatch-bench",
    version,
    about = "Closed-loop HTTP/1.1 load generator for `jobwatch serve` (a measuring tool, not a test)",
    after_help = "Examples:
  jobwatch-bench setup --url http://127.0.0.1:8000 --api-key K --jobs 100
  jobwatch-bench ping --url http://127.0.0.1:8000 --ping-key P --jobs 100 --connections 16 --duration 10s --body-bytes 1024 --json

bench/serve.sh builds the server and this tool, starts a throwaway server and runs both."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand)]
pub(crate) enum Command {
    Setup(SetupArgs),
    Ping(PingArgs),
}

/// Create the jobs bench-0 .. bench-{N-1} through the admin API (PUT /api/v1/jobs/<slug>).
#[derive(Args)]
pub(crate) struct SetupArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8000 (plain HTTP only).
    #[arg(long)]
    pub(crate) url: BaseUrl,
    /// Admin API key, sent as `Authorization: Bearer <key>`.
    #[arg(long)]
    pub(crate) api_key: String,
    /// Number of jobs to create: bench-0 .. bench-{N-1}. Existing jobs are updated in place.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) jobs: u32,
    /// Period of each job: the `every` field of the job JSON.
    #[arg(long, default_value = "1h")]
    pub(crate) every: String,
}

/// Send start + success pings from C keep-alive connections for a fixed time and report
/// throughput and latency.
#[derive(Args)]
pub(crate) struct PingArgs {
    /// Base URL of the server, e.g. http://127.0.0.1:8000 (plain HTTP only).
    #[arg(long)]
    pub(crate) url: BaseUrl,
    /// Ping key, the first path segment of /ping/<ping-key>/<slug>.
    #[arg(long)]
    pub(crate) ping_key: String,
    /// Number of jobs to ping, bench-0 .. bench-{N-1} (create them first with `setup`).
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub(crate) jobs: u32,
    /// Concurrent connections, each with one request in flight at a time.
    #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) connections: u32,
    /// How long to send for, e.g. 500ms, 10s, 1m (at most 120s). Requests still in flight at
    /// the end are abandoned and not counted.
    #[arg(long, default_value = "10s")]
    pub(crate) duration: BenchDuration,
    /// Size in bytes of the body of every ping (the run's output).
    #[arg(long, default_value_t = 1024)]
    pub(crate) body_bytes: usize,
    /// Worker threads of the load generator itself. One is plenty for a few dozen
    /// connections and leaves the other cores to the server.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) threads: u32,
    /// Print the report as one JSON object on stdout instead of text.
    #[arg(long)]
    pub(crate) json: bool,
}

/// A plain `http://host[:port][/prefix]` URL.
#[derive(Clone, Debug)]
pub(crate) struct BaseUrl {
    /// `host[:port]` as given: the Host header.
    pub(crate) authority: String,
    /// `host:port` to connect to (port 80 when none is given).
    pub(crate) connect_to: String,
    /// Path prefix without a trailing slash ("" for none).
    pub(crate) prefix: String,
}

impl FromStr for BaseUrl {
    type Err = String;

    fn from_str(s: &str) -> Result<BaseUrl, String> {
        let s = s.trim();
        let rest = s
            .get(..7)
            .filter(|scheme| scheme.eq_ignore_ascii_case("http://"))
            .map(|_| &s[7..])
            .ok_or_else(|| format!("'{s}' is not an http:// URL (https is not supported)"))?;
        let (authority, path) = match rest.find(['/', '?', '#']) {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return Err(format!("'{s}' has no usable host"));
        }
        if path.contains(['?', '#']) {
            return Err(format!(
                "'{s}' has a query or fragment; give only the base URL"
            ));
        }
        let after_brackets = authority.rsplit(']').next().unwrap_or(authority);
        let connect_to = if after_brackets.contains(':') {
            authority.to_string()
        } else {
            format!("{authority}:80")
        };
        Ok(BaseUrl {
            authority: authority.to_string(),
            connect_to,
            prefix: path.trim_end_matches('/').to_string(),
        })
    }
}

impl BaseUrl {
    /// Resolves the address once, so reconnects do not measure name resolution.
    pub(crate) async fn resolve(&self) -> Result<SocketAddr> {
        tokio::net::lookup_host(self.connect_to.as_str())
            .await
            .with_context(|| format!("resolving {}", self.connect_to))?
            .next()
            .ok_or_else(|| anyhow!("{} resolves to no address", self.connect_to))
    }
}

/// A duration such as `500ms`, `10s`, `1.5s` or `2m`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct BenchDuration(pub(crate) Duration);

impl FromStr for BenchDuration {
    type Err = String;

    fn from_str(s: &str) -> Result<BenchDuration, String> {
        let s = s.trim();
        let split = s
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(s.len());
        let (number, unit) = s.split_at(split);
        let number: f64 = number
            .parse()
            .map_err(|_| format!("'{s}' is not a duration like 500ms, 10s or 2m"))?;
        let seconds = match unit.trim() {
            "ms" => number / 1000.0,
            "s" | "" => number,
            "m" | "min" => number * 60.0,
            other => return Err(format!("unknown duration unit '{other}' (use ms, s or m)")),
        };
        if !seconds.is_finite() || seconds <= 0.0 {
            return Err(format!("'{s}' must be a positive duration"));
        }
        // Anything above the cap is capped later, so the conversion cannot overflow.
        Ok(BenchDuration(Duration::from_secs_f64(
            seconds.min(MAX_DURATION.as_secs_f64() * 2.0),
        )))
    }
}

/// Percent-encodes a path segment (everything but RFC 3986 unreserved characters).
pub(crate) fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_base_urls() {
        let url: BaseUrl = "http://127.0.0.1:8000/".parse().expect("valid");
        assert_eq!(url.authority, "127.0.0.1:8000");
        assert_eq!(url.connect_to, "127.0.0.1:8000");
        assert_eq!(url.prefix, "");
        let url: BaseUrl = "HTTP://localhost/jw/".parse().expect("valid");
        assert_eq!(url.connect_to, "localhost:80");
        assert_eq!(url.prefix, "/jw");
        let url: BaseUrl = "http://[::1]".parse().expect("valid");
        assert_eq!(url.connect_to, "[::1]:80");
        assert!("https://example.com".parse::<BaseUrl>().is_err());
        assert!("http://".parse::<BaseUrl>().is_err());
        assert!("127.0.0.1:8000".parse::<BaseUrl>().is_err());
    }

    #[test]
    fn parses_durations() {
        let d = |s: &str| s.parse::<BenchDuration>().map(|d| d.0);
        assert_eq!(d("10s"), Ok(Duration::from_secs(10)));
        assert_eq!(d("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(d("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(d("1.5s"), Ok(Duration::from_millis(1500)));
        assert!(d("0s").is_err());
        assert!(d("ten").is_err());
        assert!(d("5h").is_err());
        assert!(d("1e999s").is_err());
    }

    #[test]
    fn encodes_path_segments() {
        assert_eq!(encode_segment("abc-DEF_1.~"), "abc-DEF_1.~");
        assert_eq!(encode_segment("a/b c"), "a%2Fb%20c");
    }
}
