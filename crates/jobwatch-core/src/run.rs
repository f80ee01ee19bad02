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
        }
    }
}
