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
    /// The ping a record stands for, as the run page and `jobwatch runs` name it.
    pub fn ping_name(&self) -> &'static str {
        match self.outcome {
            RunOutcome::Log => "log",
            RunOutcome::Running => "start",
            RunOutcome::Missed => "none (missed)",
            RunOutcome::Failed if self.exit_code.is_some() => "exit status",
            RunOutcome::Failed => "fail",
            _ => "success",
        }
    }

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

/// One ping of a run, as the run page and `jobwatch runs <job> <run-id>` list them.
#[derive(Debug, Clone, PartialEq)]
pub struct PingRow<'a> {
    /// `start`, `success`, `fail`, `exit status`, `log`, or `none` for a missed slot.
    pub name: &'static str,
    /// When it came (for a missed slot: when the run was expected).
    pub at: Option<Timestamp>,
    /// No ping came: the slot was missed.
    pub missed: bool,
    /// Where it came from: kept for a record's last ping only (`None` for the others).
    pub source: Option<&'a crate::alert::PingSource>,
}

impl Run {
    /// The pings this record stands for: a missed slot's none; a finished run's start (when
    /// it was pinged; its source is not kept) and its last ping; otherwise its one ping.
    pub fn pings(&self) -> Vec<PingRow<'_>> {
        if self.outcome == RunOutcome::Missed {
            return vec![PingRow {
                name: "none",
                at: self.expected_at,
                missed: true,
                source: None,
            }];
        }
        let finished = !matches!(self.outcome, RunOutcome::Running | RunOutcome::Log);
        let mut rows = Vec::with_capacity(2);
        if finished && self.started_at.is_some() && self.started_at != self.finished_at {
            rows.push(PingRow {
                name: "start",
                at: self.started_at,
                missed: false,
                source: None,
            });
        }
        rows.push(PingRow {
            name: self.ping_name(),
            at: self.finished_at.or(self.started_at),
            missed: false,
            source: Some(self.source.as_ref().unwrap_or(&NO_SOURCE)),
        });
        rows
    }
}

/// The source of a ping that came with none recorded.
static NO_SOURCE: crate::alert::PingSource = crate::alert::PingSource {
    ip: None,
    user_agent: None,
    host: None,
};

/// Everything recorded of one run: a run id may have several records (its start or end, the
/// `/log` lines it sent), and the one that says how it went. What the run page, the admin
/// API's run endpoint and `jobwatch runs <job> <run-id>` show.
#[derive(Debug, Clone, PartialEq)]
pub struct RunRecords<'a> {
    /// The newest record that is not a `/log` line (a run that only logged: its last line).
    pub main: &'a Run,
    /// Every record with the run id, oldest first.
    pub records: Vec<&'a Run>,
}

impl<'a> RunRecords<'a> {
    /// The records of `run_id` among `runs` (in any order); `None` when there are none.
    pub fn find(runs: &'a [Run], run_id: &str) -> Option<RunRecords<'a>> {
        Self::of(runs.iter().filter(|r| r.run_id == run_id).collect())
    }

    /// Every run among `runs` (newest first, as history is read), in the order of each run's
    /// first record there.
    pub fn group(runs: &'a [Run]) -> Vec<RunRecords<'a>> {
        let mut order: Vec<&str> = Vec::new();
        let mut by_id: std::collections::HashMap<&str, Vec<&Run>> = Default::default();
        for run in runs {
            let records = by_id.entry(run.run_id.as_str()).or_default();
            if records.is_empty() {
                order.push(&run.run_id);
            }
            records.push(run);
        }
        order
            .into_iter()
            .filter_map(|id| Self::of(by_id.remove(id).unwrap_or_default()))
            .collect()
    }

    fn of(mut records: Vec<&'a Run>) -> Option<RunRecords<'a>> {
        records.sort_by_key(|r| r.seq);
        let main = records
            .iter()
            .rev()
            .find(|r| r.outcome != RunOutcome::Log)
            .or(records.last())
            .copied()?;
        Some(RunRecords { main, records })
    }
}

#[cfg(test)]
mod records_tests {
    use super::*;

    #[test]
    fn a_runs_records_are_found_oldest_first_with_the_outcome_as_main() {
        let record = |seq, id: &str, outcome| Run::new(seq, id.to_string(), outcome);
        let runs = [
            record(5, "a", RunOutcome::Log),
            record(4, "a", RunOutcome::Success),
            record(3, "b", RunOutcome::Failed),
            record(2, "a", RunOutcome::Log),
        ];
        let found = RunRecords::find(&runs, "a").expect("found");
        let seqs: Vec<u64> = found.records.iter().map(|r| r.seq).collect();
        assert_eq!(seqs, [2, 4, 5]);
        assert_eq!(found.main.seq, 4, "the success, not the later log line");
        let only_logs = [
            record(7, "c", RunOutcome::Log),
            record(6, "c", RunOutcome::Log),
        ];
        assert_eq!(
            RunRecords::find(&only_logs, "c").map(|f| f.main.seq),
            Some(7)
        );
        assert_eq!(RunRecords::find(&runs, "z"), None);
        let grouped: Vec<(&str, u64)> = RunRecords::group(&runs)
            .iter()
            .map(|g| (g.main.run_id.as_str(), g.main.seq))
            .collect();
        assert_eq!(
            grouped,
            [("a", 4), ("b", 3)],
            "in the order of first records"
        );
    }
}
