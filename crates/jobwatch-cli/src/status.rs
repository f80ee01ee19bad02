//! `jobwatch status`: one line per job (state, last run, its duration, next expected run,
//! failures in the last 24 hours), coloured on a terminal, plain when piped, JSON for scripts.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Result, bail};
use clap::Args;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use jobwatch_core::{BadRuns, Run, RunOutcome};
use serde_json::{Value, json};

use crate::client::{AdminClient, AdminOpts, JobView, block_on};

/// Runs fetched per job at first; more only for jobs that run more often than this in 24 h.
const FIRST_RUNS: usize = 50;
/// The admin API's largest page of run history.
const MAX_RUNS: usize = 1_000;
/// Run histories fetched at once.
const PARALLEL: usize = 8;
const DAY_MS: i64 = 24 * 3_600_000;

#[derive(Args)]
#[command(
    about = "Show how the jobs are doing: state, last run, next expected run, recent failures",
    after_help = "Columns: JOB, STATE (new: never pinged, up, running, late, down, paused; a down job
waiting for several good runs says how many it has: `down, 1 of 2 good runs`), LAST RUN
(how long ago and its outcome), DURATION (of the last run), NEXT EXPECTED (in the job's time
zone for cron schedules, UTC for intervals; a run past its slot shows when it was due and
when it is checked), FAILS 24H (failed and too short runs, timed-out runs and missed slots in
the last 24 hours, counted as the alerts count them). States are coloured on a terminal
unless NO_COLOR is set.

Examples:
  jobwatch status
  jobwatch status nightly-backup reports
  jobwatch status --json | jq '.[] | select(.state == \"down\") | .job'"
)]
pub struct StatusArgs {
    #[command(flatten)]
    admin: AdminOpts,
    /// Only these jobs (default: all).
    jobs: Vec<String>,
    /// Print a JSON array, one object per job.
    #[arg(long)]
    json: bool,
    /// Relative times are computed from this instant instead of now (for tests).
    #[arg(long, hide = true)]
    now: Option<Timestamp>,
}

pub fn run(args: StatusArgs) -> ExitCode {
    match block_on(status(args)).and_then(|r| r) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobwatch status: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The last run with an outcome (`/log` messages are not runs).
#[derive(Debug, Clone, PartialEq)]
pub struct LastRun {
    pub outcome: RunOutcome,
    pub exit_code: Option<u8>,
    pub at: Option<Timestamp>,
    pub duration_ms: Option<u64>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct JobStatus {
    pub job: String,
    pub state: String,
    pub schedule: String,
    /// The zone next expected runs are shown in: the job's for cron schedules, else UTC.
    pub zone: String,
    pub last_run: Option<LastRun>,
    pub next_expected_at: Option<Timestamp>,
    /// When the server next checks the job: for a late or down job, when its slot is missed.
    pub next_check_at: Option<Timestamp>,
    /// Of a down job: good runs in a row so far, and how many bring it back.
    pub recovery: Option<(u32, u32)>,
    pub paused_until: Option<Timestamp>,
    pub fails_24h: usize,
    /// False when the job ran more often than the history page holds: `fails_24h` is then a
    /// lower bound.
    pub fails_24h_exact: bool,
}

async fn status(args: StatusArgs) -> Result<()> {
    let client = Arc::new(AdminClient::new(&args.admin)?);
    let mut jobs = client.list_jobs().await?;
    if !args.jobs.is_empty() {
        let unknown: Vec<&String> = args
            .jobs
            .iter()
            .filter(|name| !jobs.iter().any(|j| &j.slug == *name))
            .collect();
        if let Some(first) = unknown.first() {
            bail!(
                "job '{first}' not found: `jobwatch jobs list` shows the jobs there are; declare it in your jobs file and run `jobwatch jobs apply`"
            );
        }
        jobs.retain(|j| args.jobs.contains(&j.slug));
    }
    jobs.sort_by(|a, b| a.slug.cmp(&b.slug));
    let now = args.now.unwrap_or_else(Timestamp::now);

    // Histories are independent: fetch a few at once, keeping the list order.
    let limit = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, job) in jobs.iter().enumerate() {
        let client = Arc::clone(&client);
        let limit = Arc::clone(&limit);
        let slug = job.slug.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire().await;
            (index, recent_runs(&client, &slug, now).await)
        });
    }
    let mut histories: Vec<Option<(Vec<Run>, bool)>> = vec![None; jobs.len()];
    while let Some(done) = tasks.join_next().await {
        let (index, runs) = done?;
        if let Some(slot) = histories.get_mut(index) {
            *slot = Some(runs?);
        }
    }
    let statuses: Vec<JobStatus> = jobs
        .iter()
        .zip(histories)
        .map(|(job, history)| {
            let (runs, complete) = history.unwrap_or_default();
            summarise(job, &runs, complete, now)
        })
        .collect();

    if args.json {
        let all: Vec<Value> = statuses.iter().map(to_json).collect();
        println!("{}", serde_json::to_string_pretty(&Value::Array(all))?);
    } else if statuses.is_empty() {
        println!(
            "No jobs yet: declare them in a jobs file and run `jobwatch jobs apply -f jobs.toml`."
        );
    } else {
        print!("{}", render(&statuses, now, use_colour()));
    }
    Ok(())
}

