//! The use cases: apply a ping, sweep due jobs, define/pause/resume/delete jobs. Each reads a
//! job, lets the core compute the transition, and commits it with a compare-and-set, retrying
//! on conflict with the fresh state, so a transition is committed (and alerted) exactly once.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use jiff::Timestamp;
use jobwatch_core::links::{DEFAULT_LINK_LIFETIME, Signer};
use jobwatch_core::machine::{self, advance, apply_ping};
use jobwatch_core::tally::{self, ReportDay};
use jobwatch_core::{AlertEvent, Ctx, Effects, JobSpec, JobState, Ping, Run, RunOutcome};
use tokio::sync::Notify;

use crate::retry::ConflictRetry;
use crate::{Commit, JobRecord, Store, StoreError};

/// Compare-and-set attempts before giving up on a very contended job.
const MAX_ATTEMPTS: usize = 64;

/// `t` truncated to the millisecond: what the engine records. Finer digits say nothing about
/// a cron job, and each timestamp in a job's stored state would cost six bytes more.
fn whole_millis(t: Timestamp) -> Timestamp {
    Timestamp::from_millisecond(t.as_millisecond()).unwrap_or(t)
}
/// Due jobs read per store call during a sweep.
const SWEEP_PAGE: usize = 256;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("job not found")]
    NotFound,
    #[error("the job is changing too fast to update; retry")]
    Contention,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// How a ping names its job.
#[derive(Debug, Clone, Copy)]
pub enum JobLookup<'a> {
    Slug(&'a str),
    UuidHash(&'a str),
}

/// What happened to a ping.
#[derive(Debug, Clone, PartialEq)]
pub struct PingReceipt {
    pub slug: String,
    /// A retry of a ping already applied: nothing changed.
    pub duplicate: bool,
    pub alerts: Vec<AlertEvent>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SweepReport {
    pub jobs_examined: usize,
    pub jobs_changed: usize,
    pub alerts: Vec<AlertEvent>,
}

/// Something outside the engine that acts on every committed change: the Lambdas publish
/// alerts, write run output and emit metrics here. Errors are the observer's to handle: the
/// change is committed, and its alerts are safe in the store's outbox whatever happens.
pub trait CommitObserver: Send + Sync {
    /// Called before the commit, to add what only the deployment knows (e.g. log links).
    fn decorate(&self, _job: &JobRecord, _effects: &mut Effects) {}

    /// Called after a successful commit with its effects.
    fn committed<'a>(
        &'a self,
        job: &'a JobRecord,
        effects: &'a Effects,
    ) -> Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

    /// Called after `alert` was queued in the outbox outside any commit (a test alert), to
    /// pass it on at once as committed alerts are. Says where it went (`None`: nowhere, the
    /// outbox's own delivery takes it), or why passing it on failed (it waits in the outbox).
    fn queued<'a>(
        &'a self,
        _alert: &'a AlertEvent,
    ) -> Pin<Box<dyn Future<Output = Result<Option<String>, String>> + Send + 'a>> {
        Box::pin(async { Ok(None) })
    }
}

/// The use cases over one store, for one environment.
pub struct Engine<S> {
    store: S,
    environment: String,
    observer: Option<Arc<dyn CommitObserver>>,
    /// How often a job still down is announced again, for jobs that do not say.
    repeat_interval: jobwatch_core::Duration,
    /// Signalled after every commit that adds alerts (wakes the delivery loop).
    alerts_added: Notify,
    /// Signalled when a change brings a deadline before the sweep loop's planned wake-up.
    state_changed: Notify,
    /// When the sweep loop will next wake by itself (ms since the epoch); `i64::MAX` while it
    /// is reading the earliest deadline, so that any change made meanwhile wakes it.
    sweep_wake_at: AtomicI64,
    report_day: ReportDay,
    run_output: RunOutput,
    /// The base URL alerts link their run under; set once (the ingest Lambda learns it from
    /// its first request).
    public_url: std::sync::OnceLock<String>,
    /// Signs the run links so they open their page without a login; set once, like the URL.
    link_signer: std::sync::OnceLock<Signer>,
}

/// Which runs keep their output in the run history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RunOutput {
    /// Every run's (the embedded store, where it costs nothing).
    #[default]
    All,
    /// All but successful runs' (on AWS, where CloudWatch Logs keeps every run's output and
    /// a success's output would double its write units for nothing an alert needs).
    AllButSuccesses,
}

impl<S: Store> Engine<S> {
    pub fn new(store: S, environment: impl Into<String>) -> Self {
        Engine {
            store,
            environment: environment.into(),
            observer: None,
            repeat_interval: jobwatch_core::machine::DEFAULT_REPEAT_INTERVAL,
            alerts_added: Notify::new(),
            state_changed: Notify::new(),
            sweep_wake_at: AtomicI64::new(i64::MAX),
            report_day: ReportDay::default(),
            run_output: RunOutput::All,
            public_url: std::sync::OnceLock::new(),
            link_signer: std::sync::OnceLock::new(),
        }
    }

