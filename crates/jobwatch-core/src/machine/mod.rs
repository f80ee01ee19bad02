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

mod deadlines;
mod definition;
mod facts;
mod pings;
mod seen;
mod state;
mod streak;
mod transition;

pub use crate::health::{Health, Status};

pub use deadlines::advance;
pub use definition::{pause, redefine, resume};
pub use pings::{Ping, PingEvent, PingOutcome, apply_ping};
pub use state::{
    BadStreak, JobState, OpenRun, Pause, RECENT_BAD_KEPT, SEEN_WINDOW, SLOW_FACTOR, SeenPings,
};
pub use transition::{Ctx, DEFAULT_REPEAT_INTERVAL, Effects};
