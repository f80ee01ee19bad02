//! Counting runs: a bad run extends the streak that takes a job down (announced once), a
//! good one ends it (announcing the recovery with a summary of the outage).

use jiff::Timestamp;

use super::state::{BadStreak, JobState, add};
use super::transition::{Ctx, Effects};
use crate::alert::{AlertEvent, AlertKind, OutageSummary};
use crate::duration::Duration;
use crate::health::Health;
use crate::job::JobSpec;
use crate::run::Run;

/// When to announce again that a job is still down, counting from `from`.
pub(super) fn next_reminder(spec: &JobSpec, from: Timestamp, ctx: Ctx<'_>) -> Option<Timestamp> {
    let interval = spec.repeat_interval.unwrap_or(ctx.repeat_interval);
    (!interval.is_zero()).then(|| add(from, interval))
}

pub(super) fn outage_summary(streak: &BadStreak, until: Timestamp) -> OutageSummary {
    OutageSummary {
        since: streak.since,
        duration_ms: Duration::between(streak.since, until).as_millis(),
        runs_missed: streak.runs_missed,
        runs_failed: streak.runs_failed,
        last_error: streak.last_error.clone(),
    }
}

/// The kind of bad run, for the outage counts.
pub(super) enum Bad {
    Missed,
    Failed,
}

/// Counts a bad run; announces `alert` only if this one takes the job down.
#[allow(clippy::too_many_arguments)]
pub(super) fn record_bad(
    spec: &JobSpec,
    state: &mut JobState,
    at: Timestamp,
    bad: Bad,
    error: String,
    mut alert: AlertEvent,
    ctx: Ctx<'_>,
    fx: &mut Effects,
) {
    state.bad_in_a_row += 1;
    state.good_in_a_row = 0;
    state.last_failure_at = Some(at);
    // Failed runs only: missed slots may be caught up in one step, and the state must not
    // depend on when sweeps run.
    if matches!(bad, Bad::Failed) {
        let day_ago = at.as_second() - 86_400;
        while state.recent_bad.front().is_some_and(|t| *t <= day_ago)
            || state.recent_bad.len() >= super::state::RECENT_BAD_KEPT
        {
            state.recent_bad.pop_front();
        }
        state.recent_bad.push_back(at.as_second());
    }
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
        super::facts::add_streak(&mut alert, spec, state);
        fx.alerts.push(alert);
    }
}

/// Counts a good run; announces recovery once enough good runs follow an outage.
pub(super) fn record_good(
    spec: &JobSpec,
    state: &mut JobState,
    at: Timestamp,
    ctx: Ctx<'_>,
    run: Option<&Run>,
    fx: &mut Effects,
) {
    let previous_success = super::facts::last_success(state);
    state.good_in_a_row += 1;
    state.bad_in_a_row = 0;
    state.last_success_at = Some(at);
    state.last_success_duration_ms = run.and_then(|r| r.duration_ms);
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
                alert.source = run.source.clone();
            }
            // The success before the outage: this run's is in the alert already.
            alert.last_success = previous_success;
            alert.failure_threshold = Some(spec.failure_threshold);
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
