//! The real `jobwatch serve` binary as end-to-end tests use it: started on a free loopback
//! port with a fresh SQLite file, its address read from its first line, its console lines
//! collected, and killed when dropped. Tests pass the binary's path
//! (`env!("CARGO_BIN_EXE_jobwatch")`), which only the CLI crate's tests know.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::http_client::{Reply, call};

pub struct ServeProcess {
    pub child: Child,
    /// `127.0.0.1:<port>`.
    pub address: String,
    pub api_key: String,
    pub ping_key: String,
    /// The SQLite file.
    pub data: PathBuf,
    lines: mpsc::Receiver<String>,
    _dir: Option<tempfile::TempDir>,
}

/// Removes every `JOBWATCH_*` variable the test process inherited, so a developer's shell
/// cannot change what a test starts.
pub fn clean_env(command: &mut Command) -> &mut Command {
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("JOBWATCH_") {
            command.env_remove(name);
        }
    }
    command
}

impl ServeProcess {
    /// Runs a `jobwatch` command (`binary`, with `args`) against this server: its URL and
    /// both keys in the environment, nothing else of the caller's `JOBWATCH_*`.
    pub fn cli(&self, binary: &str, args: &[&str]) -> std::process::Output {
        let mut command = Command::new(binary);
        clean_env(&mut command)
            .args(args)
            .env("JOBWATCH_URL", self.url())
            .env("JOBWATCH_API_KEY", &self.api_key)
            .env("JOBWATCH_PING_KEY", &self.ping_key)
            .output()
            .expect("run jobwatch")
    }

    /// Starts `binary serve` on a fresh database with the given keys, extra arguments and
    /// environment.
    pub fn start(
        binary: &str,
        api_key: &str,
        ping_key: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServeProcess {
        let dir = tempfile::tempdir().expect("temp dir");
        let data = dir.path().join("jobwatch.db");
        let mut server = Self::start_on(binary, &data, api_key, ping_key, args, env);
        server._dir = Some(dir);
        server
    }

    /// Starts `binary serve` on an existing database file (e.g. to check a restart).
    pub fn start_on(
        binary: &str,
        data: &Path,
        api_key: &str,
        ping_key: &str,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> ServeProcess {
        let mut command = Command::new(binary);
        clean_env(&mut command)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .args(args)
            .arg("--data")
            .arg(data)
            .env("JOBWATCH_API_KEY", api_key)
            .env("JOBWATCH_PING_KEY", ping_key)
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command.spawn().expect("start jobwatch serve");
        let stdout = child.stdout.take().expect("stdout");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    break;
                }
            }
        });
        let first = lines
            .recv_timeout(Duration::from_secs(20))
            .expect("serve prints its address");
        let address = first
            .strip_prefix("jobwatch listening on http://")
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("unexpected first line: {first}"))
            .to_string();
        ServeProcess {
            child,
            address,
            api_key: api_key.to_string(),
            ping_key: ping_key.to_string(),
            data: data.to_path_buf(),
            lines,
            _dir: None,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// An admin API call with the server's API key.
    pub fn admin(&self, method: &str, path: &str, body: &str) -> Reply {
        let auth = format!("Bearer {}", self.api_key);
        call(
            &self.address,
            method,
            path,
            &[
                ("Authorization", &auth),
                ("Content-Type", "application/json"),
            ],
            body.as_bytes(),
        )
        .expect("admin call")
    }

    /// A plain GET, as a browser without a session sends it (a page, a signed link).
    pub fn get(&self, path: &str) -> Reply {
        call(&self.address, "GET", path, &[], b"").expect("GET")
    }

    /// A ping, as `curl` would send it.
    pub fn ping(&self, path: &str, body: &str) -> Reply {
        call(&self.address, "POST", path, &[], body.as_bytes()).expect("ping")
    }

    /// The runs of a job, newest first.
    pub fn runs(&self, slug: &str) -> Vec<serde_json::Value> {
        let reply = self.admin("GET", &format!("/api/v1/jobs/{slug}/runs?limit=100"), "");
        assert_eq!(reply.status, 200, "{}", reply.body);
        reply.json()["runs"].as_array().cloned().unwrap_or_default()
    }

    /// Console lines printed so far (waiting up to `wait` for more).
    pub fn output(&self, wait: Duration) -> Vec<String> {
        let mut out = Vec::new();
        let deadline = Instant::now() + wait;
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
        {
            out.push(line);
        }
        out
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
