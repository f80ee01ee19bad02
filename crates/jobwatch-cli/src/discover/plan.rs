//! What discover proposes for a set of crontabs, computed without touching anything: one job
//! per schedule line (schedule and zone from the line and the `CRON_TZ=`/`TZ=` above it), the
//! crontabs rewritten with each such command run through `jobwatch run <slug> --`, and a note
//! for every line left as it was and why. Lines already wrapped keep their slug, so a second
//! run proposes the same jobs and changes no line.

use std::collections::BTreeSet;

use jobwatch_core::{Schedule, Slug};

use super::crontab::{self, Directive, Entry, Kind};
use super::jobs_file::Proposed;
use super::slug;

/// Vixie cron refuses longer commands (`MAX_COMMAND`); a line that would outgrow it once
/// wrapped is left as it is.
const MAX_COMMAND: usize = 999;
const MAX_DESCRIPTION: usize = 200;

/// One crontab to read.
#[derive(Debug, Clone)]
pub struct Source {
    /// How messages name it: a path, or `crontab of <user>`.
    pub name: String,
    pub text: String,
    /// A system crontab: its schedule lines name a user.
    pub with_user: bool,
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The zone of lines no `CRON_TZ=` or `TZ=` applies to (the host's, normally).
    pub default_tz: String,
    /// How the rewritten lines call jobwatch (an absolute path: cron's PATH is short).
    pub jobwatch: String,
    /// Settings each rewritten crontab needs for `jobwatch run` (`JOBWATCH_URL`, ...), added
    /// at its top unless it sets them already.
    pub env: Vec<(String, String)>,
}

/// A crontab and what it becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Rewritten {
    pub name: String,
    pub old: String,
    pub new: String,
}

#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub jobs: Vec<Proposed>,
    pub crontabs: Vec<Rewritten>,
    /// Lines left as they were, and assumptions made, each `<file>:<line>: <why>`.
    pub notes: Vec<String>,
}

/// A command's text made safe inside single quotes for the shell.
fn single_quoted(text: &str) -> String {
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// Whether `command` runs the same given to `jobwatch run --` word by word as given to a
/// shell: no quoting, expansion, redirection or leading assignment to interpret.
fn is_plain(command: &str) -> bool {
    let first = command.split_whitespace().next().unwrap_or_default();
    !first.contains('=')
        && command
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " _-./,:@+=".contains(c))
}

/// The wrapped command: exit status, output and signals pass through `jobwatch run`, and
/// what follows a `%` stays the command's standard input, as cron gives it.
fn wrap(options: &Options, slug: &str, shell: Option<&str>, entry: &Entry) -> String {
    let command = entry.shell_part().trim_end();
    let inner = match shell {
        _ if is_plain(command) => command.to_string(),
        // The crontab's SHELL runs its commands; cron puts it in their environment.
        Some(_) => format!("\"$SHELL\" -c {}", single_quoted(command)),
        None => format!("sh -c {}", single_quoted(command)),
    };
    format!(
        "{} run {slug} -- {inner}{}",
        options.jobwatch,
        entry.stdin_part()
    )
}

/// The command as the shell gets it (`\%` is `%`), shortened: a job's description.
fn describe(command: &str) -> String {
    let command = command.trim().replace("\\%", "%");
    if command.chars().count() <= MAX_DESCRIPTION {
        return command;
    }
    let short: String = command.chars().take(MAX_DESCRIPTION - 1).collect();
    format!("{short}…")
}

/// The command inside a wrapped line (`... -- <command>`), for its description.
fn unwrapped(command: &str) -> &str {
    command
        .split_once(" -- ")
        .map_or(command, |(_, inner)| inner)
}

