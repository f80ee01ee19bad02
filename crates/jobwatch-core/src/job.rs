//! Job definitions: what a job is expected to do (its schedule and limits), in two forms: the
//! validated [`JobSpec`] the engine works with, and the flat [`JobDoc`] users write as JSON and
//! the stores persist.

use std::fmt;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};

use crate::cron::{CronError, CronExpr};
use crate::duration::Duration;
use crate::zone::{self, ZoneError};

/// How a job is identified in URLs: 1-64 characters of `a-z`, `0-9`, `-` and `_`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct Slug(String);

impl Slug {
    pub const MAX_LEN: usize = 64;

    pub fn parse(s: &str) -> Result<Slug, JobError> {
        let valid = !s.is_empty()
            && s.len() <= Self::MAX_LEN
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
        if valid {
            Ok(Slug(s.to_string()))
        } else {
            Err(JobError::BadSlug(crate::text::shorten(s)))
        }
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Slug {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Slug::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// How loudly a job's alerts should be announced.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    #[default]
    Error,
    Critical,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
            Severity::Critical => "critical",
        })
    }
}

/// One fire time of a schedule (see [`Schedule::fire_times`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FireTime {
    pub at: Timestamp,
    /// The wall time the cron line names does not exist that day (a DST gap).
    pub moved_by_dst: bool,
}

/// The note shown beside a fire time moved out of a DST gap.
pub const DST_GAP_NOTE: &str =
    "the scheduled time does not exist that day: runs right after the DST gap, as cron does";

/// When a job is expected to run.
#[derive(Debug, Clone, PartialEq)]
pub enum Schedule {
    /// A cron line evaluated in an IANA time zone, with cron daemon DST behaviour.
    Cron {
        expr: CronExpr,
        tz_name: String,
        tz: TimeZone,
    },
    /// A fixed interval between runs, measured from the previous ping.
    Every(Duration),
    /// No schedule: the job runs when something starts it (a task queue, a deploy, a
    /// person), so it is never missed; failures, timeouts and too-short runs still alert.
    OnDemand,
}

impl Schedule {
    /// A cron schedule in the IANA time zone `tz_name` (abbreviations such as `EST` are
    /// refused: see [`zone::time_zone`]).
    pub fn cron(expr: &str, tz_name: &str) -> Result<Schedule, JobError> {
        Self::cron_in(expr, tz_name, zone::time_zone)
    }

    fn cron_in(
        expr: &str,
        tz_name: &str,
        lookup: fn(&str) -> Result<TimeZone, ZoneError>,
    ) -> Result<Schedule, JobError> {
        let expr = CronExpr::parse(expr).map_err(JobError::BadCron)?;
        let tz = lookup(tz_name).map_err(JobError::BadTimeZone)?;
        Ok(Schedule::Cron {
            expr,
            tz_name: tz_name.to_string(),
            tz,
        })
    }

    pub fn every(period: Duration) -> Result<Schedule, JobError> {
        if period < Duration::from_secs(1) {
            return Err(JobError::IntervalTooShort(period));
        }
        Ok(Schedule::Every(period))
    }

    /// The first expected run strictly after `after`. For an interval, the next run is one
    /// period after the previous ping, so `after` is that ping.
    pub fn next_after(&self, after: Timestamp) -> Option<Timestamp> {
        match self {
            Schedule::Cron { expr, tz, .. } => expr.next_after(after, tz),
            Schedule::Every(period) => after.checked_add(period.to_signed()).ok(),
            Schedule::OnDemand => None,
        }
    }

    /// The IANA zone of a cron schedule; `None` for intervals and on-demand jobs.
    pub fn tz_name(&self) -> Option<&str> {
        match self {
            Schedule::Cron { tz_name, .. } => Some(tz_name),
            Schedule::Every(_) | Schedule::OnDemand => None,
        }
    }

    /// The zone times of this schedule are shown in; `None` (UTC) for intervals and
    /// on-demand jobs.
    pub fn zone(&self) -> Option<&TimeZone> {
        match self {
            Schedule::Cron { tz, .. } => Some(tz),
            Schedule::Every(_) | Schedule::OnDemand => None,
        }
    }

