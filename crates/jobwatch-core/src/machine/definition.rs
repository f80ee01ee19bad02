//! Changes from outside the schedule: pausing, resuming and a changed job definition.

use jiff::Timestamp;

use super::state::{JobState, Pause, add};
use crate::health::Health;
use crate::job::JobSpec;

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