/// The runs of the last 24 hours (and maybe a few older), newest first, and whether that
/// is all of them.
async fn recent_runs(client: &AdminClient, slug: &str, now: Timestamp) -> Result<(Vec<Run>, bool)> {
    let runs = client.runs(slug, FIRST_RUNS).await?;
    if runs.len() < FIRST_RUNS || !reaches_into_last_day(&runs, now) {
        return Ok((runs, true));
    }
    let runs = client.runs(slug, MAX_RUNS).await?;
    let complete = runs.len() < MAX_RUNS || !reaches_into_last_day(&runs, now);
    Ok((runs, complete))
}

/// Whether the oldest run listed is still within the last 24 hours (so older ones may be too).
fn reaches_into_last_day(runs: &[Run], now: Timestamp) -> bool {
    runs.last()
        .and_then(run_time)
        .is_some_and(|t| within_day(t, now))
}

fn run_time(run: &Run) -> Option<Timestamp> {
    run.finished_at.or(run.started_at).or(run.expected_at)
}

fn within_day(t: Timestamp, now: Timestamp) -> bool {
    now.as_millisecond() - t.as_millisecond() <= DAY_MS
}

pub fn summarise(job: &JobView, runs: &[Run], complete: bool, now: Timestamp) -> JobStatus {
    let last_run = runs.iter().find(|r| r.outcome != RunOutcome::Log).map(|r| {
        let duration_ms = match (r.outcome, r.duration_ms, r.started_at) {
            (_, Some(ms), _) => Some(ms),
            // A run still going: how long so far.
            (RunOutcome::Running, None, Some(started)) => u64::try_from(
                now.as_millisecond()
                    .saturating_sub(started.as_millisecond()),
            )
            .ok(),
            _ => None,
        };
        LastRun {
            outcome: r.outcome,
            exit_code: r.exit_code,
            at: if r.outcome == RunOutcome::Running {
                r.started_at
            } else {
                run_time(r)
            },
            duration_ms,
        }
    });
    // Counted as the engine counts an outage: missed slots plus failed runs.
    let fails_24h = BadRuns::count(
        runs.iter()
            .filter(|r| run_time(r).is_some_and(|t| within_day(t, now))),
    )
    .total() as usize;
    JobStatus {
        job: job.slug.clone(),
        state: job.status.clone(),
        schedule: job.schedule_text(),
        zone: job.zone_name().to_string(),
        last_run,
        next_expected_at: job.next_expected_at,
        next_check_at: job.next_deadline,
        recovery: (job.status == "down" && job.recovery_threshold > 1)
            .then_some((job.good_runs_in_a_row, job.recovery_threshold)),
        paused_until: job.paused_until,
        fails_24h,
        fails_24h_exact: complete,
    }
}