    /// Whether runs are expected at all (an on-demand job is never missed).
    pub fn is_on_demand(&self) -> bool {
        matches!(self, Schedule::OnDemand)
    }

    /// The next `count` fire times after `after`, each marked when a DST gap moved it off
    /// the wall time the cron line names (cron daemons run such a slot right after the gap).
    /// What `jobwatch schedule` prints and the web view's job page shows.
    pub fn fire_times(&self, after: Timestamp, count: usize) -> Vec<FireTime> {
        let mut times = Vec::with_capacity(count);
        let mut cursor = after;
        while times.len() < count {
            let Some(at) = self.next_after(cursor) else {
                break;
            };
            let moved_by_dst = match self {
                Schedule::Cron { expr, tz, .. } => {
                    !expr.matches(at.to_zoned(tz.clone()).datetime())
                }
                Schedule::Every(_) | Schedule::OnDemand => false,
            };
            times.push(FireTime { at, moved_by_dst });
            cursor = at;
        }
        times
    }

    /// Human description, e.g. `0 9 * * * (Asia/Seoul)` or `every 15m`.
    pub fn describe(&self) -> String {
        match self {
            Schedule::Cron { expr, tz_name, .. } => format!("{expr} ({tz_name})"),
            Schedule::Every(period) => format!("every {period}"),
            Schedule::OnDemand => ON_DEMAND.to_string(),
        }
    }
}

/// How an on-demand job's schedule is described everywhere (API, status, report, Slack).
pub const ON_DEMAND: &str = "on demand";

/// A validated job definition.
#[derive(Debug, Clone, PartialEq)]
pub struct JobSpec {
    pub slug: Slug,
    pub schedule: Schedule,
    /// How late a run may start before it counts as missed.
    pub grace: Duration,
    /// A started run not finished by then is timed out.
    pub max_runtime: Duration,
    /// A run finishing faster than this is suspicious ("too short").
    pub min_runtime: Option<Duration>,
    /// Consecutive bad runs (failed, missed, timed out, too short) before the job is down.
    pub failure_threshold: u32,
    /// Consecutive good runs before a down job counts as recovered.
    pub recovery_threshold: u32,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub description: String,
    /// Also announce (as a warning) when an expected run has not started by its slot time.
    pub late_alert: bool,
    /// How often a job still down is announced again; `None` uses the deployment's default,
    /// zero never repeats.
    pub repeat_interval: Option<Duration>,
    /// Jobs of one group that go missed or time out together are announced in one message
    /// (otherwise grouped by the host that pinged, then by environment).
    pub group: Option<String>,
    /// The job's own flapping settings; `None` uses the environment's.
    pub flapping: FlapSettings,
}

/// A job's overrides of its environment's flapping control (see `jobwatch-notify`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FlapSettings {
    /// More health changes than this within the window is flapping; 0 turns it off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Duration>,
    /// How long without a change ends a flapping period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stable: Option<Duration>,
}

impl FlapSettings {
    pub fn is_empty(&self) -> bool {
        *self == FlapSettings::default()
    }
}

/// Bounds of the flapping settings, for jobs and environments alike.
pub const MAX_FLAP_THRESHOLD: u32 = 100;
pub const FLAP_DURATIONS: (Duration, Duration) = (Duration::from_mins(1), Duration::from_hours(24));

/// Checks the flapping settings against their bounds; the error names the setting.
pub fn check_flap_settings(flap: &FlapSettings) -> Result<(), JobError> {
    if flap.threshold.is_some_and(|n| n > MAX_FLAP_THRESHOLD) {
        return Err(JobError::BadFlapThreshold);
    }
    let (min, max) = FLAP_DURATIONS;
    for (name, value) in [("flap_window", flap.window), ("flap_stable", flap.stable)] {
        if value.is_some_and(|d| d < min || d > max) {
            return Err(JobError::BadFlapDuration(name));
        }
    }
    Ok(())
}

/// Checks a group name: 1-64 characters of letters, digits, '-', '_' and '.'.
pub fn check_group(name: &str) -> Result<(), JobError> {
    let valid = (1..=MAX_GROUP_LEN).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if valid {
        Ok(())
    } else {
        Err(JobError::BadGroup(crate::text::shorten(name)))
    }
}

