//! CloudWatch alarms: lenient parsers of the payloads AWS really sends (the SNS notification,
//! old and new, single-metric, metric-math and composite; and the EventBridge "CloudWatch
//! Alarm State Change" event), and their Slack rendering. Missing or null fields are simply
//! left out; only an alarm name and a state are required.

use jiff::Timestamp;
use jobwatch_core::Severity;
use serde_json::Value;

use crate::message::{
    GREEN, Message, environment_colour, escape, inline_code, link, when, window_words,
};

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

fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn number(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn count(value: &Value, key: &str) -> Option<u64> {
    number(value, key).filter(|n| *n >= 0.0).map(|n| n as u64)
}

/// AWS's alarm times: `2015-06-03T17:43:27.123+0000` (no colon in the offset), or RFC 3339.
pub fn parse_aws_time(text: &str) -> Option<Timestamp> {
    let text = text.trim();
    text.parse::<Timestamp>()
        .ok()
        .or_else(|| Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.f%z", text).ok())
        .or_else(|| Timestamp::strptime("%Y-%m-%dT%H:%M:%S%z", text).ok())
}

/// The region code inside an ARN (`arn:aws:cloudwatch:eu-west-1:...`).
pub fn region_of_arn(arn: &str) -> Option<String> {
    let mut parts = arn.split(':');
    (parts.next()? == "arn").then_some(())?;
    let region = parts.nth(2)?;
    is_region_code(region).then(|| region.to_string())
}

fn partition_of_arn(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').next()
}

fn is_region_code(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 32
        && text
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && text.contains('-')
}

/// The region code of a display name, for old payloads without an ARN.
pub fn region_of_display_name(name: &str) -> Option<&'static str> {
    let inside = name.split_once('(')?.1.trim_end_matches(')').trim();
    let prefix = name.split_once('(')?.0.trim();
    Some(match (prefix, inside) {
        ("US East", "N. Virginia") => "us-east-1",
        ("US East", "Ohio") => "us-east-2",
        ("US West", "N. California") => "us-west-1",
        ("US West", "Oregon") => "us-west-2",
        ("Africa", "Cape Town") => "af-south-1",
        ("Asia Pacific", "Hong Kong") => "ap-east-1",
        ("Asia Pacific", "Mumbai") => "ap-south-1",
        ("Asia Pacific", "Osaka") => "ap-northeast-3",
        ("Asia Pacific", "Seoul") => "ap-northeast-2",
        ("Asia Pacific", "Singapore") => "ap-southeast-1",
        ("Asia Pacific", "Sydney") => "ap-southeast-2",
        ("Asia Pacific", "Tokyo") => "ap-northeast-1",
        ("Canada", "Central") => "ca-central-1",
        ("EU" | "Europe", "Frankfurt") => "eu-central-1",
        ("EU" | "Europe", "Ireland") => "eu-west-1",
        ("EU" | "Europe", "London") => "eu-west-2",
        ("EU" | "Europe", "Paris") => "eu-west-3",
        ("EU" | "Europe", "Stockholm") => "eu-north-1",
        ("EU" | "Europe", "Milan") => "eu-south-1",
        ("Middle East", "Bahrain") => "me-south-1",
        ("South America", "Sao Paulo" | "São Paulo") => "sa-east-1",
        _ => return None,
    })
}

/// `severity: critical`, `severity=critical` or `[critical]` in free text.
fn severity_in(text: &str) -> Option<Severity> {
    let lower = text.to_ascii_lowercase();
    for (name, severity) in [
        ("critical", Severity::Critical),
        ("error", Severity::Error),
        ("warning", Severity::Warning),
    ] {
        for pattern in [
            format!("severity: {name}"),
            format!("severity:{name}"),
            format!("severity={name}"),
            format!("[{name}]"),
        ] {
            if lower.contains(&pattern) {
                return Some(severity);
            }
        }
    }
    None
}

fn severity_tag(tags: Option<&Value>) -> Option<Severity> {
    let tags = tags?;
    let value = match tags {
        Value::Object(map) => map
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("severity"))
            .and_then(|(_, v)| v.as_str())
            .map(str::to_string),
        Value::Array(list) => list.iter().find_map(|tag| {
            let key = text(tag, "Key").or_else(|| text(tag, "key"))?;
            key.eq_ignore_ascii_case("severity")
                .then(|| text(tag, "Value").or_else(|| text(tag, "value")))?
        }),
        _ => None,
    }?;
    match value.trim().to_ascii_lowercase().as_str() {
        "critical" => Some(Severity::Critical),
        "error" => Some(Severity::Error),
        "warning" => Some(Severity::Warning),
        _ => None,
    }
}