/// `3m ago`, `2h ago`, `in 5m`, rounded down to the largest unit.
pub fn relative(at: Timestamp, now: Timestamp) -> String {
    let ms = now.as_millisecond() - at.as_millisecond();
    let (future, secs) = (ms < 0, ms.unsigned_abs() / 1000);
    let amount = match secs {
        0..60 => format!("{secs}s"),
        60..3_600 => format!("{}m", secs / 60),
        3_600..172_800 => format!("{}h", secs / 3_600),
        _ => format!("{}d", secs / 86_400),
    };
    if future {
        format!("in {amount}")
    } else {
        format!("{amount} ago")
    }
}

/// `850ms`, `12.3s`, `3m05s`, `2h10m`, `1d4h`.
pub fn human_duration(ms: u64) -> String {
    let secs = ms / 1000;
    match ms {
        0..1_000 => format!("{ms}ms"),
        1_000..60_000 => format!("{}.{}s", secs, (ms % 1000) / 100),
        60_000..3_600_000 => format!("{}m{:02}s", secs / 60, secs % 60),
        3_600_000..86_400_000 => format!("{}h{:02}m", secs / 3_600, (secs % 3_600) / 60),
        _ => format!("{}d{}h", secs / 86_400, (secs % 86_400) / 3_600),
    }
}

fn outcome_text(run: &LastRun) -> String {
    match (run.outcome, run.exit_code) {
        (RunOutcome::Failed, Some(code)) if code != 0 => format!("failed (exit {code})"),
        (outcome, _) => outcome.as_str().replace('_', " "),
    }
}

/// `2026-11-23 03:00 CET` in the job's zone (UTC for intervals).
fn local_time(at: Timestamp, zone: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    at.to_zoned(tz).strftime("%Y-%m-%d %H:%M %Z").to_string()
}

/// `03:58 CET`: the time of day only, for a moment close to another one shown in full.
fn short_time(at: Timestamp, zone: &str) -> String {
    let tz = TimeZone::get(zone).unwrap_or(TimeZone::UTC);
    at.to_zoned(tz).strftime("%H:%M %Z").to_string()
}

fn fails_text(status: &JobStatus) -> String {
    if status.fails_24h_exact {
        status.fails_24h.to_string()
    } else {
        format!("{}+", status.fails_24h)
    }
}

/// The row cells of one job, uncoloured.
fn cells(status: &JobStatus, now: Timestamp) -> Vec<String> {
    let (last, duration) = match &status.last_run {
        None => ("-".to_string(), "-".to_string()),
        Some(run) => {
            let when = run.at.map(|t| relative(t, now)).unwrap_or_default();
            let duration = match (run.duration_ms, run.outcome) {
                (Some(ms), RunOutcome::Running) => format!("{} so far", human_duration(ms)),
                (Some(ms), _) => human_duration(ms),
                (None, _) => "-".to_string(),
            };
            (
                format!("{when} {}", outcome_text(run)).trim().to_string(),
                duration,
            )
        }
    };
    let next = match (
        status.state.as_str(),
        status.paused_until,
        status.next_expected_at,
    ) {
        ("paused", Some(until), _) => format!("paused until {}", local_time(until, &status.zone)),
        ("paused", None, _) => "paused".to_string(),
        // Past its slot (late, or down and still expected): when it was due and when the
        // server looks again, never a time in the past as if it were still to come.
        (_, _, Some(next)) if next <= now => match status.next_check_at.filter(|c| *c > now) {
            Some(check) => format!(
                "due {}, checked {}",
                local_time(next, &status.zone),
                short_time(check, &status.zone)
            ),
            None => format!("due {}", local_time(next, &status.zone)),
        },
        (_, _, Some(next)) => local_time(next, &status.zone),
        (_, _, None) if status.schedule == jobwatch_core::job::ON_DEMAND => status.schedule.clone(),
        (_, _, None) => "-".to_string(),
    };
    let state = match status.recovery {
        Some((good, needed)) => format!("{}, {good} of {needed} good runs", status.state),
        None => status.state.clone(),
    };
    vec![
        status.job.clone(),
        state,
        last,
        duration,
        next,
        fails_text(status),
    ]
}