const MAX_GROUP_LEN: usize = 64;

pub const DEFAULT_GRACE: Duration = Duration::from_mins(5);
pub const DEFAULT_MAX_RUNTIME: Duration = Duration::from_hours(1);
/// Jobs auto-created by a `?create=1` ping expect a daily ping, like Healthchecks.
pub const AUTO_CREATE_PERIOD: Duration = Duration::from_hours(24);
pub const AUTO_CREATE_GRACE: Duration = Duration::from_hours(1);
const MAX_TAGS: usize = 20;
const MAX_TAG_LEN: usize = 64;
const MAX_DESCRIPTION_LEN: usize = 1_000;

/// The wire and storage form of a job definition, as users write it:
/// `{"schedule": "0 9 * * *", "tz": "Asia/Seoul", "grace": "10m"}` or `{"every": "15m"}`.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<Duration>,
    /// `true`: no schedule, never missed (see [`Schedule::OnDemand`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_demand: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_runtime: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_runtime: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovery_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub late_alert: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat_interval: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_window: Option<Duration>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_stable: Option<Duration>,
    /// Only meaningful on input: pause or resume as part of an update.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paused: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum JobError {
    #[error("invalid slug '{0}': use 1-64 characters of a-z, 0-9, '-' and '_'")]
    BadSlug(String),
    #[error("invalid cron schedule: {0}")]
    BadCron(CronError),
    #[error("tz {0}")]
    BadTimeZone(ZoneError),
    #[error("a job needs `schedule` (cron), `every` (interval) or `on_demand = true`")]
    NoSchedule,
    #[error("give either `schedule` or `every`, not both")]
    BothSchedules,
    #[error("an `on_demand` job has no `schedule` or `every`")]
    OnDemandWithSchedule,
    #[error("`tz` only applies to a cron `schedule`")]
    TzWithoutCron,
    #[error("interval {0} is too short: the minimum is 1s")]
    IntervalTooShort(Duration),
    #[error("`max_runtime` must be greater than zero")]
    ZeroMaxRuntime,
    #[error("`min_runtime` ({min}) must be below `max_runtime` ({max})")]
    MinAboveMax { min: Duration, max: Duration },
    #[error("`{0}` must be between 1 and 1000")]
    BadThreshold(&'static str),
    #[error("at most 20 tags of at most 64 characters each")]
    BadTags,
    #[error("`description` is longer than 1000 characters")]
    LongDescription,
    #[error("invalid group '{0}': use 1-64 characters of letters, digits, '-', '_' and '.'")]
    BadGroup(String),
    #[error("`flap_threshold` must be between 0 (off) and 100")]
    BadFlapThreshold,
    #[error("`{0}` must be between 1m and 1d")]
    BadFlapDuration(&'static str),
}

impl JobError {
    /// The setting the error is about, so a jobs file can point at the line that wrote it;
    /// `None` when no single setting is at fault (e.g. no schedule at all).
    pub fn setting(&self) -> Option<&'static str> {
        match self {
            JobError::BadSlug(_) | JobError::NoSchedule => None,
            JobError::BadCron(_) => Some("schedule"),
            JobError::BadTimeZone(_) | JobError::TzWithoutCron => Some("tz"),
            JobError::BothSchedules | JobError::IntervalTooShort(_) => Some("every"),
            JobError::OnDemandWithSchedule => Some("on_demand"),
            JobError::ZeroMaxRuntime => Some("max_runtime"),
            JobError::MinAboveMax { .. } => Some("min_runtime"),
            JobError::BadThreshold(name) => Some(name),
            JobError::BadTags => Some("tags"),
            JobError::LongDescription => Some("description"),
            JobError::BadGroup(_) => Some("group"),
            JobError::BadFlapThreshold => Some("flap_threshold"),
            JobError::BadFlapDuration(name) => Some(name),
        }
    }
}

impl JobDoc {
    /// Validates the document into a spec with defaults filled in.
    pub fn into_spec(self, slug: Slug) -> Result<JobSpec, JobError> {
        self.into_spec_with(slug, zone::time_zone)
    }

