//! `jobwatch discover`: adopt the cron jobs a machine already has. It reads crontabs (the
//! user's, given files, or the system's), proposes one job per schedule line, merges them
//! into a jobs file and rewrites each line to run through `jobwatch run <slug> --`. It shows
//! everything first (`--dry-run`), installs only when asked (`--apply`, after a backup), and
//! a second run changes nothing.

mod crontab;
mod diff;
mod jobs_file;
mod plan;
mod slug;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{Context, Result, anyhow, bail};
use clap::Args;
use std::io::Write;

use self::plan::{Discovery, Options, Source, discover};
use crate::client::{AdminOpts, block_on};

const SYSTEM_CRONTAB: &str = "/etc/crontab";
const SYSTEM_CRON_DIR: &str = "/etc/cron.d";

#[derive(Args)]
#[command(
    about = "Find the cron jobs already on this machine: propose jobs, wrap their crontab lines",
    after_help = "Reads the current user's crontab (or another user's with -u, files with --crontab, or
/etc/crontab and /etc/cron.d/* with --system) and proposes one job per schedule line: its
schedule, and its zone from CRON_TZ= or TZ= above it (else --default-tz, the host's zone).
It merges the jobs into the jobs file (--jobs-file; settings you edited by hand stay) and
rewrites each line as `jobwatch run <slug> -- <command>`, which keeps the command's exit
status, output, signals and %-input. A comment `# jobwatch: <slug>` above a line names its
job; `# jobwatch: ignore` leaves the line alone. @reboot lines and lines cron would refuse
are left as they are, and said so. Run it again after changing the crontab: wrapped lines
keep their jobs, and nothing changes twice.

Examples:
  jobwatch discover --dry-run                         # show the jobs and the crontab diff
  jobwatch discover --apply                           # write jobs.toml, install the crontab
  jobwatch discover --crontab ./crontab.txt --crontab-out ./crontab.new
  sudo jobwatch discover --system --dry-run           # /etc/crontab and /etc/cron.d/*

--apply saves the current crontab next to the jobs file first, then installs the new one
with `crontab -`; with JOBWATCH_API_KEY set it first applies the jobs file, so the wrapped
jobs exist before they run. System files are rewritten only with --write-system."
)]
pub struct DiscoverArgs {
    #[command(flatten)]
    admin: AdminOpts,
    /// A crontab file to read (again for more); instead of the user's crontab.
    #[arg(long = "crontab", value_name = "FILE")]
    crontabs: Vec<PathBuf>,
    /// The files given with --crontab are system crontabs: their lines name a user.
    #[arg(long)]
    user_field: bool,
    /// Read /etc/crontab and /etc/cron.d/* (lines with a user field).
    #[arg(long)]
    system: bool,
    /// Read this user's crontab (`crontab -u USER -l`) instead of your own.
    #[arg(short = 'u', long = "user", value_name = "USER")]
    user: Option<String>,
    /// The jobs file to merge the jobs into.
    #[arg(long, default_value = "jobs.toml", value_name = "FILE")]
    jobs_file: PathBuf,
    /// Write the rewritten crontab here (one crontab read only).
    #[arg(long, value_name = "FILE")]
    crontab_out: Option<PathBuf>,
    /// Print the jobs file and the crontab diff; write nothing.
    #[arg(long, conflicts_with = "apply")]
    dry_run: bool,
    /// Write the jobs file and install the rewritten crontab (after a backup).
    #[arg(long)]
    apply: bool,
    /// With --apply and --system: rewrite /etc/crontab and /etc/cron.d files in place.
    #[arg(long, requires = "apply")]
    write_system: bool,
    /// The zone of lines without CRON_TZ= or TZ= above them (default: this host's zone).
    #[arg(long, value_name = "ZONE")]
    default_tz: Option<String>,
    /// How the rewritten lines call jobwatch (default: this jobwatch's full path, since
    /// cron's PATH is short).
    #[arg(long, value_name = "PATH")]
    jobwatch_bin: Option<String>,
    /// The ping key the wrapped jobs report with: added to the crontab as JOBWATCH_PING_KEY.
    #[arg(long, env = "JOBWATCH_PING_KEY", hide_env_values = true)]
    ping_key: Option<String>,
}

pub fn run(args: DiscoverArgs) -> ExitCode {
    match run_discover(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("jobwatch discover: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Where a crontab came from, and so how it is written back.
#[derive(Debug, Clone, PartialEq)]
enum Origin {
    /// `crontab -l` (of `-u USER` when given).
    User(Option<String>),
    File(PathBuf),
    System(PathBuf),
}

fn host_zone() -> String {
    jiff::tz::TimeZone::system()
        .iana_name()
        .map_or_else(|| "UTC".to_string(), str::to_string)
}

fn jobwatch_bin(args: &DiscoverArgs) -> Result<String> {
    if let Some(bin) = &args.jobwatch_bin {
        return Ok(bin.clone());
    }
    let exe = std::env::current_exe().context("finding this jobwatch's path")?;
    let path = exe.to_string_lossy().into_owned();
    if path.contains(|c: char| c.is_whitespace() || "%'\"\\$".contains(c)) {
        bail!("this jobwatch's path '{path}' needs quoting in a crontab: pass --jobwatch-bin");
    }
    Ok(path)
}

fn read_sources(args: &DiscoverArgs) -> Result<Vec<(Origin, Source)>> {
    let mut sources = Vec::new();
    for path in &args.crontabs {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading the crontab {}", path.display()))?;
        let system = args.user_field || is_system_path(path);
        let origin = if system {
            Origin::System(path.clone())
        } else {
            Origin::File(path.clone())
        };
        sources.push((origin, source(path.display().to_string(), text, system)));
    }
    if args.system {
        let mut paths = vec![PathBuf::from(SYSTEM_CRONTAB)];
        if let Ok(dir) = std::fs::read_dir(SYSTEM_CRON_DIR) {
            let mut names: Vec<PathBuf> = dir
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| is_cron_d_name(p))
                .collect();
            names.sort();
            paths.extend(names);
        }
        for path in paths.into_iter().filter(|p| p.is_file()) {
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("reading {} (run with sudo?)", path.display()))?;
            sources.push((
                Origin::System(path.clone()),
                source(path.display().to_string(), text, true),
            ));
        }
    }
    if args.crontabs.is_empty() && !args.system {
        let text = user_crontab(args.user.as_deref())?;
        let name = match &args.user {
            Some(user) => format!("crontab of {user}"),
            None => "your crontab".to_string(),
        };
        sources.push((Origin::User(args.user.clone()), source(name, text, false)));
    }
    Ok(sources)
}

fn source(name: String, text: String, with_user: bool) -> Source {
    Source {
        name,
        text,
        with_user,
    }
}

fn is_system_path(path: &Path) -> bool {
    path == Path::new(SYSTEM_CRONTAB) || path.starts_with(SYSTEM_CRON_DIR)
}

/// cron skips files in /etc/cron.d whose names have dots or end in `~` (backups, packaging).
fn is_cron_d_name(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !n.contains('.') && !n.ends_with('~'))
}

fn crontab_command(user: Option<&str>) -> Command {
    let mut command = Command::new("crontab");
    if let Some(user) = user {
        command.args(["-u", user]);
    }
    command
}

fn user_crontab(user: Option<&str>) -> Result<String> {
    let output = crontab_command(user)
        .arg("-l")
        .stdin(Stdio::null())
        .output()
        .map_err(|e| {
            anyhow!("cannot run `crontab -l` ({e}): is cron installed? Give a file with --crontab")
        })?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        if stderr.contains("no crontab for") {
            return Ok(String::new());
        }
        bail!("`crontab -l` failed: {}", stderr.trim());
    }
    String::from_utf8(output.stdout).context("the crontab is not UTF-8")
}

fn install_user_crontab(user: Option<&str>, text: &str) -> Result<()> {
    let mut child = crontab_command(user)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("running `crontab -`")?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(text.as_bytes())
            .context("giving the crontab to `crontab -`")?;
    }
    let output = child
        .wait_with_output()
        .context("waiting for `crontab -`")?;
    if !output.status.success() {
        bail!(
            "`crontab -` refused the rewritten crontab (nothing was installed): {}",
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(())
}

fn run_discover(args: &DiscoverArgs) -> Result<()> {
    let default_tz = args.default_tz.clone().unwrap_or_else(host_zone);
    jobwatch_core::zone::time_zone(&default_tz)
        .map_err(|e| anyhow!("--default-tz {default_tz}: {e}"))?;
    let sources = read_sources(args)?;
    if args.crontab_out.is_some() && sources.len() != 1 {
        bail!(
            "--crontab-out takes one crontab, and {} were read",
            sources.len()
        );
    }
    let mut env = vec![("JOBWATCH_URL".to_string(), args.admin.url.clone())];
    if let Some(key) = args.ping_key.as_deref().filter(|k| !k.is_empty()) {
        env.push(("JOBWATCH_PING_KEY".to_string(), key.to_string()));
    }
    let options = Options {
        default_tz,
        jobwatch: jobwatch_bin(args)?,
        env,
    };
    let plain: Vec<Source> = sources.iter().map(|(_, s)| s.clone()).collect();
    let discovery = discover(&plain, &options);
    let existing = match std::fs::read_to_string(&args.jobs_file) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).context(format!("reading {}", args.jobs_file.display())),
    };
    let jobs_text = jobs_file::merge(&existing, &discovery.jobs)
        .with_context(|| format!("merging into {}", args.jobs_file.display()))?;
    let jobs_name = args.jobs_file.display().to_string();
    crate::jobs::parse_jobs_file(&jobs_text, &jobs_name, None)
        .context("the merged jobs file would not be valid (nothing was written)")?;
    report(&discovery, &existing, &jobs_text, &jobs_name, args.dry_run);
    if args.dry_run {
        println!("Dry run: nothing was written.");
        return Ok(());
    }
    let changed = |r: &plan::Rewritten| r.old != r.new;
    if existing != jobs_text {
        std::fs::write(&args.jobs_file, &jobs_text)
            .with_context(|| format!("writing {jobs_name}"))?;
        println!("wrote {jobs_name}");
    }
    if let (Some(out), Some(rewritten)) = (&args.crontab_out, discovery.crontabs.first()) {
        std::fs::write(out, &rewritten.new)
            .with_context(|| format!("writing {}", out.display()))?;
        println!("wrote the rewritten crontab to {}", out.display());
    }
    if !args.apply {
        if discovery.crontabs.iter().any(changed) && args.crontab_out.is_none() {
            println!("The crontab is unchanged: run again with --apply to install the rewrite.");
        }
        return Ok(());
    }
    if args.admin.api_key.is_some() && !discovery.jobs.is_empty() {
        println!("\napplying {jobs_name} to {}:", args.admin.url);
        block_on(crate::jobs::apply_file(&args.admin, args.jobs_file.clone()))??;
    } else if !discovery.jobs.is_empty() {
        println!(
            "No API key given: run `jobwatch jobs apply -f {jobs_name}` so the jobs exist before they run."
        );
    }
    install(args, &sources, &discovery)
}

/// Installs each changed crontab, after saving it beside the jobs file.
fn install(args: &DiscoverArgs, sources: &[(Origin, Source)], discovery: &Discovery) -> Result<()> {
    let backup_dir = args
        .jobs_file
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let mut installed = 0;
    for ((origin, _), rewritten) in sources.iter().zip(&discovery.crontabs) {
        if rewritten.old == rewritten.new {
            continue;
        }
        if matches!(origin, Origin::File(_)) && args.crontab_out.is_some() {
            continue; // written to --crontab-out instead
        }
        if matches!(origin, Origin::System(_)) && !args.write_system {
            println!(
                "{} left untouched: system crontabs are rewritten only with --write-system",
                rewritten.name
            );
            continue;
        }
        let label: String = rewritten
            .name
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .collect();
        let backup = backup_dir.join(format!(
            "crontab-backup-{}-{stamp}.txt",
            label.trim_matches('-')
        ));
        std::fs::write(&backup, &rewritten.old)
            .with_context(|| format!("saving the backup {}", backup.display()))?;
        match origin {
            Origin::User(user) => install_user_crontab(user.as_deref(), &rewritten.new)?,
            Origin::File(path) | Origin::System(path) => std::fs::write(path, &rewritten.new)
                .with_context(|| format!("writing {}", path.display()))?,
        }
        installed += 1;
        println!(
            "{}: installed the rewrite (the old one is saved as {})",
            rewritten.name,
            backup.display()
        );
    }
    if installed == 0 {
        println!("No crontab to change.");
    }
    Ok(())
}

/// What discover found: the jobs, the jobs file, each crontab's diff, the notes.
fn report(discovery: &Discovery, existing: &str, jobs_text: &str, jobs_name: &str, dry_run: bool) {
    println!("{} job(s) found:", discovery.jobs.len());
    for job in &discovery.jobs {
        println!("  {:<28} {} ({})", job.slug, job.schedule, job.tz);
    }
    if existing == jobs_text {
        println!("\n{jobs_name}: unchanged");
    } else if dry_run {
        println!("\n{jobs_name} would be:\n{jobs_text}");
    }
    for rewritten in &discovery.crontabs {
        let name = &rewritten.name;
        let diff = diff::unified(
            name,
            &format!("{name} (rewritten)"),
            &rewritten.old,
            &rewritten.new,
        );
        if diff.is_empty() {
            println!("\n{name}: unchanged");
        } else {
            println!("\n{diff}");
        }
    }
    if !discovery.notes.is_empty() {
        println!("\nNotes:");
        for note in &discovery.notes {
            println!("  {note}");
        }
    }
}
