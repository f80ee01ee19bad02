//! A job's health in two forms: the verdict the state machine keeps between events
//! ([`Health`]) and the status a person sees ([`Status`]). Plain values with no dependencies, so
//! the state machine, the daily report and the alerts can all name them.

use serde::{Deserialize, Serialize};

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