    /// [`JobDoc::into_spec`] for a definition read back from a store: a time zone saved
    /// before abbreviations were refused still loads, so an upgrade never turns a running job
    /// into an unreadable record (changing the job asks for an IANA name).
    pub fn into_stored_spec(self, slug: Slug) -> Result<JobSpec, JobError> {
        self.into_spec_with(slug, zone::stored_time_zone)
    }

    fn into_spec_with(
        self,
        slug: Slug,
        zone: fn(&str) -> Result<TimeZone, ZoneError>,
    ) -> Result<JobSpec, JobError> {
        let on_demand = self.on_demand.unwrap_or(false);
        let schedule = match (&self.schedule, self.every) {
            (Some(_), Some(_)) => return Err(JobError::BothSchedules),
            (Some(_), None) | (None, Some(_)) if on_demand => {
                return Err(JobError::OnDemandWithSchedule);
            }
            (None, None) if on_demand => {
                if self.tz.is_some() {
                    return Err(JobError::TzWithoutCron);
                }
                Schedule::OnDemand
            }
            (None, None) => return Err(JobError::NoSchedule),
            (Some(expr), None) => {
                Schedule::cron_in(expr, self.tz.as_deref().unwrap_or("UTC"), zone)?
            }
            (None, Some(period)) => {
                if self.tz.is_some() {
                    return Err(JobError::TzWithoutCron);
                }
                Schedule::every(period)?
            }
        };
        let max_runtime = self.max_runtime.unwrap_or(DEFAULT_MAX_RUNTIME);
        if max_runtime.is_zero() {
            return Err(JobError::ZeroMaxRuntime);
        }
        if let Some(min) = self.min_runtime
            && min >= max_runtime
        {
            return Err(JobError::MinAboveMax {
                min,
                max: max_runtime,
            });
        }
        let threshold = |value: Option<u32>, name| match value.unwrap_or(1) {
            n @ 1..=1000 => Ok(n),
            _ => Err(JobError::BadThreshold(name)),
        };
        let tags = self.tags.unwrap_or_default();
        if tags.len() > MAX_TAGS
            || tags
                .iter()
                .any(|t| t.is_empty() || t.chars().count() > MAX_TAG_LEN)
        {
            return Err(JobError::BadTags);
        }
        let description = self.description.unwrap_or_default();
        if description.chars().count() > MAX_DESCRIPTION_LEN {
            return Err(JobError::LongDescription);
        }
        if let Some(group) = &self.group {
            check_group(group)?;
        }
        let flapping = FlapSettings {
            threshold: self.flap_threshold,
            window: self.flap_window,
            stable: self.flap_stable,
        };
        check_flap_settings(&flapping)?;
        Ok(JobSpec {
            slug,
            schedule,
            grace: self.grace.unwrap_or(DEFAULT_GRACE),
            max_runtime,
            min_runtime: self.min_runtime.filter(|d| !d.is_zero()),
            failure_threshold: threshold(self.failure_threshold, "failure_threshold")?,
            recovery_threshold: threshold(self.recovery_threshold, "recovery_threshold")?,
            severity: self.severity.unwrap_or_default(),
            tags,
            description,
            late_alert: self.late_alert.unwrap_or(false),
            repeat_interval: self.repeat_interval,
            group: self.group,
            flapping,
        })
    }
}

impl JobSpec {
    /// The document stores persist: [`JobSpec::to_doc`] without the settings that equal
    /// their fixed defaults (thresholds of 1, no late alert, no tags, no description), which
    /// [`JobDoc::into_spec`] restores. The job item is written on every ping and billed per
    /// KB, so the bytes count.
    pub fn to_stored_doc(&self) -> JobDoc {
        let mut doc = self.to_doc();
        doc.failure_threshold = doc.failure_threshold.filter(|n| *n != 1);
        doc.recovery_threshold = doc.recovery_threshold.filter(|n| *n != 1);
        doc.late_alert = doc.late_alert.filter(|late| *late);
        doc.tags = doc.tags.filter(|tags| !tags.is_empty());
        doc.description = doc.description.filter(|d| !d.is_empty());
        doc
    }

