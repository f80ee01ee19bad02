//! Time-driven transitions: the next deadline of a job (a late or missed slot, a slow or
//! timed-out run, a reminder, the end of a pause) and [`advance`], which applies every deadline
//! up to `now` in order.

use jiff::Timestamp;

use super::definition::resume;
use super::state::{JobState, add};
use super::streak::{Bad, next_reminder, outage_summary, record_bad};
use super::transition::{Ctx, Effects};
use crate::alert::{AlertEvent, AlertKind};
use crate::duration::Duration;
use crate::health::Health;
use crate::job::{JobSpec, Schedule, Severity};
use crate::run::{Run, RunOutcome};
use crate::timefmt::at_in;

/// Upper bound on deadline steps in one call: a month of a per-minute job fits many times.
pub(super) const MAX_STEPS: usize = 100_000;

impl JobState {
    /// The earliest moment at which [`advance`] would change something, if any. Stores index
    /// jobs by it so a sweep only reads jobs that are due.
    pub fn next_deadline(&self, spec: &JobSpec) -> Option<Timestamp> {
        self.next_due(spec).map(|(at, _)| at)
    }

    /// The next deadline and what happens then. On a tie, the order of [`Due`] decides.
    fn next_due(&self, spec: &JobSpec) -> Option<(Timestamp, Due)> {
        self.due_candidates(spec).into_iter().min()
    }

    /// Every pending deadline (the earliest of each kind).
    fn due_candidates(&self, spec: &JobSpec) -> Vec<(Timestamp, Due)> {
        if let Some(pause) = &self.paused {
            return pause
                .until
                .map(|until| (until, Due::Resume))
                .into_iter()
                .collect();
        }
        let mut candidates: Vec<(Timestamp, Due)> = Vec::new();
        let down = self.health == Health::Down;
        if down {
            candidates.extend(self.reminder_at.map(|at| (at, Due::Reminder)));
        }
        if let Some(expected) = self.expected {
            // Late is a warning of an outage to come; while down it would say nothing new.
            if !down && spec.late_alert && self.late_slot != Some(expected) {
                candidates.push((expected, Due::Late));
            }
            // Every slot that passes its grace without a ping is one missed run, recorded
            // whether the job is up or down: the outage counts, the history, the status and
            // the report all count these records, so they agree (only the first is announced).
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
        candidates
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
    alert.last_success = super::facts::last_success(state);
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
    alert.last_success = super::facts::last_success(state);
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
    super::facts::add_streak(&mut alert, spec, state);
    fx.alerts.push(alert.with_id());
}

fn on_missed(
    spec: &JobSpec,
    state: &mut JobState,
    deadline: Timestamp,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    let Some(slot) = state.expected else { return };
    if state.health == Health::Down {
        // Already announced: the slots missed by now are only counted, all in this step.
        match missed_stretch(spec, state, ctx.now) {
            Stretch::Each(slots) => {
                for slot in slots {
                    record_missed(spec, state, (slot, slot), 1, ctx, fx);
                }
            }
            Stretch::Coalesced { count, last } => {
                // A long outage caught up at once: one record stands for all its slots.
                record_missed(spec, state, (slot, last), count, ctx, fx);
            }
        }
        return;
    }
    state.expected = spec.schedule.next_after(slot);
    let seq = state.take_seq();
    fx.runs.push(Run {
        expected_at: Some(slot),
        ..Run::new(seq, format!("r{seq}"), RunOutcome::Missed)
    });
    let mut alert = AlertEvent::new(AlertKind::Missed, spec, ctx.environment, deadline, ctx.now);
    alert.expected_at = Some(slot);
    alert.breach = Some(super::facts::missed(spec, slot));
    let error = format!(
        "missed the run expected at {}",
        at_in(slot, spec.schedule.zone())
    );
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

/// Records `count` consecutive missed slots (`first` to `last`) of a job already down: one
/// record, with the sequence numbers, counts and last error as if each slot had its own.
fn record_missed(
    spec: &JobSpec,
    state: &mut JobState,
    (first, last): (Timestamp, Timestamp),
    count: u32,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    let seq = state.take_seq();
    state.next_seq = state.next_seq.saturating_add(u64::from(count - 1));
    state.expected = spec.schedule.next_after(last);
    fx.runs.push(Run {
        expected_at: Some(first),
        slots: count,
        last_expected_at: (count > 1).then_some(last),
        ..Run::new(seq, format!("r{seq}"), RunOutcome::Missed)
    });
    let at = add(last, spec.grace);
    state.bad_in_a_row = state.bad_in_a_row.saturating_add(count - 1);
    if let Some(streak) = state.streak.as_mut() {
        streak.runs_missed = streak.runs_missed.saturating_add(count - 1);
    }
    let alert = AlertEvent::new(AlertKind::Missed, spec, ctx.environment, at, ctx.now);
    let error = format!("missed the run expected at {last}");
    record_bad(spec, state, at, Bad::Missed, error, alert, ctx, fx);
}

/// Consecutive missed slots from which a catch-up while down writes one record for all.
const COALESCE_MISSED_FROM: usize = 60;
/// Upper bound on the slots one catch-up counts (two years of a per-minute job).
const MAX_STRETCH: u64 = 1_051_200;

/// The slots of a job already down that are missed by `now`, from `expected` on, stopping at
/// the first other deadline (so a reminder counts exactly the slots before it).
enum Stretch {
    /// A short stretch: a record per slot, as a sweep every minute would have written.
    Each(Vec<Timestamp>),
    Coalesced {
        count: u32,
        last: Timestamp,
    },
}

fn missed_stretch(spec: &JobSpec, state: &JobState, now: Timestamp) -> Stretch {
    let others = state
        .due_candidates(spec)
        .into_iter()
        .filter(|(_, due)| *due != Due::Missed)
        .map(|(at, _)| at)
        .min();
    // A tie with another deadline goes to the missed slot first, as [`Due`] orders them.
    let limit = others.map_or(now, |other| now.min(other));
    let missed = |slot: &Timestamp| add(*slot, spec.grace) <= limit;
    let mut slots = Vec::new();
    let mut next = state.expected.filter(missed);
    while let Some(slot) = next {
        if slots.len() >= COALESCE_MISSED_FROM {
            break;
        }
        slots.push(slot);
        next = spec.schedule.next_after(slot).filter(missed);
    }
    let Some(next) = next else {
        return Stretch::Each(slots);
    };
    // Long: count the rest without keeping it (arithmetic for an interval).
    let mut count = slots.len() as u64;
    let mut last = slots.last().copied().unwrap_or(next);
    match &spec.schedule {
        Schedule::Every(period) if !period.is_zero() => {
            let reach = Duration::between(next, limit)
                .as_millis()
                .saturating_sub(spec.grace.as_millis());
            let more = (reach / period.as_millis() + 1).min(MAX_STRETCH.saturating_sub(count));
            count += more;
            last = add(next, Duration::from_millis((more - 1) * period.as_millis()));
        }
        _ => {
            let mut next = Some(next);
            while let Some(slot) = next.filter(|_| count < MAX_STRETCH) {
                (count, last) = (count + 1, slot);
                next = spec.schedule.next_after(slot).filter(missed);
            }
        }
    }
    Stretch::Coalesced {
        count: u32::try_from(count).unwrap_or(u32::MAX),
        last,
    }
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
    alert.breach = Some(super::facts::timed_out(spec, run.started_at, ctx.now));
    let error = format!(
        "run started at {} did not finish within {}",
        at_in(run.started_at, spec.schedule.zone()),
        spec.max_runtime
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
