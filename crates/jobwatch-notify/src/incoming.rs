//! What arrives at the formatter: SNS records (read leniently, one by one, so one bad record
//! never spoils the others), classified into jobwatch alert events, CloudWatch alarms, or
//! anything else, which gets a readable fallback message, never an error.
//!
//! Records are read field by field from JSON rather than deserialised into `aws_lambda_events`'
//! types: a typed read of the event fails whole on one odd record, and a lost alarm is worse
//! than an ugly one.

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, AlertKind, Severity};
use serde_json::Value;

use crate::alarm::{Alarm, parse_eventbridge_alarm, parse_sns_alarm};
use crate::policy::Class;

/// One SNS record as the Lambda event carries it (`Records[].Sns`).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SnsRecord {
    pub message_id: Option<String>,
    pub topic_arn: Option<String>,
    pub subject: Option<String>,
    /// `None` when the record has no string `Message`.
    pub message: Option<String>,
    pub timestamp: Option<Timestamp>,
    /// The record itself, shown when it cannot be read.
    pub raw: Value,
}

fn field(value: &Value, names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| match value.get(*name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        _ => None,
    })
}

/// The records of a Lambda event: SNS records, or (for anything else, such as an EventBridge
/// event invoking the function directly) the event itself as one record.
pub fn sns_records(event: &Value) -> Vec<SnsRecord> {
    let Some(records) = event
        .get("Records")
        .or_else(|| event.get("records"))
        .and_then(Value::as_array)
    else {
        return vec![SnsRecord {
            message_id: field(event, &["id"]),
            message: Some(event.to_string()),
            raw: event.clone(),
            ..SnsRecord::default()
        }];
    };
    records
        .iter()
        .map(|record| {
            let sns = record
                .get("Sns")
                .or_else(|| record.get("sns"))
                .unwrap_or(&Value::Null);
            SnsRecord {
                message_id: field(sns, &["MessageId", "messageId"]),
                topic_arn: field(sns, &["TopicArn", "topicArn"]),
                subject: field(sns, &["Subject", "subject"]),
                message: match sns.get("Message").or_else(|| sns.get("message")) {
                    Some(Value::String(text)) => Some(text.clone()),
                    _ => None,
                },
                timestamp: field(sns, &["Timestamp", "timestamp"])
                    .and_then(|t| crate::alarm::parse_aws_time(&t)),
                raw: record.clone(),
            }
        })
        .collect()
}

/// A message that is neither a jobwatch alert nor a CloudWatch alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Fallback {
    pub subject: Option<String>,
    pub body: String,
    /// The topic's name.
    pub topic: Option<String>,
    pub received_at: Option<Timestamp>,
    /// Why it is shown as is.
    pub why: String,
}

/// What a message is about.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    Alert(Box<AlertEvent>),
    /// A jobwatch alert of a kind this build does not know (from a newer jobwatch).
    UnknownKind {
        event: Box<AlertEvent>,
        kind: String,
    },
    Alarm(Box<Alarm>),
    Other(Fallback),
}

/// A classified message, with what identifies it for de-duplication.
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    /// Stable across re-deliveries: the alert id for jobwatch alerts (the sweeper may publish
    /// one again), the SNS message id otherwise.
    pub id: Option<String>,
    pub notice: Notice,
}

impl Incoming {
    pub fn alert(event: AlertEvent) -> Incoming {
        Incoming {
            id: Some(event.id.clone()),
            notice: Notice::Alert(Box::new(event)),
        }
    }
}

fn topic_name(arn: &str) -> String {
    arn.rsplit(':').next().unwrap_or(arn).to_string()
}

/// Reads one SNS record; never fails.
pub fn classify(record: &SnsRecord) -> Incoming {
    let sns_id = record.message_id.as_ref().map(|id| format!("sns/{id}"));
    let fallback = |body: String, why: String| Incoming {
        id: sns_id.clone(),
        notice: Notice::Other(Fallback {
            subject: record.subject.clone(),
            body,
            topic: record.topic_arn.as_deref().map(topic_name),
            received_at: record.timestamp,
            why,
        }),
    };
    let Some(message) = &record.message else {
        let raw = serde_json::to_string_pretty(&record.raw).unwrap_or_default();
        return fallback(raw, "an SNS record without a message".into());
    };
    let doc: Value = match serde_json::from_str(message) {
        Ok(doc) => doc,
        Err(e) => {
            let why = if message.trim_start().starts_with(['{', '[']) {
                format!("not valid JSON ({e})")
            } else {
                "plain text".to_string()
            };
            return fallback(message.clone(), why);
        }
    };
    if doc.get("schema_version").is_some() && doc.get("kind").is_some() && doc.get("job").is_some()
    {
        return match serde_json::from_value::<AlertEvent>(doc.clone()) {
            Ok(event) => Incoming::alert(event),
            Err(e) => match unknown_kind(&doc) {
                Some((event, kind)) => Incoming {
                    id: Some(event.id.clone()),
                    notice: Notice::UnknownKind {
                        event: Box::new(event),
                        kind,
                    },
                },
                None => fallback(
                    pretty(&doc),
                    format!("a jobwatch alert this version cannot read ({e})"),
                ),
            },
        };
    }
    if let Some(alarm) = parse_sns_alarm(&doc).or_else(|| parse_eventbridge_alarm(&doc)) {
        return Incoming {
            id: sns_id,
            notice: Notice::Alarm(Box::new(alarm)),
        };
    }
    fallback(pretty(&doc), "JSON of an unknown shape".into())
}

