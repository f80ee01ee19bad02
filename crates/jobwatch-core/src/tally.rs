//! Per-job daily aggregates, kept in the job's state as its runs finish, so the daily report
//! is built from the jobs alone and reads no run history (at 1,000 jobs with 90 days of
//! runs, reading the history took most of a minute).
//!
//! A "report day" runs from the report's time of day to the same time the next day, in the
//! report's time zone: the report sent at that time covers exactly the day that just ended.

use jiff::civil::{Date, Time};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use serde::{Deserialize, Serialize};

use crate::run::{Run, RunOutcome};

/// Days of aggregates a job keeps: the day in progress and the one before, which the report
/// reads.
const DAYS_KEPT: usize = 2;

/// When report days begin: a time of day in a time zone.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportDay {
    pub time: Time,
    pub zone: TimeZone,
}

impl Default for ReportDay {
    /// Midnight UTC.
    fn default() -> Self {
        ReportDay {
            time: Time::midnight(),
            zone: TimeZone::UTC,
        }
    }
}

impl ReportDay {
    pub fn new(time: Time, zone: TimeZone) -> ReportDay {
        ReportDay { time, zone }
    }

    /// The report day `at` falls in, named by the date it starts on.
    pub fn day_of(&self, at: Timestamp) -> Date {
        let local = at.to_zoned(self.zone.clone());
        let date = local.date();
        if local.time() < self.time {
            date.yesterday().unwrap_or(date)
        } else {
            date
        }
    }

    /// The last report day that had ended by `at`.
    pub fn last_complete(&self, at: Timestamp) -> Date {
        let today = self.day_of(at);
        today.yesterday().unwrap_or(today)
    }

    /// Where a report day starts and ends. A start in a DST gap moves forward, as clocks do.
    pub fn bounds(&self, day: Date) -> (Timestamp, Timestamp) {
        let at = |date: Date| {
            date.to_datetime(self.time)
                .to_zoned(self.zone.clone())
                .map(|z| z.timestamp())
                .unwrap_or(Timestamp::MAX)
        };
        let next = day.checked_add(1.day()).unwrap_or(day);
        (at(day), at(next))
    }
}

/// One report day of a job's runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayTally {
    #[serde(rename = "d")]
    pub day: Date,
    /// Runs that finished (succeeded, failed, timed out or were too short).
    #[serde(rename = "r", default, skip_serializing_if = "is_zero")]
    pub runs: u32,
    /// Of those, the failed, timed-out and too-short ones.
    #[serde(rename = "f", default, skip_serializing_if = "is_zero")]
    pub failures: u32,
    #[serde(rename = "m", default, skip_serializing_if = "is_zero")]
    pub misses: u32,
    #[serde(rename = "t", default, skip_serializing_if = "is_zero")]
    pub timeouts: u32,
    /// Runs with a duration, and the sum and maximum of their durations (ms).
    #[serde(rename = "n", default, skip_serializing_if = "is_zero")]
    pub timed: u32,
    #[serde(rename = "s", default, skip_serializing_if = "is_zero_u64")]
    pub total_ms: u64,
    #[serde(rename = "x", default, skip_serializing_if = "is_zero_u64")]
    pub max_ms: u64,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

impl DayTally {
    fn new(day: Date) -> DayTally {
        DayTally {
            day,
            runs: 0,
            failures: 0,
            misses: 0,
            timeouts: 0,
            timed: 0,
            total_ms: 0,
            max_ms: 0,
        }
    }

    pub fn average_ms(&self) -> Option<u64> {
        (self.timed > 0).then(|| self.total_ms / u64::from(self.timed))
    }

    fn add(&mut self, run: &Run) {
        use RunOutcome::*;
        match run.outcome {
            Running | Log => return,
            Missed => self.misses = self.misses.saturating_add(run.slots),
            // A run that finishes after it was counted as timed out is not counted again.
            Success | Failed | TooShort if run.timed_out => return,
            Success => self.runs += 1,
            Failed | TooShort => {
                self.runs += 1;
                self.failures += 1;
            }
            TimedOut => {
                self.runs += 1;
                self.failures += 1;
                self.timeouts += 1;
            }
        }
        if let Some(ms) = run.duration_ms {
            self.timed += 1;
            self.total_ms = self.total_ms.saturating_add(ms);
            self.max_ms = self.max_ms.max(ms);
        }
    }
}

/// When a run record counts: when it finished, or for a miss, when it was expected.
fn counted_at(run: &Run) -> Option<Timestamp> {
    run.finished_at.or(run.expected_at).or(run.started_at)
}

