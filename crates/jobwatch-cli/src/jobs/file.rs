//! The jobs file: a TOML file declaring one table per job, with the settings of the admin API,
//! and `[env.<name>.jobs.<slug>]` tables that add a job for one environment or override
//! settings of a top-level one. Parsing keeps each table's line, so errors point at it.

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
                    selected.insert(slug.clone(), (base.overlay(over), lines));
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
        let settings = doc
            .clone()
            .into_spec(parsed)
            .map_err(|e| anyhow!("{at}: job '{slug}': {e}"))?
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
}
