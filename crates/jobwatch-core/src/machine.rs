//! The job state machine. Everything that changes a job's health goes through here:
//! `(definition, state, event, now) -> (new state, effects)`, where the effects are the alert
//! events to announce and the run records to write. Time only moves when a caller says so:
//! [`advance`] applies every deadline up to `now` in order, so a sweep that runs late produces
//! exactly the alerts, backdated, that a punctual one would have.
//!
//! Rules, in brief:
//! - a job is `down` after `failure_threshold` bad runs in a row (failed, missed, timed out,
//!   too short) and alerts once, on that transition, with the kind of the last bad run;
//! - it is up again after `recovery_threshold` good runs in a row, announced as `recovered`
//!   with a summary of the outage;
//! - while down, further bad runs are counted into the outage, not announced again;
//! - every started run is tracked on its own (by `rid`), so a stuck run times out even when
//!   later runs succeed; a retried ping (same `rid` and event) is applied once.

use std::collections::VecDeque;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::alert::{AlertEvent, AlertKind, OutageSummary, output_excerpt};
use crate::duration::Duration;
use crate::job::{JobSpec, Schedule, Severity};
use crate::run::{Run, RunOutcome};

/// The verdict on a job, kept between events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Health {
    /// Declared, no good run seen yet.
    New,
    Up,
    Down,
}

/// What a person sees: the health refined by what is happening right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    New,
    Up,
    Running,
    Late,
    Down,
    Paused,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::New => "new",
            Status::Up => "up",
            Status::Running => "running",
            Status::Late => "late",
            Status::Down => "down",
            Status::Paused => "paused",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenRun {
    pub seq: u64,
    pub run_id: String,
    /// Whether the client gave the run id (`?rid=`); pings without one pair with the latest
    /// start without one, as Healthchecks does.
    pub client_rid: bool,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub slow_announced: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    pub since: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// Bad runs since the last good one; becomes the outage once the job is down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadStreak {
    pub since: Timestamp,
    pub runs_missed: u32,
    pub runs_failed: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A ping already applied, remembered so that a client's retry is not counted twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenPing {
    pub rid: String,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    pub created_at: Timestamp,
    pub health: Health,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    /// The earliest expected run not yet seen (a slot of the schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_runs: Vec<OpenRun>,
    pub bad_in_a_row: u32,
    pub good_in_a_row: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak: Option<BadStreak>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_since: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ping_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_duration_ms: Option<u64>,
    /// Next run sequence number.
    pub next_seq: u64,
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub seen: VecDeque<SeenPing>,
    /// When a job still down is announced again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_at: Option<Timestamp>,
    /// The slot already announced as late (jobs with `late_alert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_slot: Option<Timestamp>,
    /// Durations of the latest successful runs (ms, oldest first): what "slow" is measured by.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub recent_durations: VecDeque<u64>,
}

/// A ping as the API understood it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    pub event: PingEvent,
    /// The client's run id (`?rid=`).
    pub rid: Option<String>,
    /// The request body (already truncated to the ping body limit).
    pub body: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PingEvent {
    Start,
    Success,
    Fail,
    /// `/<exit-status>`: 0 is success, anything else a failure.
    Exit(u8),
    Log,
}

impl PingEvent {
    /// The name under which a retry is recognised; `/0` is a success, `/3` a failure.
    fn identity(self) -> &'static str {
        match self {
            PingEvent::Start => "start",
            PingEvent::Success | PingEvent::Exit(0) => "success",
            PingEvent::Fail | PingEvent::Exit(_) => "fail",
            PingEvent::Log => "log",
        }
    }
}

/// What a transition asks the outside world to do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Effects {
    pub alerts: Vec<AlertEvent>,
    /// Run records to insert or replace (keyed by job and `seq`).
    pub runs: Vec<Run>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.alerts.is_empty() && self.runs.is_empty()
    }
}

