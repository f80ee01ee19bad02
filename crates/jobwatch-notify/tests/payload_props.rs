//! Whatever arrives (10,000-character alarm reasons, Unicode, backticks, `<`, `>`, `&`, fake
//! mentions and links, in every field of every kind of message), every Slack payload the
//! formatter can post stays within Slack's limits (the rules the test Slack receiver
//! enforces) and its mrkdwn is escaped: the only `<...>` sequences are our own `<!channel>`
//! and links we built, and every `&` starts an escape.

use jiff::Timestamp;
use jobwatch_notify::fatigue::{Summary, SummaryReason};
use jobwatch_notify::state::{
    DigestDoc, DigestLine, StreakEntry, digest_text, render_digest, render_summary,
};
use jobwatch_notify::{SnsRecord, classify};
use jobwatch_testkit::slack::check_slack_limits;
use proptest::prelude::*;
use serde_json::{Value, json};

/// Every mrkdwn text of a payload.
fn mrkdwn_texts(payload: &Value) -> Vec<String> {
    let mut texts = vec![payload["text"].as_str().unwrap_or("").to_string()];
    for attachment in payload["attachments"].as_array().into_iter().flatten() {
        texts.push(attachment["fallback"].as_str().unwrap_or("").to_string());
        for block in attachment["blocks"].as_array().into_iter().flatten() {
            if block["text"]["type"] == "mrkdwn" {
                texts.push(block["text"]["text"].as_str().unwrap_or("").to_string());
            }
            for item in block["fields"]
                .as_array()
                .into_iter()
                .chain(block["elements"].as_array())
                .flatten()
            {
                if item["type"] == "mrkdwn" {
                    texts.push(item["text"].as_str().unwrap_or("").to_string());
                }
            }
        }
    }
    texts
}

/// The first place where `text` is not properly escaped mrkdwn, if any.
fn unescaped(text: &str) -> Option<String> {
    let mut rest = text;
    while let Some(i) = rest.find(['<', '>', '&']) {
        let tail = &rest[i..];
        let skip = if tail.starts_with("<!channel>") {
            "<!channel>".len()
        } else if tail.starts_with("<https://") || tail.starts_with("<http://") {
            let end = tail.find('>')?;
            let inner = &tail[1..end];
            let (url, label) = inner.split_once('|')?;
            if url.contains(['<', ' ', '\n']) || label.contains('<') {
                return Some(format!("a broken link: {}", &tail[..end + 1]));
            }
            if let Some(bad) = unescaped(url).or_else(|| unescaped(label)) {
                return Some(bad);
            }
            end + 1
        } else if tail.starts_with("&amp;") {
            5
        } else if tail.starts_with("&lt;") || tail.starts_with("&gt;") {
            4
        } else {
            let context: String = tail.chars().take(30).collect();
            return Some(format!("unescaped control character at: {context:?}"));
        };
        rest = &tail[skip..];
    }
    None
}

fn assert_payload_ok(what: &str, payload: &Value) -> Result<(), TestCaseError> {
    prop_assert_eq!(
        check_slack_limits(payload),
        Ok(()),
        "{} within limits",
        what
    );
    for text in mrkdwn_texts(payload) {
        prop_assert_eq!(unescaped(&text), None, "{} escaped in {:?}", what, text);
    }
    Ok(())
}

fn record(message: String, subject: Option<String>) -> SnsRecord {
    SnsRecord {
        message_id: Some("m-1".into()),
        topic_arn: Some("arn:aws:sns:eu-west-1:111122223333:alarms".into()),
        subject,
        message: Some(message),
        timestamp: None,
        raw: Value::Null,
    }
}

/// Text that tries hard to break things.
fn odd() -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "\\PC{0,40}",
        Just("<!channel>".to_string()),
        Just("<https://evil.example|click me>".to_string()),
        Just("&amp; & &lt; <b> </b> >>".to_string()),
        Just("```code``` `tick` ``".to_string()),
        Just("*bold* _it_ ~strike~ \n\t\r".to_string()),
        Just("héllo wörld ✓ 🚨👩‍💻 مرحبا שלום 日本語 e\u{301}".to_string()),
        Just("\u{0}\u{7f}\u{200b}\u{feff}".to_string()),
    ];
    (proptest::collection::vec(pieces, 0..8), 1usize..400)
        .prop_map(|(parts, repeat)| parts.concat().repeat(repeat).chars().take(12_000).collect())
}

