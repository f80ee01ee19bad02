//! Reading the fields of alarm payloads leniently (strings, numbers, times, ARNs, regions,
//! severity hints, dimensions), shared by both parsers.

use jiff::Timestamp;
use jobwatch_core::Severity;
use serde_json::Value;

pub(crate) fn text(value: &Value, key: &str) -> Option<String> {
    match value.get(key)? {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

pub(crate) fn number(value: &Value, key: &str) -> Option<f64> {
    match value.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

pub(crate) fn count(value: &Value, key: &str) -> Option<u64> {
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

pub(crate) fn partition_of_arn(arn: &str) -> Option<&str> {
    arn.strip_prefix("arn:")?.split(':').next()
}

pub(crate) fn is_region_code(text: &str) -> bool {
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
pub(crate) fn severity_in(text: &str) -> Option<Severity> {
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

pub(crate) fn severity_tag(tags: Option<&Value>) -> Option<Severity> {
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
pub(crate) fn dimensions(value: Option<&Value>) -> Vec<(String, String)> {
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