/// Where and when a transition happens.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    pub environment: &'a str,
    pub now: Timestamp,
    /// How often a job still down is announced again, unless the job says otherwise.
    pub repeat_interval: Duration,
}

/// The default time between reminders that a job is still down.
pub const DEFAULT_REPEAT_INTERVAL: Duration = Duration::from_hours(4);

impl<'a> Ctx<'a> {
    pub fn new(environment: &'a str, now: Timestamp) -> Ctx<'a> {
        Ctx {
            environment,
            now,
            repeat_interval: DEFAULT_REPEAT_INTERVAL,
        }
    }
}

/// Runs slower than this multiple of the p95 of the job's recent runs are announced as slow.
pub const SLOW_FACTOR: u64 = 3;
/// Successful runs kept to judge what is slow, and the fewest needed to judge at all.
const RECENT_DURATIONS: usize = 20;
const MIN_DURATIONS_FOR_SLOW: usize = 5;

/// Bounds that keep a state document small whatever clients send.
const MAX_OPEN_RUNS: usize = 32;
const MAX_SEEN: usize = 64;
/// Upper bound on deadline steps in one call: a month of a per-minute job fits many times.
const MAX_STEPS: usize = 100_000;
/// Pings up to this much before a slot count for it (cron clocks drift by seconds).
const EARLY_TOLERANCE: Duration = Duration::from_secs(60);

impl JobState {
    /// The state of a job declared at `now`: its first expected run is the first slot after.
    pub fn new(spec: &JobSpec, now: Timestamp) -> JobState {
        JobState {
            created_at: now,
            health: Health::New,
            paused: None,
            expected: spec.schedule.next_after(now),
            open_runs: Vec::new(),
            bad_in_a_row: 0,
            good_in_a_row: 0,
            streak: None,
            down_since: None,
            last_ping_at: None,
            last_success_at: None,
            last_failure_at: None,
            last_duration_ms: None,
            next_seq: 1,
            seen: VecDeque::new(),
            reminder_at: None,
            late_slot: None,
            recent_durations: VecDeque::new(),
        }
    }

    pub fn status(&self, now: Timestamp) -> Status {
        if self.paused.is_some() {
            Status::Paused
        } else if self.health == Health::Down {
            Status::Down
        } else if self.open_runs.iter().any(|r| !r.timed_out) {
            Status::Running
        } else if self.expected.is_some_and(|e| e <= now) {
            Status::Late
        } else if self.health == Health::New {
            Status::New
        } else {
            Status::Up
        }
    }

    /// The earliest moment at which [`advance`] would change something, if any. Stores index
    /// jobs by it so a sweep only reads jobs that are due.
    pub fn next_deadline(&self, spec: &JobSpec) -> Option<Timestamp> {
        self.next_due(spec).map(|(at, _)| at)
    }

    /// The next deadline and what happens then. On a tie, the order of [`Due`] decides.
    fn next_due(&self, spec: &JobSpec) -> Option<(Timestamp, Due)> {
        if let Some(pause) = &self.paused {
            return pause.until.map(|until| (until, Due::Resume));
        }
        let mut candidates: Vec<(Timestamp, Due)> = Vec::new();
        if self.health == Health::Down {
            // Missed slots are not announced again while down; they are counted on return.
            candidates.extend(self.reminder_at.map(|at| (at, Due::Reminder)));
        } else if let Some(expected) = self.expected {
            if spec.late_alert && self.late_slot != Some(expected) {
                candidates.push((expected, Due::Late));
            }
            candidates.push((add(expected, spec.grace), Due::Missed));
        }
        let slow_after = self.slow_threshold();
        for (i, run) in self
            .open_runs
            .iter()
            .enumerate()
            .filter(|(_, r)| !r.timed_out)
        {
            let timeout = add(run.started_at, spec.max_runtime);
            if let Some(threshold) = slow_after.filter(|_| !run.slow_announced) {
                let slow = add(run.started_at, threshold);
                if slow < timeout {
                    candidates.push((slow, Due::Slow(i)));
                }
            }
            candidates.push((timeout, Due::TimedOut(i)));
        }
        candidates.into_iter().min()
    }

