//! Run history: one record per run of a job (and per `/log` message and missed slot), as the
//! stores keep it and the admin API lists it, newest first.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunOutcome {
    /// Started, not finished yet.
    Running,
    Success,
    Failed,
    /// Finished successfully, but faster than the job's `min_runtime`.
    TooShort,
    /// Started and not finished within `max_runtime`.
    TimedOut,
    /// An expected run that never started.
    Missed,
    /// A `/log` message: output only, no outcome.
    Log,
}

impl RunOutcome {
    pub fn as_str(self) -> &'static str {
        match self {
            RunOutcome::Running => "running",
            RunOutcome::Success => "success",
            RunOutcome::Failed => "failed",
            RunOutcome::TooShort => "too_short",
            RunOutcome::TimedOut => "timed_out",
            RunOutcome::Missed => "missed",
            RunOutcome::Log => "log",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Per-job sequence number: orders history (newest first) independently of clocks.
    pub seq: u64,
    /// The client's `rid`, or `r<seq>` for runs pinged without one.
    pub run_id: String,
    pub outcome: RunOutcome,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// Set when the run passed `max_runtime` (it may still have finished later).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timed_out: bool,
    /// The ping body: the run's output, truncated to the ping body limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
    /// Where the run's last ping came from (address, User-Agent, host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::alert::PingSource>,
    /// How many missed slots the record stands for: 1, or, when a long outage is caught up in
    /// one step, every consecutive slot from `expected_at` to `last_expected_at` (so a job
    /// down for a month is not a month of records written at once). Counts sum this.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub slots: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_expected_at: Option<Timestamp>,
}

fn one() -> u32 {
    1
}

fn is_one(n: &u32) -> bool {
    *n == 1
}

impl Run {
    /// A record with only its identity and outcome; callers fill in what they know.
    pub fn new(seq: u64, run_id: String, outcome: RunOutcome) -> Run {
        Run {
            seq,
            run_id,
            outcome,
            expected_at: None,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            exit_code: None,
            timed_out: false,
            output: None,
            source: None,
            slots: 1,
            last_expected_at: None,
        }
    }

    /// Whether the record counts as a failed run: failed, too short or timed out (also when
    /// a timed-out run finished later; it still counts once, under its sequence number).
    pub fn is_failure(&self) -> bool {
        self.timed_out
            || matches!(
                self.outcome,
                RunOutcome::Failed | RunOutcome::TooShort | RunOutcome::TimedOut
            )
    }

    /// When the record turned bad, if it is bad: a missed slot when its grace ran out, a
    /// timed-out run at its limit, a failed or too short one when it finished. An outage
    /// counts the records that turned bad between its start and its end.
    pub fn turned_bad_at(
        &self,
        grace: crate::Duration,
        max_runtime: crate::Duration,
    ) -> Option<Timestamp> {
        let add = |t: Timestamp, d: crate::Duration| t.checked_add(d.to_signed()).ok();
        match self.outcome {
            RunOutcome::Missed => self
                .last_expected_at
                .or(self.expected_at)
                .and_then(|slot| add(slot, grace)),
            _ if self.timed_out || self.outcome == RunOutcome::TimedOut => {
                self.started_at.and_then(|s| add(s, max_runtime))
            }
            _ if self.is_failure() => self.finished_at,
            _ => None,
        }
    }

    /// The scheduled slots this record counts as missed (0 unless it is a missed record).
    pub fn missed_slots(&self) -> u32 {
        if self.outcome == RunOutcome::Missed {
            self.slots
        } else {
            0
        }
    }
}

/// The bad runs among run records: every count a person sees (an outage's, the status
/// table's, the daily report's) is this, over the records of its window.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BadRuns {
    /// Scheduled slots with no run (a record may stand for several, see [`Run::slots`]).
    pub missed: u32,
    /// Failed, too short and timed-out runs.
    pub failed: u32,
}

impl BadRuns {
    /// Counts `runs`, each sequence number once (a timed-out run that finishes later has two
    /// records under one number).
    pub fn count<'a>(runs: impl IntoIterator<Item = &'a Run>) -> BadRuns {
        let mut seen = std::collections::HashSet::new();
        let mut counts = BadRuns::default();
        for run in runs {
            if !seen.insert(run.seq) {
                continue;
            }
            counts.missed = counts.missed.saturating_add(run.missed_slots());
            counts.failed += u32::from(run.is_failure());
        }
        counts
    }

    pub fn total(&self) -> u32 {
        self.missed.saturating_add(self.failed)
    }
}
