//! The daily report: one summary per environment of how its jobs did over the last report
//! day, built from the jobs' state alone (their daily tallies, see [`crate::tally`]), sent as
//! an alert event of kind `report`.

use jiff::Timestamp;

use crate::alert::{AlertEvent, AlertKind, JobSummary};
use crate::health::Status;
use crate::job::{JobSpec, Severity};
use crate::machine::JobState;
pub use crate::report_types::{DailyReport, JobLine, MAX_JOB_LINES};
use crate::tally::{self, ReportDay};

fn average(values: impl Iterator<Item = u64>) -> Option<u64> {
    let (sum, count) = values.fold((0u64, 0u64), |(s, c), v| (s.saturating_add(v), c + 1));
    (count > 0).then(|| sum / count)
}

/// Builds the report of the last report day that had ended by `now` (see
/// [`ReportDay::last_complete`]) from each job's definition and state.
pub fn daily_report(
    environment: &str,
    jobs: &[(JobSpec, JobState)],
    now: Timestamp,
    report_day: &ReportDay,
) -> AlertEvent {
    let day = report_day.last_complete(now);
    let (start, end) = report_day.bounds(day);
    let mut report = DailyReport {
        period_start: start,
        period_end: end,
        jobs_total: 0,
        jobs_down: 0,
        jobs_late: 0,
        jobs_running: 0,
        jobs_paused: 0,
        runs: 0,
        failures: 0,
        misses: 0,
        timeouts: 0,
        jobs: Vec::new(),
    };
    for (spec, state) in jobs {
        let status = state.status(now);
        report.jobs_total += 1;
        match status {
            Status::Down => report.jobs_down += 1,
            Status::Late => report.jobs_late += 1,
            Status::Running => report.jobs_running += 1,
            Status::Paused => report.jobs_paused += 1,
            Status::New | Status::Up => {}
        }
        let tally = tally::of_day(&state.days, day);
        let (runs, failures, misses) = tally.map_or((0, 0, 0), |t| (t.runs, t.failures, t.misses));
        report.runs += runs;
        report.failures += failures;
        report.misses += misses;
        report.timeouts += tally.map_or(0, |t| t.timeouts);
        report.jobs.push(JobLine {
            slug: spec.slug.to_string(),
            status,
            runs,
            failures,
            misses,
            on_demand: spec.schedule.is_on_demand(),
            last_success_at: state.last_success_at,
            avg_duration_ms: tally.and_then(|t| t.average_ms()),
            max_duration_ms: tally.filter(|t| t.timed > 0).map(|t| t.max_ms),
            usual_duration_ms: average(state.recent_durations.iter().copied()),
        });
    }
    report.jobs.sort_by(|a, b| {
        let rank = |l: &JobLine| {
            (
                l.status != Status::Down,
                std::cmp::Reverse(l.failures + l.misses),
                l.slug.clone(),
            )
        };
        rank(a).cmp(&rank(b))
    });
    report.jobs.truncate(MAX_JOB_LINES);
    let summary = JobSummary {
        slug: format!("{environment}-daily-report"),
        schedule: "daily".into(),
        description: String::new(),
        tags: Vec::new(),
        tz: None,
        group: None,
        flapping: Default::default(),
    };
    let mut event = AlertEvent::new_about(
        AlertKind::Report,
        summary,
        Severity::Warning,
        environment,
        now,
        now,
    );
    event.report = Some(report);
    event.with_id()
}
