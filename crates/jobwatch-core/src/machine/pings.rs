//! Ping-driven transitions: [`apply_ping`] turns a start, success, failure, exit status or log
//! ping into run records and, when the job's health changes, alerts.

use jiff::Timestamp;

use super::deadlines::advance;
use super::state::{JobState, OpenRun, RECENT_DURATIONS, add};
use super::streak::{Bad, record_bad, record_good};
use super::transition::{Ctx, Effects};
use crate::alert::{AlertEvent, AlertKind, PingSource, output_excerpt};
use crate::duration::Duration;
use crate::job::{JobSpec, Schedule};
use crate::run::{Run, RunOutcome};

/// A ping as the API understood it.
#[derive(Debug, Clone, PartialEq)]
pub struct Ping {
    pub event: PingEvent,
    /// The client's run id (`?rid=`).
    pub rid: Option<String>,
    /// The request body (already truncated to the ping body limit).
    pub body: Option<String>,
    /// Where the ping came from (address, User-Agent, `jobwatch run`'s host).
    pub source: Option<PingSource>,
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

/// Bounds that keep a state document small whatever clients send.
const MAX_OPEN_RUNS: usize = 32;
/// Pings up to this much before a slot count for it (cron clocks drift by seconds).
const EARLY_TOLERANCE: Duration = Duration::from_secs(60);

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
    let identity = ping
        .rid
        .as_ref()
        .map(|rid| super::seen::ping_identity(rid, ping.event.identity()));
    if let Some(id) = identity
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
            let expected_at = answer_slot(spec, state, now);
            let seq = state.take_seq();
            let run_id = ping.rid.clone().unwrap_or_else(|| format!("r{seq}"));
            if state.open_runs.len() >= MAX_OPEN_RUNS {
                // Forget the oldest; its record is written now, since history lists open
                // runs from the state.
                let forgotten = state.open_runs.remove(0);
                fx.runs.push(Run {
                    expected_at: forgotten.expected_at,
                    started_at: Some(forgotten.started_at),
                    ..Run::new(forgotten.seq, forgotten.run_id, RunOutcome::Running)
                });
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
            // A start is recorded in the job's state (its open runs, which history lists); a
            // run record is written only to keep what the start said, or once it finishes.
            if let Some(output) = ping.body.clone().filter(|b| !b.is_empty()) {
                fx.runs.push(Run {
                    expected_at,
                    started_at: Some(now),
                    output: Some(output),
                    source: ping.source.clone(),
                    ..Run::new(seq, run_id, RunOutcome::Running)
                });
            }
        }
        PingEvent::Success | PingEvent::Fail | PingEvent::Exit(_) => {
            finish_run(spec, state, ping, ctx, &mut fx);
        }
        PingEvent::Log => {
            let seq = state.take_seq();
            let run_id = ping.rid.clone().unwrap_or_else(|| format!("r{seq}"));
            fx.runs.push(Run {
                finished_at: Some(now),
                output: ping.body.clone(),
                source: ping.source.clone(),
                ..Run::new(seq, run_id, RunOutcome::Log)
            });
        }
    }
    if let Some(id) = identity {
        state.seen.remember(id);
    }
    PingOutcome {
        effects: fx,
        duplicate: false,
    }
}

fn finish_run(spec: &JobSpec, state: &mut JobState, ping: &Ping, ctx: Ctx<'_>, fx: &mut Effects) {
    let now = ctx.now;
    let open = match &ping.rid {
        Some(rid) => state
            .open_runs
            .iter()
            .rposition(|r| r.client_rid && &r.run_id == rid),
        None => state.open_runs.iter().rposition(|r| !r.client_rid),
    }
    .map(|i| state.open_runs.remove(i));
    // A run that started answered its slot then; one reported only at its end answers now.
    let expected_at = match &open {
        Some(run) => {
            restart_interval(spec, state, now);
            run.expected_at
        }
        None => answer_slot(spec, state, now),
    };
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
        expected_at,
        started_at,
        finished_at: Some(now),
        duration_ms: duration.map(Duration::as_millis),
        exit_code,
        timed_out: already_timed_out,
        output: ping.body.clone().filter(|b| !b.is_empty()),
        source: ping.source.clone(),
        ..Run::new(0, String::new(), outcome)
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
    alert.source = run.source.clone();
    if !failed {
        alert.breach = Some(super::facts::too_short(spec, duration.unwrap_or_default()));
    }
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

/// The slot a run reported at `now` belongs to, which it answers: `expected` moves past it.
///
/// Every slot is answered at most once, by one run, and only by a run reported before its
/// grace ran out (after that, [`advance`] has recorded it as missed). A run reported a little
/// before its slot belongs to that slot: cron clocks drift by seconds. For an interval job the
/// period restarts at every run, and a run up to `grace` early still answers the slot.
fn answer_slot(spec: &JobSpec, state: &mut JobState, now: Timestamp) -> Option<Timestamp> {
    if state.paused.is_some() {
        return None;
    }
    let expected = state.expected?;
    match &spec.schedule {
        Schedule::Every(period) => {
            state.expected = Some(add(now, *period));
            (expected <= add(now, spec.grace)).then_some(expected)
        }
        Schedule::Cron { .. } => {
            let following = spec.schedule.next_after(expected);
            if expected > add(now, early_tolerance(spec, expected, following)) {
                return None; // a run between slots (by hand, or a retry): it answers none
            }
            state.expected = following;
            Some(expected)
        }
        Schedule::OnDemand => None, // never expected, so nothing to answer
    }
}

/// How early a run may report and still belong to `slot`: at most a minute, the grace, and
/// half the gap to the following slot (so no run could belong to two slots).
fn early_tolerance(spec: &JobSpec, slot: Timestamp, following: Option<Timestamp>) -> Duration {
    let half_gap = following.map_or(EARLY_TOLERANCE, |next| {
        Duration::from_millis(Duration::between(slot, next).as_millis() / 2)
    });
    spec.grace.min(EARLY_TOLERANCE).min(half_gap)
}

/// A run of an interval job that finishes restarts its period (as Healthchecks does).
fn restart_interval(spec: &JobSpec, state: &mut JobState, now: Timestamp) {
    if let (Schedule::Every(period), None) = (&spec.schedule, &state.paused) {
        state.expected = Some(add(now, *period));
    }
}
