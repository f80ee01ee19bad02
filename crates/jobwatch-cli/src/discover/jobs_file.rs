//! The jobs discover proposes, merged into a jobs file (the format `jobwatch jobs apply`
//! reads) in place: a job's schedule and zone follow its crontab line, every other setting
//! and every comment a person wrote stays as it was. Merging the same jobs twice changes
//! nothing.

use anyhow::{Context, Result};
use jobwatch_core::Duration;
use toml_edit::{DocumentMut, Item, Table, value};

/// One job as a crontab line declares it.
#[derive(Debug, Clone, PartialEq)]
pub struct Proposed {
    pub slug: String,
    /// Five fields or a nickname (`@daily`).
    pub schedule: String,
    pub tz: String,
    /// The command, shortened: the job's description when the file has none.
    pub description: String,
    /// From a `timeout <duration>` in the command, when the file says nothing.
    pub max_runtime: Option<Duration>,
}

/// `existing` (a jobs file's text, empty for none) with `jobs` merged in.
pub fn merge(existing: &str, jobs: &[Proposed]) -> Result<String> {
    let mut doc: DocumentMut = existing
        .parse()
        .context("the jobs file is not valid TOML; fix it or choose another with --jobs-file")?;
    if !doc.contains_key("jobs") {
        let mut table = Table::new();
        table.set_implicit(true);
        doc.insert("jobs", Item::Table(table));
    }
    let Some(all) = doc["jobs"].as_table_mut() else {
        anyhow::bail!("`jobs` in the jobs file is not a table of jobs");
    };
    for job in jobs {
        if !all.contains_key(&job.slug) {
            all.insert(&job.slug, Item::Table(Table::new()));
        }
        let Some(table) = all[&job.slug].as_table_like_mut() else {
            anyhow::bail!("jobs.{} in the jobs file is not a table", job.slug);
        };
        // The crontab line is where the schedule lives: a schedule of another kind goes.
        table.remove("every");
        table.remove("on_demand");
        set(table, "schedule", &job.schedule);
        set(table, "tz", &job.tz);
        if !table.contains_key("description") {
            table.insert("description", value(job.description.as_str()));
        }
        if let Some(limit) = job.max_runtime
            && !table.contains_key("max_runtime")
        {
            table.insert("max_runtime", value(limit.to_string()));
        }
    }
    Ok(doc.to_string())
}

/// Sets `key` to `text` unless it already says so (keeping the value's formatting then).
fn set(table: &mut dyn toml_edit::TableLike, key: &str, text: &str) {
    if table.get(key).and_then(Item::as_str) != Some(text) {
        table.insert(key, value(text));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn backup() -> Proposed {
        Proposed {
            slug: "backup".into(),
            schedule: "0 23 * * *".into(),
            tz: "Asia/Seoul".into(),
            description: "/srv/erp/bin/backup.sh".into(),
            max_runtime: Some(Duration::from_hours(2)),
        }
    }

    #[test]
    fn a_new_file_gets_one_table_per_job() {
        let text = merge("", &[backup()]).unwrap();
        assert_eq!(
            text,
            "[jobs.backup]\nschedule = \"0 23 * * *\"\ntz = \"Asia/Seoul\"\ndescription = \"/srv/erp/bin/backup.sh\"\nmax_runtime = \"2h\"\n"
        );
        assert_eq!(
            merge(&text, &[backup()]).unwrap(),
            text,
            "merging again changes nothing"
        );
    }

    #[test]
    fn hand_edits_and_comments_survive_and_the_schedule_follows_the_crontab() {
        let edited = "# our jobs\n[jobs.backup]\nevery = \"1d\"   # was hand-written\n\
                      max_runtime = \"30m\"\nseverity = \"critical\"\ndescription = \"nightly dump\"\n\n\
                      [jobs.other]\nevery = \"1h\"\n";
        let text = merge(edited, &[backup()]).unwrap();
        assert_eq!(
            text,
            "# our jobs\n[jobs.backup]\nmax_runtime = \"30m\"\nseverity = \"critical\"\ndescription = \"nightly dump\"\nschedule = \"0 23 * * *\"\ntz = \"Asia/Seoul\"\n\n\
             [jobs.other]\nevery = \"1h\"\n"
        );
        assert!(merge("[jobs", &[backup()]).is_err());
        assert!(merge("jobs = 3", &[backup()]).is_err());
    }
}
