//! A job's past as the web view shows it: the outages found in its run history (by the
//! job's own thresholds, as the alerts count them) and its uptime over a window. Pure
//! functions of the records, so a page and a test agree on every number.

use jiff::Timestamp;

use crate::job::JobSpec;
use crate::run::{Run, RunOutcome};

/// One period the job was down.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outage {
    /// The first bad run of the streak that took the job down.
    pub since: Timestamp,
    /// The good run that brought it back; `None` while it lasts.
    pub until: Option<Timestamp>,
    pub runs_missed: u32,
    pub runs_failed: u32,
    /// What the last bad run was, in words (`failed with exit status 2`, `missed`, ...).
    pub last_problem: String,
}

impl Outage {
    /// How long it lasted (or has lasted by `now`), in milliseconds.
    pub fn duration_ms(&self, now: Timestamp) -> u64 {
        let end = self.until.unwrap_or(now);
        u64::try_from(end.as_millisecond() - self.since.as_millisecond()).unwrap_or(0)
    }
}

/// What a bad record was, in words.
pub fn problem(run: &Run) -> String {
    match run.outcome {
        RunOutcome::Missed if run.slots > 1 => format!("missed {} runs", run.slots),
        RunOutcome::Missed => "missed".into(),
        _ if run.timed_out || run.outcome == RunOutcome::TimedOut => "timed out".into(),
        RunOutcome::TooShort => "finished too quickly".into(),
        RunOutcome::Failed => match run.exit_code {
            Some(code) => format!("failed with exit status {code}"),
            None => "failed".into(),
        },
        other => other.as_str().into(),
    }
}

/// The outages in `runs` (any order), oldest first: a streak of `failure_threshold` bad
/// runs takes the job down from the streak's first bad run, and `recovery_threshold` good
/// runs in a row bring it back at the last of them, as the state machine counts them.
pub fn outages(spec: &JobSpec, runs: &[Run]) -> Vec<Outage> {
    let mut ordered: Vec<&Run> = runs
        .iter()
        .filter(|r| !matches!(r.outcome, RunOutcome::Log | RunOutcome::Running))
        .collect();
    ordered.sort_by_key(|r| r.seq);
    let mut found = Vec::new();
    let mut streak: Option<Outage> = None;
    let mut bad_in_a_row = 0u32;
    let mut good_in_a_row = 0u32;
    let mut down = false;
    for run in ordered {
        let bad_at = run.turned_bad_at(spec.grace, spec.max_runtime);
        match bad_at {
            Some(at) => {
                good_in_a_row = 0;
                bad_in_a_row += run.missed_slots().max(1);
                let current = streak.get_or_insert_with(|| Outage {
                    since: at,
                    until: None,
                    runs_missed: 0,
                    runs_failed: 0,
                    last_problem: String::new(),
                });
                if run.outcome == RunOutcome::Missed {
                    current.runs_missed += run.slots;
                } else {
                    current.runs_failed += 1;
                }
                current.last_problem = problem(run);
                down |= bad_in_a_row >= spec.failure_threshold.max(1);
            }
            None if run.outcome == RunOutcome::Success => {
                bad_in_a_row = 0;
                good_in_a_row += 1;
                if !down {
                    streak = None;
                } else if good_in_a_row >= spec.recovery_threshold.max(1) {
                    if let Some(mut outage) = streak.take() {
                        outage.until = run.finished_at.or(run.started_at);
                        found.push(outage);
                    }
                    down = false;
                }
            }
            None => {}
        }
    }
    if down && let Some(outage) = streak {
        found.push(outage);
    }
    found
}

/// The share of `[from, to)` the job was up, given its outages; `None` for an empty window.
pub fn uptime(outages: &[Outage], from: Timestamp, to: Timestamp) -> Option<f64> {
    let window = to.as_millisecond() - from.as_millisecond();
    if window <= 0 {
        return None;
    }
    let down: i64 = outages
        .iter()
        .map(|o| {
            let start = o.since.max(from).as_millisecond();
            let end = o.until.unwrap_or(to).min(to).as_millisecond();
            (end - start).max(0)
        })
        .sum();
    Some(1.0 - down.min(window) as f64 / window as f64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{JobDoc, Slug};

    fn spec(threshold: u32) -> JobSpec {
        let mut doc: JobDoc = serde_json::from_str(r#"{"schedule": "0 * * * *"}"#).expect("doc");
        doc.failure_threshold = Some(threshold);
        doc.into_spec(Slug::parse("hourly").expect("slug"))
            .expect("spec")
    }

    fn at(minute: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + minute * 60).expect("time")
    }

    fn finished(seq: u64, outcome: RunOutcome, minute: i64) -> Run {
        let mut run = Run::new(seq, format!("r{seq}"), outcome);
        run.started_at = Some(at(minute - 1));
        run.finished_at = Some(at(minute));
        run.duration_ms = Some(60_000);
        run
    }

    #[test]
    fn a_streak_below_the_threshold_is_no_outage() {
        let runs = [
            finished(1, RunOutcome::Success, 0),
            finished(2, RunOutcome::Failed, 60),
            finished(3, RunOutcome::Success, 120),
        ];
        assert!(outages(&spec(2), &runs).is_empty());
    }

    #[test]
    fn an_outage_runs_from_its_first_bad_run_to_the_run_that_recovers() {
        let mut missed = Run::new(3, "r3".into(), RunOutcome::Missed);
        missed.expected_at = Some(at(120));
        let runs = [
            finished(4, RunOutcome::Success, 240),
            missed,
            finished(2, RunOutcome::Failed, 60),
            finished(1, RunOutcome::Success, 0),
        ];
        let found = outages(&spec(2), &runs);
        assert_eq!(found.len(), 1);
        let outage = &found[0];
        assert_eq!((outage.since, outage.until), (at(60), Some(at(240))));
        assert_eq!((outage.runs_failed, outage.runs_missed), (1, 1));
        assert_eq!(outage.last_problem, "missed");
        let up = uptime(&found, at(0), at(300)).expect("window");
        assert!((up - 0.4).abs() < 1e-9, "{up}");
    }

    #[test]
    fn an_outage_still_going_counts_until_the_end_of_the_window() {
        let runs = [finished(1, RunOutcome::Failed, 60)];
        let found = outages(&spec(1), &runs);
        assert_eq!(found[0].until, None);
        assert_eq!(found[0].last_problem, "failed");
        let up = uptime(&found, at(0), at(120)).expect("window");
        assert!((up - 0.5).abs() < 1e-9, "{up}");
        assert_eq!(found[0].duration_ms(at(61)), 60_000);
    }
}
