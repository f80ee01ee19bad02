//! AWS APIs for tests: one `moto_server` per test process on a free loopback port, started on
//! first use and killed with the process, handling one request at a time and applying DynamoDB
//! transactions without copying whole tables (`moto_serial.py`).
//! `./scripts/test` installs moto into `.venv`; set
//! `JOBWATCH_MOTO_SERVER` to use another executable.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::config::{Credentials, Region};
use jobwatch_dynamo::{DynamoStore, RequestCounter, create_table};

static MOTO: OnceLock<Result<String, String>> = OnceLock::new();
static CHILD: Mutex<Option<Child>> = Mutex::new(None);

fn moto_executable() -> PathBuf {
    if let Some(path) = std::env::var_os("JOBWATCH_MOTO_SERVER") {
        return PathBuf::from(path);
    }
    // The workspace root's `.venv`, two levels up from this crate.
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/moto_server")
}

/// The Python of moto_server's virtualenv, which runs `moto_serial.py` (and its check).
pub fn python() -> Result<PathBuf, String> {
    let executable = moto_executable();
    if !executable.exists() {
        return Err(format!(
            "moto_server not found at {}: run ./scripts/test once (it installs moto into .venv), or set JOBWATCH_MOTO_SERVER",
            executable.display()
        ));
    }
    let python = executable.with_file_name("python3");
    if !python.exists() {
        return Err(format!(
            "no python3 beside {}: moto_server must come from a virtualenv (./scripts/test makes .venv)",
            executable.display()
        ));
    }
    Ok(python)
}

fn start() -> Result<String, String> {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    // moto_server's own Python, running it through `moto_serial.py` (one request at a time,
    // transactions that copy only the items they touch: see there why).
    let python = python()?;
    let launcher = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/moto_serial.py");
    let mut command = Command::new(&python);
    command
        .arg(&launcher)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    #[cfg(target_os = "linux")]
    unsafe {
        use std::os::unix::process::CommandExt;
        // Dies with the test process, so no moto outlives a test run.
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
    // The parent-death signal fires when the *thread* that spawned the child ends, so spawn
    // from a thread that lives as long as the test process.
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(command.spawn());
        loop {
            std::thread::park();
        }
    });
    let child = receiver
        .recv()
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("starting {} {}: {e}", python.display(), launcher.display()))?;
    *CHILD.lock().unwrap_or_else(|p| p.into_inner()) = Some(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(format!("http://127.0.0.1:{port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err("moto_server did not start listening within 60 s".into())
}

/// The endpoint of this process's moto server, starting it if needed.
pub fn endpoint() -> String {
    MOTO.get_or_init(start)
        .clone()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A DynamoDB client for moto that counts its requests in `counter`.
pub fn dynamo_client(counter: &RequestCounter) -> aws_sdk_dynamodb::Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version_latest()
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("test", "test", None, None, "moto"))
        .endpoint_url(endpoint())
        .http_client(jobwatch_aws::sdk::http_client())
        .interceptor(counter.clone())
        .build();
    aws_sdk_dynamodb::Client::from_conf(config)
}

/// A fresh table name, unique in this process and across processes sharing a moto.
pub fn unique_name(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// A DynamoDB store on a new table on moto, with the counter of its requests.
pub async fn fresh_dynamo() -> (DynamoStore, RequestCounter) {
    let counter = RequestCounter::new();
    let client = dynamo_client(&counter);
    let table = unique_name("jobwatch");
    create_table(&client, &table)
        .await
        .unwrap_or_else(|e| panic!("creating table {table} on moto: {e}"));
    counter.take();
    (DynamoStore::new(client, table), counter)
}
