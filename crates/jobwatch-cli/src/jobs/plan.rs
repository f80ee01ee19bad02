//! The plan of `jobs apply`: what applying the declared jobs to a server changes (create /
//! update / unchanged / delete), found by comparing every setting after normalising both
//! sides, and how it is printed.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use jobwatch_core::{JobDoc, Slug};
use serde_json::{Map, Value};

use super::file::Declared;
use crate::client::JobView;

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
/// writes a setting differently, e.g. `90m` for `1h30m`, still compares equal). Settings it
/// does not understand are compared as written.
pub(super) fn server_settings(view: &JobView) -> Map<String, Value> {
    let raw = view.raw.as_object().cloned().unwrap_or_default();
    let normalised = JobDoc::from_settings_in(&raw).ok().and_then(|doc| {
        let slug = Slug::parse(&view.slug).ok()?;
        doc.into_spec(slug).ok()
    });
    match normalised {
        Some(spec) => spec.to_settings_object(),
        None => JobDoc::setting_names()
            .into_iter()
            .filter_map(|name| {
                raw.get(name)
                    .filter(|v| !v.is_null())
                    .map(|v| (name.to_string(), v.clone()))
            })
            .collect(),
    }
}

pub(super) fn show(value: Option<&Value>) -> String {
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
        _ if settings.get("on_demand") == Some(&Value::Bool(true)) => {
            jobwatch_core::job::ON_DEMAND.to_string()
        }
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
                let changes: Vec<String> = JobDoc::setting_names()
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

#[cfg(test)]
mod tests {
    use jobwatch_core::{Duration, Severity};
    use serde_json::json;

    use super::*;
    use crate::jobs::file::parse_jobs_file;

    const FILE: &str = r#"
[jobs.nightly-backup]
schedule = "0 3 * * *"
tz = "Europe/Berlin"
max_runtime = "2h"

[jobs.heartbeat]
every = "1m"
grace = "30s"
"#;

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

    /// A cron job with every setting away from its default. A struct literal without `..`: a
    /// new `JobDoc` field does not compile until it is given a value here, and the test below
    /// then checks it goes from the file through the plan into the request.
    fn every_setting() -> JobDoc {
        JobDoc {
            schedule: Some("*/5 * * * *".into()),
            tz: Some("Asia/Seoul".into()),
            every: None,
            on_demand: None,
            grace: Some(Duration::from_mins(2)),
            max_runtime: Some(Duration::from_hours(2)),
            min_runtime: Some(Duration::from_secs(10)),
            failure_threshold: Some(3),
            recovery_threshold: Some(2),
            severity: Some(Severity::Critical),
            tags: Some(vec!["db".into()]),
            description: Some("nightly dump".into()),
            late_alert: Some(true),
            repeat_interval: Some(Duration::from_hours(8)),
            group: Some("db-hosts".into()),
            flap_threshold: Some(6),
            flap_window: Some(Duration::from_hours(2)),
            flap_stable: Some(Duration::from_mins(45)),
            paused: None,
        }
    }

    /// The settings `doc` gives, as the lines of a TOML table (a JSON scalar or list of
    /// strings is also TOML).
    fn toml_table(doc: &JobDoc) -> String {
        doc.settings()
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .map(|(name, value)| format!("{name} = {value}\n"))
            .collect()
    }

    #[test]
    fn every_setting_goes_from_the_file_through_the_plan_into_the_request() {
        let cron = every_setting();
        let interval = cron.clone().overlay(JobDoc {
            every: Some(Duration::from_mins(15)),
            ..JobDoc::default()
        });
        let on_demand = cron.clone().overlay(JobDoc {
            on_demand: Some(true),
            ..JobDoc::default()
        });
        for doc in [cron, interval, on_demand] {
            let table = toml_table(&doc);
            let top_level = format!("[jobs.a]\n{table}");
            let per_env = format!("[jobs.a]\nevery = \"1h\"\n\n[env.prod.jobs.a]\n{table}");
            for (text, env) in [(top_level, None), (per_env, Some("prod"))] {
                let declared = parse_jobs_file(&text, "jobs.toml", env).unwrap();
                assert_eq!(declared[0].doc, doc, "{text}");
                // A server holding the job with the defaults: every setting the file gives is
                // an update, and the request sends them all.
                let server = view(json!({"slug": "a", "status": "up", "every": "1h"}));
                let (items, _) = plan(&declared, &[server], false);
                let Step::Update { doc: sent, changes } = &items[0].step else {
                    panic!("{text}: {:?}", items[0].step);
                };
                assert_eq!(sent, &doc);
                let changed: Vec<&str> =
                    changes.iter().filter_map(|c| c.split(':').next()).collect();
                for (name, value) in doc.settings() {
                    if !value.is_null() {
                        assert!(changed.contains(&name), "{name} in {changes:?}");
                    }
                }
                // A server holding exactly the declared job: nothing to change.
                let mut same = declared[0].settings.clone();
                same.insert("slug".into(), json!("a"));
                same.insert("status".into(), json!("up"));
                let (items, _) = plan(&declared, &[view(Value::Object(same))], false);
                assert_eq!(items[0].step, Step::Unchanged, "{text}");
            }
        }
    }
}
