//! The state a job keeps between events: its health, open runs, pause, bad streak and the
//! pings already seen, plus the questions asked of it (status, gauge, what counts as slow).

use std::collections::VecDeque;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::duration::Duration;
use crate::health::{Health, Status};
use crate::job::JobSpec;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenRun {
    #[serde(rename = "n", alias = "seq")]
    pub seq: u64,
    #[serde(rename = "id", alias = "run_id")]
    pub run_id: String,
    /// Whether the client gave the run id (`?rid=`); pings without one pair with the latest
    /// start without one, as Healthchecks does.
    #[serde(rename = "cr", alias = "client_rid")]
    pub client_rid: bool,
    #[serde(rename = "s", alias = "started_at")]
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[serde(rename = "e", alias = "expected_at")]
    pub expected_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[serde(rename = "to", alias = "timed_out")]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    #[serde(rename = "sa", alias = "slow_announced")]
    pub slow_announced: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pause {
    pub since: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<Timestamp>,
}

/// Bad runs since the last good one; becomes the outage once the job is down.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BadStreak {
    pub since: Timestamp,
    pub runs_missed: u32,
    pub runs_failed: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

pub use super::seen::{SEEN_WINDOW, SeenPings};

/// What a job keeps between events. Stored as JSON under short names (the long ones are
/// still read): the job item is rewritten on every ping and billed per KB, so its steady state
/// is kept within one (docs/cost.md).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    #[serde(rename = "c", alias = "created_at")]
    pub created_at: Timestamp,
    #[serde(rename = "h", alias = "health")]
    pub health: Health,
    #[serde(
        rename = "p",
        alias = "paused",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub paused: Option<Pause>,
    /// The earliest expected run not yet seen (a slot of the schedule).
    #[serde(
        rename = "e",
        alias = "expected",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub expected: Option<Timestamp>,
    #[serde(
        rename = "o",
        alias = "open_runs",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub open_runs: Vec<OpenRun>,
    #[serde(rename = "b", alias = "bad_in_a_row")]
    pub bad_in_a_row: u32,
    #[serde(rename = "g", alias = "good_in_a_row")]
    pub good_in_a_row: u32,
    #[serde(
        rename = "st",
        alias = "streak",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub streak: Option<BadStreak>,
    #[serde(
        rename = "ds",
        alias = "down_since",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub down_since: Option<Timestamp>,
    #[serde(
        rename = "lp",
        alias = "last_ping_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_ping_at: Option<Timestamp>,
    #[serde(
        rename = "ls",
        alias = "last_success_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_success_at: Option<Timestamp>,
    /// How long the last successful run took (its finish is `last_success_at`).
    #[serde(
        rename = "lsd",
        alias = "last_success_duration_ms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_success_duration_ms: Option<u64>,
    #[serde(
        rename = "lf",
        alias = "last_failure_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_failure_at: Option<Timestamp>,
    #[serde(
        rename = "ld",
        alias = "last_duration_ms",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub last_duration_ms: Option<u64>,
    /// Next run sequence number.
    #[serde(rename = "n", alias = "next_seq")]
    pub next_seq: u64,
    #[serde(
        rename = "s",
        alias = "seen",
        default,
        skip_serializing_if = "SeenPings::is_empty"
    )]
    pub seen: SeenPings,
    /// When a job still down is announced again.
    #[serde(
        rename = "ra",
        alias = "reminder_at",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub reminder_at: Option<Timestamp>,
    /// The slot already announced as late (jobs with `late_alert`).
    #[serde(
        rename = "lt",
        alias = "late_slot",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub late_slot: Option<Timestamp>,
    /// Durations of the latest successful runs (ms, oldest first): what "slow" is measured by.
    #[serde(
        rename = "rd",
        alias = "recent_durations",
        default,
        skip_serializing_if = "VecDeque::is_empty"
    )]
    pub recent_durations: VecDeque<u64>,
    /// How the runs of the latest report days went (see [`crate::tally`]), oldest first.
    #[serde(
        rename = "d",
        alias = "days",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub days: Vec<crate::tally::DayTally>,
    /// When the failed runs (failed, timed out, too short; not missed slots) of the last 24
    /// hours turned bad (unix seconds, oldest first, at most [`RECENT_BAD_KEPT`]): the web
    /// view's "fails in 24 h". Empty, and not stored, for a job that has not failed in a day.
    #[serde(rename = "rb", default, skip_serializing_if = "VecDeque::is_empty")]
    pub recent_bad: VecDeque<i64>,
}

