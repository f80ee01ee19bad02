//! The environment policy: what is posted to Slack, and how, per environment; and the
//! alert-fatigue settings. Pure: configuration in, decisions out.
//!
//! | environment | posts | when |
//! | --- | --- | --- |
//! | `dev` | nothing (log only) unless `JOBWATCH_DEBUG` is on (then everything) | at once |
//! | `staging` | warning and above | one digest per 5 minutes |
//! | `prod` | error and above | at once |
//! | any other | warning and above | at once |
//! | any (posting), severity critical | adds `@channel`, also to the escalation webhook | at once |
//!
//! Against flapping (see `crate::flapping`): more than 4 health changes of a job within an
//! hour is one announcement, then quiet until it is stable for 30 minutes
//! (`JOBWATCH_FLAP_THRESHOLD`, `JOBWATCH_FLAP_WINDOW`, `JOBWATCH_FLAP_STABLE`; a job's own
//! `flap_*` settings win).
//!
//! **Grouping** (`crate::grouping`): where alerts post at once (not in a digest, not
//! critical), jobs that go *missed* or *timed out* within `JOBWATCH_GROUP_WINDOW` (default
//! 30s, `0s` turns it off, at most 10m) of the first of them share one message per group
//! (the job's `group`, else the host that pinged it, else the environment); so do their
//! recoveries. A group of one is posted as the alert's own message, at most the window (plus
//! the next flush) late.
//!
//! Each deployment serves one environment; the variables in [`POLICY_VARIABLES`] override its
//! row. Daily reports are posted wherever anything is posted, whatever their severity.

use jobwatch_core::job::{FLAP_DURATIONS, MAX_FLAP_THRESHOLD};
use jobwatch_core::{Duration, FlapSettings, Severity};

use crate::flapping::Flapping;

/// The environment variables [`Policy::from_vars`] reads (the Lambdas and `jobwatch serve`).
pub const POLICY_VARIABLES: [&str; 10] = [
    "JOBWATCH_DEBUG",
    "JOBWATCH_POST_MIN_SEVERITY",
    "JOBWATCH_DIGEST_WINDOW",
    "JOBWATCH_FATIGUE_WINDOW",
    "JOBWATCH_FATIGUE_THRESHOLD",
    "JOBWATCH_ESCALATE_EVERY",
    "JOBWATCH_FLAP_THRESHOLD",
    "JOBWATCH_FLAP_WINDOW",
    "JOBWATCH_FLAP_STABLE",
    "JOBWATCH_GROUP_WINDOW",
];

/// How long the first missed or timed-out alert waits for others to share its message.
pub const DEFAULT_GROUP_WINDOW: Duration = Duration::from_secs(30);
/// The longest grouping window: beyond it, a lone alert would come too late.
pub const MAX_GROUP_WINDOW: Duration = Duration::from_mins(10);

/// Alert-fatigue settings, per dedupe key (environment + job + kind, or alarm name).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fatigue {
    /// Repeats within this window of the first are held.
    pub window: Duration,
    /// Occurrences in one window that make a summary go at once ("failed 3 times in 5
    /// minutes").
    pub threshold: u32,
    /// Every this-many-th occurrence of a storm that goes on is escalated (`@channel`).
    pub escalate_every: u64,
}

impl Default for Fatigue {
    fn default() -> Self {
        Fatigue {
            window: Duration::from_mins(5),
            threshold: 3,
            escalate_every: 10,
        }
    }
}

/// One environment's row of the policy table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The least severity posted; `None` posts nothing (log only).
    pub min_severity: Option<Severity>,
    /// `Some`: collected into one digest per window; `None`: posted at once.
    pub digest_window: Option<Duration>,
}

/// What kind of notice something is, for the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// Something is wrong (a job alert, an alarm in ALARM or INSUFFICIENT_DATA, a message).
    Problem,
    /// Something is right again (`recovered`, an alarm back to OK): never counted as a repeat
    /// (a job's recovery may wait a little for flapping control or grouping, never lost).
    Recovery,
    /// Asked-for information (the daily report): never held back, never digested.
    Info,
}