fn state_colour(state: &str) -> &'static str {
    // `down, 1 of 2 good runs` is coloured as down.
    match state.split(',').next().unwrap_or(state) {
        "up" => "\x1b[32m",
        "down" => "\x1b[1;31m",
        "late" => "\x1b[33m",
        "running" => "\x1b[34m",
        _ => "\x1b[90m", // new, paused: nothing to act on
    }
}

fn use_colour() -> bool {
    std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
}

/// Columns padded to their widest cell; `coloured` names the column whose text is a state to
/// colour (padding is computed on the plain text, so colours do not break alignment).
pub fn table(headers: &[&str], rows: &[Vec<String>], coloured: Option<usize>) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<(String, Option<&'static str>)>| {
        let last = cells.len().saturating_sub(1);
        let mut out = String::new();
        for (i, (cell, colour)) in cells.into_iter().enumerate() {
            let padded = if i == last {
                cell
            } else {
                let pad = widths[i].saturating_sub(cell.chars().count());
                format!("{cell}{}  ", " ".repeat(pad))
            };
            match colour {
                Some(code) => {
                    let (text, spaces) = padded.split_at(padded.trim_end().len());
                    out.push_str(&format!("{code}{text}\x1b[0m{spaces}"));
                }
                None => out.push_str(&padded),
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.iter().map(|h| (h.to_string(), None)).collect());
    for row in rows {
        out.push_str(&line(
            row.iter()
                .enumerate()
                .map(|(i, cell)| {
                    let colour = (Some(i) == coloured).then(|| state_colour(cell));
                    (cell.clone(), colour)
                })
                .collect(),
        ));
    }
    out
}

pub fn render(statuses: &[JobStatus], now: Timestamp, colour: bool) -> String {
    let rows: Vec<Vec<String>> = statuses.iter().map(|s| cells(s, now)).collect();
    table(
        &[
            "JOB",
            "STATE",
            "LAST RUN",
            "DURATION",
            "NEXT EXPECTED",
            "FAILS 24H",
        ],
        &rows,
        colour.then_some(1),
    )
}

fn to_json(status: &JobStatus) -> Value {
    let last_run = status.last_run.as_ref().map(|run| {
        json!({
            "outcome": run.outcome.as_str(),
            "exit_code": run.exit_code,
            "at": run.at,
            "duration_ms": run.duration_ms,
        })
    });
    json!({
        "job": status.job,
        "state": status.state,
        "schedule": status.schedule,
        "last_run": last_run,
        "next_expected_at": status.next_expected_at,
        "next_expected_local": status.next_expected_at.map(|t| local_time(t, &status.zone)),
        "next_check_at": status.next_check_at,
        "good_runs_in_a_row": status.recovery.map(|(good, _)| good),
        "recovery_threshold": status.recovery.map(|(_, needed)| needed),
        "zone": status.zone,
        "paused_until": status.paused_until,
        "fails_24h": status.fails_24h,
        "fails_24h_exact": status.fails_24h_exact,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn view(json: Value) -> JobView {
        let mut v: JobView = serde_json::from_value(json.clone()).unwrap();
        v.raw = json;
        v
    }

    fn run(seq: u64, outcome: RunOutcome, finished: &str, exit: Option<u8>) -> Run {
        let mut run = Run::new(seq, format!("r{seq}"), outcome);
        run.finished_at = Some(t(finished));
        run.started_at = Some(t(finished));
        run.duration_ms = Some(1_500);
        run.exit_code = exit;
        run
    }

    #[test]
    fn relative_times_and_durations_read_naturally() {
        let now = t("2026-03-01T12:00:00Z");
        assert_eq!(relative(t("2026-03-01T11:59:48Z"), now), "12s ago");
        assert_eq!(relative(t("2026-03-01T11:57:00Z"), now), "3m ago");
        assert_eq!(relative(t("2026-03-01T09:00:00Z"), now), "3h ago");
        assert_eq!(relative(t("2026-02-20T12:00:00Z"), now), "9d ago");
        assert_eq!(relative(t("2026-03-01T12:05:00Z"), now), "in 5m");
        assert_eq!(human_duration(850), "850ms");
        assert_eq!(human_duration(12_345), "12.3s");
        assert_eq!(human_duration(185_000), "3m05s");
        assert_eq!(human_duration(7_800_000), "2h10m");
        assert_eq!(human_duration(100_800_000), "1d4h");
    }

    #[test]
    fn failures_of_the_last_day_are_counted_and_logs_are_not_runs() {
        let now = t("2026-03-01T12:00:00Z");
        let job = view(json!({
            "slug": "backup", "status": "down", "schedule": "0 3 * * *", "tz": "Europe/Berlin",
            "next_expected_at": "2026-03-02T02:00:00Z"
        }));
        let runs = [
            run(5, RunOutcome::Log, "2026-03-01T11:00:00Z", None),
            run(4, RunOutcome::Failed, "2026-03-01T10:00:00Z", Some(3)),
            run(3, RunOutcome::Missed, "2026-03-01T02:00:00Z", None),
            run(2, RunOutcome::Success, "2026-02-28T20:00:00Z", Some(0)),
            run(1, RunOutcome::Failed, "2026-02-27T10:00:00Z", Some(1)),
        ];
        let status = summarise(&job, &runs, true, now);
        assert_eq!(status.fails_24h, 2);
        assert_eq!(status.zone, "Europe/Berlin");
        assert_eq!(
            cells(&status, now),
            [
                "backup",
                "down",
                "2h ago failed (exit 3)",
                "1.5s",
                "2026-03-02 03:00 CET",
                "2"
            ]
        );
    }

    #[test]
    fn a_job_past_its_slot_shows_when_it_was_due_and_when_it_is_checked() {
        let now = t("2026-12-02T03:59:00Z");
        let job = view(json!({"slug": "poller", "status": "late", "every": "1m",
                             "next_expected_at": "2026-12-02T03:58:30Z",
                             "next_deadline": "2026-12-02T03:59:30Z"}));
        let status = summarise(&job, &[], true, now);
        assert_eq!(
            cells(&status, now)[4],
            "due 2026-12-02 03:58 UTC, checked 03:59 UTC"
        );
    }

    #[test]
    fn a_down_job_waiting_for_good_runs_says_how_many_it_has() {
        let now = t("2026-12-02T03:59:00Z");
        let job = view(json!({"slug": "etl", "status": "down", "every": "1h",
                             "recovery_threshold": 2, "good_runs_in_a_row": 1,
                             "next_expected_at": "2026-12-02T04:58:00Z"}));
        let status = summarise(&job, &[], true, now);
        assert_eq!(cells(&status, now)[1], "down, 1 of 2 good runs");
        assert_eq!(state_colour(&cells(&status, now)[1]), state_colour("down"));
    }

    #[test]
    fn states_are_coloured_only_when_asked_and_columns_stay_aligned() {
        let now = t("2026-03-01T12:00:00Z");
        let statuses = [
            summarise(
                &view(json!({"slug": "a", "status": "up", "every": "1h",
                             "next_expected_at": "2026-03-01T13:00:00Z"})),
                &[run(1, RunOutcome::Success, "2026-03-01T11:59:00Z", Some(0))],
                true,
                now,
            ),
            summarise(
                &view(json!({"slug": "long-name", "status": "new", "every": "1h"})),
                &[],
                true,
                now,
            ),
        ];
        let plain = render(&statuses, now, false);
        assert_eq!(
            plain,
            "JOB        STATE  LAST RUN        DURATION  NEXT EXPECTED         FAILS 24H\n\
             a          up     1m ago success  1.5s      2026-03-01 13:00 UTC  0\n\
             long-name  new    -               -         -                     0\n"
        );
        let coloured = render(&statuses, now, true);
        assert!(
            coloured.contains("\x1b[32mup\x1b[0m     1m ago"),
            "{coloured:?}"
        );
        assert!(coloured.contains("\x1b[90mnew\x1b[0m    -"), "{coloured:?}");
        assert!(!plain.contains('\x1b'));
    }
}
