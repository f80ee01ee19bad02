//! An alarm in words: its severity, headline, icon, condition and console link, as every
//! rendering (Slack, console) shows them.

use jobwatch_core::Severity;

use super::fields::{is_region_code, partition_of_arn};
use super::*;
use crate::message::{escape, inline_code, window_words};

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

    pub(crate) fn icon(&self) -> &'static str {
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
