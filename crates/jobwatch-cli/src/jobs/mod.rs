//! `jobwatch jobs`: jobs as code. `apply` syncs a TOML jobs file with the admin API, showing a
//! plan first (create / update / unchanged / delete) the way infrastructure tools do; `list`
//! and `show` print them; `pause` and `resume` act on single jobs.

mod file;
mod plan;

pub(crate) use self::file::parse_jobs_file;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, anyhow, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jobwatch_core::{Duration, JobDoc, Slug};
use serde_json::{Value, json};

use self::file::load;
use self::plan::{Step, plan, render_plan, server_settings, show};
use crate::client::{AdminClient, AdminOpts, block_on};

#[derive(Args)]
#[command(
    about = "Declare jobs as code (apply a jobs file), list, pause and resume them",
    after_help = "Examples:
  jobwatch jobs apply -f jobs.toml --dry-run      # show what would change
  jobwatch jobs apply -f jobs.toml --env prod     # apply, with the [env.prod] overrides
  jobwatch jobs apply -f jobs.toml --prune        # also delete jobs the file no longer names
  jobwatch jobs list
  jobwatch jobs show nightly-backup               # every setting, and its ping URLs
  jobwatch jobs pause nightly-backup --for 2h
  jobwatch jobs resume nightly-backup

The server and key come from --url / JOBWATCH_URL and --api-key / JOBWATCH_API_KEY."
)]
pub struct JobsArgs {
    #[command(flatten)]
    admin: AdminOpts,
    #[command(subcommand)]
    command: JobsCommand,
}

#[derive(Subcommand)]
enum JobsCommand {
    Apply(ApplyArgs),
    List(ListArgs),
    Show(ShowArgs),
    Pause(PauseArgs),
    Resume(ResumeArgs),
}

#[derive(Args)]
#[command(
    about = "Sync the jobs declared in a TOML file with jobwatch: print the plan, then apply it",
    after_help = "The file declares one table per job, with the settings of the admin API; an
[env.<name>.jobs.<slug>] table adds a job for one environment, or overrides settings of a
top-level job there (selected with --env <name>):

  [jobs.nightly-backup]
  schedule = \"0 3 * * *\"
  tz = \"Europe/Berlin\"
  max_runtime = \"2h\"

  [jobs.heartbeat]
  every = \"1m\"
  grace = \"30s\"

  [jobs.resize-images]        # run by a task queue: never missed
  on_demand = true
  max_runtime = \"10m\"

  [env.prod.jobs.nightly-backup]
  severity = \"critical\"

A job on the server is unchanged when every setting (defaults filled in) is equal; an update
replaces the job's whole definition and keeps its history and state.

Examples:
  jobwatch jobs apply -f infra/jobs.toml --dry-run
  jobwatch jobs apply -f infra/jobs.toml --env prod --prune
  JOBWATCH_URL=https://jobwatch.example.com JOBWATCH_API_KEY=... jobwatch jobs apply -f jobs.toml"
)]
struct ApplyArgs {
    /// The jobs file (TOML).
    #[arg(short = 'f', long = "file", default_value = "jobs.toml")]
    file: PathBuf,
    /// Apply the file's [env.<name>] section on top of its top-level jobs.
    #[arg(long, value_name = "NAME")]
    env: Option<String>,
    /// Also delete jobs the server has and the file does not name.
    #[arg(long)]
    prune: bool,
    /// Print the plan only; change nothing.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Args)]
#[command(
    about = "List the jobs jobwatch knows, with their schedules and limits",
    after_help = "Examples:
  jobwatch jobs list
  jobwatch jobs list --json | jq '.[].slug'"
)]
struct ListArgs {
    /// Print the jobs as a JSON array, every setting explicit.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(
    about = "Show one job: every setting, its state and its ping URLs (the UUID one included)",
    after_help = "Examples:
  jobwatch jobs show nightly-backup
  jobwatch jobs show nightly-backup --json"
)]
struct ShowArgs {
    /// The job's slug.
    job: String,
    /// Print the job as the admin API gives it.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
#[command(
    about = "Stop alerting for a job (for a while, or until resumed)",
    after_help = "Examples:
  jobwatch jobs pause nightly-backup --for 2h
  jobwatch jobs pause reports --until 2026-12-27T08:00:00Z
  jobwatch jobs pause reports --until 2026-12-27T09:00:00+01:00
  jobwatch jobs pause reports --until 2h          # the same as --for 2h
  jobwatch jobs pause legacy-import"
)]
struct PauseArgs {
    /// The job's slug.
    job: String,
    /// Resume by itself after this long (e.g. 30m, 2h, 1d).
    #[arg(long = "for", value_name = "DURATION", conflicts_with = "until")]
    for_: Option<Duration>,
    /// Resume by itself at this time: an RFC 3339 time with its offset, such as
    /// 2026-12-03T08:00:00Z or 2026-12-03T09:00:00+01:00, or a duration from now such as 2h.
    #[arg(long, value_name = "TIME", value_parser = parse_until)]
    until: Option<Until>,
}