    /// Which gauge the job counts in (down, running, or waiting for its next run) and since
    /// when; paused jobs and jobs expecting nothing count in none. A waiting job whose time
    /// has passed is late. Stores index this so the gauges cost a count, not a scan.
    pub fn status_marker(&self) -> Option<(StatusClass, Timestamp)> {
        if self.paused.is_some() {
            return None;
        }
        if self.health == Health::Down {
            return Some((
                StatusClass::Down,
                self.down_since.unwrap_or(self.created_at),
            ));
        }
        if let Some(started) = self
            .open_runs
            .iter()
            .filter(|r| !r.timed_out)
            .map(|r| r.started_at)
            .min()
        {
            return Some((StatusClass::Running, started));
        }
        self.expected
            .map(|expected| (StatusClass::Waiting, expected))
    }

    /// How long a run may take before it is slow: a multiple of the p95 of recent runs.
    fn slow_threshold(&self) -> Option<Duration> {
        if self.recent_durations.len() < MIN_DURATIONS_FOR_SLOW {
            return None;
        }
        let mut sorted: Vec<u64> = self.recent_durations.iter().copied().collect();
        sorted.sort_unstable();
        let p95 = sorted[(sorted.len() * 95).div_ceil(100).saturating_sub(1)];
        // Runs of a second or less vary too much in relative terms to call any of them slow.
        Some(Duration::from_millis(
            p95.max(1_000).saturating_mul(SLOW_FACTOR),
        ))
    }

    fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }
}

fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d.to_signed()).unwrap_or(Timestamp::MAX)
}

/// The gauge a job counts in; see [`JobState::status_marker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    Down,
    Running,
    Waiting,
}

impl StatusClass {
    pub const ALL: [StatusClass; 3] = [
        StatusClass::Down,
        StatusClass::Running,
        StatusClass::Waiting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Down => "down",
            StatusClass::Running => "running",
            StatusClass::Waiting => "waiting",
        }
    }
}

/// What a deadline is for; on equal times the earlier variant goes first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Due {
    Resume,
    Late,
    Missed,
    Slow(usize),
    TimedOut(usize),
    Reminder,
}

/// Applies every deadline up to `ctx.now`, oldest first, each at its own time.
pub fn advance(spec: &JobSpec, state: &mut JobState, ctx: Ctx<'_>) -> Effects {
    let mut fx = Effects::default();
    for _ in 0..MAX_STEPS {
        let Some((deadline, due)) = state.next_due(spec).filter(|(d, _)| *d <= ctx.now) else {
            break;
        };
        match due {
            Due::Resume => resume(spec, state, deadline),
            Due::Late => on_late(spec, state, deadline, ctx, &mut fx),
            Due::Missed => on_missed(spec, state, deadline, ctx, &mut fx),
            Due::Slow(i) => on_slow(spec, state, i, deadline, ctx, &mut fx),
            Due::TimedOut(i) => on_timed_out(spec, state, i, deadline, ctx, &mut fx),
            Due::Reminder => on_reminder(spec, state, deadline, ctx, &mut fx),
        }
    }
    fx
}

fn on_late(
    spec: &JobSpec,
    state: &mut JobState,
    deadline: Timestamp,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    state.late_slot = state.expected;
    let mut alert = AlertEvent::new(AlertKind::Late, spec, ctx.environment, deadline, ctx.now);
    alert.severity = Severity::Warning;
    alert.expected_at = state.expected;
    fx.alerts.push(alert.with_id());
}