fn alarm_doc(name: &str, text: &str, reason: &str, variant: u8) -> Value {
    let state = ["ALARM", "OK", "INSUFFICIENT_DATA", "BROKEN"][usize::from(variant % 4)];
    let mut doc = json!({
        "AlarmName": name, "AlarmDescription": text, "AWSAccountId": text,
        "NewStateValue": state,
        "OldStateValue": text, "NewStateReason": reason,
        "StateChangeTime": "2026-01-15T03:06:12.345+0000", "Region": text,
        "AlarmArn": format!("arn:aws:cloudwatch:eu-west-1:111122223333:alarm:{name}"),
    });
    match variant % 3 {
        0 => {
            doc["Trigger"] = json!({
                "MetricName": text, "Namespace": text, "Statistic": text, "Unit": null,
                "Dimensions": [{"value": text, "name": text}],
                "Period": 60, "EvaluationPeriods": 3, "DatapointsToAlarm": 2,
                "ComparisonOperator": text, "Threshold": 1.5e300, "TreatMissingData": text,
            });
        }
        1 => {
            doc["Trigger"] = json!({
                "Period": 300, "EvaluationPeriods": 2, "ComparisonOperator": "GreaterThanThreshold",
                "Threshold": 10.0,
                "Metrics": (0..15).map(|i| json!({
                    "Id": format!("m{i}{text}"), "Expression": if i == 0 { Value::String(text.to_string()) } else { Value::Null },
                    "Label": text, "ReturnData": i == 0,
                    "MetricStat": {"Metric": {"Dimensions": [{"value": text, "name": "E"}], "MetricName": text, "Namespace": text}, "Period": 300, "Stat": text},
                })).collect::<Vec<_>>(),
            });
        }
        _ => {
            doc["AlarmRule"] = json!(text);
            doc["TriggeringChildren"] = json!(
                (0..20)
                    .map(|_| json!({
                        "Arn": format!("arn:aws:cloudwatch:eu-west-1:1:alarm:{text}"),
                        "State": {"Value": text, "Timestamp": "2026-01-15T03:06:12.345+0000"},
                    }))
                    .collect::<Vec<_>>()
            );
        }
    }
    doc
}

fn eventbridge_doc(name: &str, text: &str, reason: &str) -> Value {
    json!({
        "version": "0", "id": "e-1", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": text, "time": "2026-01-15T03:06:12Z",
        "region": text, "resources": [format!("arn:aws:cloudwatch:eu-west-1:1:alarm:{name}")],
        "detail": {
            "alarmName": name, "alarmTags": {"severity": "critical"},
            "configuration": {"description": text, "alarmRule": if text.len().is_multiple_of(2) { Value::Null } else { Value::String(text.to_string()) },
                "metrics": [{"id": text, "expression": text, "label": text, "returnData": true},
                            {"id": "m1", "metricStat": {"metric": {"dimensions": {"K": text}, "name": text, "namespace": text}, "period": 60, "stat": text}, "returnData": false}]},
            "previousState": {"value": "OK", "reason": text},
            "state": {"value": "ALARM", "reason": reason, "timestamp": "2026-01-15T03:06:12.370+0000",
                      "reasonData": json!({"threshold": 5.0, "triggeringAlarms": [{"arn": text, "state": {"value": text}}]}).to_string()},
        }
    })
}

