//! Support for jobwatch's cross-crate test suites (scenarios, API, DynamoDB, the whole stack):
//! a [`World`] that drives the real engine over a real SQLite file with an injected clock,
//! fresh SQLite stores, HTTP requests, the template, and the whole stack on moto ([`stack`]).
//! What single crates' tests need too is in `jobwatch-testkit` and `jobwatch-testkit-aws`,
//! re-exported here.

use std::sync::Arc;

use bytes::Bytes;
use jiff::Timestamp;
use jobwatch_core::{AlertEvent, AlertKind, JobDoc, Ping, PingEvent, Slug};
use jobwatch_sqlite::SqliteStore;
use jobwatch_store::{Engine, JobLookup, JobRecord, JobStore, Outbox};

/// An alert as scenario tests assert it: what, about which job, and when it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub kind: AlertKind,
    pub job: String,
    pub at: Timestamp,
}

pub fn seen(kind: AlertKind, job: &str, at: Timestamp) -> Seen {
    Seen {
        kind,
        job: job.to_string(),
        at,
    }
}

/// The whole engine over a fresh SQLite file, with a clock the test moves.
pub struct World {
    pub engine: Arc<Engine<SqliteStore>>,
    /// Every alert the engine produced, in order.
    pub alerts: Vec<AlertEvent>,
    pub now: Timestamp,
    _dir: tempfile::TempDir,
}

impl World {
    /// A world without "still down" reminders, so scenarios assert only what they are about.
    pub fn new(start: Timestamp) -> World {
        Self::with_reminders(start, jobwatch_core::Duration::ZERO)
    }

    /// A world whose jobs still down are announced again every `repeat_interval`.
    pub fn with_reminders(start: Timestamp, repeat_interval: jobwatch_core::Duration) -> World {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = SqliteStore::open(dir.path().join("jobwatch.db")).expect("open store");
        World {
            engine: Arc::new(Engine::new(store, "test").with_repeat_interval(repeat_interval)),
            alerts: Vec::new(),
            now: start,
            _dir: dir,
        }
    }

    /// Declares a job from its JSON definition at the current time.
    pub async fn define(&mut self, slug: &str, json: &str) {
        let doc: JobDoc = serde_json::from_str(json).expect("test job JSON");
        let paused = doc.paused;
        let spec = doc
            .into_spec(Slug::parse(slug).expect("slug"))
            .expect("valid test job");
        self.engine
            .put_job(spec, paused, &format!("uuid-{slug}"), self.now)
            .await
            .expect("define job");
    }

    /// Moves the clock to `to`, sweeping at every deadline on the way, as the local server's
    /// deadline-driven sweep loop does.
    pub async fn run_until(&mut self, to: Timestamp) {
        for _ in 0..1_000_000 {
            match self
                .engine
                .store()
                .earliest_deadline()
                .await
                .expect("earliest deadline")
            {
                Some(deadline) if deadline <= to => {
                    self.now = self.now.max(deadline);
                    self.sweep().await;
                }
                _ => break,
            }
        }
        self.now = self.now.max(to);
    }

    /// One sweep at the current time.
    pub async fn sweep(&mut self) -> usize {
        let report = self.engine.sweep(self.now).await.expect("sweep");
        let n = report.alerts.len();
        self.alerts.extend(report.alerts);
        n
    }

    /// Moves the clock to `at` (sweeping on the way) and sends a ping.
    pub async fn ping_at(
        &mut self,
        at: Timestamp,
        slug: &str,
        event: PingEvent,
        rid: Option<&str>,
        body: Option<&str>,
    ) {
        self.run_until(at).await;
        let ping = Ping {
            event,
            rid: rid.map(str::to_string),
            body: body.map(str::to_string),
            source: None,
        };
        let receipt = self
            .engine
            .ping(JobLookup::Slug(slug), &ping, at)
            .await
            .expect("ping");
        self.alerts.extend(receipt.alerts);
    }

    /// A run as cron would do it: start at `at`, success `took` later.
    pub async fn run_job(&mut self, slug: &str, at: Timestamp, took: jiff::SignedDuration) {
        self.ping_at(at, slug, PingEvent::Start, None, None).await;
        self.ping_at(at + took, slug, PingEvent::Success, None, Some("done"))
            .await;
    }

    pub async fn job(&self, slug: &str) -> JobRecord {
        self.engine.get_job(slug).await.expect("job exists")
    }

    /// The alerts so far, as `(kind, job, at)`.
    pub fn seen(&self) -> Vec<Seen> {
        self.alerts
            .iter()
            .map(|a| seen(a.kind, &a.job.slug, a.at))
            .collect()
    }

    /// Alerts in the store's outbox (what would be delivered), as `(kind, job, at)`.
    pub async fn outbox(&self) -> Vec<Seen> {
        let pending = self
            .engine
            .store()
            .pending_alerts(100_000)
            .await
            .expect("outbox");
        pending
            .iter()
            .map(|a| seen(a.event.kind, &a.event.job.slug, a.event.at))
            .collect()
    }
}

/// A request as a transport would hand it to the API.
pub fn request(
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> http::Request<Bytes> {
    let mut builder = http::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder
        .body(Bytes::copy_from_slice(body))
        .expect("test request")
}

/// Opens a fresh SQLite store in its own temp dir (kept alive by the returned guard).
pub fn fresh_sqlite() -> (SqliteStore, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = SqliteStore::open(dir.path().join("jobwatch.db")).expect("open store");
    (store, dir)
}

pub mod bridge;
pub mod stack;
pub mod template;

// The shared helpers live in the testkit crates (which the crates' own tests use too); they
// are re-exported under their old paths so the suites here read as before.
pub use jobwatch_testkit::time::{local, mins, secs, t};
pub use jobwatch_testkit::{http_client, lambda, serve_process, slack};
pub use jobwatch_testkit_aws::{aws, moto};