fn on_slow(
    spec: &JobSpec,
    state: &mut JobState,
    index: usize,
    deadline: Timestamp,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    let run = &mut state.open_runs[index];
    run.slow_announced = true;
    let mut alert = AlertEvent::new(AlertKind::Slow, spec, ctx.environment, deadline, ctx.now);
    alert.severity = Severity::Warning;
    alert.run_id = Some(run.run_id.clone());
    alert.started_at = Some(run.started_at);
    alert.expected_at = run.expected_at;
    alert.duration_ms = Some(Duration::between(run.started_at, deadline).as_millis());
    fx.alerts.push(alert.with_id());
}

fn on_reminder(
    spec: &JobSpec,
    state: &mut JobState,
    deadline: Timestamp,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    state.reminder_at = next_reminder(spec, deadline, ctx);
    let mut alert = AlertEvent::new(
        AlertKind::StillDown,
        spec,
        ctx.environment,
        deadline,
        ctx.now,
    );
    alert.outage = state.streak.as_ref().map(|s| outage_summary(s, deadline));
    fx.alerts.push(alert.with_id());
}

/// When to announce again that a job is still down, counting from `from`.
fn next_reminder(spec: &JobSpec, from: Timestamp, ctx: Ctx<'_>) -> Option<Timestamp> {
    let interval = spec.repeat_interval.unwrap_or(ctx.repeat_interval);
    (!interval.is_zero()).then(|| add(from, interval))
}

fn outage_summary(streak: &BadStreak, until: Timestamp) -> OutageSummary {
    OutageSummary {
        since: streak.since,
        duration_ms: Duration::between(streak.since, until).as_millis(),
        runs_missed: streak.runs_missed,
        runs_failed: streak.runs_failed,
        last_error: streak.last_error.clone(),
    }
}

fn on_missed(
    spec: &JobSpec,
    state: &mut JobState,
    deadline: Timestamp,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    let Some(slot) = state.expected else { return };
    state.expected = spec.schedule.next_after(slot);
    let seq = state.take_seq();
    fx.runs.push(Run {
        expected_at: Some(slot),
        ..Run::new(seq, format!("r{seq}"), RunOutcome::Missed)
    });
    let mut alert = AlertEvent::new(AlertKind::Missed, spec, ctx.environment, deadline, ctx.now);
    alert.expected_at = Some(slot);
    let error = format!("missed the run expected at {slot}");
    record_bad(
        spec,
        state,
        deadline,
        Bad::Missed,
        error,
        alert.with_id(),
        ctx,
        fx,
    );
}

fn on_timed_out(
    spec: &JobSpec,
    state: &mut JobState,
    index: usize,
    deadline: Timestamp,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    let run = &mut state.open_runs[index];
    run.timed_out = true;
    let run = run.clone();
    fx.runs.push(Run {
        expected_at: run.expected_at,
        started_at: Some(run.started_at),
        timed_out: true,
        ..Run::new(run.seq, run.run_id.clone(), RunOutcome::TimedOut)
    });
    let mut alert = AlertEvent::new(
        AlertKind::TimedOut,
        spec,
        ctx.environment,
        deadline,
        ctx.now,
    );
    alert.run_id = Some(run.run_id);
    alert.started_at = Some(run.started_at);
    alert.expected_at = run.expected_at;
    alert.duration_ms = Some(spec.max_runtime.as_millis());
    let error = format!(
        "run started at {} did not finish within {}",
        run.started_at, spec.max_runtime
    );
    record_bad(
        spec,
        state,
        deadline,
        Bad::Failed,
        error,
        alert.with_id(),
        ctx,
        fx,
    );
}

enum Bad {
    Missed,
    Failed,
}

