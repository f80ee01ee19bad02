//! The daily report: one summary per environment of how its jobs did over the last 24 hours,
//! built from the jobs' state and run history, sent as an alert event of kind `report`.

use jiff::{SignedDuration, Timestamp};

use crate::alert::{AlertEvent, AlertKind, JobSummary};
use crate::health::Status;
use crate::job::{JobSpec, Severity};
use crate::machine::JobState;
pub use crate::report_types::{DailyReport, JobLine, MAX_JOB_LINES};
use crate::run::{Run, RunOutcome};

fn average(values: &[u64]) -> Option<u64> {
    (!values.is_empty()).then(|| values.iter().sum::<u64>() / values.len() as u64)
}

/// Builds the report of the 24 hours before `now` from each job's definition, state and
/// recent runs (newest first, as stores list them).
pub fn daily_report(
    environment: &str,
    jobs: &[(JobSpec, JobState, Vec<Run>)],
    now: Timestamp,
) -> AlertEvent {
    let start = now - SignedDuration::from_hours(24);
    let in_period = |run: &Run| {
        let at = run.finished_at.or(run.started_at).or(run.expected_at);
        at.is_some_and(|at| at > start && at <= now)
    };
    let mut report = DailyReport {
        period_start: start,
        period_end: now,
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
    for (spec, state, runs) in jobs {
        let status = state.status(now);
        report.jobs_total += 1;
        match status {
            Status::Down => report.jobs_down += 1,
            Status::Late => report.jobs_late += 1,
            Status::Running => report.jobs_running += 1,
            Status::Paused => report.jobs_paused += 1,
            Status::New | Status::Up => {}
        }
        let period: Vec<&Run> = runs.iter().filter(|r| in_period(r)).collect();
        let count = |outcomes: &[RunOutcome]| {
            period
                .iter()
                .filter(|r| outcomes.contains(&r.outcome))
                .count() as u32
        };
        let finished = [
            RunOutcome::Success,
            RunOutcome::Failed,
            RunOutcome::TooShort,
            RunOutcome::TimedOut,
        ];
        let line_runs = count(&finished);
        let failures = count(&[
            RunOutcome::Failed,
            RunOutcome::TooShort,
            RunOutcome::TimedOut,
        ]);
        let misses = count(&[RunOutcome::Missed]);
        report.runs += line_runs;
        report.failures += failures;
        report.misses += misses;
        report.timeouts += count(&[RunOutcome::TimedOut]);
        let durations: Vec<u64> = period.iter().filter_map(|r| r.duration_ms).collect();
        let before: Vec<u64> = runs
            .iter()
            .filter(|r| !in_period(r))
            .filter_map(|r| r.duration_ms)
            .collect();
        report.jobs.push(JobLine {
            slug: spec.slug.to_string(),
            status,
            runs: line_runs,
            failures,
            misses,
            last_success_at: state.last_success_at,
            avg_duration_ms: average(&durations),
            max_duration_ms: durations.iter().copied().max(),
            usual_duration_ms: average(&before),
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