    /// The document form with every setting explicit (what the API shows).
    pub fn to_doc(&self) -> JobDoc {
        let (schedule, tz, every) = match &self.schedule {
            Schedule::Cron { expr, tz_name, .. } => {
                (Some(expr.to_string()), Some(tz_name.clone()), None)
            }
            Schedule::Every(period) => (None, None, Some(*period)),
            Schedule::OnDemand => (None, None, None),
        };
        JobDoc {
            schedule,
            tz,
            every,
            on_demand: self.schedule.is_on_demand().then_some(true),
            grace: Some(self.grace),
            max_runtime: Some(self.max_runtime),
            min_runtime: self.min_runtime,
            failure_threshold: Some(self.failure_threshold),
            recovery_threshold: Some(self.recovery_threshold),
            severity: Some(self.severity),
            tags: Some(self.tags.clone()),
            description: Some(self.description.clone()),
            late_alert: Some(self.late_alert),
            repeat_interval: self.repeat_interval,
            group: self.group.clone(),
            flap_threshold: self.flapping.threshold,
            flap_window: self.flapping.window,
            flap_stable: self.flapping.stable,
            paused: None,
        }
    }

    /// The definition given to jobs created by a `?create=1` ping.
    pub fn auto_created(slug: Slug) -> JobSpec {
        JobSpec {
            slug,
            schedule: Schedule::Every(AUTO_CREATE_PERIOD),
            grace: AUTO_CREATE_GRACE,
            max_runtime: DEFAULT_MAX_RUNTIME,
            min_runtime: None,
            failure_threshold: 1,
            recovery_threshold: 1,
            severity: Severity::default(),
            tags: Vec::new(),
            description: String::new(),
            late_alert: false,
            repeat_interval: None,
            group: None,
            flapping: FlapSettings::default(),
        }
    }