    /// Alerts link their run in the API under `url` (e.g. `https://jobs.example.com`).
    pub fn with_public_url(self, url: impl Into<String>) -> Self {
        self.set_public_url(url);
        self
    }

    /// Sets the base URL of run links unless one is set already.
    pub fn set_public_url(&self, url: impl Into<String>) {
        let url = url.into();
        let url = url.trim().trim_end_matches('/');
        if !url.is_empty() {
            let _ = self.public_url.set(url.to_string());
        }
    }

    /// Alerts' run links carry a signature by `signer`, valid for
    /// [`DEFAULT_LINK_LIFETIME`] from the alert, so the person on call opens them without
    /// logging in. Set once; without it links lead to the login page.
    pub fn with_link_signer(self, signer: Signer) -> Self {
        self.set_link_signer(signer);
        self
    }

    /// Sets the signer of run links unless one is set already.
    pub fn set_link_signer(&self, signer: Signer) {
        let _ = self.link_signer.set(signer);
    }

    /// The web view's page of the run an alert is about (the job's page when it names no
    /// run, as for a missed run), signed when a signer is set.
    fn link_runs(&self, effects: &mut Effects) {
        let Some(base) = self.public_url.get() else {
            return;
        };
        for alert in &mut effects.alerts {
            if alert.run_url.is_some() || alert.kind == jobwatch_core::AlertKind::Report {
                continue;
            }
            let job = format!("/jobs/{}", alert.job.slug);
            let path = match &alert.run_id {
                Some(run_id) => format!("{job}/runs/{}", url_segment(run_id)),
                None => job,
            };
            let expires = alert
                .detected_at
                .checked_add(DEFAULT_LINK_LIFETIME.to_signed())
                .unwrap_or(Timestamp::MAX);
            alert.run_url = Some(match self.link_signer.get() {
                Some(signer) => format!("{base}{}", signer.sign_path(&path, expires)),
                None => format!("{base}{path}"),
            });
        }
    }

    /// Where report days begin (the daily report's time and zone): runs are tallied by them.
    pub fn with_report_day(mut self, report_day: ReportDay) -> Self {
        self.report_day = report_day;
        self
    }

    pub fn with_run_output(mut self, run_output: RunOutput) -> Self {
        self.run_output = run_output;
        self
    }

    pub fn report_day(&self) -> &ReportDay {
        &self.report_day
    }

    /// Sets the deployment's default interval between "still down" reminders (zero: none).
    pub fn with_repeat_interval(mut self, interval: jobwatch_core::Duration) -> Self {
        self.repeat_interval = interval;
        self
    }

    /// Acts on every committed change with `observer`.
    pub fn with_observer(mut self, observer: Arc<dyn CommitObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub(crate) fn observer(&self) -> Option<&Arc<dyn CommitObserver>> {
        self.observer.as_ref()
    }

    pub fn environment(&self) -> &str {
        &self.environment
    }

    pub fn alerts_added(&self) -> &Notify {
        &self.alerts_added
    }

    /// Signalled when a committed change has a deadline earlier than the wake-up the sweep
    /// loop planned (see [`Engine::plan_sweep_wake`]): a new job, a started run, a redefined
    /// schedule. Changes that only move deadlines later do not signal, so a busy server does
    /// not sweep on every ping.
    pub fn state_changed(&self) -> &Notify {
        &self.state_changed
    }

    /// A sweep loop calls this just before it reads the earliest deadline: until it plans its
    /// wake-up, every change signals [`Engine::state_changed`], so none is missed between the
    /// read and the wait.
    pub fn sweep_wake_unplanned(&self) {
        self.sweep_wake_at.store(i64::MAX, Ordering::SeqCst);
    }

    /// A sweep loop calls this with the instant it will wake at by itself; from then on only
    /// changes with an earlier deadline signal [`Engine::state_changed`].
    pub fn plan_sweep_wake(&self, at: Timestamp) {
        self.sweep_wake_at
            .store(at.as_millisecond(), Ordering::SeqCst);
    }

    /// Wakes the sweep loop if `deadline` comes before its planned wake-up.
    fn deadline_set(&self, deadline: Option<Timestamp>) {
        if let Some(deadline) = deadline
            && deadline.as_millisecond() < self.sweep_wake_at.load(Ordering::SeqCst)
        {
            self.state_changed.notify_one();
        }
    }

    fn ctx(&self, now: Timestamp) -> Ctx<'_> {
        Ctx {
            environment: &self.environment,
            now,
            repeat_interval: self.repeat_interval,
        }
    }