/// Where a notice goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Logged only.
    LogOnly,
    /// Into the environment's digest.
    Digest(Duration),
    /// Posted at once; `critical` adds the mention and the escalation webhook.
    Now { critical: bool },
    /// Into a group message of alerts arriving within this window (`crate::grouping`);
    /// never returned by [`Policy::delivery`].
    Group(Duration),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Policy {
    /// Posts everything in `dev`.
    pub debug: bool,
    /// Overrides the environment's least severity posted (`Some(None)`: nothing).
    pub min_severity: Option<Option<Severity>>,
    /// Overrides the environment's digest window (`Some(None)`: at once).
    pub digest_window: Option<Option<Duration>>,
    pub fatigue: Fatigue,
    /// The environment's flapping control; a job's own settings override it.
    pub flapping: Flapping,
    /// Overrides the grouping window ([`DEFAULT_GROUP_WINDOW`]; zero: no grouping).
    pub group_window: Option<Duration>,
}

fn is_dev(environment: &str) -> bool {
    matches!(environment, "dev" | "development")
}

fn is_staging(environment: &str) -> bool {
    matches!(environment, "staging" | "stage")
}

fn is_prod(environment: &str) -> bool {
    matches!(environment, "prod" | "production")
}

impl Policy {
    /// The environment's row: the defaults of the table, then the overrides.
    pub fn rule(&self, environment: &str) -> Rule {
        let mut rule = if is_dev(environment) {
            Rule {
                min_severity: self.debug.then_some(Severity::Warning),
                digest_window: None,
            }
        } else if is_staging(environment) {
            Rule {
                min_severity: Some(Severity::Warning),
                digest_window: Some(Duration::from_mins(5)),
            }
        } else if is_prod(environment) {
            Rule {
                min_severity: Some(Severity::Error),
                digest_window: None,
            }
        } else {
            Rule {
                min_severity: Some(Severity::Warning),
                digest_window: None,
            }
        };
        if let Some(min) = self.min_severity
            && (!is_dev(environment) || self.debug)
        {
            rule.min_severity = min;
        }
        if let Some(window) = self.digest_window {
            rule.digest_window = window;
        }
        rule
    }

    /// Where a notice of `severity` and `class` goes in `environment`.
    pub fn delivery(&self, environment: &str, severity: Severity, class: Class) -> Delivery {
        let rule = self.rule(environment);
        let Some(min) = rule.min_severity else {
            return Delivery::LogOnly;
        };
        if class != Class::Info && severity < min {
            return Delivery::LogOnly;
        }
        if severity == Severity::Critical && class != Class::Info {
            return Delivery::Now { critical: true };
        }
        match (rule.digest_window, class) {
            (Some(window), Class::Problem | Class::Recovery) if !window.is_zero() => {
                Delivery::Digest(window)
            }
            _ => Delivery::Now { critical: false },
        }
    }

    /// How long simultaneous trouble is gathered into one message; zero turns it off.
    pub fn grouping_window(&self) -> Duration {
        self.group_window.unwrap_or(DEFAULT_GROUP_WINDOW)
    }

