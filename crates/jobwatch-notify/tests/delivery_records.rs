//! Recording a delivery, specified: once Slack has accepted a post, the write that records
//! it is retried through a throttled store until it lands; when it cannot land before the
//! invocation's deadline, the process remembers the delivery, writes it first next time and
//! never posts the message again. A message with no webhook to go to (its secret is missing)
//! is held: the handling succeeds, nothing is lost, and a later flush posts it once.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::{Duration as StdDuration, Instant};

use jiff::{SignedDuration, Timestamp};
use jobwatch_core::{AlertEvent, AlertKind, JobSummary, Severity};
use jobwatch_notify::{
    Action, DeliveryError, Incoming, Notifier, NotifyError, Policy, Route, Sender, Settlements,
};
use jobwatch_sqlite::SqliteStore;
use jobwatch_store::{
    Commit, IncidentRecord, IncidentStore, JobRecord, JobStore, Outbox, Settings, StoreError,
    StoredAlert,
};
use serde_json::Value;

/// A SQLite store whose notification-state writes can be throttled, as DynamoDB throttles
/// them: `throttle(n)` refuses the next `n` writes.
struct Throttling {
    inner: SqliteStore,
    refuse: AtomicU32,
    refused: AtomicU32,
}

impl Throttling {
    fn throttle(&self, writes: u32) {
        self.refuse.store(writes, Ordering::SeqCst);
    }
}

impl JobStore for Throttling {
    async fn create_job(&self, record: &JobRecord) -> Result<(), StoreError> {
        self.inner.create_job(record).await
    }
    async fn get_job(&self, slug: &str) -> Result<Option<JobRecord>, StoreError> {
        self.inner.get_job(slug).await
    }
    async fn find_job_by_uuid_hash(&self, hash: &str) -> Result<Option<JobRecord>, StoreError> {
        self.inner.find_job_by_uuid_hash(hash).await
    }
    async fn list_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.list_jobs().await
    }
    async fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        self.inner.commit(commit).await
    }
    async fn delete_job(&self, slug: &str) -> Result<bool, StoreError> {
        self.inner.delete_job(slug).await
    }
    async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        self.inner.due_jobs(now, limit).await
    }
    async fn earliest_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        self.inner.earliest_deadline().await
    }
    async fn runs(&self, slug: &str, limit: usize) -> Result<Vec<jobwatch_core::Run>, StoreError> {
        self.inner.runs(slug, limit).await
    }
    async fn jobs_down(&self) -> Result<u64, StoreError> {
        self.inner.jobs_down().await
    }
}

impl Outbox for Throttling {
    async fn pending_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>, StoreError> {
        self.inner.pending_alerts(limit).await
    }
    async fn ack_alerts(&self, tokens: &[String]) -> Result<(), StoreError> {
        self.inner.ack_alerts(tokens).await
    }
    async fn enqueue_alerts(&self, alerts: &[AlertEvent]) -> Result<(), StoreError> {
        self.inner.enqueue_alerts(alerts).await
    }
}

impl IncidentStore for Throttling {
    async fn get_incident(&self, key: &str) -> Result<Option<IncidentRecord>, StoreError> {
        self.inner.get_incident(key).await
    }
    async fn put_incident(
        &self,
        record: &IncidentRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let refuse = self
            .refuse
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1));
        if refuse.is_ok() {
            self.refused.fetch_add(1, Ordering::SeqCst);
            return Err(StoreError::Throttled(
                "ThrottlingException: Rate of requests exceeds the allowed throughput.".into(),
            ));
        }
        self.inner.put_incident(record, expected_version).await
    }
    async fn due_incidents(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        self.inner.due_incidents(now, limit).await
    }
}

impl Settings for Throttling {
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.inner.get_setting(key).await
    }
    async fn init_setting(&self, key: &str, value: &str) -> Result<String, StoreError> {
        self.inner.init_setting(key, value).await
    }
}

/// A Slack that records every post it accepts; right after accepting one it throttles the
/// store for `throttle_after_post` writes (the write that records the delivery is next).
/// Until `configured`, it has no webhook (the secret is missing).
struct Slack<'a> {
    store: &'a Throttling,
    throttle_after_post: u32,
    configured: AtomicBool,
    posts: Mutex<Vec<Value>>,
    unrecorded: Settlements,
}