/// Counts a bad run; announces `alert` only if this one takes the job down.
#[allow(clippy::too_many_arguments)]
fn record_bad(
    spec: &JobSpec,
    state: &mut JobState,
    at: Timestamp,
    bad: Bad,
    error: String,
    alert: AlertEvent,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    state.bad_in_a_row += 1;
    state.good_in_a_row = 0;
    state.last_failure_at = Some(at);
    let streak = state.streak.get_or_insert(BadStreak {
        since: at,
        runs_missed: 0,
        runs_failed: 0,
        last_error: None,
    });
    match bad {
        Bad::Missed => streak.runs_missed += 1,
        Bad::Failed => streak.runs_failed += 1,
    }
    streak.last_error = Some(error);
    if state.health != Health::Down && state.bad_in_a_row >= spec.failure_threshold {
        state.health = Health::Down;
        state.down_since = Some(at);
        state.reminder_at = next_reminder(spec, at, ctx);
        fx.alerts.push(alert);
    }
}

/// Counts a good run; announces recovery once enough good runs follow an outage.
fn record_good(
    spec: &JobSpec,
    state: &mut JobState,
    at: Timestamp,
    ctx: Ctx<'_>,
    run: Option<&Run>,
    fx: &mut Effects,
) {
    state.good_in_a_row += 1;
    state.bad_in_a_row = 0;
    state.last_success_at = Some(at);
    match state.health {
        Health::Down if state.good_in_a_row >= spec.recovery_threshold => {
            state.health = Health::Up;
            state.down_since = None;
            state.reminder_at = None;
            let streak = state.streak.take();
            let mut alert =
                AlertEvent::new(AlertKind::Recovered, spec, ctx.environment, at, ctx.now);
            if let Some(run) = run {
                alert.run_id = Some(run.run_id.clone());
                alert.started_at = run.started_at;
                alert.finished_at = run.finished_at;
                alert.duration_ms = run.duration_ms;
                alert.exit_code = run.exit_code;
            }
            alert.outage = streak.map(|s| outage_summary(&s, at));
            fx.alerts.push(alert.with_id());
        }
        Health::Down => {}
        Health::New | Health::Up => {
            state.health = Health::Up;
            state.streak = None;
        }
    }
}

/// The result of applying a ping.
#[derive(Debug, Clone, PartialEq)]
pub struct PingOutcome {
    pub effects: Effects,
    /// The ping repeated one already applied (same `rid` and event): it changed nothing.
    pub duplicate: bool,
}

/// Applies a ping arriving at `ctx.now` (after catching up with any deadline before it).
pub fn apply_ping(spec: &JobSpec, state: &mut JobState, ping: &Ping, ctx: Ctx<'_>) -> PingOutcome {
    let mut fx = advance(spec, state, ctx);
    let identity = ping.rid.as_ref().map(|rid| SeenPing {
        rid: rid.clone(),
        event: ping.event.identity().into(),
    });
    if let Some(id) = &identity
        && state.seen.contains(id)
    {
        return PingOutcome {
            effects: fx,
            duplicate: true,
        };
    }
    let now = ctx.now;
    state.last_ping_at = Some(now);
    match ping.event {
        PingEvent::Start => {
            let expected_at = state.expected.filter(|e| *e <= add(now, spec.grace));
            satisfy_slot(spec, state, now);
            let seq = state.take_seq();
            let run_id = ping.rid.clone().unwrap_or_else(|| format!("r{seq}"));
            if state.open_runs.len() >= MAX_OPEN_RUNS {
                state.open_runs.remove(0); // forget the oldest; its record stays as it was
            }
            state.open_runs.push(OpenRun {
                seq,
                run_id: run_id.clone(),
                client_rid: ping.rid.is_some(),
                started_at: now,
                expected_at,
                timed_out: false,
                slow_announced: false,
            });
            fx.runs.push(Run {
                expected_at,
                started_at: Some(now),
                output: ping.body.clone().filter(|b| !b.is_empty()),
                ..Run::new(seq, run_id, RunOutcome::Running)
            });
        }
        PingEvent::Success | PingEvent::Fail | PingEvent::Exit(_) => {
            let expected_at = state.expected.filter(|e| *e <= add(now, spec.grace));
            satisfy_slot(spec, state, now);
            finish_run(spec, state, ping, expected_at, ctx, &mut fx);
        }
        PingEvent::Log => {
            let seq = state.take_seq();
            let run_id = ping.rid.clone().unwrap_or_else(|| format!("r{seq}"));
            fx.runs.push(Run {
                finished_at: Some(now),
                output: ping.body.clone(),
                ..Run::new(seq, run_id, RunOutcome::Log)
            });
        }
    }
    if let Some(id) = identity {
        if state.seen.len() >= MAX_SEEN {
            state.seen.pop_front();
        }
        state.seen.push_back(id);
    }
    PingOutcome {
        effects: fx,
        duplicate: false,
    }
}

