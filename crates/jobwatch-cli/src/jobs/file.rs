//! The jobs file: a TOML file declaring one table per job, with the settings of the admin API,
//! and `[env.<name>.jobs.<slug>]` tables that add a job for one environment or override
//! settings of a top-level one. Parsing keeps where each table and setting is written, so an
//! error points at the setting at fault (`jobs.toml:7:9: ...`), or at the table when no single
//! setting is.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use jobwatch_core::{JobDoc, Slug};
use serde::Deserialize;
use serde_json::{Map, Value};
use toml::Spanned;

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

/// The same file read as plain values, for where each setting is written: the typed parse
/// above checks the settings, this one only locates them.
#[derive(Deserialize)]
struct Locations {
    #[serde(default)]
    jobs: BTreeMap<String, BTreeMap<String, Spanned<toml::Value>>>,
    #[serde(default)]
    env: BTreeMap<String, EnvLocations>,
}

#[derive(Deserialize)]
struct EnvLocations {
    #[serde(default)]
    jobs: BTreeMap<String, BTreeMap<String, Spanned<toml::Value>>>,
}

/// `line:column` (both from 1) of each setting's value in one job table.
type SettingAt = BTreeMap<String, String>;

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

/// `line:column` of a byte offset, the column counted in characters.
fn line_column(text: &str, offset: usize) -> String {
    let before = text.get(..offset).unwrap_or(text);
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    format!("{}:{column}", line_of(text, offset))
}

fn settings_at(text: &str, table: Option<&BTreeMap<String, Spanned<toml::Value>>>) -> SettingAt {
    table
        .into_iter()
        .flatten()
        .map(|(key, value)| (key.clone(), line_column(text, value.span().start)))
        .collect()
}

/// A TOML error as `file:line:column: reason` on one line, like the file's other errors.
fn toml_error(name: &str, text: &str, e: &toml::de::Error) -> anyhow::Error {
    let reason = e
        .message()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("; ");
    match e.span() {
        Some(span) => anyhow!("{name}:{}: {reason}", line_column(text, span.start)),
        None => anyhow!("{name}: {reason}"),
    }
}