/// An alert whose only problem is a kind this build does not know.
fn unknown_kind(doc: &Value) -> Option<(AlertEvent, String)> {
    let kind = doc.get("kind")?.as_str()?.to_string();
    let mut known = doc.clone();
    known["kind"] = Value::String(AlertKind::Failed.as_str().into());
    let event = serde_json::from_value::<AlertEvent>(known).ok()?;
    Some((event, kind))
}

fn pretty(doc: &Value) -> String {
    serde_json::to_string_pretty(doc).unwrap_or_else(|_| doc.to_string())
}

impl Notice {
    /// The severity the policy applies.
    pub fn severity(&self) -> Severity {
        match self {
            Notice::Alert(event) | Notice::UnknownKind { event, .. } => event.severity,
            Notice::Alarm(alarm) => alarm.severity(),
            Notice::Other(_) => Severity::Error,
        }
    }

    pub fn class(&self) -> Class {
        match self {
            Notice::Alert(event) => match event.kind {
                AlertKind::Recovered => Class::Recovery,
                AlertKind::Report | AlertKind::Test => Class::Info,
                AlertKind::Failed
                | AlertKind::Missed
                | AlertKind::TimedOut
                | AlertKind::TooShort
                | AlertKind::Late
                | AlertKind::Slow
                | AlertKind::StillDown => Class::Problem,
            },
            Notice::Alarm(alarm) if alarm.is_ok() => Class::Recovery,
            Notice::UnknownKind { .. } | Notice::Alarm(_) | Notice::Other(_) => Class::Problem,
        }
    }

    /// The environment the notice belongs to (`deployment` for those that do not say).
    pub fn environment<'a>(&'a self, deployment: &'a str) -> &'a str {
        match self {
            Notice::Alert(event) | Notice::UnknownKind { event, .. } => &event.environment,
            Notice::Alarm(_) | Notice::Other(_) => deployment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(message: &str) -> SnsRecord {
        SnsRecord {
            message_id: Some("m-1".into()),
            message: Some(message.into()),
            ..SnsRecord::default()
        }
    }

    #[test]
    fn anything_is_something() {
        assert!(
            matches!(classify(&record("hello")).notice, Notice::Other(f) if f.why == "plain text")
        );
        assert!(
            matches!(classify(&record("{\"a\":")).notice, Notice::Other(f) if f.why.starts_with("not valid JSON"))
        );
        assert!(
            matches!(classify(&record("[1,2]")).notice, Notice::Other(f) if f.why == "JSON of an unknown shape")
        );
        let broken = SnsRecord {
            message: None,
            raw: json!({"Sns": {"Message": 42}}),
            ..SnsRecord::default()
        };
        assert!(matches!(classify(&broken).notice, Notice::Other(f) if f.body.contains("42")));
    }

    #[test]
    fn non_sns_events_are_one_record() {
        let records = sns_records(&json!({"id": "e-1", "detail-type": "Scheduled Event"}));
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].message_id.as_deref(), Some("e-1"));
        let records = sns_records(
            &json!({"Records": [{"Sns": {"Message": "a", "MessageId": "1"}}, {"bad": true}]}),
        );
        assert_eq!(records.len(), 2);
        assert_eq!(records[1].message, None);
    }

    #[test]
    fn alerts_of_unknown_kinds_are_still_alerts() {
        let doc = json!({
            "schema_version": 1, "id": "prod/backup/exploded/1/r1", "kind": "exploded",
            "environment": "prod", "severity": "critical",
            "job": {"slug": "backup", "schedule": "every 1h"},
            "at": "2026-01-15T03:05:00Z", "detected_at": "2026-01-15T03:05:00Z"
        });
        let incoming = classify(&record(&doc.to_string()));
        assert_eq!(incoming.id.as_deref(), Some("prod/backup/exploded/1/r1"));
        let Notice::UnknownKind { kind, event } = &incoming.notice else {
            panic!("{incoming:?}")
        };
        assert_eq!(
            (kind.as_str(), event.severity),
            ("exploded", Severity::Critical)
        );
        let payload = incoming.notice.render("prod");
        assert_eq!(
            payload["attachments"][0]["blocks"][0]["text"]["text"],
            "🔔 backup: exploded"
        );
    }
}