/// When a pause given with `--until` ends.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Until {
    At(Timestamp),
    /// A duration, as people type it (`--until 2h`): the same as `--for`.
    In(Duration),
}

fn parse_until(text: &str) -> Result<Until, String> {
    let text = text.trim();
    if let Ok(at) = text.parse::<Timestamp>() {
        return Ok(Until::At(at));
    }
    // A bare number could be seconds or a Unix time: neither is guessed.
    let bare_number = text.bytes().all(|b| b.is_ascii_digit());
    match text.parse::<Duration>() {
        Ok(d) if !bare_number && !d.is_zero() => Ok(Until::In(d)),
        _ => Err(
            "expected an RFC 3339 time with its offset, such as 2026-12-03T08:00:00Z or \
             2026-12-03T09:00:00+01:00, or a duration from now such as 2h"
                .to_string(),
        ),
    }
}

#[derive(Args)]
#[command(
    about = "Watch a paused job again, from now",
    after_help = "Example:
  jobwatch jobs resume nightly-backup"
)]
struct ResumeArgs {
    /// The job's slug.
    job: String,
}

pub fn run(args: JobsArgs) -> ExitCode {
    let (name, result) = match args.command {
        JobsCommand::Apply(apply_args) => ("apply", run_async(apply(&args.admin, apply_args))),
        JobsCommand::List(list_args) => ("list", run_async(list(&args.admin, list_args))),
        JobsCommand::Show(show_args) => ("show", run_async(show_job(&args.admin, show_args))),
        JobsCommand::Pause(pause_args) => ("pause", run_async(pause(&args.admin, pause_args))),
        JobsCommand::Resume(resume_args) => ("resume", run_async(resume(&args.admin, resume_args))),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobwatch jobs {name}: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn run_async<F: std::future::Future<Output = Result<()>>>(future: F) -> Result<()> {
    block_on(future)?
}

/// `jobwatch jobs apply -f <file>`, for `jobwatch discover --apply`.
pub(crate) async fn apply_file(admin: &AdminOpts, file: PathBuf) -> Result<()> {
    let args = ApplyArgs {
        file,
        env: None,
        prune: false,
        dry_run: false,
    };
    apply(admin, args).await
}

async fn apply(admin: &AdminOpts, args: ApplyArgs) -> Result<()> {
    let declared = load(&args.file, args.env.as_deref())?;
    if declared.is_empty() && args.prune {
        // An empty file is far more often a mistake than a wish to delete every job.
        bail!(
            "{} declares no jobs: refusing to --prune, which would delete every job on the server",
            args.file.display()
        );
    }
    let client = AdminClient::new(admin)?;
    let existing = client.list_jobs().await?;
    let (items, kept) = plan(&declared, &existing, args.prune);
    let name = args.file.display();
    print!("{}", render_plan(&items));
    if !kept.is_empty() {
        println!(
            "Kept (not in {name}; --prune deletes them): {}",
            kept.join(", ")
        );
    }
    let changes = items
        .iter()
        .filter(|i| !matches!(i.step, Step::Unchanged))
        .count();
    if changes == 0 {
        println!("No changes: jobwatch matches {name}.");
        return Ok(());
    }
    if args.dry_run {
        println!("Dry run: nothing was changed. Run again without --dry-run to apply.");
        return Ok(());
    }
    println!();
    let (mut created, mut updated, mut deleted) = (0, 0, 0);
    for item in &items {
        let done = created + updated + deleted;
        let failed = |e: anyhow::Error| {
            e.context(format!(
                "applying '{}' failed after {done} of {changes} changes",
                item.slug
            ))
        };
        match &item.step {
            Step::Create { doc, .. } => {
                let (view, _) = client.put_job(&item.slug, doc).await.map_err(failed)?;
                created += 1;
                match view.raw.get("ping_url_uuid").and_then(Value::as_str) {
                    Some(url) => println!(
                        "created {} (its UUID ping URL: {url}; `jobwatch jobs show` shows it again)",
                        item.slug
                    ),
                    None => println!("created {}", item.slug),
                }
            }
            Step::Update { doc, .. } => {
                client.put_job(&item.slug, doc).await.map_err(failed)?;
                updated += 1;
                println!("updated {}", item.slug);
            }
            Step::Delete => {
                client.delete_job(&item.slug).await.map_err(failed)?;
                deleted += 1;
                println!("deleted {}", item.slug);
            }
            Step::Unchanged => {}
        }
    }
    println!("Applied: {created} created, {updated} updated, {deleted} deleted.");
    Ok(())
}

// ------------------------------------------------------------------------ list, pause, resume

async fn list(admin: &AdminOpts, args: ListArgs) -> Result<()> {
    let client = AdminClient::new(admin)?;
    let mut jobs = client.list_jobs().await?;
    jobs.sort_by(|a, b| a.slug.cmp(&b.slug));
    if args.json {
        let all: Vec<Value> = jobs.into_iter().map(|j| j.raw).collect();
        println!("{}", serde_json::to_string_pretty(&Value::Array(all))?);
        return Ok(());
    }
    if jobs.is_empty() {
        println!(
            "No jobs yet: declare them in a jobs file and run `jobwatch jobs apply -f jobs.toml`."
        );
        return Ok(());
    }
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|job| {
            let settings = server_settings(job);
            let text = |field: &str| show(settings.get(field)).replace("none", "-");
            let tags = match settings.get("tags") {
                Some(Value::Array(tags)) if !tags.is_empty() => tags
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                _ => "-".to_string(),
            };
            vec![
                job.slug.clone(),
                job.schedule_text(),
                text("grace"),
                text("max_runtime"),
                text("severity"),
                tags,
                job.status.clone(),
            ]
        })
        .collect();
    print!(
        "{}",
        crate::status::table(
            &[
                "JOB",
                "SCHEDULE",
                "GRACE",
                "MAX RUNTIME",
                "SEVERITY",
                "TAGS",
                "STATE"
            ],
            &rows,
            None
        )
    );
    Ok(())
}

async fn show_job(admin: &AdminOpts, args: ShowArgs) -> Result<()> {
    let slug = parse_slug(&args.job)?;
    let client = AdminClient::new(admin)?;
    let job = client.get_job(&slug).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&job.raw)?);
        return Ok(());
    }
    print!("{}", render_job(&job));
    Ok(())
}

