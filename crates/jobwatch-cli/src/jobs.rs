//! `jobwatch jobs`: jobs as code. `apply` syncs a TOML jobs file with the admin API, showing a
//! plan first (create / update / unchanged / delete) the way infrastructure tools do; `list`,
//! `pause` and `resume` act on single jobs.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow, bail};
use clap::{Args, Subcommand};
use jiff::Timestamp;
use jobwatch_core::{Duration, JobDoc, Slug};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use toml::Spanned;

use crate::client::{AdminClient, AdminOpts, JobView, block_on};

#[derive(Args)]
#[command(
    about = "Declare jobs as code (apply a jobs file), list, pause and resume them",
    after_help = "Examples:
  jobwatch jobs apply -f jobs.toml --dry-run      # show what would change
  jobwatch jobs apply -f jobs.toml --env prod     # apply, with the [env.prod] overrides
  jobwatch jobs apply -f jobs.toml --prune        # also delete jobs the file no longer names
  jobwatch jobs list
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
    about = "Stop alerting for a job (for a while, or until resumed)",
    after_help = "Examples:
  jobwatch jobs pause nightly-backup --for 2h
  jobwatch jobs pause reports --until 2026-12-27T08:00:00Z
  jobwatch jobs pause legacy-import"
)]
struct PauseArgs {
    /// The job's slug.
    job: String,
    /// Resume by itself after this long (e.g. 30m, 2h, 1d).
    #[arg(long = "for", value_name = "DURATION", conflicts_with = "until")]
    for_: Option<Duration>,
    /// Resume by itself at this instant (RFC 3339).
    #[arg(long, value_name = "TIME")]
    until: Option<Timestamp>,
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

// ------------------------------------------------------------------------------ the jobs file

/// The settings the file and the server both describe, in the order plans show them.
const FIELDS: [&str; 11] = [
    "schedule",
    "tz",
    "every",
    "grace",
    "max_runtime",
    "min_runtime",
    "failure_threshold",
    "recovery_threshold",
    "severity",
    "tags",
    "description",
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsFile {
    #[serde(default)]
    jobs: BTreeMap<String, Spanned<JobDoc>>,
    #[serde(default)]
    env: BTreeMap<String, EnvSection>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvSection {
    #[serde(default)]
    jobs: BTreeMap<String, Spanned<JobDoc>>,
}

/// One job as the file declares it (for the selected environment).
#[derive(Debug, Clone, PartialEq)]
pub struct Declared {
    pub slug: String,
    /// What is sent to the server: the settings as written.
    pub doc: JobDoc,
    /// Every setting explicit, defaults filled in: what the server will show.
    pub settings: Map<String, Value>,
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).unwrap_or(text).matches('\n').count() + 1
}

/// Settings of `over` replace those of `base`; a schedule of one kind replaces the other kind.
fn merge(base: JobDoc, over: JobDoc) -> JobDoc {
    let mut merged = base;
    if over.every.is_some() {
        merged.schedule = None;
        merged.tz = None;
    }
    if over.schedule.is_some() {
        merged.every = None;
    }
    macro_rules! take {
        ($($field:ident),*) => {$(
            if over.$field.is_some() {
                merged.$field = over.$field;
            }
        )*};
    }
    take!(
        schedule,
        tz,
        every,
        grace,
        max_runtime,
        min_runtime,
        failure_threshold,
        recovery_threshold,
        severity,
        tags,
        description,
        paused
    );
    merged
}

/// Parses and validates a jobs file; `name` is used in messages.
pub fn parse_jobs_file(text: &str, name: &str, env: Option<&str>) -> Result<Vec<Declared>> {
    let file: JobsFile = toml::from_str(text).map_err(|e| {
        // toml's message already shows the line, the column and the offending text.
        anyhow!("{name}: {}", e.to_string().trim_end())
    })?;
    let mut selected: BTreeMap<String, (JobDoc, Vec<usize>)> = file
        .jobs
        .into_iter()
        .map(|(slug, doc)| {
            let line = line_of(text, doc.span().start);
            (slug, (doc.into_inner(), vec![line]))
        })
        .collect();
    if let Some(env) = env {
        let Some(section) = file.env.get(env) else {
            let known: Vec<&str> = file.env.keys().map(String::as_str).collect();
            if known.is_empty() {
                bail!(
                    "{name} has no [env.{env}] section (it declares no environments); drop --env"
                );
            }
            bail!(
                "{name} has no [env.{env}] section; its environments are: {}",
                known.join(", ")
            );
        };
        for (slug, over) in &section.jobs {
            let line = line_of(text, over.span().start);
            let over = over.get_ref().clone();
            match selected.remove(slug) {
                Some((base, mut lines)) => {
                    lines.push(line);
                    selected.insert(slug.clone(), (merge(base, over), lines));
                }
                None => {
                    selected.insert(slug.clone(), (over, vec![line]));
                }
            }
        }
    }
    let mut declared = Vec::new();
    for (slug, (doc, lines)) in selected {
        let at = lines
            .iter()
            .map(|l| format!("{name}:{l}"))
            .collect::<Vec<_>>()
            .join(", ");
        let parsed = Slug::parse(&slug).map_err(|e| anyhow!("{at}: job '{slug}': {e}"))?;
        if doc.paused.is_some() {
            bail!(
                "{at}: job '{slug}': `paused` is not declared in the jobs file; use `jobwatch jobs pause {slug}` and `jobwatch jobs resume {slug}`"
            );
        }
        let spec = doc
            .clone()
            .into_spec(parsed)
            .map_err(|e| anyhow!("{at}: job '{slug}': {e}"))?;
        let settings = match serde_json::to_value(spec.to_doc()) {
            Ok(Value::Object(map)) => map,
            _ => bail!("{at}: job '{slug}': cannot represent its settings"),
        };
        declared.push(Declared {
            slug,
            doc,
            settings,
        });
    }
    Ok(declared)
}

fn load(path: &Path, env: Option<&str>) -> Result<Vec<Declared>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the jobs file {}", path.display()))?;
    parse_jobs_file(&text, &path.display().to_string(), env)
}

// ------------------------------------------------------------------------------------ the plan

#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Create { doc: JobDoc, schedule: String },
    Update { doc: JobDoc, changes: Vec<String> },
    Unchanged,
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlanItem {
    pub slug: String,
    pub step: Step,
}

/// The server's settings of a job, normalised the same way as the file's (so a server that
/// writes a setting differently, e.g. `90m` for `1h30m`, still compares equal).
fn server_settings(view: &JobView) -> Map<String, Value> {
    let raw: Map<String, Value> = FIELDS
        .iter()
        .filter_map(|f| {
            view.raw
                .get(*f)
                .filter(|v| !v.is_null())
                .map(|v| ((*f).to_string(), v.clone()))
        })
        .collect();
    let normalised = serde_json::from_value::<JobDoc>(Value::Object(raw.clone()))
        .ok()
        .and_then(|doc| {
            let slug = Slug::parse(&view.slug).ok()?;
            doc.into_spec(slug).ok()
        })
        .and_then(|spec| serde_json::to_value(spec.to_doc()).ok());
    match normalised {
        Some(Value::Object(map)) => map,
        _ => raw,
    }
}

fn show(value: Option<&Value>) -> String {
    match value {
        None | Some(Value::Null) => "none".to_string(),
        Some(Value::String(s)) if s.is_empty() => "\"\"".to_string(),
        Some(Value::String(s)) => {
            let mut short: String = s.chars().take(40).collect();
            if short.len() < s.len() {
                short.push('…');
            }
            short
        }
        Some(other) => other.to_string(),
    }
}

fn describe_schedule(settings: &Map<String, Value>) -> String {
    match (settings.get("schedule"), settings.get("every")) {
        (Some(Value::String(expr)), _) => format!(
            "{expr} {}",
            settings.get("tz").and_then(Value::as_str).unwrap_or("UTC")
        ),
        (_, Some(Value::String(every))) => format!("every {every}"),
        _ => String::new(),
    }
}

/// What applying `declared` to a server holding `existing` does, in slug order.
pub fn plan(
    declared: &[Declared],
    existing: &[JobView],
    prune: bool,
) -> (Vec<PlanItem>, Vec<String>) {
    let on_server: BTreeMap<&str, &JobView> =
        existing.iter().map(|v| (v.slug.as_str(), v)).collect();
    let mut items = Vec::new();
    for job in declared {
        let step = match on_server.get(job.slug.as_str()) {
            None => Step::Create {
                doc: job.doc.clone(),
                schedule: describe_schedule(&job.settings),
            },
            Some(view) => {
                let current = server_settings(view);
                let changes: Vec<String> = FIELDS
                    .iter()
                    .filter(|f| current.get(**f) != job.settings.get(**f))
                    .map(|f| {
                        format!(
                            "{f}: {} -> {}",
                            show(current.get(*f)),
                            show(job.settings.get(*f))
                        )
                    })
                    .collect();
                if changes.is_empty() {
                    Step::Unchanged
                } else {
                    Step::Update {
                        doc: job.doc.clone(),
                        changes,
                    }
                }
            }
        };
        items.push(PlanItem {
            slug: job.slug.clone(),
            step,
        });
    }
    let named: BTreeSet<&str> = declared.iter().map(|d| d.slug.as_str()).collect();
    let mut extra: Vec<String> = on_server
        .keys()
        .filter(|slug| !named.contains(*slug))
        .map(|slug| (*slug).to_string())
        .collect();
    extra.sort();
    if prune {
        items.extend(extra.drain(..).map(|slug| PlanItem {
            slug,
            step: Step::Delete,
        }));
    }
    (items, extra)
}

/// The plan as printed: one line per job, then the counts.
pub fn render_plan(items: &[PlanItem]) -> String {
    let width = items.iter().map(|i| i.slug.len()).max().unwrap_or(0);
    let mut out = String::new();
    let (mut create, mut update, mut delete, mut unchanged) = (0, 0, 0, 0);
    for item in items {
        let (sign, word, detail) = match &item.step {
            Step::Create { schedule, .. } => {
                create += 1;
                ("+", "create", format!("({schedule})"))
            }
            Step::Update { changes, .. } => {
                update += 1;
                ("~", "update", changes.join(", "))
            }
            Step::Unchanged => {
                unchanged += 1;
                ("=", "unchanged", String::new())
            }
            Step::Delete => {
                delete += 1;
                ("-", "delete", String::new())
            }
        };
        let line = format!("{sign} {word:<9} {:<width$}  {detail}", item.slug);
        let _ = writeln!(out, "{}", line.trim_end());
    }
    let _ = writeln!(
        out,
        "Plan: {create} to create, {update} to update, {delete} to delete, {unchanged} unchanged."
    );
    out
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
                        "created {} (its UUID ping URL, shown only now: {url})",
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
    let text = |view: &JobView, field: &str| show(view.raw.get(field)).replace("none", "-");
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|job| {
            let tags = match job.raw.get("tags") {
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
                text(job, "grace"),
                text(job, "max_runtime"),
                text(job, "severity"),
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
        (Some(d), _) => json!({ "for": d.to_string() }),
        (None, Some(until)) => json!({ "until": until.to_string() }),
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

    const FILE: &str = r#"
[jobs.nightly-backup]
schedule = "0 3 * * *"
tz = "Europe/Berlin"
max_runtime = "2h"

[jobs.heartbeat]
every = "1m"
grace = "30s"

[env.prod.jobs.nightly-backup]
severity = "critical"

[env.prod.jobs.prod-only]
every = "1h"

[env.dev.jobs.nightly-backup]
every = "10m"
"#;

    fn slugs(declared: &[Declared]) -> Vec<&str> {
        declared.iter().map(|d| d.slug.as_str()).collect()
    }

    #[test]
    fn top_level_jobs_are_declared_with_defaults_filled_in() {
        let declared = parse_jobs_file(FILE, "jobs.toml", None).unwrap();
        assert_eq!(slugs(&declared), ["heartbeat", "nightly-backup"]);
        let backup = &declared[1];
        assert_eq!(backup.settings["grace"], "5m");
        assert_eq!(backup.settings["max_runtime"], "2h");
        assert_eq!(backup.settings["severity"], "error");
        assert_eq!(backup.doc.grace, None, "only what the file says is sent");
    }

    #[test]
    fn environments_add_jobs_and_override_settings() {
        let prod = parse_jobs_file(FILE, "jobs.toml", Some("prod")).unwrap();
        assert_eq!(slugs(&prod), ["heartbeat", "nightly-backup", "prod-only"]);
        assert_eq!(prod[1].settings["severity"], "critical");
        assert_eq!(prod[1].settings["tz"], "Europe/Berlin");
        let dev = parse_jobs_file(FILE, "jobs.toml", Some("dev")).unwrap();
        assert_eq!(dev[1].settings["every"], "10m");
        assert_eq!(dev[1].settings.get("schedule"), None);
        assert_eq!(dev[1].settings.get("tz"), None);
        let err = parse_jobs_file(FILE, "jobs.toml", Some("staging")).unwrap_err();
        assert_eq!(
            err.to_string(),
            "jobs.toml has no [env.staging] section; its environments are: dev, prod"
        );
    }

    #[test]
    fn bad_files_name_the_line_and_the_field() {
        let err = parse_jobs_file(
            "[jobs.a]\nevery = \"1m\"\n\n[jobs.b]\nevery = \"1m\"\ncolour = \"red\"\n",
            "jobs.toml",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with("jobs.toml: TOML parse error at line 6"),
            "{err}"
        );
        assert!(err.contains("unknown field `colour`"), "{err}");

        let err = parse_jobs_file(
            "[jobs.a]\nevery = \"1m\"\n\n[jobs.b]\nevery = \"1m\"\nmin_runtime = \"2h\"\n",
            "jobs.toml",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with("jobs.toml:4"), "{err}");
        assert!(
            err.contains("job 'b': `min_runtime` (2h) must be below"),
            "{err}"
        );

        let err = parse_jobs_file("[jobs.Bad]\nevery = \"1m\"\n", "jobs.toml", None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("invalid slug 'Bad'"), "{err}");

        let err = parse_jobs_file(
            "[jobs.a]\nevery = \"1m\"\npaused = true\n",
            "jobs.toml",
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("jobwatch jobs pause a"), "{err}");

        let err = parse_jobs_file("[jobs.a]\nevery = \"soon\"\n", "jobs.toml", None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("line 2") && err.contains("invalid duration 'soon'"),
            "{err}"
        );
    }

    fn view(json: Value) -> JobView {
        let mut v: JobView = serde_json::from_value(json.clone()).unwrap();
        v.raw = json;
        v
    }

    #[test]
    fn the_plan_compares_every_setting_after_normalising() {
        let declared = parse_jobs_file(FILE, "jobs.toml", None).unwrap();
        let server = [
            view(json!({
                "slug": "heartbeat", "status": "up", "every": "60s", "grace": "30s",
                "max_runtime": "1h", "failure_threshold": 1, "recovery_threshold": 1,
                "severity": "error", "tags": [], "description": ""
            })),
            view(json!({
                "slug": "nightly-backup", "status": "up", "schedule": "0 3 * * *",
                "tz": "Europe/Berlin", "grace": "5m", "max_runtime": "1h",
                "failure_threshold": 1, "recovery_threshold": 1, "severity": "error",
                "tags": [], "description": ""
            })),
            view(json!({"slug": "old", "status": "up", "every": "1h"})),
        ];
        let (items, kept) = plan(&declared, &server, false);
        assert_eq!(kept, ["old"]);
        assert_eq!(items[0].step, Step::Unchanged, "60s is 1m");
        assert!(matches!(
            &items[1].step,
            Step::Update { changes, .. } if changes == &["max_runtime: 1h -> 2h"]
        ));
        let (items, kept) = plan(&declared, &server, true);
        assert!(kept.is_empty());
        assert_eq!(
            items[2],
            PlanItem {
                slug: "old".into(),
                step: Step::Delete
            }
        );
        assert_eq!(
            render_plan(&items),
            "= unchanged heartbeat\n\
             ~ update    nightly-backup  max_runtime: 1h -> 2h\n\
             - delete    old\n\
             Plan: 0 to create, 1 to update, 1 to delete, 1 unchanged.\n"
        );
        let (items, _) = plan(&declared, &[], false);
        assert_eq!(
            render_plan(&items),
            "+ create    heartbeat       (every 1m)\n\
             + create    nightly-backup  (0 3 * * * Europe/Berlin)\n\
             Plan: 2 to create, 0 to update, 0 to delete, 0 unchanged.\n"
        );
    }
}