/// Dimensions as SNS notifications write them (`[{"name":..,"value":..}]`) or as
/// EventBridge does (`{"Name": "value"}`).
fn dimensions(value: Option<&Value>) -> Vec<(String, String)> {
    match value {
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|d| {
                let name = text(d, "name").or_else(|| text(d, "Name"))?;
                let value = text(d, "value").or_else(|| text(d, "Value"))?;
                Some((name, value))
            })
            .collect(),
        Some(Value::Object(map)) => map
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
            .collect(),
        _ => Vec::new(),
    }
}

/// The SNS notification format (`AlarmName`, `NewStateValue`, ...).
pub fn parse_sns_alarm(doc: &Value) -> Option<Alarm> {
    let name = text(doc, "AlarmName")?;
    let state = AlarmState::parse(&text(doc, "NewStateValue")?);
    let arn = text(doc, "AlarmArn");
    let region_name = text(doc, "Region");
    let region = arn.as_deref().and_then(region_of_arn).or_else(|| {
        region_name
            .as_deref()
            .and_then(region_of_display_name)
            .map(str::to_string)
    });
    let description = text(doc, "AlarmDescription");
    let (condition, threshold) = match doc.get("Trigger").filter(|t| t.is_object()) {
        Some(trigger) => sns_trigger(trigger),
        None if doc.get("AlarmRule").is_some() || doc.get("TriggeringChildren").is_some() => (
            Condition::Composite {
                rule: text(doc, "AlarmRule"),
                triggering: doc
                    .get("TriggeringChildren")
                    .and_then(Value::as_array)
                    .map(|children| {
                        children
                            .iter()
                            .filter_map(|c| {
                                let arn = text(c, "Arn")?;
                                let state = c
                                    .get("State")
                                    .and_then(|s| text(s, "Value"))
                                    .unwrap_or_default();
                                Some((arn, state))
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            Threshold::default(),
        ),
        None => (Condition::Unknown, Threshold::default()),
    };
    Some(Alarm {
        severity_hint: description.as_deref().and_then(severity_in),
        name,
        description,
        account_id: text(doc, "AWSAccountId"),
        region,
        region_name,
        arn,
        state,
        previous_state: text(doc, "OldStateValue").map(|s| AlarmState::parse(&s)),
        reason: text(doc, "NewStateReason").unwrap_or_default(),
        changed_at: text(doc, "StateChangeTime").and_then(|t| parse_aws_time(&t)),
        condition,
        threshold,
        source: AlarmSource::Sns,
    })
}

fn sns_trigger(trigger: &Value) -> (Condition, Threshold) {
    let treat_missing = text(trigger, "TreatMissingData").map(|t| {
        // Old payloads: "- TreatMissingData:                    missing".
        t.rsplit(':').next().unwrap_or(&t).trim().to_string()
    });
    let threshold = Threshold {
        comparison: text(trigger, "ComparisonOperator"),
        threshold: number(trigger, "Threshold"),
        threshold_metric_id: text(trigger, "ThresholdMetricId"),
        period: count(trigger, "Period"),
        evaluation_periods: count(trigger, "EvaluationPeriods"),
        datapoints_to_alarm: count(trigger, "DatapointsToAlarm"),
        treat_missing_data: treat_missing.filter(|t| !t.is_empty()),
    };
    let condition = match trigger.get("Metrics").and_then(Value::as_array) {
        Some(metrics) if !metrics.is_empty() => Condition::Math {
            queries: metrics
                .iter()
                .map(|q| {
                    let stat = q.get("MetricStat");
                    MetricQuery {
                        id: text(q, "Id").unwrap_or_default(),
                        expression: text(q, "Expression"),
                        label: text(q, "Label"),
                        metric: stat.and_then(|s| s.get("Metric")).map(|m| MetricRef {
                            namespace: text(m, "Namespace"),
                            name: text(m, "MetricName"),
                            dimensions: dimensions(m.get("Dimensions")),
                        }),
                        stat: stat.and_then(|s| text(s, "Stat")),
                        period: stat.and_then(|s| count(s, "Period")),
                        return_data: q
                            .get("ReturnData")
                            .and_then(Value::as_bool)
                            .unwrap_or(false),
                    }
                })
                .collect(),
        },
        _ => Condition::Metric {
            metric: MetricRef {
                namespace: text(trigger, "Namespace"),
                name: text(trigger, "MetricName"),
                dimensions: dimensions(trigger.get("Dimensions")),
            },
            statistic: text(trigger, "Statistic").or_else(|| text(trigger, "ExtendedStatistic")),
        },
    };
    (condition, threshold)
}

/// The EventBridge event "CloudWatch Alarm State Change".
pub fn parse_eventbridge_alarm(event: &Value) -> Option<Alarm> {
    if event.get("detail-type").and_then(Value::as_str) != Some("CloudWatch Alarm State Change") {
        return None;
    }
    let detail = event.get("detail")?;
    let name = text(detail, "alarmName")?;
    let state_doc = detail.get("state");
    let state = AlarmState::parse(&state_doc.and_then(|s| text(s, "value"))?);
    let arn = event
        .get("resources")
        .and_then(Value::as_array)
        .and_then(|r| r.first())
        .and_then(Value::as_str)
        .map(str::to_string);
    let region = text(event, "region")
        .filter(|r| is_region_code(r))
        .or_else(|| arn.as_deref().and_then(region_of_arn));
    let configuration = detail.get("configuration");
    let description = configuration.and_then(|c| text(c, "description"));
    let reason_data: Value = state_doc
        .and_then(|s| text(s, "reasonData"))
        .and_then(|d| serde_json::from_str(&d).ok())
        .unwrap_or(Value::Null);
    let queries: Vec<MetricQuery> = configuration
        .and_then(|c| c.get("metrics"))
        .and_then(Value::as_array)
        .map(|metrics| {
            metrics
                .iter()
                .map(|q| {
                    let stat = q.get("metricStat");
                    MetricQuery {
                        id: text(q, "id").unwrap_or_default(),
                        expression: text(q, "expression"),
                        label: text(q, "label"),
                        metric: stat.and_then(|s| s.get("metric")).map(|m| MetricRef {
                            namespace: text(m, "namespace"),
                            name: text(m, "name"),
                            dimensions: dimensions(m.get("dimensions")),
                        }),
                        stat: stat.and_then(|s| text(s, "stat")),
                        period: stat.and_then(|s| count(s, "period")),
                        return_data: q.get("returnData").and_then(Value::as_bool).unwrap_or(true),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let rule = configuration.and_then(|c| text(c, "alarmRule"));
    let condition = if rule.is_some() {
        Condition::Composite {
            rule,
            triggering: reason_data
                .get("triggeringAlarms")
                .and_then(Value::as_array)
                .map(|alarms| {
                    alarms
                        .iter()
                        .filter_map(|a| {
                            let arn = text(a, "arn")?;
                            let state = a.get("state").and_then(|s| text(s, "value"));
                            Some((arn, state.unwrap_or_default()))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    } else if queries.len() == 1 && queries[0].expression.is_none() {
        let query = &queries[0];
        Condition::Metric {
            metric: query.metric.clone().unwrap_or_default(),
            statistic: query.stat.clone(),
        }
    } else if queries.is_empty() {
        Condition::Unknown
    } else {
        Condition::Math { queries }
    };
    let threshold = Threshold {
        comparison: text(&reason_data, "comparisonOperator"),
        threshold: number(&reason_data, "threshold"),
        threshold_metric_id: None,
        period: number(&reason_data, "period")
            .map(|p| p as u64)
            .or_else(|| match &condition {
                Condition::Metric { .. } | Condition::Math { .. } => configuration
                    .and_then(|c| c.get("metrics"))
                    .and_then(Value::as_array)
                    .and_then(|m| m.iter().find_map(|q| q.get("metricStat")))
                    .and_then(|s| count(s, "period")),
                _ => None,
            }),
        evaluation_periods: number(&reason_data, "evaluationPeriods").map(|p| p as u64),
        datapoints_to_alarm: None,
        treat_missing_data: None,
    };
    let tags = detail.get("alarmTags").or_else(|| event.get("alarmTags"));
    Some(Alarm {
        severity_hint: severity_tag(tags).or_else(|| description.as_deref().and_then(severity_in)),
        name,
        description,
        account_id: text(event, "account"),
        region,
        region_name: None,
        arn,
        state,
        previous_state: detail
            .get("previousState")
            .and_then(|s| text(s, "value"))
            .map(|s| AlarmState::parse(&s)),
        reason: state_doc
            .and_then(|s| text(s, "reason"))
            .unwrap_or_default(),
        changed_at: state_doc
            .and_then(|s| text(s, "timestamp"))
            .and_then(|t| parse_aws_time(&t))
            .or_else(|| text(event, "time").and_then(|t| parse_aws_time(&t))),
        condition,
        threshold,
        source: AlarmSource::EventBridge,
    })
}

impl Alarm {
    /// The severity the policy applies: ALARM at the alarm's own (error unless it says
    /// otherwise), INSUFFICIENT_DATA as a warning, OK as the state it leaves.
    pub fn severity(&self) -> Severity {
        let own = self.severity_hint.unwrap_or(Severity::Error);
        match (&self.state, &self.previous_state) {
            (AlarmState::InsufficientData, _) => Severity::Warning,
            (AlarmState::Ok, Some(AlarmState::InsufficientData)) => Severity::Warning,
            _ => own,
        }
    }

    pub fn is_ok(&self) -> bool {
        self.state == AlarmState::Ok
    }

    /// The CloudWatch console page of the alarm, in the alarm's own region.
    pub fn console_url(&self) -> Option<String> {
        let region = self.region.as_deref().filter(|r| is_region_code(r))?;
        let name = percent_encode(&self.name);
        let partition = self
            .arn
            .as_deref()
            .and_then(partition_of_arn)
            .unwrap_or("aws");
        Some(match partition {
            "aws-cn" => format!(
                "https://{region}.console.amazonaws.cn/cloudwatch/home?region={region}#alarmsV2:alarm/{name}"
            ),
            "aws-us-gov" => format!(
                "https://{region}.console.amazonaws-us-gov.com/cloudwatch/home?region={region}#alarmsV2:alarm/{name}"
            ),
            _ => format!(
                "https://{region}.console.aws.amazon.com/cloudwatch/deeplink.js?region={region}#alarmsV2:alarm/{name}"
            ),
        })
    }

    fn icon(&self) -> &'static str {
        match self.state {
            AlarmState::Alarm => "🚨",
            AlarmState::Ok => "✅",
            AlarmState::InsufficientData => "❔",
            AlarmState::Other(_) => "🔔",
        }
    }

    /// Plain text: `jobwatch-prod-errors is in ALARM`.
    pub fn headline(&self) -> String {
        match &self.state {
            AlarmState::Alarm => format!("{} is in ALARM", self.name),
            AlarmState::Ok => format!("{} is OK", self.name),
            AlarmState::InsufficientData => format!("{} has insufficient data", self.name),
            AlarmState::Other(state) => format!("{} is {state}", self.name),
        }
    }

    /// The condition in words (mrkdwn, escaped).
    pub fn condition_words(&self) -> Vec<String> {
        let t = &self.threshold;
        match &self.condition {
            Condition::Metric { metric, statistic } => {
                let mut line = format!(
                    "*Condition:* {} {}",
                    metric_words(metric, statistic.as_deref()),
                    comparison_words(t)
                );
                line.push_str(&periods_words(t));
                vec![line]
            }
            Condition::Math { queries } => {
                let main = queries
                    .iter()
                    .find(|q| q.return_data && q.expression.is_some())
                    .or_else(|| queries.iter().find(|q| q.return_data))
                    .or_else(|| queries.first());
                let mut lines = Vec::new();
                if let Some(main) = main {
                    let what = match (&main.expression, &main.label) {
                        (Some(expression), Some(label)) => {
                            format!("{} ({})", inline_code(expression), escape(label))
                        }
                        (Some(expression), None) => inline_code(expression),
                        (None, _) => query_words(main),
                    };
                    lines.push(format!(
                        "*Condition:* {what} {}{}",
                        comparison_words(t),
                        periods_words(t)
                    ));
                }
                for query in queries.iter().filter(|q| Some(*q) != main).take(10) {
                    lines.push(format!(
                        "• {} = {}",
                        inline_code(&query.id),
                        query_words(query)
                    ));
                }
                lines
            }
            Condition::Composite { rule, triggering } => {
                let mut lines = Vec::new();
                if let Some(rule) = rule {
                    lines.push(format!("*Rule:* {}", inline_code(rule)));
                }
                if !triggering.is_empty() {
                    let children: Vec<String> = triggering
                        .iter()
                        .take(10)
                        .map(|(arn, state)| {
                            let name = arn.rsplit(":alarm:").next().unwrap_or(arn);
                            if state.is_empty() {
                                escape(name)
                            } else {
                                format!("{} ({})", escape(name), escape(state))
                            }
                        })
                        .collect();
                    lines.push(format!("*Triggered by:* {}", children.join(", ")));
                }
                lines
            }
            Condition::Unknown => match t.threshold {
                Some(_) => vec![format!("*Condition:* {}", comparison_words(t))],
                None => Vec::new(),
            },
        }
    }
}

fn percent_encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-_.~".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

fn statistic_words(stat: &str) -> String {
    match stat.to_ascii_uppercase().as_str() {
        "SUM" => "Sum".into(),
        "AVERAGE" => "Average".into(),
        "MINIMUM" => "Minimum".into(),
        "MAXIMUM" => "Maximum".into(),
        "SAMPLECOUNT" | "SAMPLE_COUNT" => "Sample count".into(),
        _ => stat.to_string(),
    }
}

/// `Sum of Jobwatch MissedRuns (Environment = prod)` (escaped).
fn metric_words(metric: &MetricRef, statistic: Option<&str>) -> String {
    let mut words = String::new();
    if let Some(stat) = statistic {
        words.push_str(&escape(&statistic_words(stat)));
        words.push_str(" of ");
    }
    let name = match (&metric.namespace, &metric.name) {
        (Some(ns), Some(name)) => format!("{ns} {name}"),
        (None, Some(name)) => name.clone(),
        (Some(ns), None) => format!("a {ns} metric"),
        (None, None) => "the metric".to_string(),
    };
    words.push_str(&inline_code(&name));
    if !metric.dimensions.is_empty() {
        let dims: Vec<String> = metric
            .dimensions
            .iter()
            .take(10)
            .map(|(k, v)| format!("{} = {}", escape(k), escape(v)))
            .collect();
        words.push_str(&format!(" ({})", dims.join(", ")));
    }
    words
}

fn query_words(query: &MetricQuery) -> String {
    let mut words = match (&query.expression, &query.metric) {
        (Some(expression), _) => inline_code(expression),
        (None, Some(metric)) => metric_words(metric, query.stat.as_deref()),
        (None, None) => "a query".to_string(),
    };
    if let Some(period) = query.period {
        words.push_str(&format!(
            " every {}",
            window_words(jobwatch_core::Duration::from_secs(period))
        ));
    }
    if let (Some(label), None) = (&query.label, &query.expression) {
        words.push_str(&format!(" ({})", escape(label)));
    }
    words
}

fn number_words(n: f64) -> String {
    if n.is_finite() && n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// `is greater than or equal to 1` (escaped).
fn comparison_words(t: &Threshold) -> String {
    let value = t.threshold.map(number_words);
    let band = t
        .threshold_metric_id
        .as_deref()
        .map(|id| format!("the band {}", inline_code(id)))
        .unwrap_or_else(|| "its band".to_string());
    match (t.comparison.as_deref(), value) {
        (Some("GreaterThanOrEqualToThreshold"), Some(v)) => {
            format!("is greater than or equal to {v}")
        }
        (Some("GreaterThanThreshold"), Some(v)) => format!("is greater than {v}"),
        (Some("LessThanThreshold"), Some(v)) => format!("is less than {v}"),
        (Some("LessThanOrEqualToThreshold"), Some(v)) => format!("is less than or equal to {v}"),
        (Some("LessThanLowerOrGreaterThanUpperThreshold"), _) => format!("goes outside {band}"),
        (Some("LessThanLowerThreshold"), _) => format!("goes below {band}"),
        (Some("GreaterThanUpperThreshold"), _) => format!("goes above {band}"),
        (Some(other), Some(v)) => format!("{} {v}", escape(other)),
        (Some(other), None) => escape(other),
        (None, Some(v)) => format!("crosses the threshold {v}"),
        (None, None) => "crosses its threshold".to_string(),
    }
}

/// ` for 2 of 3 periods of 5 minutes` (escaped).
fn periods_words(t: &Threshold) -> String {
    let period = t
        .period
        .filter(|p| *p > 0)
        .map(|p| window_words(jobwatch_core::Duration::from_secs(p)));
    let mut words = match (t.datapoints_to_alarm, t.evaluation_periods, &period) {
        (Some(m), Some(n), Some(p)) if m != n => format!(" in {m} of {n} periods of {p}"),
        (_, Some(1), Some(p)) => format!(" in a period of {p}"),
        (_, Some(n), Some(p)) => format!(" for {n} periods of {p} in a row"),
        (_, None, Some(p)) => format!(" over {p}"),
        (_, Some(n), None) => format!(" for {n} periods"),
        _ => String::new(),
    };
    if let Some(missing) = &t.treat_missing_data {
        words.push_str(&format!(" (missing data: {})", escape(missing)));
    }
    words
}

/// The Slack message of an alarm state change, in `environment`'s colours.
pub fn render_alarm(alarm: &Alarm, environment: &str) -> Value {
    let colour = if alarm.is_ok() {
        GREEN
    } else {
        environment_colour(environment)
    };
    let mut message = Message::new(
        &format!("[{}] {}", escape(environment), escape(&alarm.headline())),
        colour,
    );
    if alarm.state == AlarmState::Alarm && alarm.severity() == Severity::Critical {
        message.mention_channel();
    }
    message.header(&format!("{} {}", alarm.icon(), alarm.headline()));
    if let Some(description) = &alarm.description {
        message.section(&escape(description));
    }
    let change = match &alarm.previous_state {
        Some(previous) => format!("{} → {}", previous.as_str(), alarm.state.as_str()),
        None => alarm.state.as_str().to_string(),
    };
    let region = match (&alarm.region, &alarm.region_name) {
        (Some(code), Some(name)) => format!("{code} ({name})"),
        (Some(code), None) => code.clone(),
        (None, Some(name)) => name.clone(),
        (None, None) => String::new(),
    };
    message.fields(&[
        ("State change", escape(&change)),
        ("When", alarm.changed_at.map(when).unwrap_or_default()),
        ("Environment", escape(environment)),
        ("Region", escape(&region)),
        ("Account", escape(alarm.account_id.as_deref().unwrap_or(""))),
    ]);
    if !alarm.reason.trim().is_empty() {
        message.section(&format!("*Reason:* {}", escape(&alarm.reason)));
    }
    message.lines(&alarm.condition_words());
    if let Some(url) = alarm.console_url()
        && let Some(link) = link(&url, "Open the alarm in the CloudWatch console")
    {
        message.section(&link);
    }
    let source = match alarm.source {
        AlarmSource::Sns => "CloudWatch alarm",
        AlarmSource::EventBridge => "CloudWatch alarm (EventBridge)",
    };
    message.context(&format!("jobwatch · {source} · {}", alarm.severity()));
    message.into_payload()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn times_with_offsets_without_a_colon_parse() {
        assert_eq!(
            parse_aws_time("2026-01-15T03:06:12.345+0000"),
            Some("2026-01-15T03:06:12.345Z".parse().expect("time"))
        );
        assert_eq!(
            parse_aws_time("2019-10-02T17:04:40Z"),
            Some("2019-10-02T17:04:40Z".parse().expect("time"))
        );
        assert_eq!(parse_aws_time("yesterday"), None);
    }

    #[test]
    fn regions_come_from_the_arn_first() {
        assert_eq!(
            region_of_arn("arn:aws:cloudwatch:eu-west-1:111122223333:alarm:x").as_deref(),
            Some("eu-west-1")
        );
        assert_eq!(region_of_arn("not an arn"), None);
        assert_eq!(region_of_display_name("EU (Ireland)"), Some("eu-west-1"));
        assert_eq!(
            region_of_display_name("US East (N. Virginia)"),
            Some("us-east-1")
        );
        assert_eq!(region_of_display_name("Mars (Olympus)"), None);
        let alarm = parse_sns_alarm(&json!({
            "AlarmName": "a b|c>", "NewStateValue": "ALARM", "Region": "Asia Pacific (Tokyo)"
        }))
        .expect("alarm");
        assert_eq!(
            alarm.console_url().as_deref(),
            Some(
                "https://ap-northeast-1.console.aws.amazon.com/cloudwatch/deeplink.js?region=ap-northeast-1#alarmsV2:alarm/a%20b%7Cc%3E"
            )
        );
    }

    #[test]
    fn severity_follows_the_state_and_hints() {
        let mut alarm = parse_sns_alarm(&json!({
            "AlarmName": "x", "NewStateValue": "ALARM", "AlarmDescription": "Paging. severity: critical"
        }))
        .expect("alarm");
        assert_eq!(alarm.severity(), Severity::Critical);
        alarm.state = AlarmState::InsufficientData;
        assert_eq!(alarm.severity(), Severity::Warning);
        alarm.state = AlarmState::Ok;
        alarm.previous_state = Some(AlarmState::Alarm);
        assert_eq!(alarm.severity(), Severity::Critical);
        alarm.previous_state = Some(AlarmState::InsufficientData);
        assert_eq!(alarm.severity(), Severity::Warning);
    }

    #[test]
    fn payloads_without_name_or_state_are_not_alarms() {
        assert_eq!(parse_sns_alarm(&json!({"AlarmName": "x"})), None);
        assert_eq!(parse_sns_alarm(&json!({"NewStateValue": "OK"})), None);
        assert_eq!(
            parse_eventbridge_alarm(
                &json!({"detail-type": "EC2 Instance State-change Notification"})
            ),
            None
        );
    }
}