/// `jobwatch jobs show`: the job's state, every setting (defaults included) and its URLs.
fn render_job(job: &crate::client::JobView) -> String {
    let raw = |key: &str| job.raw.get(key).filter(|v| !v.is_null());
    let zone = crate::runs::zone_of(job);
    let when = |key: &str| {
        raw(key)
            .and_then(Value::as_str)
            .and_then(|t| t.parse::<Timestamp>().ok())
            .map_or("-".to_string(), |t| crate::runs::local(t, &zone))
    };
    let mut out = format!(
        "{}
",
        job.slug
    );
    let mut line = |name: &str, value: String| out.push_str(&format!("  {name:<19} {value}\n"));
    line("state", job.status.clone());
    line("schedule", job.schedule_text());
    line("next expected", when("next_expected_at"));
    for key in [
        "last_ping_at",
        "last_success_at",
        "last_failure_at",
        "down_since",
        "paused_until",
    ] {
        if raw(key).is_some() {
            line(&key.replace('_', " ").replace(" at", ""), when(key));
        }
    }
    let settings = server_settings(job);
    for name in JobDoc::setting_names() {
        if matches!(name, "schedule" | "tz" | "every" | "on_demand") {
            continue; // in `schedule` above
        }
        line(name, show(settings.get(name)));
    }
    line(
        "ping URL",
        raw("ping_url")
            .and_then(Value::as_str)
            .unwrap_or("-")
            .to_string(),
    );
    let uuid = raw("ping_url_uuid").and_then(Value::as_str).map_or(
        "- (created by an earlier jobwatch or before the signing secret changed: only shown then)"
            .to_string(),
        str::to_string,
    );
    line("UUID ping URL", uuid);
    out
}

