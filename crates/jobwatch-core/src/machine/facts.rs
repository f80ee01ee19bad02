//! The facts on-call needs in an alert, beyond the run itself: the limit broken in words, the
//! bad streak against its threshold and the last success.

use jiff::Timestamp;

use super::state::JobState;
use crate::alert::{AlertEvent, Breach, LastSuccess};
use crate::duration::Duration;
use crate::job::JobSpec;
use crate::timefmt::{clock_in, duration};

fn breach(setting: &str, value: impl ToString, text: String) -> Breach {
    Breach {
        setting: setting.to_string(),
        value: value.to_string(),
        text,
    }
}

/// `missed: no ping within grace 5m of the 03:00 CET (02:00 UTC) slot`.
pub(super) fn missed(spec: &JobSpec, slot: Timestamp) -> Breach {
    breach(
        "grace",
        spec.grace,
        format!(
            "missed: no ping within grace {} of the {} slot",
            spec.grace,
            clock_in(slot, spec.schedule.zone())
        ),
    )
}

/// `max_runtime 2h exceeded after 2h3m` (the time it had run when noticed).
pub(super) fn timed_out(spec: &JobSpec, started_at: Timestamp, now: Timestamp) -> Breach {
    let ran = Duration::between(started_at, now).max(spec.max_runtime);
    breach(
        "max_runtime",
        spec.max_runtime,
        format!(
            "max_runtime {} exceeded after {}",
            spec.max_runtime,
            duration(ran.as_millis())
        ),
    )
}

/// `min_runtime 1m not reached (took 12s)`.
pub(super) fn too_short(spec: &JobSpec, took: Duration) -> Breach {
    let min = spec.min_runtime.unwrap_or_default();
    breach(
        "min_runtime",
        min,
        format!(
            "min_runtime {min} not reached (took {})",
            duration(took.as_millis())
        ),
    )
}

/// `2 failures in a row, threshold 2` (or `bad runs` when some were missed).
fn threshold(spec: &JobSpec, state: &JobState) -> Breach {
    let n = state.bad_in_a_row;
    let all_failures = state.streak.as_ref().is_none_or(|s| s.runs_missed == 0);
    let what = match (all_failures, n) {
        (true, 1) => "failure",
        (true, _) => "failures",
        (false, 1) => "bad run",
        (false, _) => "bad runs",
    };
    breach(
        "failure_threshold",
        spec.failure_threshold,
        format!("{n} {what} in a row, threshold {}", spec.failure_threshold),
    )
}

pub(super) fn last_success(state: &JobState) -> Option<LastSuccess> {
    state.last_success_at.map(|at| LastSuccess {
        at,
        duration_ms: state.last_success_duration_ms,
    })
}

/// What every alert about a job's health carries: the streak, its threshold and the last
/// success; the threshold as the limit when the alert names none of its own.
pub(super) fn add_streak(alert: &mut AlertEvent, spec: &JobSpec, state: &JobState) {
    alert.bad_in_a_row = Some(state.bad_in_a_row);
    alert.failure_threshold = Some(spec.failure_threshold);
    alert.last_success = last_success(state);
    if alert.breach.is_none() && alert.kind.is_outage() {
        alert.breach = Some(threshold(spec, state));
    }
}