    /// Reads the overrides from variables (`lookup` is `std::env::var` in the binaries).
    pub fn from_vars(lookup: impl Fn(&str) -> Option<String>) -> Result<Policy, String> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let mut policy = Policy::default();
        if let Some(debug) = get("JOBWATCH_DEBUG") {
            policy.debug = parse_bool(&debug)
                .ok_or_else(|| format!("JOBWATCH_DEBUG must be true or false, not {debug:?}"))?;
        }
        if let Some(min) = get("JOBWATCH_POST_MIN_SEVERITY") {
            policy.min_severity = Some(match min.trim().to_ascii_lowercase().as_str() {
                "none" | "off" | "nothing" => None,
                "warning" => Some(Severity::Warning),
                "error" => Some(Severity::Error),
                "critical" => Some(Severity::Critical),
                _ => {
                    return Err(format!(
                        "JOBWATCH_POST_MIN_SEVERITY must be warning, error, critical or none, not {min:?}"
                    ));
                }
            });
        }
        if let Some(window) = get("JOBWATCH_DIGEST_WINDOW") {
            policy.digest_window = Some(match window.trim() {
                "off" | "none" | "0" => None,
                text => {
                    Some(parse_duration("JOBWATCH_DIGEST_WINDOW", text)?).filter(|w| !w.is_zero())
                }
            });
        }
        if let Some(window) = get("JOBWATCH_FATIGUE_WINDOW") {
            policy.fatigue.window = parse_duration("JOBWATCH_FATIGUE_WINDOW", window.trim())?;
        }
        if let Some(n) = get("JOBWATCH_FATIGUE_THRESHOLD") {
            policy.fatigue.threshold =
                n.trim().parse().ok().filter(|n| *n >= 2).ok_or_else(|| {
                    format!("JOBWATCH_FATIGUE_THRESHOLD must be a count of 2 or more, not {n:?}")
                })?;
        }
        if let Some(n) = get("JOBWATCH_ESCALATE_EVERY") {
            policy.fatigue.escalate_every =
                n.trim().parse().ok().filter(|n| *n >= 2).ok_or_else(|| {
                    format!("JOBWATCH_ESCALATE_EVERY must be a count of 2 or more, not {n:?}")
                })?;
        }
        if let Some(n) = get("JOBWATCH_FLAP_THRESHOLD") {
            policy.flapping.threshold = n
                .trim()
                .parse()
                .ok()
                .filter(|n| *n <= MAX_FLAP_THRESHOLD)
                .ok_or_else(|| {
                    format!(
                        "JOBWATCH_FLAP_THRESHOLD must be a count from 0 (off) to {MAX_FLAP_THRESHOLD}, not {:?}",
                        jobwatch_core::text::shorten(&n)
                    )
                })?;
        }
        let (min, max) = FLAP_DURATIONS;
        for name in ["JOBWATCH_FLAP_WINDOW", "JOBWATCH_FLAP_STABLE"] {
            let Some(text) = get(name) else { continue };
            let value = parse_duration(name, text.trim())?;
            if value < min || value > max {
                return Err(format!(
                    "{name} must be between {min} and {max}, not {value}"
                ));
            }
            if name == "JOBWATCH_FLAP_WINDOW" {
                policy.flapping.window = value;
            } else {
                policy.flapping.stable = value;
            }
        }
        if let Some(window) = get("JOBWATCH_GROUP_WINDOW") {
            let window = parse_duration("JOBWATCH_GROUP_WINDOW", window.trim())?;
            if window > MAX_GROUP_WINDOW {
                return Err(format!(
                    "JOBWATCH_GROUP_WINDOW must be at most 10m (0s turns grouping off), not {window}"
                ));
            }
            policy.group_window = Some(window);
        }
        Ok(policy)
    }

    /// The flapping control of a job: the environment's, with the job's own settings over it.
    pub fn flapping_of(&self, job: &FlapSettings) -> Flapping {
        Flapping {
            threshold: job.threshold.unwrap_or(self.flapping.threshold),
            window: job.window.unwrap_or(self.flapping.window),
            stable: job.stable.unwrap_or(self.flapping.stable),
            settle: crate::flapping::SETTLE.min(self.fatigue.window),
        }
    }
}

fn parse_bool(text: &str) -> Option<bool> {
    match text.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Some(true),
        "0" | "false" | "no" | "off" => Some(false),
        _ => None,
    }
}