/// Parses and validates a jobs file; `name` is used in messages.
pub fn parse_jobs_file(text: &str, name: &str, env: Option<&str>) -> Result<Vec<Declared>> {
    let file: JobsFile = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
    let locations: Locations = toml::from_str(text).map_err(|e| toml_error(name, text, &e))?;
    let mut selected: BTreeMap<String, (JobDoc, Vec<usize>, SettingAt)> = file
        .jobs
        .into_iter()
        .map(|(slug, doc)| {
            let line = line_of(text, doc.span().start);
            let at = settings_at(text, locations.jobs.get(&slug));
            (slug, (doc.into_inner(), vec![line], at))
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
        let env_locations = locations.env.get(env);
        for (slug, over) in &section.jobs {
            let line = line_of(text, over.span().start);
            let over_at = settings_at(text, env_locations.and_then(|e| e.jobs.get(slug)));
            let over = over.get_ref().clone();
            match selected.remove(slug) {
                Some((base, mut lines, mut at)) => {
                    lines.push(line);
                    // A setting the environment gives is the one in force, so errors point there.
                    at.extend(over_at);
                    selected.insert(slug.clone(), (base.overlay(over), lines, at));
                }
                None => {
                    selected.insert(slug.clone(), (over, vec![line], over_at));
                }
            }
        }
    }
    let mut declared = Vec::new();
    for (slug, (doc, lines, setting_at)) in selected {
        let tables = lines
            .iter()
            .map(|l| format!("{name}:{l}"))
            .collect::<Vec<_>>()
            .join(", ");
        let at = |setting: Option<&str>| match setting.and_then(|s| setting_at.get(s)) {
            Some(position) => format!("{name}:{position}"),
            None => tables.clone(),
        };
        let parsed = Slug::parse(&slug).map_err(|e| anyhow!("{}: job '{slug}': {e}", at(None)))?;
        if doc.paused.is_some() {
            bail!(
                "{}: job '{slug}': `paused` is not declared in the jobs file; use `jobwatch jobs pause {slug}` and `jobwatch jobs resume {slug}`",
                at(Some("paused"))
            );
        }
        let settings = doc
            .clone()
            .into_spec(parsed)
            .map_err(|e| anyhow!("{}: job '{slug}': {e}", at(e.setting())))?
            .to_settings_object();
        declared.push(Declared {
            slug,
            doc,
            settings,
        });
    }
    Ok(declared)
}

pub(super) fn load(path: &Path, env: Option<&str>) -> Result<Vec<Declared>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the jobs file {}", path.display()))?;
    parse_jobs_file(&text, &path.display().to_string(), env)
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

    /// A jobs file whose `[jobs.backup]` table (line 5) holds `body` from line 6 on.
    fn backup_with(body: &str) -> String {
        format!("# jobs\n[jobs.heartbeat]\nevery = \"1m\"\n\n[jobs.backup]\n{body}")
    }

    fn error_of(text: &str, env: Option<&str>) -> String {
        parse_jobs_file(text, "jobs.toml", env)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_bad_setting_is_reported_at_its_own_line_and_column() {
        for (body, expected) in [
            (
                "schedule = \"0 3 * * *\"\ngrace = \"5x\"\n",
                "jobs.toml:7:9: invalid duration '5x': use e.g. 90s, 10m, 1h30m, 2d or whole seconds",
            ),
            (
                "schedule = \"0 25 * * *\"\n",
                "jobs.toml:6:12: job 'backup': invalid cron schedule: hour field: value 25 is out of range 0-23",
            ),
            (
                "schedule = \"0 3 * * *\"\ntz = \"EST\"\n",
                "jobs.toml:7:6: job 'backup': tz \"EST\" is an abbreviation, not a time zone: use an IANA name such as America/New_York (or Etc/GMT+5 for a fixed offset of UTC-5)",
            ),
            (
                "every = \"1h\"\ntz = \"UTC\"\n",
                "jobs.toml:7:6: job 'backup': `tz` only applies to a cron `schedule`",
            ),
            (
                "every = \"1h\"\nfailure_threshold = 0\n",
                "jobs.toml:7:21: job 'backup': `failure_threshold` must be between 1 and 1000",
            ),
            (
                "every = \"1h\"\nrecovery_threshold = 5000\n",
                "jobs.toml:7:22: job 'backup': `recovery_threshold` must be between 1 and 1000",
            ),
            (
                "every = \"1h\"\nmin_runtime = \"2h\"\n",
                "jobs.toml:7:15: job 'backup': `min_runtime` (2h) must be below `max_runtime` (1h)",
            ),
            (
                "every = \"1h\"\ngroup = \"db hosts\"\n",
                "jobs.toml:7:9: job 'backup': invalid group 'db hosts': use 1-64 characters",
            ),
            (
                "every = \"1h\"\nflap_threshold = 500\n",
                "jobs.toml:7:18: job 'backup': `flap_threshold` must be between 0 (off) and 100",
            ),
            (
                "every = \"1h\"\nflap_stable = \"10s\"\n",
                "jobs.toml:7:15: job 'backup': `flap_stable` must be between 1m and 1d",
            ),
            (
                "every = \"1h\"\npaused = true\n",
                "jobs.toml:7:10: job 'backup': `paused` is not declared in the jobs file",
            ),
        ] {
            let err = error_of(&backup_with(body), None);
            assert!(
                err.starts_with(expected),
                "{body}:\n  got  {err}\n  want {expected}"
            );
        }
    }

    #[test]
    fn errors_toml_finds_are_reported_at_their_line_and_column_on_one_line() {
        let err = error_of(&backup_with("every = \"1h\"\ncolour = \"red\"\n"), None);
        assert!(
            err.starts_with("jobs.toml:7:1: unknown field `colour`, expected one of"),
            "{err}"
        );
        let err = error_of(
            &backup_with("every = \"1h\"\nfailure_threshold = -1\n"),
            None,
        );
        assert!(err.starts_with("jobs.toml:7:21: "), "{err}");
        assert!(!err.contains('\n'), "{err}");
    }

    #[test]
    fn an_error_no_single_setting_causes_is_reported_at_the_table() {
        assert_eq!(
            error_of(&backup_with("grace = \"5m\"\n"), None),
            "jobs.toml:5: job 'backup': a job needs `schedule` (cron), `every` (interval) or `on_demand = true`"
        );
        let err = error_of("[jobs.Bad]\nevery = \"1m\"\n", None);
        assert!(
            err.starts_with("jobs.toml:1: job 'Bad': invalid slug 'Bad'"),
            "{err}"
        );
    }

    #[test]
    fn a_bad_environment_override_is_reported_where_the_environment_sets_it() {
        let text = backup_with(
            "schedule = \"0 3 * * *\"\ntz = \"Europe/Berlin\"\n\n[env.prod.jobs.backup]\ntz = \"CET\"\n",
        );
        assert!(parse_jobs_file(&text, "jobs.toml", None).is_ok());
        let err = error_of(&text, Some("prod"));
        assert!(
            err.starts_with("jobs.toml:10:6: job 'backup': tz \"CET\" is an abbreviation"),
            "{err}"
        );
        // A setting the override leaves alone is still found in the top-level table.
        let text = backup_with(
            "schedule = \"0 3 * * *\"\nmin_runtime = \"3h\"\n\n[env.prod.jobs.backup]\nmax_runtime = \"4h\"\n",
        );
        assert!(parse_jobs_file(&text, "jobs.toml", Some("prod")).is_ok());
        let text = text.replace("\"4h\"", "\"2h\"");
        let err = error_of(&text, Some("prod"));
        assert!(
            err.starts_with("jobs.toml:7:15: job 'backup': `min_runtime` (3h) must be below"),
            "{err}"
        );
    }
}