    pub async fn get_job(&self, slug: &str) -> Result<JobRecord, EngineError> {
        self.store.get_job(slug).await?.ok_or(EngineError::NotFound)
    }

    pub async fn list_jobs(&self) -> Result<Vec<JobRecord>, EngineError> {
        Ok(self.store.list_jobs().await?)
    }

    /// A job's history, newest first: its open runs (kept in its state until they finish)
    /// and its stored run records.
    pub async fn runs(&self, slug: &str, limit: usize) -> Result<Vec<Run>, EngineError> {
        let job = self.get_job(slug).await?;
        let mut runs = self.store.runs(slug, limit).await?;
        let stored: std::collections::HashSet<u64> = runs.iter().map(|r| r.seq).collect();
        runs.extend(
            job.state
                .open_run_records()
                .filter(|r| !stored.contains(&r.seq)),
        );
        runs.sort_by_key(|r| std::cmp::Reverse(r.seq));
        runs.truncate(limit);
        Ok(runs)
    }

    pub async fn delete_job(&self, slug: &str) -> Result<(), EngineError> {
        // A deleted job's deadline only ever moves the earliest deadline later: no wake-up.
        if self.store.delete_job(slug).await? {
            Ok(())
        } else {
            Err(EngineError::NotFound)
        }
    }

