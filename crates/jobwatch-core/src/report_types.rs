//! The daily report's data: what the summary of an environment says, as it travels inside an
//! alert event of kind `report`. Only the data; [`crate::report`] builds it.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::health::Status;

/// At most this many jobs are listed one by one (the worst first); the totals cover all.
pub const MAX_JOB_LINES: usize = 40;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DailyReport {
    pub period_start: Timestamp,
    pub period_end: Timestamp,
    pub jobs_total: u32,
    pub jobs_down: u32,
    pub jobs_late: u32,
    pub jobs_running: u32,
    pub jobs_paused: u32,
    pub runs: u32,
    pub failures: u32,
    pub misses: u32,
    pub timeouts: u32,
    /// The jobs worth a look first (down, then most failures), at most [`MAX_JOB_LINES`].
    pub jobs: Vec<JobLine>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobLine {
    pub slug: String,
    pub status: Status,
    pub runs: u32,
    pub failures: u32,
    pub misses: u32,
    /// The job has no schedule: it cannot miss a run, so the report says "on demand"
    /// instead of a missed count.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub on_demand: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success_at: Option<Timestamp>,
    /// Durations of the period's finished runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg_duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_duration_ms: Option<u64>,
    /// The average duration of the runs before the period, to compare with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usual_duration_ms: Option<u64>,
}