    /// The definition given to jobs created by a `?create=on-demand` ping (a task queue's
    /// task, say): [`JobSpec::auto_created`] without a schedule.
    pub fn auto_created_on_demand(slug: Slug) -> JobSpec {
        JobSpec {
            schedule: Schedule::OnDemand,
            ..JobSpec::auto_created(slug)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(json: &str) -> Result<JobSpec, String> {
        let doc: JobDoc = serde_json::from_str(json).map_err(|e| e.to_string())?;
        doc.into_spec(Slug::parse("backup").unwrap())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn groups_and_flapping_settings_are_validated_with_the_setting_named() {
        let spec = doc(r#"{"every": "1h", "group": "db-host-1", "flap_threshold": 0, "flap_window": "2h", "flap_stable": "10m"}"#)
            .expect("valid");
        assert_eq!(spec.group.as_deref(), Some("db-host-1"));
        assert_eq!(
            spec.flapping.threshold,
            Some(0),
            "0 turns flapping control off"
        );
        let refused = [
            (r#"{"every": "1h", "group": ""}"#, "invalid group ''"),
            (r#"{"every": "1h", "group": "a b"}"#, "invalid group 'a b'"),
            (
                r#"{"every": "1h", "flap_threshold": 101}"#,
                "`flap_threshold` must be between 0 (off) and 100",
            ),
            (
                r#"{"every": "1h", "flap_window": "30s"}"#,
                "`flap_window` must be between 1m and 1d",
            ),
            (
                r#"{"every": "1h", "flap_stable": "2d"}"#,
                "`flap_stable` must be between 1m and 1d",
            ),
        ];
        for (json, reason) in refused {
            let error = doc(json).expect_err(json);
            assert!(error.starts_with(reason), "{json}: {error}");
        }
        let long = format!(r#"{{"every": "1h", "group": "{}"}}"#, "g".repeat(5_000));
        let error = doc(&long).expect_err("too long");
        assert!(
            error.len() < 200,
            "a long value is shortened in the error: {error}"
        );
    }

    #[test]
    fn slugs_are_url_safe_names() {
        assert!(Slug::parse("nightly-backup_2").is_ok());
        for bad in ["", "Upper", "with space", "ünï", "a/b", &"x".repeat(65)] {
            assert!(Slug::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn defaults_fill_what_the_document_leaves_out() {
        let spec = doc(r#"{"schedule": "0 9 * * *", "tz": "Asia/Seoul"}"#).unwrap();
        assert_eq!(spec.grace, DEFAULT_GRACE);
        assert_eq!(spec.max_runtime, DEFAULT_MAX_RUNTIME);
        assert_eq!((spec.failure_threshold, spec.recovery_threshold), (1, 1));
        assert_eq!(spec.severity, Severity::Error);
        assert_eq!(spec.schedule.describe(), "0 9 * * * (Asia/Seoul)");
        let spec = doc(r#"{"every": "15m"}"#).unwrap();
        assert_eq!(spec.schedule.describe(), "every 15m");
    }

    #[test]
    fn a_stored_abbreviation_zone_still_loads_but_a_new_one_is_refused() {
        let stored: JobDoc =
            serde_json::from_str(r#"{"schedule":"0 9 * * *","tz":"EST"}"#).unwrap();
        let slug = Slug::parse("legacy").unwrap();
        let spec = stored.clone().into_stored_spec(slug.clone()).unwrap();
        assert_eq!(spec.schedule.describe(), "0 9 * * * (EST)");
        assert!(matches!(
            stored.into_spec(slug),
            Err(JobError::BadTimeZone(ZoneError::Abbreviation { .. }))
        ));
    }

    #[test]
    fn documents_round_trip_through_the_spec() {
        let spec = doc(r#"{"schedule":"*/5 * * * *","grace":"2m","min_runtime":"10s","tags":["db"],"severity":"critical"}"#)
            .unwrap();
        let again = spec.to_doc().into_spec(spec.slug.clone()).unwrap();
        assert_eq!(spec, again);
    }

    #[test]
    fn invalid_documents_say_exactly_what_is_wrong() {
        for (json, message) in [
            (
                r#"{}"#,
                "a job needs `schedule` (cron), `every` (interval) or `on_demand = true`",
            ),
            (
                r#"{"schedule":"* * * * *","every":"1m"}"#,
                "give either `schedule` or `every`, not both",
            ),
            (
                r#"{"schedule":"* * * * *","tz":"Mars/Olympus"}"#,
                "tz \"Mars/Olympus\" is not a known time zone",
            ),
            (
                r#"{"schedule":"* * * * *","tz":"EST"}"#,
                "tz \"EST\" is an abbreviation, not a time zone: use an IANA name such as America/New_York",
            ),
            (
                r#"{"every":"1m","tz":"UTC"}"#,
                "`tz` only applies to a cron `schedule`",
            ),
            (r#"{"every":"500ms"}"#, "interval 500ms is too short"),
            (r#"{"every":"1m","grace":"-5m"}"#, "cannot be negative"),
            (
                r#"{"every":"1m","max_runtime":0}"#,
                "`max_runtime` must be greater than zero",
            ),
            (
                r#"{"every":"1m","min_runtime":"2h"}"#,
                "must be below `max_runtime`",
            ),
            (
                r#"{"every":"1m","failure_threshold":0}"#,
                "`failure_threshold` must be between 1 and 1000",
            ),
            (r#"{"every":"1m","colour":"red"}"#, "unknown field `colour`"),
            (
                r#"{"every":"1m","severity":"loud"}"#,
                "unknown variant `loud`",
            ),
            (r#"{"schedule":"61 * * * *"}"#, "invalid cron schedule"),
        ] {
            let err = doc(json).unwrap_err();
            assert!(err.contains(message), "{json}: got {err}");
        }
    }

    #[test]
    fn an_invalid_setting_is_named_so_its_line_can_be_shown() {
        let setting = |json: &str| {
            let doc: JobDoc = serde_json::from_str(json).unwrap();
            doc.into_spec(Slug::parse("backup").unwrap())
                .unwrap_err()
                .setting()
        };
        assert_eq!(setting(r#"{"schedule":"61 * * * *"}"#), Some("schedule"));
        assert_eq!(
            setting(r#"{"schedule":"* * * * *","tz":"EST"}"#),
            Some("tz")
        );
        assert_eq!(
            setting(r#"{"every":"1m","recovery_threshold":0}"#),
            Some("recovery_threshold")
        );
        assert_eq!(
            setting(r#"{"every":"1m","min_runtime":"2h"}"#),
            Some("min_runtime")
        );
        assert_eq!(setting(r#"{}"#), None);
    }
}
