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
    pub seq: u64,
    pub run_id: String,
    /// Whether the client gave the run id (`?rid=`); pings without one pair with the latest
    /// start without one, as Healthchecks does.
    pub client_rid: bool,
    pub started_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
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

/// A ping already applied, remembered so that a client's retry is not counted twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeenPing {
    pub rid: String,
    pub event: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    pub created_at: Timestamp,
    pub health: Health,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<Pause>,
    /// The earliest expected run not yet seen (a slot of the schedule).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub open_runs: Vec<OpenRun>,
    pub bad_in_a_row: u32,
    pub good_in_a_row: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub streak: Option<BadStreak>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub down_since: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_ping_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_duration_ms: Option<u64>,
    /// Next run sequence number.
    pub next_seq: u64,
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub seen: VecDeque<SeenPing>,
    /// When a job still down is announced again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reminder_at: Option<Timestamp>,
    /// The slot already announced as late (jobs with `late_alert`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_slot: Option<Timestamp>,
    /// Durations of the latest successful runs (ms, oldest first): what "slow" is measured by.
    #[serde(default, skip_serializing_if = "VecDeque::is_empty")]
    pub recent_durations: VecDeque<u64>,
}

/// Runs slower than this multiple of the p95 of the job's recent runs are announced as slow.
pub const SLOW_FACTOR: u64 = 3;
/// Successful runs kept to judge what is slow, and the fewest needed to judge at all.
pub(super) const RECENT_DURATIONS: usize = 20;
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
            last_failure_at: None,
            last_duration_ms: None,
            next_seq: 1,
            seen: VecDeque::new(),
            reminder_at: None,
            late_slot: None,
            recent_durations: VecDeque::new(),
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
        } else if self.health == Health::New {
            Status::New
        } else {
            Status::Up
        }
    }

    /// Which gauge the job counts in (down, running, or waiting for its next run) and since
    /// when; paused jobs and jobs expecting nothing count in none. A waiting job whose time
    /// has passed is late. Stores index this so the gauges cost a count, not a scan.
    pub fn status_marker(&self) -> Option<(StatusClass, Timestamp)> {
        if self.paused.is_some() {
            return None;
        }
        if self.health == Health::Down {
            return Some((
                StatusClass::Down,
                self.down_since.unwrap_or(self.created_at),
            ));
        }
        if let Some(started) = self
            .open_runs
            .iter()
            .filter(|r| !r.timed_out)
            .map(|r| r.started_at)
            .min()
        {
            return Some((StatusClass::Running, started));
        }
        self.expected
            .map(|expected| (StatusClass::Waiting, expected))
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

/// The gauge a job counts in; see [`JobState::status_marker`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusClass {
    Down,
    Running,
    Waiting,
}

impl StatusClass {
    pub const ALL: [StatusClass; 3] = [
        StatusClass::Down,
        StatusClass::Running,
        StatusClass::Waiting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusClass::Down => "down",
            StatusClass::Running => "running",
            StatusClass::Waiting => "waiting",
        }
    }
}