fn parse_duration(name: &str, text: &str) -> Result<Duration, String> {
    text.parse::<Duration>().map_err(|_| {
        format!(
            "{name} must be a duration such as 5m, not {:?}",
            jobwatch_core::text::shorten(text)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use Severity::{Critical, Error, Warning};

    fn vars(pairs: &[(&str, &str)]) -> Result<Policy, String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Policy::from_vars(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn the_default_table() {
        let policy = Policy::default();
        let five = Duration::from_mins(5);
        assert_eq!(
            policy.delivery("dev", Critical, Class::Problem),
            Delivery::LogOnly
        );
        assert_eq!(
            policy.delivery("dev", Error, Class::Info),
            Delivery::LogOnly
        );
        assert_eq!(
            policy.delivery("staging", Warning, Class::Problem),
            Delivery::Digest(five)
        );
        assert_eq!(
            policy.delivery("staging", Error, Class::Recovery),
            Delivery::Digest(five)
        );
        assert_eq!(
            policy.delivery("staging", Critical, Class::Problem),
            Delivery::Now { critical: true }
        );
        assert_eq!(
            policy.delivery("prod", Warning, Class::Problem),
            Delivery::LogOnly
        );
        assert_eq!(
            policy.delivery("prod", Error, Class::Problem),
            Delivery::Now { critical: false }
        );
        assert_eq!(
            policy.delivery("prod", Warning, Class::Info),
            Delivery::Now { critical: false },
            "reports go wherever anything goes"
        );
        assert_eq!(
            policy.delivery("qa", Warning, Class::Problem),
            Delivery::Now { critical: false }
        );
    }

    #[test]
    fn variables_override_the_row() {
        let debug = vars(&[("JOBWATCH_DEBUG", "1")]).expect("policy");
        assert_eq!(
            debug.delivery("dev", Warning, Class::Problem),
            Delivery::Now { critical: false }
        );
        let quiet = vars(&[
            ("JOBWATCH_POST_MIN_SEVERITY", "critical"),
            ("JOBWATCH_DIGEST_WINDOW", "off"),
        ])
        .expect("policy");
        assert_eq!(
            quiet.delivery("staging", Error, Class::Problem),
            Delivery::LogOnly
        );
        assert_eq!(
            quiet.delivery("staging", Critical, Class::Problem),
            Delivery::Now { critical: true }
        );
        let digest = vars(&[("JOBWATCH_DIGEST_WINDOW", "15m")]).expect("policy");
        assert_eq!(
            digest.delivery("prod", Error, Class::Problem),
            Delivery::Digest(Duration::from_mins(15))
        );
        let fatigue = vars(&[
            ("JOBWATCH_FATIGUE_WINDOW", "10m"),
            ("JOBWATCH_FATIGUE_THRESHOLD", "5"),
            ("JOBWATCH_ESCALATE_EVERY", "20"),
        ])
        .expect("policy");
        assert_eq!(
            fatigue.fatigue,
            Fatigue {
                window: Duration::from_mins(10),
                threshold: 5,
                escalate_every: 20
            }
        );
        let flapping = vars(&[
            ("JOBWATCH_FLAP_THRESHOLD", "6"),
            ("JOBWATCH_FLAP_WINDOW", "2h"),
            ("JOBWATCH_FLAP_STABLE", "10m"),
        ])
        .expect("policy");
        assert_eq!(
            flapping.flapping,
            Flapping {
                threshold: 6,
                window: Duration::from_hours(2),
                stable: Duration::from_mins(10),
                settle: crate::flapping::SETTLE,
            }
        );
        let job = FlapSettings {
            threshold: Some(2),
            ..FlapSettings::default()
        };
        assert_eq!(
            flapping.flapping_of(&job).threshold,
            2,
            "the job's own wins"
        );
        assert_eq!(flapping.flapping_of(&job).window, Duration::from_hours(2));
        for (name, value, reason) in [
            (
                "JOBWATCH_FLAP_THRESHOLD",
                "101",
                "JOBWATCH_FLAP_THRESHOLD must be a count from 0 (off) to 100, not \"101\"",
            ),
            (
                "JOBWATCH_FLAP_WINDOW",
                "30s",
                "JOBWATCH_FLAP_WINDOW must be between 1m and 1d, not 30s",
            ),
            (
                "JOBWATCH_FLAP_STABLE",
                "soon",
                "JOBWATCH_FLAP_STABLE must be a duration such as 5m, not \"soon\"",
            ),
        ] {
            assert_eq!(vars(&[(name, value)]).expect_err(name), reason);
        }
        assert!(vars(&[("JOBWATCH_POST_MIN_SEVERITY", "loud")]).is_err());
        assert!(vars(&[("JOBWATCH_FATIGUE_THRESHOLD", "1")]).is_err());
        assert!(vars(&[("JOBWATCH_DEBUG", "maybe")]).is_err());
    }

    #[test]
    fn the_group_window_is_validated() {
        assert_eq!(Policy::default().grouping_window(), Duration::from_secs(30));
        let window = |text: &str| vars(&[("JOBWATCH_GROUP_WINDOW", text)]);
        assert_eq!(
            window("45s").expect("policy").grouping_window(),
            Duration::from_secs(45)
        );
        assert!(window("0s").expect("policy").grouping_window().is_zero());
        assert_eq!(
            window("10m").expect("policy").grouping_window(),
            Duration::from_mins(10)
        );
        for bad in ["11m", "1h", "soon", "-5s", "5 parsecs"] {
            let error = window(bad).expect_err(bad);
            assert!(error.starts_with("JOBWATCH_GROUP_WINDOW "), "{error}");
            assert!(!error.contains('\n'), "one line: {error}");
        }
    }
}
