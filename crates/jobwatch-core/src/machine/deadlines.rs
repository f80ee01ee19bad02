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
use crate::job::{JobSpec, Severity};
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
