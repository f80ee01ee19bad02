//! A job's settings, described once: their names in the order plans list them, their values by
//! name, how an override lays over a base (an `[env.X]` table of a jobs file), and the form with
//! every setting explicit that stores persist, the admin API shows and `jobs apply` compares.
//!
//! Each function here takes [`JobDoc`] apart without `..`, so a field added to it does not
//! compile until it is handled here, and from here everywhere settings are listed or merged.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::job::{JobDoc, JobError, JobSpec, Slug};

/// How many settings a job has (every [`JobDoc`] field but `paused`).
pub const SETTING_COUNT: usize = 18;

/// One setting's value as JSON, `null` when unset.
fn value<T: Serialize>(setting: &Option<T>) -> Value {
    serde_json::to_value(setting).unwrap_or(Value::Null)
}

impl JobDoc {
    /// The settings by name, in the order plans list them, as JSON (`null` when unset). The
    /// names are those of the JSON document. `paused` is not a setting but an action an update
    /// may carry, so it is left out.
    pub fn settings(&self) -> [(&'static str, Value); SETTING_COUNT] {
        let JobDoc {
            schedule,
            tz,
            every,
            on_demand,
            grace,
            max_runtime,
            min_runtime,
            failure_threshold,
            recovery_threshold,
            severity,
            tags,
            description,
            late_alert,
            repeat_interval,
            group,
            flap_threshold,
            flap_window,
            flap_stable,
            paused: _,
        } = self;
        [
            ("schedule", value(schedule)),
            ("tz", value(tz)),
            ("every", value(every)),
            ("on_demand", value(on_demand)),
            ("grace", value(grace)),
            ("max_runtime", value(max_runtime)),
            ("min_runtime", value(min_runtime)),
            ("failure_threshold", value(failure_threshold)),
            ("recovery_threshold", value(recovery_threshold)),
            ("severity", value(severity)),
            ("tags", value(tags)),
            ("description", value(description)),
            ("late_alert", value(late_alert)),
            ("repeat_interval", value(repeat_interval)),
            ("group", value(group)),
            ("flap_threshold", value(flap_threshold)),
            ("flap_window", value(flap_window)),
            ("flap_stable", value(flap_stable)),
        ]
    }

    /// The names of the settings, in the order plans list them.
    pub fn setting_names() -> [&'static str; SETTING_COUNT] {
        JobDoc::default().settings().map(|(name, _)| name)
    }

    /// The settings found in `object`, which may hold more (the admin API's view of a job also
    /// has its state and URLs); `null` counts as unset.
    pub fn from_settings_in(object: &Map<String, Value>) -> Result<JobDoc, serde_json::Error> {
        let settings: Map<String, Value> = JobDoc::setting_names()
            .into_iter()
            .filter_map(|name| {
                object
                    .get(name)
                    .filter(|v| !v.is_null())
                    .map(|v| (name.to_string(), v.clone()))
            })
            .collect();
        serde_json::from_value(Value::Object(settings))
    }

    /// `over` laid over `self`: each setting `over` gives replaces this one, the others stay.
    /// A schedule of one kind replaces the other kinds: an `every` drops `schedule` and `tz`, a
    /// `schedule` drops `every`, and `on_demand = true` drops all three (either of them drops
    /// `on_demand`).
    pub fn overlay(self, over: JobDoc) -> JobDoc {
        let JobDoc {
            schedule,
            tz,
            every,
            on_demand,
            grace,
            max_runtime,
            min_runtime,
            failure_threshold,
            recovery_threshold,
            severity,
            tags,
            description,
            late_alert,
            repeat_interval,
            group,
            flap_threshold,
            flap_window,
            flap_stable,
            paused,
        } = over;
        let mut base = self;
        if every.is_some() || on_demand == Some(true) {
            base.schedule = None;
            base.tz = None;
        }
        if schedule.is_some() || on_demand == Some(true) {
            base.every = None;
        }
        if schedule.is_some() || every.is_some() {
            base.on_demand = None;
        }
        JobDoc {
            schedule: schedule.or(base.schedule),
            tz: tz.or(base.tz),
            every: every.or(base.every),
            on_demand: on_demand.or(base.on_demand),
            grace: grace.or(base.grace),
            max_runtime: max_runtime.or(base.max_runtime),
            min_runtime: min_runtime.or(base.min_runtime),
            failure_threshold: failure_threshold.or(base.failure_threshold),
            recovery_threshold: recovery_threshold.or(base.recovery_threshold),
            severity: severity.or(base.severity),
            tags: tags.or(base.tags),
            description: description.or(base.description),
            late_alert: late_alert.or(base.late_alert),
            repeat_interval: repeat_interval.or(base.repeat_interval),
            group: group.or(base.group),
            flap_threshold: flap_threshold.or(base.flap_threshold),
            flap_window: flap_window.or(base.flap_window),
            flap_stable: flap_stable.or(base.flap_stable),
            paused: paused.or(base.paused),
        }
    }

    /// The document with every setting explicit: validated, defaults filled in and each value
    /// written one way (`90m` becomes `1h30m`), so two documents meaning the same compare equal.
    pub fn explicit(self, slug: Slug) -> Result<JobDoc, JobError> {
        Ok(self.into_spec(slug)?.to_doc())
    }
}

impl JobSpec {
    /// [`JobSpec::to_doc`] as a JSON object: what the admin API shows of a job's definition.
    /// Optional settings that are unset are left out.
    pub fn to_settings_object(&self) -> Map<String, Value> {
        match serde_json::to_value(self.to_doc()) {
            Ok(Value::Object(map)) => map,
            // A document of plain strings, numbers and lists always serialises to an object.
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::duration::Duration;
    use crate::job::Severity;

    /// Every field set away from its default. A struct literal without `..`: a new field does
    /// not compile until it is given a value here, and then the tests below check it is listed
    /// and merged.
    fn every_field() -> JobDoc {
        JobDoc {
            schedule: Some("*/5 * * * *".into()),
            tz: Some("Asia/Seoul".into()),
            every: Some(Duration::from_mins(15)),
            on_demand: Some(true),
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
            group: Some("db-host-1".into()),
            flap_threshold: Some(6),
            flap_window: Some(Duration::from_hours(2)),
            flap_stable: Some(Duration::from_mins(45)),
            paused: Some(true),
        }
    }

    #[test]
    fn settings_are_every_field_of_the_document_but_paused() {
        let doc = every_field();
        let Ok(Value::Object(json)) = serde_json::to_value(&doc) else {
            panic!("a document serialises to an object");
        };
        let mut expected: Vec<(&str, &Value)> = json
            .iter()
            .filter(|(name, _)| name.as_str() != "paused")
            .map(|(name, value)| (name.as_str(), value))
            .collect();
        expected.sort_by_key(|(name, _)| *name);
        let settings = doc.settings();
        let mut listed: Vec<(&str, &Value)> = settings.iter().map(|(n, v)| (*n, v)).collect();
        listed.sort_by_key(|(name, _)| *name);
        assert_eq!(listed, expected);
        assert_eq!(JobDoc::setting_names().len(), SETTING_COUNT);
        assert!(
            JobDoc::default()
                .settings()
                .iter()
                .all(|(_, v)| v.is_null()),
            "unset settings are null"
        );
    }

    #[test]
    fn an_override_replaces_exactly_the_settings_it_gives() {
        let full = every_field();
        assert_eq!(JobDoc::default().overlay(full.clone()), full);
        assert_eq!(full.clone().overlay(JobDoc::default()), full);
        // Each setting on its own replaces just that setting (the schedules are covered below:
        // they also drop the other kind of schedule).
        let base = JobDoc {
            every: None,
            on_demand: None,
            paused: None,
            ..every_field()
        };
        let other = JobDoc {
            schedule: None,
            every: None,
            on_demand: None,
            tz: Some("UTC".into()),
            grace: Some(Duration::from_mins(9)),
            max_runtime: Some(Duration::from_hours(9)),
            min_runtime: Some(Duration::from_secs(9)),
            failure_threshold: Some(9),
            recovery_threshold: Some(9),
            severity: Some(Severity::Warning),
            tags: Some(vec!["other".into()]),
            description: Some("other".into()),
            late_alert: Some(false),
            repeat_interval: Some(Duration::from_hours(9)),
            group: Some("other".into()),
            flap_threshold: Some(9),
            flap_window: Some(Duration::from_hours(9)),
            flap_stable: Some(Duration::from_mins(9)),
            paused: None,
        };
        for (name, new) in other.settings() {
            if new.is_null() {
                continue;
            }
            let only = Map::from_iter([(name.to_string(), new.clone())]);
            let merged = base
                .clone()
                .overlay(JobDoc::from_settings_in(&only).unwrap());
            for ((n, before), (_, after)) in base.settings().into_iter().zip(merged.settings()) {
                if n == name {
                    assert_eq!(after, new, "{n} is replaced");
                } else {
                    assert_eq!(after, before, "{n} stays when {name} is overridden");
                }
            }
        }
    }

    #[test]
    fn a_schedule_of_one_kind_replaces_the_other_kind() {
        let cron = JobDoc {
            schedule: Some("0 3 * * *".into()),
            tz: Some("Europe/Berlin".into()),
            ..JobDoc::default()
        };
        let every = JobDoc {
            every: Some(Duration::from_mins(10)),
            ..JobDoc::default()
        };
        let on_demand = JobDoc {
            on_demand: Some(true),
            ..JobDoc::default()
        };
        assert_eq!(cron.clone().overlay(every.clone()), every);
        assert_eq!(every.clone().overlay(cron.clone()), cron);
        assert_eq!(cron.clone().overlay(on_demand.clone()), on_demand);
        assert_eq!(every.clone().overlay(on_demand.clone()), on_demand);
        assert_eq!(on_demand.clone().overlay(cron.clone()), cron);
        assert_eq!(on_demand.overlay(every.clone()), every);
    }

    #[test]
    fn settings_are_read_out_of_a_larger_object_and_made_explicit() {
        let view = serde_json::json!({
            "slug": "backup", "status": "up", "every": "90m", "late_alert": true,
            "min_runtime": null, "ping_url": "http://example.com/ping/k/backup"
        });
        let doc = JobDoc::from_settings_in(view.as_object().unwrap()).unwrap();
        assert_eq!(doc.every, Some(Duration::from_mins(90)));
        assert_eq!(doc.late_alert, Some(true));
        let explicit = doc.explicit(Slug::parse("backup").unwrap()).unwrap();
        assert_eq!(explicit.settings()[2].1, "1h30m");
        assert_eq!(explicit.grace, Some(crate::job::DEFAULT_GRACE));
        let spec = explicit
            .clone()
            .into_spec(Slug::parse("backup").unwrap())
            .unwrap();
        let object = spec.to_settings_object();
        assert_eq!(object["late_alert"], true);
        assert!(
            !object.contains_key("schedule"),
            "unset settings are left out"
        );
    }
}