fn finish_run(
    spec: &JobSpec,
    state: &mut JobState,
    ping: &Ping,
    expected_at: Option<Timestamp>,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    let now = ctx.now;
    let open = match &ping.rid {
        Some(rid) => state
            .open_runs
            .iter()
            .rposition(|r| r.client_rid && &r.run_id == rid),
        None => state.open_runs.iter().rposition(|r| !r.client_rid),
    }
    .map(|i| state.open_runs.remove(i));
    let (seq, run_id) = match &open {
        Some(run) => (run.seq, run.run_id.clone()),
        None => {
            let seq = state.take_seq();
            (seq, ping.rid.clone().unwrap_or_else(|| format!("r{seq}")))
        }
    };
    let started_at = open.as_ref().map(|r| r.started_at);
    let duration = started_at.map(|s| Duration::between(s, now));
    let already_timed_out = open.as_ref().is_some_and(|r| r.timed_out);
    let exit_code = match ping.event {
        PingEvent::Exit(code) => Some(code),
        _ => None,
    };
    let failed = matches!(ping.event, PingEvent::Fail) || exit_code.is_some_and(|c| c != 0);
    let too_short =
        !failed && matches!((spec.min_runtime, duration), (Some(min), Some(d)) if d < min);
    let outcome = if failed {
        RunOutcome::Failed
    } else if too_short {
        RunOutcome::TooShort
    } else {
        RunOutcome::Success
    };
    let run = Run {
        seq,
        run_id,
        outcome,
        expected_at: open.as_ref().and_then(|r| r.expected_at).or(expected_at),
        started_at,
        finished_at: Some(now),
        duration_ms: duration.map(Duration::as_millis),
        exit_code,
        timed_out: already_timed_out,
        output: ping.body.clone().filter(|b| !b.is_empty()),
    };
    if let Some(d) = duration {
        state.last_duration_ms = Some(d.as_millis());
        if outcome == RunOutcome::Success && !already_timed_out {
            if state.recent_durations.len() >= RECENT_DURATIONS {
                state.recent_durations.pop_front();
            }
            state.recent_durations.push_back(d.as_millis());
        }
    }
    fx.runs.push(run.clone());
    if outcome == RunOutcome::Success {
        record_good(spec, state, now, ctx, Some(&run), fx);
        return;
    }
    if already_timed_out && failed {
        return; // this run was already counted as bad when it timed out
    }
    let kind = if failed {
        AlertKind::Failed
    } else {
        AlertKind::TooShort
    };
    let mut alert = AlertEvent::new(kind, spec, ctx.environment, now, now);
    alert.run_id = Some(run.run_id.clone());
    alert.expected_at = run.expected_at;
    alert.started_at = run.started_at;
    alert.finished_at = run.finished_at;
    alert.duration_ms = run.duration_ms;
    alert.exit_code = run.exit_code;
    alert.output_excerpt = run.output.as_deref().and_then(output_excerpt);
    let error = match (failed, exit_code, &alert.output_excerpt) {
        (true, _, Some(out)) => out.lines().last().unwrap_or_default().to_string(),
        (true, Some(code), None) => format!("exit status {code}"),
        (true, None, None) => "reported failure".to_string(),
        (false, _, _) => format!(
            "finished in {} (min_runtime {})",
            duration.unwrap_or_default(),
            spec.min_runtime.unwrap_or_default()
        ),
    };
    record_bad(
        spec,
        state,
        now,
        Bad::Failed,
        error,
        alert.with_id(),
        ctx,
        fx,
    );
}