/// Adds the finished runs among `runs` to the job's tallies (`days`, oldest first), keeping
/// the latest [`DAYS_KEPT`] days.
pub fn record(days: &mut Vec<DayTally>, runs: &[Run], report_day: &ReportDay) {
    for run in runs {
        if matches!(run.outcome, RunOutcome::Running | RunOutcome::Log) {
            continue;
        }
        let Some(at) = counted_at(run) else { continue };
        let day = report_day.day_of(at);
        let index = match days.iter().position(|t| t.day == day) {
            Some(index) => index,
            None => {
                // A day older than every kept one is too late to report; drop it.
                if days.len() >= DAYS_KEPT && days.iter().all(|t| t.day > day) {
                    continue;
                }
                days.push(DayTally::new(day));
                days.sort_by_key(|t| t.day);
                if days.len() > DAYS_KEPT {
                    days.remove(0);
                }
                match days.iter().position(|t| t.day == day) {
                    Some(index) => index,
                    None => continue,
                }
            }
        };
        days[index].add(run);
    }
}

/// The tally of `day`, if the job kept one.
pub fn of_day(days: &[DayTally], day: Date) -> Option<&DayTally> {
    days.iter().find(|t| t.day == day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    fn finished(seq: u64, outcome: RunOutcome, at: &str, ms: Option<u64>) -> Run {
        Run {
            finished_at: Some(t(at)),
            duration_ms: ms,
            ..Run::new(seq, format!("r{seq}"), outcome)
        }
    }

    #[test]
    fn a_report_day_starts_at_the_report_time_in_its_zone() {
        let day = ReportDay::new(
            Time::constant(9, 0, 0, 0),
            TimeZone::get("Europe/Berlin").expect("zone"),
        );
        // 07:59 UTC is 08:59 in Berlin in winter: still the day that began yesterday.
        assert_eq!(
            day.day_of(t("2026-12-02T07:59:00Z")).to_string(),
            "2026-12-01"
        );
        assert_eq!(
            day.day_of(t("2026-12-02T08:00:00Z")).to_string(),
            "2026-12-02"
        );
        let (start, end) = day.bounds(day.last_complete(t("2026-12-02T08:00:00Z")));
        assert_eq!(
            (start, end),
            (t("2026-12-01T08:00:00Z"), t("2026-12-02T08:00:00Z"))
        );
    }

    #[test]
    fn the_day_of_a_clock_change_is_23_hours_long() {
        let day = ReportDay::new(
            Time::midnight(),
            TimeZone::get("America/New_York").expect("zone"),
        );
        let date: Date = "2026-03-08".parse().expect("date");
        let (start, end) = day.bounds(date);
        assert_eq!(end.duration_since(start).as_hours(), 23);
    }

    #[test]
    fn finished_runs_are_counted_once_by_the_day_they_finished() {
        let report_day = ReportDay::default();
        let mut days = Vec::new();
        let mut late = finished(3, RunOutcome::Success, "2026-12-01T10:00:00Z", Some(9_000));
        late.timed_out = true;
        record(
            &mut days,
            &[
                finished(1, RunOutcome::Success, "2026-12-01T01:00:00Z", Some(1_000)),
                finished(2, RunOutcome::Failed, "2026-12-01T02:00:00Z", Some(3_000)),
                Run::new(4, "r4".into(), RunOutcome::Running),
                finished(3, RunOutcome::TimedOut, "2026-12-01T09:00:00Z", None),
                late,
                Run {
                    expected_at: Some(t("2026-12-01T11:00:00Z")),
                    ..Run::new(5, "r5".into(), RunOutcome::Missed)
                },
            ],
            &report_day,
        );
        let day = of_day(&days, "2026-12-01".parse().expect("date")).expect("tally");
        assert_eq!(
            (day.runs, day.failures, day.misses, day.timeouts),
            (3, 2, 1, 1)
        );
        assert_eq!((day.average_ms(), day.max_ms), (Some(2_000), 3_000));
    }

    #[test]
    fn two_days_are_kept_and_a_late_record_of_a_forgotten_day_is_dropped() {
        let report_day = ReportDay::default();
        let mut days = Vec::new();
        for (seq, at) in [
            "2026-12-01T10:00:00Z",
            "2026-12-02T10:00:00Z",
            "2026-12-03T10:00:00Z",
            "2026-11-30T10:00:00Z",
        ]
        .into_iter()
        .enumerate()
        {
            record(
                &mut days,
                &[finished(seq as u64, RunOutcome::Success, at, None)],
                &report_day,
            );
        }
        let kept: Vec<String> = days.iter().map(|t| t.day.to_string()).collect();
        assert_eq!(kept, ["2026-12-02", "2026-12-03"]);
        let text = serde_json::to_string(&days[0]).expect("json");
        assert_eq!(
            text, r#"{"d":"2026-12-02","r":1}"#,
            "compact in the stored state"
        );
    }
}