/// Runs slower than this multiple of the p95 of the job's recent runs are announced as slow.
pub const SLOW_FACTOR: u64 = 3;
/// Durations of successful runs kept: what judges a run slow (given at least
/// [`MIN_DURATIONS_FOR_SLOW`]) and the web view's sparkline. More would push a busy job's
/// item past one DynamoDB write unit (tests/dynamo.rs), so the sparkline shows 20, not 30.
pub(super) const RECENT_DURATIONS: usize = 20;
/// Failed runs of the last day kept in the state; a job failing more often shows "30+".
pub const RECENT_BAD_KEPT: usize = 30;
const MIN_DURATIONS_FOR_SLOW: usize = 5;

impl JobState {
    /// The state of a job declared at `now`: its first expected run is the first slot after.
    pub fn new(spec: &JobSpec, now: Timestamp) -> JobState {
        JobState {
            created_at: now,
            health: Health::New,
            paused: None,
            expected: spec.schedule.next_after(now),
            open_runs: Vec::new(),
            bad_in_a_row: 0,
            good_in_a_row: 0,
            streak: None,
            down_since: None,
            last_ping_at: None,
            last_success_at: None,
            last_success_duration_ms: None,
            last_failure_at: None,
            last_duration_ms: None,
            next_seq: 1,
            seen: SeenPings::default(),
            reminder_at: None,
            late_slot: None,
            recent_durations: VecDeque::new(),
            days: Vec::new(),
            recent_bad: VecDeque::new(),
        }
    }

    pub fn status(&self, now: Timestamp) -> Status {
        if self.paused.is_some() {
            Status::Paused
        } else if self.health == Health::Down {
            Status::Down
        } else if self.open_runs.iter().any(|r| !r.timed_out) {
            Status::Running
        } else if self.expected.is_some_and(|e| e <= now) {
            Status::Late
        } else if self.health == Health::New && self.last_ping_at.is_none() {
            // "new" means never pinged: a job pinged before a pause or a redefinition is not.
            Status::New
        } else {
            Status::Up
        }
    }

    /// Since when the job counts as down in the gauge (paused jobs count in none). Stores
    /// index this, and only this, so the gauge costs a count, and the index is written only
    /// when a job goes down or comes back, not on every ping.
    pub fn down_marker(&self) -> Option<Timestamp> {
        (self.paused.is_none() && self.health == Health::Down)
            .then(|| self.down_since.unwrap_or(self.created_at))
    }

    /// Failed runs that turned bad in the 24 hours before `now` (at most [`RECENT_BAD_KEPT`]).
    pub fn bad_in_last_day(&self, now: Timestamp) -> usize {
        let since = now.as_second() - 86_400;
        self.recent_bad.iter().filter(|t| **t > since).count()
    }

    /// How long a run may take before it is slow: a multiple of the p95 of recent runs.
    pub(super) fn slow_threshold(&self) -> Option<Duration> {
        if self.recent_durations.len() < MIN_DURATIONS_FOR_SLOW {
            return None;
        }
        let mut sorted: Vec<u64> = self.recent_durations.iter().copied().collect();
        sorted.sort_unstable();
        let p95 = sorted[(sorted.len() * 95).div_ceil(100).saturating_sub(1)];
        // Runs of a second or less vary too much in relative terms to call any of them slow.
        Some(Duration::from_millis(
            p95.max(1_000).saturating_mul(SLOW_FACTOR),
        ))
    }

    /// The runs started and still open, as history lists them (newest first). Their records
    /// are written when they finish (or time out), not when they start.
    pub fn open_run_records(&self) -> impl Iterator<Item = crate::run::Run> + '_ {
        self.open_runs
            .iter()
            .rev()
            .filter(|r| !r.timed_out)
            .map(|r| crate::run::Run {
                expected_at: r.expected_at,
                started_at: Some(r.started_at),
                ..crate::run::Run::new(r.seq, r.run_id.clone(), crate::run::RunOutcome::Running)
            })
    }

    pub(super) fn take_seq(&mut self) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        seq
    }
}

/// `t + d`, saturating at the end of time.
pub(super) fn add(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(d.to_signed()).unwrap_or(Timestamp::MAX)
}