    /// Creates the job, or updates its definition. `new_uuid_hash` identifies the job's ping
    /// UUID if it is created. Returns the record and whether it was created.
    pub async fn put_job(
        &self,
        spec: JobSpec,
        paused: Option<bool>,
        new_uuid_hash: &str,
        now: Timestamp,
    ) -> Result<(JobRecord, bool), EngineError> {
        let now = whole_millis(now);
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            let Some(current) = self.store.get_job(spec.slug.as_str()).await? else {
                let mut state = JobState::new(&spec, now);
                if paused == Some(true) {
                    machine::pause(&mut state, now, None);
                }
                let record = JobRecord {
                    spec: spec.clone(),
                    state,
                    version: 1,
                    uuid_hash: new_uuid_hash.to_string(),
                };
                match self.store.create_job(&record).await {
                    Ok(()) => {
                        self.deadline_set(record.next_deadline());
                        return Ok((record, true));
                    }
                    Err(StoreError::AlreadyExists) if retry.after_conflict().await => continue,
                    Err(StoreError::AlreadyExists) => return Err(EngineError::Contention),
                    Err(e) => return Err(e.into()),
                }
            };
            let updated = self
                .transact(current, now, |job, ctx| {
                    let fx = advance(&job.spec, &mut job.state, ctx);
                    machine::redefine(&job.spec, &spec, &mut job.state, now);
                    job.spec = spec.clone();
                    match paused {
                        Some(true) if job.state.paused.is_none() => {
                            machine::pause(&mut job.state, now, None)
                        }
                        Some(false) => machine::resume(&spec, &mut job.state, now),
                        _ => {}
                    }
                    (fx, ())
                })
                .await?;
            // `None`: deleted between the read and the write; the next attempt creates it.
            if let Some((record, _, ())) = updated {
                return Ok((record, false));
            }
            if !retry.after_conflict().await {
                return Err(EngineError::Contention);
            }
        }
    }

    /// Creates the job with `spec` unless one with its slug exists.
    pub async fn ensure_job(
        &self,
        spec: JobSpec,
        new_uuid_hash: &str,
        now: Timestamp,
    ) -> Result<(JobRecord, bool), EngineError> {
        let now = whole_millis(now);
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            if let Some(existing) = self.store.get_job(spec.slug.as_str()).await? {
                return Ok((existing, false));
            }
            let record = JobRecord {
                state: JobState::new(&spec, now),
                spec: spec.clone(),
                version: 1,
                uuid_hash: new_uuid_hash.to_string(),
            };
            match self.store.create_job(&record).await {
                Ok(()) => {
                    self.deadline_set(record.next_deadline());
                    return Ok((record, true));
                }
                Err(StoreError::AlreadyExists) if retry.after_conflict().await => {}
                Err(StoreError::AlreadyExists) => return Err(EngineError::Contention),
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Applies a ping received at `now`.
    pub async fn ping(
        &self,
        lookup: JobLookup<'_>,
        ping: &Ping,
        now: Timestamp,
    ) -> Result<PingReceipt, EngineError> {
        let now = whole_millis(now);
        let current = match lookup {
            JobLookup::Slug(slug) => self.store.get_job(slug).await?,
            JobLookup::UuidHash(hash) => self.store.find_job_by_uuid_hash(hash).await?,
        }
        .ok_or(EngineError::NotFound)?;
        let (record, fx, duplicate) = self
            .transact(current, now, |job, ctx| {
                let outcome = apply_ping(&job.spec, &mut job.state, ping, ctx);
                (outcome.effects, outcome.duplicate)
            })
            .await?
            .ok_or(EngineError::NotFound)?;
        Ok(PingReceipt {
            slug: record.slug().to_string(),
            duplicate,
            alerts: fx.alerts,
        })
    }

    pub async fn pause(
        &self,
        slug: &str,
        until: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<JobRecord, EngineError> {
        let now = whole_millis(now);
        let current = self.get_job(slug).await?;
        let changed = self
            .transact(current, now, |job, ctx| {
                let fx = advance(&job.spec, &mut job.state, ctx);
                machine::pause(&mut job.state, now, until);
                (fx, ())
            })
            .await?;
        changed
            .map(|(record, _, ())| record)
            .ok_or(EngineError::NotFound)
    }

    pub async fn resume(&self, slug: &str, now: Timestamp) -> Result<JobRecord, EngineError> {
        let now = whole_millis(now);
        let current = self.get_job(slug).await?;
        let changed = self
            .transact(current, now, |job, ctx| {
                let fx = advance(&job.spec, &mut job.state, ctx);
                machine::resume(&job.spec, &mut job.state, now);
                (fx, ())
            })
            .await?;
        changed
            .map(|(record, _, ())| record)
            .ok_or(EngineError::NotFound)
    }

    /// Applies every deadline that passed by `now` to the jobs that have one, committing each
    /// job's transitions (backdated to their deadlines) once.
    pub async fn sweep(&self, now: Timestamp) -> Result<SweepReport, EngineError> {
        let now = whole_millis(now);
        let mut report = SweepReport::default();
        loop {
            let due = self.store.due_jobs(now, SWEEP_PAGE).await?;
            let page_len = due.len();
            for job in due {
                report.jobs_examined += 1;
                let read_version = job.version;
                let swept = self
                    .transact(job, now, |job, ctx| {
                        (advance(&job.spec, &mut job.state, ctx), ())
                    })
                    .await?;
                if let Some((record, fx, ())) = swept {
                    if record.version != read_version {
                        report.jobs_changed += 1;
                    }
                    report.alerts.extend(fx.alerts);
                }
            }
            // Every examined job's deadline moved past `now`, so a short page means done.
            if page_len < SWEEP_PAGE {
                return Ok(report);
            }
        }
    }

    /// Applies `change` to the job and commits it with a compare-and-set; on conflict, re-reads
    /// the job and applies `change` again to the fresh state. Nothing is written when nothing
    /// changed. `None` when the job no longer exists.
    async fn transact<T>(
        &self,
        mut current: JobRecord,
        now: Timestamp,
        change: impl Fn(&mut JobRecord, Ctx<'_>) -> (Effects, T),
    ) -> Result<Option<(JobRecord, Effects, T)>, EngineError> {
        let mut retry = ConflictRetry::new(MAX_ATTEMPTS);
        loop {
            let mut next = current.clone();
            let (mut fx, out) = change(&mut next, self.ctx(now));
            if next == current && fx.is_empty() {
                return Ok(Some((current, fx, out)));
            }
            tally::record(&mut next.state.days, &fx.runs, &self.report_day);
            next.version = current.version + 1;
            match self.commit(&current, &next, &mut fx).await {
                Ok(()) => return Ok(Some((next, fx, out))),
                Err(StoreError::Conflict) if retry.after_conflict().await => {
                    match self.store.get_job(current.slug()).await? {
                        Some(fresh) => current = fresh,
                        None => return Ok(None),
                    }
                }
                Err(StoreError::Conflict) => return Err(EngineError::Contention),
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn commit(
        &self,
        current: &JobRecord,
        record: &JobRecord,
        fx: &mut Effects,
    ) -> Result<(), StoreError> {
        self.link_runs(fx);
        if let Some(observer) = &self.observer {
            observer.decorate(record, fx);
        }
        let kept;
        let runs = match self.run_output {
            RunOutput::All => &fx.runs,
            RunOutput::AllButSuccesses => {
                kept = fx
                    .runs
                    .iter()
                    .map(|run| match run.outcome {
                        RunOutcome::Success => Run {
                            output: None,
                            ..run.clone()
                        },
                        _ => run.clone(),
                    })
                    .collect::<Vec<_>>();
                &kept
            }
        };
        self.store
            .commit(Commit {
                record,
                expected_version: current.version,
                runs,
                alerts: &fx.alerts,
            })
            .await?;
        if !fx.alerts.is_empty() {
            self.alerts_added.notify_one();
        }
        self.deadline_set(record.next_deadline());
        if let Some(observer) = &self.observer {
            observer.committed(record, fx).await;
        }
        Ok(())
    }
}

/// A run id as one URL path segment: ids are UUIDs or `r<n>`, but any other character is
/// percent-encoded rather than trusted.
pub fn url_segment(id: &str) -> String {
    id.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