/// Proposes jobs and rewrites for `sources`.
pub fn discover(sources: &[Source], options: &Options) -> Discovery {
    let parsed: Vec<Vec<crontab::Line>> = sources
        .iter()
        .map(|s| crontab::parse(&s.text, s.with_user))
        .collect();
    // Slugs already in use (wrapped lines, `# jobwatch: <slug>`) are not given out again.
    let mut taken: BTreeSet<String> = BTreeSet::new();
    for line in parsed.iter().flatten() {
        match &line.kind {
            Kind::Entry(entry) => taken.extend(slug::wrapped(&entry.command)),
            Kind::Directive(Directive::Slug(s)) => {
                taken.insert(s.clone());
            }
            _ => {}
        }
    }
    let mut discovery = Discovery::default();
    let mut proposed: BTreeSet<String> = BTreeSet::new();
    for (source, lines) in sources.iter().zip(&parsed) {
        let mut state = FileState::default();
        let mut out: Vec<String> = Vec::with_capacity(lines.len());
        for line in lines {
            let at = format!("{}:{}", source.name, line.number);
            let kept = match &line.kind {
                Kind::Env { name, value } => {
                    state.set(name, value);
                    None
                }
                Kind::Directive(directive) => {
                    state.directive = Some(directive.clone());
                    None
                }
                Kind::Invalid(reason) => {
                    discovery
                        .notes
                        .push(format!("{at}: {reason}; left as it is"));
                    None
                }
                Kind::Blank | Kind::Comment => None,
                Kind::Entry(entry) => {
                    let directive = state.directive.take();
                    let mut ctx = Ctx {
                        at: &at,
                        options,
                        taken: &mut taken,
                        proposed: &mut proposed,
                        discovery: &mut discovery,
                    };
                    ctx.entry(&mut state, entry, directive, &line.text)
                }
            };
            out.push(kept.unwrap_or_else(|| line.text.clone()));
        }
        if state.wrapped {
            let missing: Vec<String> = options
                .env
                .iter()
                .filter(|(name, _)| !state.names.contains(name))
                .map(|(name, value)| format!("{name}={value}"))
                .collect();
            if !missing.is_empty() {
                let mut head =
                    vec!["# Where `jobwatch run` reports (added by jobwatch discover)".to_string()];
                head.extend(missing);
                head.append(&mut out);
                out = head;
            }
        }
        if state.used_default_tz {
            discovery.notes.push(format!(
                "{}: no CRON_TZ= or TZ=: its schedules are read in {} (--default-tz)",
                source.name, options.default_tz
            ));
        }
        let mut new = out.join("\n");
        if source.text.ends_with('\n') || !new.is_empty() {
            new.push('\n');
        }
        discovery.crontabs.push(Rewritten {
            name: source.name.clone(),
            old: source.text.clone(),
            new,
        });
    }
    discovery
}

/// What the lines above a line set, as cron reads a file top to bottom.
#[derive(Default)]
struct FileState {
    cron_tz: Option<String>,
    tz: Option<String>,
    shell: Option<String>,
    directive: Option<Directive>,
    names: BTreeSet<String>,
    /// Some line of the file runs through jobwatch (wrapped now or before).
    wrapped: bool,
    used_default_tz: bool,
}

impl FileState {
    fn set(&mut self, name: &str, value: &str) {
        self.names.insert(name.to_string());
        let value = (!value.is_empty()).then(|| value.to_string());
        match name {
            "CRON_TZ" => self.cron_tz = value,
            "TZ" => self.tz = value,
            "SHELL" => self.shell = value,
            _ => {}
        }
    }
}

struct Ctx<'a> {
    at: &'a str,
    options: &'a Options,
    taken: &'a mut BTreeSet<String>,
    proposed: &'a mut BTreeSet<String>,
    discovery: &'a mut Discovery,
}

impl Ctx<'_> {
    fn note(&mut self, text: String) {
        self.discovery.notes.push(format!("{}: {text}", self.at));
    }

    /// The line that replaces a schedule line, or `None` to keep it.
    fn entry(
        &mut self,
        state: &mut FileState,
        entry: &Entry,
        directive: Option<Directive>,
        text: &str,
    ) -> Option<String> {
        if directive == Some(Directive::Ignore) {
            self.note("ignored (# jobwatch: ignore)".to_string());
            return None;
        }
        if entry.schedule == "@reboot" {
            self.note("@reboot runs once at boot, not on a schedule: skipped".to_string());
            return None;
        }
        let tz = match (&state.cron_tz, &state.tz) {
            (Some(tz), _) | (None, Some(tz)) => tz.clone(),
            (None, None) => {
                state.used_default_tz = true;
                self.options.default_tz.clone()
            }
        };
        if let Err(e) = Schedule::cron(&entry.schedule, &tz) {
            self.note(format!("{e}; left as it is"));
            return None;
        }
        let already = slug::wrapped(&entry.command);
        let slug = match (&already, directive) {
            (Some(slug), _) => slug.clone(),
            (None, Some(Directive::Slug(wanted))) => match Slug::parse(&wanted) {
                Ok(slug) => slug.as_str().to_string(),
                Err(e) => {
                    self.note(format!("# jobwatch: {e}; left as it is"));
                    return None;
                }
            },
            (None, _) => {
                let derived = slug::derive(entry.shell_part());
                let taken = &*self.taken;
                slug::unique(&derived, &|s| taken.contains(s))
            }
        };
        if !self.proposed.insert(slug.clone()) {
            self.note(format!(
                "job '{slug}' is already declared by an earlier line; left as it is"
            ));
            return None;
        }
        self.taken.insert(slug.clone());
        let command = unwrapped(entry.shell_part());
        let job = Proposed {
            slug: slug.clone(),
            schedule: entry.schedule.clone(),
            tz,
            description: describe(command),
            max_runtime: slug::timeout_of(command),
        };
        let replacement = if already.is_some() {
            None
        } else {
            let wrapped = wrap(self.options, &slug, state.shell.as_deref(), entry);
            if wrapped.len() > MAX_COMMAND {
                self.note(format!(
                    "the command would be longer than cron takes ({MAX_COMMAND} bytes) once wrapped; left as it is"
                ));
                self.proposed.remove(&slug);
                return None;
            }
            Some(format!("{}{wrapped}", &text[..entry.command_at]))
        };
        state.wrapped = true;
        self.discovery.jobs.push(job);
        replacement
    }
}