/// Marks the slot(s) a ping at `now` answers as seen and moves `expected` to the next one.
/// While the job is down, slots that passed without any ping are counted into the outage.
fn satisfy_slot(spec: &JobSpec, state: &mut JobState, now: Timestamp) {
    if state.paused.is_some() {
        return;
    }
    let new_expected = match &spec.schedule {
        Schedule::Every(period) => Some(add(now, *period)),
        Schedule::Cron { .. } => {
            let next = spec.schedule.next_after(now);
            let after_next = next.and_then(|n| spec.schedule.next_after(n));
            match (next, after_next) {
                (Some(n1), Some(n2)) => {
                    let half_gap = Duration::from_millis(Duration::between(n1, n2).as_millis() / 2);
                    let tolerance = spec.grace.min(EARLY_TOLERANCE).min(half_gap);
                    // A ping just before a slot is that slot's run, started a little early.
                    if Duration::between(now, n1) <= tolerance {
                        Some(n2)
                    } else {
                        Some(n1)
                    }
                }
                (next, _) => next,
            }
        }
    };
    if state.health == Health::Down {
        // Slots that passed without any ping: counted into the outage, never announced again.
        let silent_misses = match &spec.schedule {
            Schedule::Every(_) => {
                count_slots(spec, state.expected, |slot| add(slot, spec.grace) <= now)
            }
            // Every slot up to the new expectation is answered; all but the latest by nobody.
            Schedule::Cron { .. } => count_slots(spec, state.expected, |slot| {
                new_expected.is_none_or(|n| slot < n)
            })
            .saturating_sub(1),
        };
        if let Some(streak) = state.streak.as_mut() {
            streak.runs_missed = streak.runs_missed.saturating_add(silent_misses);
        }
    }
    state.expected = new_expected;
}

/// How many consecutive slots, starting at `from`, satisfy `while_`.
fn count_slots(spec: &JobSpec, from: Option<Timestamp>, while_: impl Fn(Timestamp) -> bool) -> u32 {
    let Some(mut slot) = from else { return 0 };
    let mut count = 0u32;
    for _ in 0..MAX_STEPS {
        if !while_(slot) {
            break;
        }
        count += 1;
        match spec.schedule.next_after(slot) {
            Some(next) => slot = next,
            None => break,
        }
    }
    count
}

/// Stops alerting for the job until [`resume`] (or `until`, when given).
pub fn pause(state: &mut JobState, now: Timestamp, until: Option<Timestamp>) {
    state.paused = Some(Pause {
        since: state.paused.as_ref().map_or(now, |p| p.since),
        until,
    });
}

/// Starts watching again as if the job had just been declared, keeping its history.
pub fn resume(spec: &JobSpec, state: &mut JobState, now: Timestamp) {
    if state.paused.take().is_none() {
        return;
    }
    state.health = Health::New;
    state.bad_in_a_row = 0;
    state.good_in_a_row = 0;
    state.streak = None;
    state.down_since = None;
    state.reminder_at = None;
    state.late_slot = None;
    state.expected = spec.schedule.next_after(now);
    // Runs that would already have timed out while paused are not worth an alert now.
    state
        .open_runs
        .retain(|r| !r.timed_out && add(r.started_at, spec.max_runtime) > now);
}

/// Adapts the state to a changed definition: a new schedule restarts the expectations at `now`.
pub fn redefine(old: &JobSpec, new: &JobSpec, state: &mut JobState, now: Timestamp) {
    if old.schedule != new.schedule && state.paused.is_none() {
        state.expected = new.schedule.next_after(now);
    }
}
