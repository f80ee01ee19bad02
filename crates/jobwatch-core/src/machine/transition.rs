//! What every transition takes and gives: where and when it happens ([`Ctx`]) and what it
//! asks the outside world to do ([`Effects`]).

use jiff::Timestamp;

use crate::alert::AlertEvent;
use crate::duration::Duration;
use crate::run::Run;

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
