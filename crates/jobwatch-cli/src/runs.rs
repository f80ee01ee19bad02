//! `jobwatch runs`: a job's history in the terminal. `jobwatch runs <job>` lists its latest
//! runs (outcome, start in the job's zone, duration, exit status, host), one line a run;
//! `jobwatch runs <job> <run-id>` shows one run: its pings and its whole kept output.

use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use jobwatch_core::{Run, RunOutcome, RunRecords};
use serde_json::Value;

use crate::client::{AdminClient, AdminOpts, JobView, block_on};
use crate::status::{human_duration, table};

/// The admin API's largest page of run history.
const MAX_LIMIT: usize = 1_000;

#[derive(Args)]
#[command(
    about = "Show a job's latest runs, or one run with its pings and whole output",
    after_help = "Columns: RUN (the run id: the `rid` the job sent, or r<n>), OUTCOME, STARTED (in the
job's time zone for cron schedules, UTC otherwise; a missed run shows when it was expected),
DURATION, EXIT (exit status), HOST (the host of the run's last ping). A run's `/log` lines
are shown with the run, not as runs of their own.

Examples:
  jobwatch runs nightly-backup
  jobwatch runs nightly-backup --limit 100
  jobwatch runs nightly-backup 3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b
  jobwatch runs nightly-backup --json | jq '.[] | select(.outcome == \"failed\")'"
)]
pub struct RunsArgs {
    #[command(flatten)]
    admin: AdminOpts,
    /// The job (its slug).
    job: String,
    /// One run's id (as listed, or as an alert names it): show its pings and output.
    run_id: Option<String>,
    /// How many of the latest run records to read (1-1000).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u16).range(1..=MAX_LIMIT as i64))]
    limit: u16,
    /// Print JSON (the runs as the admin API gives them) instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: RunsArgs) -> ExitCode {
    match block_on(runs(args)).and_then(|r| r) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobwatch runs: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn runs(args: RunsArgs) -> Result<()> {
    let client = AdminClient::new(&args.admin)?;
    let job = client.get_job(&args.job).await?;
    let zone = zone_of(&job);
    match &args.run_id {
        Some(run_id) => {
            let run = client.run(&args.job, run_id).await?;
            if args.json {
                println!("{run:#}");
            } else {
                print!("{}", render_run(&job, &run, &zone)?);
            }
        }
        None => {
            let records = client.runs(&args.job, usize::from(args.limit)).await?;
            let runs = RunRecords::group(&records);
            if args.json {
                let mains: Vec<&Run> = runs.iter().map(|r| r.main).collect();
                println!("{}", serde_json::to_string_pretty(&mains)?);
            } else if runs.is_empty() {
                println!("{} has no runs yet", args.job);
            } else {
                print!("{}", render_list(&runs, &zone));
            }
        }
    }
    Ok(())
}

/// The zone a job's times are shown in (see [`JobView::zone_name`]).
pub fn zone_of(job: &JobView) -> TimeZone {
    TimeZone::get(job.zone_name()).unwrap_or(TimeZone::UTC)
}

pub fn local(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

fn outcome_text(run: &Run) -> String {
    let mut text = run.outcome.as_str().replace('_', " ");
    if run.timed_out && run.outcome != RunOutcome::TimedOut {
        text.push_str(" (timed out)");
    }
    if run.slots > 1 {
        text.push_str(&format!(" ({} slots)", run.slots));
    }
    text
}

/// The table of runs, newest first.
pub fn render_list(runs: &[RunRecords<'_>], zone: &TimeZone) -> String {
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|found| {
            let run = found.main;
            let started = match (run.started_at, run.expected_at, run.finished_at) {
                (Some(t), _, _) => local(t, zone),
                (None, Some(t), _) if run.outcome == RunOutcome::Missed => {
                    format!("expected {}", local(t, zone))
                }
                (None, _, Some(t)) => local(t, zone),
                (None, Some(t), None) => local(t, zone),
                (None, None, None) => "-".into(),
            };
            let host = run.source.as_ref().and_then(|s| s.host.clone());
            vec![
                run.run_id.clone(),
                outcome_text(run),
                started,
                run.duration_ms.map_or("-".into(), human_duration),
                run.exit_code.map_or("-".into(), |c| c.to_string()),
                host.unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    table(
        &["RUN", "OUTCOME", "STARTED", "DURATION", "EXIT", "HOST"],
        &rows,
        None,
    )
}

/// One run: what it was, its pings (time, kind, address, User-Agent, host), its output.
pub fn render_run(job: &JobView, run: &Value, zone: &TimeZone) -> Result<String> {
    let main: Run =
        serde_json::from_value(run.clone()).context("the run is not what this jobwatch expects")?;
    let records: Vec<Run> = match run.get("records") {
        Some(records) => serde_json::from_value(records.clone())
            .context("the run's records are not what this jobwatch expects")?,
        None => vec![main.clone()], // an older server: the main record only
    };
    let mut out = format!(
        "run {} of {}: {}\n",
        main.run_id,
        job.slug,
        outcome_text(&main)
    );
    let mut field = |name: &str, value: String| out.push_str(&format!("  {name:<12} {value}\n"));
    if let Some(t) = main.expected_at {
        field("expected", local(t, zone));
    }
    if let Some(t) = main.started_at {
        field("started", format!("{} ({t})", local(t, zone)));
    }
    if let Some(t) = main.finished_at {
        field("finished", format!("{} ({t})", local(t, zone)));
    }
    if let Some(ms) = main.duration_ms {
        field("duration", human_duration(ms));
    }
    if let Some(code) = main.exit_code {
        field("exit status", code.to_string());
    }
    let limit = |key: &str| {
        job.raw
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("none")
            .to_string()
    };
    field(
        "limits",
        format!(
            "max_runtime {}, min_runtime {}",
            limit("max_runtime"),
            limit("min_runtime")
        ),
    );
    out.push_str("\npings:\n");
    // In the order they came (a run's `/log` lines arrive between its start and its end).
    let mut pings: Vec<(Option<Timestamp>, Vec<String>)> = records
        .iter()
        .flat_map(|record| ping_rows(record, zone))
        .collect();
    pings.sort_by_key(|(at, _)| *at);
    let rows: Vec<Vec<String>> = pings.into_iter().map(|(_, row)| row).collect();
    for line in table(
        &["PING", "AT", "ADDRESS", "USER-AGENT", "HOST"],
        &rows,
        None,
    )
    .lines()
    {
        out.push_str(&format!("  {line}\n"));
    }
    let outputs: Vec<&Run> = records
        .iter()
        .filter(|r| r.output.as_deref().is_some_and(|o| !o.is_empty()))
        .collect();
    if outputs.is_empty() {
        out.push_str("\nno output kept\n");
    }
    for record in outputs {
        let text = record.output.as_deref().unwrap_or_default();
        out.push_str(&format!(
            "\noutput of the {} ping ({} bytes kept):\n{text}",
            record.ping_name(),
            text.len()
        ));
        if !text.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

/// A record's pings (see [`Run::pings`]), each with its time.
fn ping_rows(run: &Run, zone: &TimeZone) -> Vec<(Option<Timestamp>, Vec<String>)> {
    let shown = |v: Option<&String>| {
        v.filter(|v| !v.is_empty())
            .cloned()
            .unwrap_or_else(|| "-".into())
    };
    run.pings()
        .into_iter()
        .map(|ping| {
            let at = match (ping.missed, ping.at) {
                (true, Some(t)) => format!("expected {}", local(t, zone)),
                (false, Some(t)) => local(t, zone),
                (_, None) => String::new(),
            };
            let source = ping.source;
            let row = vec![
                ping.name.to_string(),
                at,
                shown(source.and_then(|s| s.ip.as_ref())),
                shown(source.and_then(|s| s.user_agent.as_ref())),
                shown(source.and_then(|s| s.host.as_ref())),
            ];
            (ping.at, row)
        })
        .collect()
}