impl Sender for Slack<'_> {
    async fn send(&self, _: Route, payload: &Value, _: Instant) -> Result<(), DeliveryError> {
        if !self.configured.load(Ordering::SeqCst) {
            return Err(DeliveryError::NotConfigured {
                reason: "the Slack webhook secret slack-webhook-prod does not exist: run `infra/put-slack-webhook --env prod`".into(),
            });
        }
        self.posts.lock().expect("lock").push(payload.clone());
        self.store.throttle(self.throttle_after_post);
        Ok(())
    }

    fn unrecorded(&self) -> Option<&Settlements> {
        Some(&self.unrecorded)
    }
}

impl Slack<'_> {
    fn posts(&self) -> usize {
        self.posts.lock().expect("lock").len()
    }
}

struct Bench {
    store: Throttling,
    _dir: tempfile::TempDir,
    policy: Policy,
    start: Timestamp,
}

impl Bench {
    fn new() -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut policy = Policy::default();
        policy
            .group_window
            .get_or_insert(jobwatch_core::Duration::from_secs(0));
        Bench {
            store: Throttling {
                inner: SqliteStore::open(dir.path().join("jobwatch.db")).expect("store"),
                refuse: AtomicU32::new(0),
                refused: AtomicU32::new(0),
            },
            _dir: dir,
            policy,
            start: "2026-01-15T03:00:00Z".parse().expect("time"),
        }
    }

    fn slack(&self, throttle_after_post: u32) -> Slack<'_> {
        Slack {
            store: &self.store,
            throttle_after_post,
            configured: AtomicBool::new(true),
            posts: Mutex::new(Vec::new()),
            unrecorded: Settlements::default(),
        }
    }

    fn at(&self, secs: i64) -> Timestamp {
        self.start + SignedDuration::from_secs(secs)
    }

    fn notifier<'a>(&'a self, slack: &'a Slack<'a>) -> Notifier<'a, Throttling, Slack<'a>> {
        Notifier {
            store: &self.store,
            sender: slack,
            policy: &self.policy,
            environment: "prod",
        }
    }

    /// A prod job's failure: posted at once.
    fn failure(&self) -> Incoming {
        let summary = JobSummary {
            slug: "nightly-backup".into(),
            schedule: "every 1d".into(),
            description: String::new(),
            tags: Vec::new(),
            tz: None,
            group: None,
            flapping: Default::default(),
        };
        let at = self.at(0);
        let mut event =
            AlertEvent::new_about(AlertKind::Failed, summary, Severity::Error, "prod", at, at);
        event.run_id = Some("r1".into());
        event.exit_code = Some(2);
        Incoming::alert(event.with_id())
    }

    /// The messages still waiting in the job's notification state.
    async fn waiting(&self) -> usize {
        let record = self
            .store
            .inner
            .get_incident("job/prod/nightly-backup")
            .await
            .expect("read")
            .expect("the job's notification state");
        let doc: Value = serde_json::from_str(&record.doc).expect("json");
        doc["outgoing"].as_array().map_or(0, Vec::len)
    }
}

fn within(duration: StdDuration) -> Instant {
    Instant::now() + duration
}

#[tokio::test]
async fn a_post_slack_accepted_is_recorded_through_throttling_and_not_posted_again() {
    let bench = Bench::new();
    // More refusals than the SDK's own three attempts: only a retry after them lands.
    let slack = bench.slack(4);
    let notifier = bench.notifier(&slack);
    let failure = bench.failure();

    let outcome = notifier
        .handle(&failure, bench.at(0), within(StdDuration::from_secs(20)))
        .await
        .expect("recorded within the invocation");
    assert_eq!((outcome.action, outcome.delivered), (Action::Posted, 1));
    assert_eq!(bench.store.refused.load(Ordering::SeqCst), 4);
    assert_eq!(bench.waiting().await, 0, "the delivery is recorded");
    assert!(slack.unrecorded.is_empty());

    // Lambda delivering the event again, and every later flush: nothing more is posted.
    let again = notifier
        .handle(&failure, bench.at(30), within(StdDuration::from_secs(20)))
        .await
        .expect("handled");
    assert_eq!(again.action, Action::Duplicate);
    notifier
        .flush_due(bench.at(3_600), within(StdDuration::from_secs(20)))
        .await
        .expect("flushed");
    assert_eq!(slack.posts(), 1);
}

