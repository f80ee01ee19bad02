//! CloudWatch alarms: the model every payload shape is read into, and its words (headline,
//! condition, console link). The lenient parsers of the payloads AWS really sends are apart:
//! [`sns`] (the SNS notification, old and new, single-metric, metric-math and composite) and
//! [`eventbridge`] (the "CloudWatch Alarm State Change" event). Missing or null fields are
//! simply left out; only an alarm name and a state are required. The Slack message of an
//! alarm is rendered in `crate::render`.

mod eventbridge;
mod fields;
mod sns;
mod words;

use jiff::Timestamp;
use jobwatch_core::Severity;

pub use eventbridge::parse_eventbridge_alarm;
pub use fields::{parse_aws_time, region_of_arn, region_of_display_name};
pub use sns::parse_sns_alarm;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlarmState {
    Alarm,
    Ok,
    InsufficientData,
    Other(String),
}

impl AlarmState {
    fn parse(text: &str) -> AlarmState {
        match text.trim() {
            "ALARM" => AlarmState::Alarm,
            "OK" => AlarmState::Ok,
            "INSUFFICIENT_DATA" => AlarmState::InsufficientData,
            other => AlarmState::Other(other.to_string()),
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            AlarmState::Alarm => "ALARM",
            AlarmState::Ok => "OK",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
            AlarmState::Other(other) => other,
        }
    }
}

/// A metric as alarms name it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricRef {
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub dimensions: Vec<(String, String)>,
}

/// One query of a metric-math alarm.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricQuery {
    pub id: String,
    pub expression: Option<String>,
    pub label: Option<String>,
    pub metric: Option<MetricRef>,
    pub stat: Option<String>,
    pub period: Option<u64>,
    pub return_data: bool,
}

/// What the alarm watches.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    Metric {
        metric: MetricRef,
        statistic: Option<String>,
    },
    Math {
        queries: Vec<MetricQuery>,
    },
    Composite {
        rule: Option<String>,
        /// The children that changed it: (ARN or name, state).
        triggering: Vec<(String, String)>,
    },
    Unknown,
}

/// How the alarm compares (metric and metric-math alarms).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Threshold {
    pub comparison: Option<String>,
    pub threshold: Option<f64>,
    /// For anomaly-detection bands.
    pub threshold_metric_id: Option<String>,
    pub period: Option<u64>,
    pub evaluation_periods: Option<u64>,
    pub datapoints_to_alarm: Option<u64>,
    pub treat_missing_data: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmSource {
    Sns,
    EventBridge,
}

/// A CloudWatch alarm state change, from either payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Alarm {
    pub name: String,
    pub description: Option<String>,
    pub account_id: Option<String>,
    /// The region code (`eu-west-1`): from the ARN, the event, or the display name.
    pub region: Option<String>,
    /// The display name SNS notifications carry (`EU (Ireland)`).
    pub region_name: Option<String>,
    pub arn: Option<String>,
    pub state: AlarmState,
    pub previous_state: Option<AlarmState>,
    pub reason: String,
    pub changed_at: Option<Timestamp>,
    pub condition: Condition,
    pub threshold: Threshold,
    /// From an alarm tag `severity`, or `severity: critical` / `[critical]` in the description.
    pub severity_hint: Option<Severity>,
    pub source: AlarmSource,
}

#[cfg(test)]
mod tests;
