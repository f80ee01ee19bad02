//! Alert events: the one versioned JSON document every alert travels as, from the engine to
//! the outbox, the SNS topic and the Slack formatter. Documented in `docs/alert-events.md`.

use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::job::{FlapSettings, JobSpec, Severity};
use crate::report_types::DailyReport;

/// Bumped on any incompatible change to [`AlertEvent`]; new optional fields are additive and
/// keep it (docs/alert-events.md lists what was added when).
pub const ALERT_SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    Failed,
    Missed,
    TimedOut,
    TooShort,
    Recovered,
    /// A warning: an expected run has not started by its slot time (jobs with `late_alert`).
    Late,
    /// A warning: a run is taking far longer than the job's recent runs (3x their p95).
    Slow,
    /// A reminder: the job is still down, its outage so far attached.
    StillDown,
    /// The daily summary of an environment (`report` attached; `job` names the report).
    Report,
    /// A test alert a person asked for (`jobwatch doctor`): posted whatever the environment's
    /// policy, never held or grouped; its deliverer records how it went (see [`crate::test_alert`]).
    Test,
}

impl AlertKind {
    /// Kinds that announce the job going down (and pair with a later `recovered`).
    pub fn is_outage(self) -> bool {
        matches!(
            self,
            AlertKind::Failed | AlertKind::Missed | AlertKind::TimedOut | AlertKind::TooShort
        )
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::Failed => "failed",
            AlertKind::Missed => "missed",
            AlertKind::TimedOut => "timed_out",
            AlertKind::TooShort => "too_short",
            AlertKind::Recovered => "recovered",
            AlertKind::Late => "late",
            AlertKind::Slow => "slow",
            AlertKind::StillDown => "still_down",
            AlertKind::Report => "report",
            AlertKind::Test => "test",
        }
    }
}

impl fmt::Display for AlertKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What the alert is about, copied from the definition so the event stands alone.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSummary {
    pub slug: String,
    /// e.g. `0 9 * * * (Asia/Seoul)` or `every 15m`.
    pub schedule: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The IANA zone of a cron job, which its times are shown in (interval jobs: UTC).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    /// The job's `group`: jobs of one group in trouble together share one Slack message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// The job's own flapping settings (`threshold`, `window`, `stable`), where it has any.
    #[serde(default, skip_serializing_if = "FlapSettings::is_empty")]
    pub flapping: FlapSettings,
}

/// Where a ping came from, as Healthchecks.io records it: the client's address and
/// User-Agent, plus the host `jobwatch run` names in `X-Jobwatch-Host`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PingSource {
    /// The client's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// `ua`, as Healthchecks.io names it.
    #[serde(
        rename = "ua",
        alias = "user_agent",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub user_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
}

impl PingSource {
    /// Longest User-Agent or host kept: enough to recognise a client, bounded whatever it sends.
    pub const MAX_LEN: usize = 200;

    /// A source from what a request said, each part trimmed and cut to [`Self::MAX_LEN`];
    /// `None` when it said nothing.
    pub fn new(
        ip: Option<&str>,
        user_agent: Option<&str>,
        host: Option<&str>,
    ) -> Option<PingSource> {
        let keep = |s: Option<&str>| {
            s.map(|s| {
                s.chars()
                    .filter(|c| !c.is_control())
                    .take(Self::MAX_LEN)
                    .collect::<String>()
                    .trim()
                    .to_string()
            })
            .filter(|s| !s.is_empty())
        };
        let source = PingSource {
            ip: keep(ip),
            user_agent: keep(user_agent),
            host: keep(host),
        };
        (source != PingSource::default()).then_some(source)
    }
}

/// The job's last successful run before this alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LastSuccess {
    /// When it finished.
    pub at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
}

/// The limit a bad run broke: the setting's name and value, and the whole in words, e.g.
/// `max_runtime 2h exceeded after 2h3m`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Breach {
    pub setting: String,
    pub value: String,
    pub text: String,
}