#[tokio::test]
async fn a_record_that_cannot_land_before_the_deadline_is_written_first_next_time() {
    let bench = Bench::new();
    let slack = bench.slack(u32::MAX);
    let notifier = bench.notifier(&slack);
    let failure = bench.failure();

    // Throttled past the deadline: the invocation fails, and the process remembers.
    let failed = notifier
        .handle(&failure, bench.at(0), within(StdDuration::from_millis(800)))
        .await;
    assert!(
        matches!(failed, Err(NotifyError::Store(StoreError::Throttled(_)))),
        "{failed:?}"
    );
    assert_eq!(slack.unrecorded.len(), 1);
    assert_eq!(
        bench.waiting().await,
        1,
        "the table still says: being delivered"
    );

    // Lambda's retry, once the table takes writes again: the remembered delivery is written
    // first, so the event is a duplicate and nothing is posted twice.
    bench.store.throttle(0);
    let retried = notifier
        .handle(&failure, bench.at(60), within(StdDuration::from_secs(20)))
        .await
        .expect("handled");
    assert_eq!(retried.action, Action::Duplicate);
    assert!(slack.unrecorded.is_empty());
    assert_eq!(bench.waiting().await, 0);
    notifier
        .flush_due(bench.at(3_600), within(StdDuration::from_secs(20)))
        .await
        .expect("flushed");
    assert_eq!(slack.posts(), 1);
}

#[tokio::test]
async fn a_message_remembered_as_delivered_is_not_posted_by_a_flush_after_its_claim_expired() {
    let bench = Bench::new();
    let slack = bench.slack(u32::MAX);
    let notifier = bench.notifier(&slack);
    notifier
        .handle(
            &bench.failure(),
            bench.at(0),
            within(StdDuration::from_millis(800)),
        )
        .await
        .expect_err("throttled past the deadline");

    // The next flush, after the claim expired: writing the remembered delivery is refused
    // once more, so the flush claims the message again; it still is not posted again.
    bench.store.throttle(1);
    let report = notifier
        .flush_due(bench.at(3_600), within(StdDuration::from_secs(20)))
        .await
        .expect("flushed");
    assert_eq!(report.delivered, 1, "counted as delivered, from memory");
    assert_eq!(slack.posts(), 1);
    assert_eq!(bench.waiting().await, 0);
    assert!(slack.unrecorded.is_empty());
}

#[tokio::test]
async fn a_message_with_no_webhook_yet_is_held_without_failing_and_posted_once_it_is_there() {
    let bench = Bench::new();
    let slack = bench.slack(0);
    slack.configured.store(false, Ordering::SeqCst);
    let notifier = bench.notifier(&slack);

    let outcome = notifier
        .handle(
            &bench.failure(),
            bench.at(0),
            within(StdDuration::from_secs(20)),
        )
        .await
        .expect("a missing webhook is not a failure of the handling");
    assert_eq!((outcome.held, outcome.failed), (1, 0));
    assert!(
        outcome.is_settled(),
        "nothing for Lambda to retry: the message waits in the table"
    );
    assert_eq!(bench.waiting().await, 1, "kept, not dropped");

    // The same invocation's flush does not try again at once.
    let report = notifier
        .flush_due(bench.at(1), within(StdDuration::from_secs(20)))
        .await
        .expect("flushed");
    assert_eq!((report.records, report.held), (0, 0));

    // The secret is put; within a minute a flush (the sweeper's) posts the message, once.
    slack.configured.store(true, Ordering::SeqCst);
    let report = notifier
        .flush_due(bench.at(60), within(StdDuration::from_secs(20)))
        .await
        .expect("flushed");
    assert_eq!(report.delivered, 1);
    notifier
        .flush_due(bench.at(600), within(StdDuration::from_secs(20)))
        .await
        .expect("flushed");
    assert_eq!(slack.posts(), 1);
    assert_eq!(bench.waiting().await, 0);
}