/// An instant to the second: sub-second digits are noise on a terminal.
fn to_second(t: Timestamp) -> Timestamp {
    t.round(jiff::Unit::Second).unwrap_or(t)
}

fn parse_slug(job: &str) -> Result<String> {
    Ok(Slug::parse(job)
        .map_err(|e| anyhow!("{e}"))?
        .as_str()
        .to_string())
}

async fn pause(admin: &AdminOpts, args: PauseArgs) -> Result<()> {
    let slug = parse_slug(&args.job)?;
    let client = AdminClient::new(admin)?;
    let body = match (args.for_, args.until) {
        (Some(d), _) | (None, Some(Until::In(d))) => json!({ "for": d.to_string() }),
        (None, Some(Until::At(until))) => json!({ "until": until.to_string() }),
        (None, None) => json!({}),
    };
    let view = client.pause(&slug, &body).await?;
    match view.paused_until {
        Some(until) => println!(
            "paused {slug} until {}; it resumes by itself then (`jobwatch jobs resume {slug}` resumes it sooner)",
            to_second(until)
        ),
        None => println!("paused {slug} until `jobwatch jobs resume {slug}`"),
    }
    Ok(())
}

async fn resume(admin: &AdminOpts, args: ResumeArgs) -> Result<()> {
    let slug = parse_slug(&args.job)?;
    let client = AdminClient::new(admin)?;
    let view = client.resume(&slug).await?;
    match view.next_expected_at {
        Some(next) => println!(
            "resumed {slug}: watching it again; next run expected at {}",
            to_second(next)
        ),
        None => println!("resumed {slug}: watching it again"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_takes_an_rfc_3339_time_or_a_duration_from_now() {
        let at = |t: &str| Until::At(t.parse().unwrap());
        assert_eq!(
            parse_until("2026-12-03T08:00:00Z"),
            Ok(at("2026-12-03T08:00:00Z"))
        );
        assert_eq!(
            parse_until("2026-12-03T09:00:00+01:00"),
            Ok(at("2026-12-03T08:00:00Z"))
        );
        assert_eq!(parse_until("2h"), Ok(Until::In(Duration::from_hours(2))));
        assert_eq!(parse_until("1h30m"), Ok(Until::In(Duration::from_mins(90))));
    }

    #[test]
    fn until_refuses_anything_else_saying_what_it_takes() {
        for bad in [
            "tomorrow",
            "2026-12-03 08:00",
            "2026-12-03",
            "3600",
            "0s",
            "-2h",
            "",
        ] {
            let err = parse_until(bad).unwrap_err();
            assert!(
                err.starts_with(
                    "expected an RFC 3339 time with its offset, such as 2026-12-03T08:00:00Z"
                ),
                "{bad}: {err}"
            );
            assert!(
                err.ends_with("or a duration from now such as 2h"),
                "{bad}: {err}"
            );
        }
    }
}