fn alert_doc(kind: &str, text: &str, severity: &str) -> Value {
    json!({
        "schema_version": 1, "id": format!("prod/job/{kind}/1/{text}"), "kind": kind,
        "environment": "prod", "severity": severity,
        "job": {"slug": "backup", "schedule": text, "description": text, "tags": [text, text]},
        "at": "2026-01-15T03:05:00Z", "detected_at": "2026-01-15T03:06:00Z",
        "run_id": text, "expected_at": "2026-01-15T03:00:00Z", "started_at": "2026-01-15T03:00:01Z",
        "finished_at": "2026-01-15T03:05:00Z", "duration_ms": 299000, "exit_code": 2,
        "output_excerpt": text, "run_log_url": format!("https://logs.example/{text}"),
        "outage": {"since": "2026-01-14T03:05:00Z", "duration_ms": 86400000, "runs_missed": 1, "runs_failed": 2, "last_error": text},
        "report": if kind == "report" { json!({
            "period_start": "2026-01-14T06:00:00Z", "period_end": "2026-01-15T06:00:00Z",
            "jobs_total": 100, "jobs_down": 1, "jobs_late": 2, "jobs_running": 3, "jobs_paused": 4,
            "runs": 5, "failures": 6, "misses": 7, "timeouts": 8,
            "jobs": (0..40).map(|i| json!({"slug": format!("job-{i}"), "status": "down", "runs": 1, "failures": 1, "misses": 0})).collect::<Vec<_>>(),
        }) } else { Value::Null },
    })
}

const SEVERITIES: [&str; 3] = ["warning", "error", "critical"];

const KINDS: [&str; 10] = [
    "failed",
    "missed",
    "timed_out",
    "too_short",
    "recovered",
    "late",
    "slow",
    "still_down",
    "report",
    "from_the_future",
];

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_payload_respects_slack_limits_and_escapes_mrkdwn(
        text in odd(),
        name in "\\PC{1,300}",
        variant in 0u8..12,
        kind in 0usize..KINDS.len(),
    ) {
        let reason = format!("{text}{}", "<&>`".repeat(2_500));
        let messages = [
            ("SNS alarm", alarm_doc(&name, &text, &reason, variant).to_string(), None),
            ("EventBridge alarm", eventbridge_doc(&name, &text, &reason).to_string(), None),
            ("job alert", alert_doc(KINDS[kind], &text, SEVERITIES[usize::from(variant % 3)]).to_string(), None),
            ("plain text", text.clone(), Some(name.clone())),
            ("unknown JSON", json!({"text": text, "n": [1, 2]}).to_string(), None),
            ("broken JSON", format!("{{\"AlarmName\": {text}"), Some(text.clone())),
        ];
        let mut lines = Vec::new();
        for (what, message, subject) in messages {
            let incoming = classify(&record(message, subject));
            assert_payload_ok(what, &incoming.notice.render(&name))?;
            lines.push(digest_text(&incoming.notice));
        }

        let entry = StreakEntry {
            streak: serde_json::from_value(json!({
                "opened_at": "2026-01-15T03:00:00Z", "last_at": "2026-01-15T03:04:00Z", "total": 3,
                "window_start": "2026-01-15T03:00:00Z", "in_window": 3, "summarised": false, "held": 2
            })).expect("streak"),
            subject: name.clone(),
            verb: text.clone(),
            icon: "🔴".into(),
            environment: text.clone(),
            severity: jobwatch_core::Severity::Critical,
        };
        let at: Timestamp = "2026-01-15T03:04:00Z".parse().expect("time");
        for reason in [SummaryReason::Threshold, SummaryReason::Escalation, SummaryReason::WindowClosed, SummaryReason::Closed] {
            let summary = Summary {
                reason, held: 7, in_window: 3, window: jobwatch_core::Duration::from_mins(5),
                total: 10, opened_at: at, from: at, to: at,
            };
            assert_payload_ok("summary", &render_summary(&entry, &summary))?;
        }

        let mut digest = DigestDoc::new(&text, at, at + jiff::SignedDuration::from_mins(5));
        for i in 0..250 {
            digest.add(DigestLine {
                id: i.to_string(),
                at,
                text: lines[i % lines.len()].clone(),
                recovery: i % 2 == 0,
            });
        }
        assert_payload_ok("digest", &render_digest(&digest))?;
    }
}

#[test]
fn the_escaping_check_itself_catches_what_it_should() {
    assert_eq!(
        unescaped("a &amp; b &lt;c&gt; <!channel> <https://x/y?a=1&amp;b=2|go>"),
        None
    );
    assert!(unescaped("<!here>").is_some());
    assert!(unescaped("a & b").is_some());
    assert!(unescaped("<https://x|a<b>").is_some());
    assert!(unescaped("x > y").is_some());
}
