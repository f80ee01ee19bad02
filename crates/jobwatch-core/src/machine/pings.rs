//! Ping-driven transitions: [`apply_ping`] turns a start, success, failure, exit status or log
//! ping into run records and, when the job's health changes, alerts.

use jiff::Timestamp;

use super::deadlines::{MAX_STEPS, advance};
use super::state::{JobState, OpenRun, RECENT_DURATIONS, add};
use super::streak::{Bad, record_bad, record_good};
use super::transition::{Ctx, Effects};
use crate::alert::{AlertEvent, AlertKind, PingSource, output_excerpt};
use crate::duration::Duration;
use crate::health::Health;
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
            let expected_at = state.expected.filter(|e| *e <= add(now, spec.grace));
            satisfy_slot(spec, state, now);
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
        source: ping.source.clone(),
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