/// How a down period looked, carried by `recovered` events.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutageSummary {
    /// The first bad event of the outage.
    pub since: Timestamp,
    pub duration_ms: u64,
    pub runs_missed: u32,
    pub runs_failed: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertEvent {
    pub schema_version: u32,
    /// Stable identity of this alert: the same condition always yields the same id, so every
    /// consumer can de-duplicate.
    pub id: String,
    pub kind: AlertKind,
    pub environment: String,
    pub severity: Severity,
    pub job: JobSummary,
    /// When the condition happened: the deadline for missed and timed-out runs (backdated when
    /// a sweep catches up), the ping's arrival otherwise.
    pub at: Timestamp,
    /// When jobwatch noticed it.
    pub detected_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finished_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_ms: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit_code: Option<u8>,
    /// The last lines of the run's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_excerpt: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage: Option<OutageSummary>,
    /// Where the run's output can be read (CloudWatch Logs in AWS deployments).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_log_url: Option<String>,
    /// For `report` events: the summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<DailyReport>,
    /// The limit broken (outage kinds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach: Option<Breach>,
    /// Bad runs in a row so far, and how many take the job down (`failure_threshold`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bad_in_a_row: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_threshold: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_success: Option<LastSuccess>,
    /// Where the run's finishing ping came from. Not for runs that never finished (timed out,
    /// slow): open runs live in the job's item, which one write unit must hold (docs/cost.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PingSource>,
    /// The run in jobwatch's API (the job's runs when there is no run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
}

impl AlertEvent {
    /// A bare event for `kind` about `spec`; callers fill in the run details.
    pub fn new(
        kind: AlertKind,
        spec: &JobSpec,
        environment: &str,
        at: Timestamp,
        detected_at: Timestamp,
    ) -> Self {
        let job = JobSummary {
            slug: spec.slug.to_string(),
            schedule: spec.schedule.describe(),
            description: spec.description.clone(),
            tags: spec.tags.clone(),
            tz: spec.schedule.tz_name().map(str::to_string),
            group: spec.group.clone(),
            flapping: spec.flapping,
        };
        Self::new_about(kind, job, spec.severity, environment, at, detected_at)
    }

    /// A bare event for `kind` about `job`, at `severity`.
    pub fn new_about(
        kind: AlertKind,
        job: JobSummary,
        severity: Severity,
        environment: &str,
        at: Timestamp,
        detected_at: Timestamp,
    ) -> Self {
        AlertEvent {
            schema_version: ALERT_SCHEMA_VERSION,
            id: String::new(),
            kind,
            environment: environment.to_string(),
            severity,
            job,
            at,
            detected_at,
            run_id: None,
            expected_at: None,
            started_at: None,
            finished_at: None,
            duration_ms: None,
            exit_code: None,
            output_excerpt: None,
            outage: None,
            run_log_url: None,
            report: None,
            breach: None,
            bad_in_a_row: None,
            failure_threshold: None,
            last_success: None,
            source: None,
            run_url: None,
        }
        .with_id()
    }

    /// The zone the job's times are shown in (none: UTC).
    pub fn zone(&self) -> Option<jiff::tz::TimeZone> {
        crate::timefmt::zone(self.job.tz.as_deref())
    }

    /// Recomputes the id from what identifies the condition: environment, job, kind, time and
    /// run. Call after changing any of them.
    pub fn with_id(mut self) -> Self {
        self.id = format!(
            "{}/{}/{}/{}{}",
            self.environment,
            self.job.slug,
            self.kind,
            self.at.as_millisecond(),
            self.run_id
                .as_deref()
                .map(|r| format!("/{r}"))
                .unwrap_or_default()
        );
        self
    }
}

/// The last lines of a run's output, small enough to travel in an alert.
pub fn output_excerpt(output: &str) -> Option<String> {
    const MAX_LINES: usize = 20;
    const MAX_BYTES: usize = 2_000;
    let trimmed = output.trim_end();
    if trimmed.is_empty() {
        return None;
    }
    let mut start = trimmed.len().saturating_sub(MAX_BYTES);
    while !trimmed.is_char_boundary(start) {
        start += 1;
    }
    let tail = &trimmed[start..];
    let lines: Vec<&str> = tail.lines().collect();
    let keep = &lines[lines.len().saturating_sub(MAX_LINES)..];
    Some(keep.join("\n"))
}
