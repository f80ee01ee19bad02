//! The alarm notification CloudWatch publishes to SNS (old and new payloads; single-metric,
//! metric-math and composite alarms).

use serde_json::Value;

use super::fields::*;
use super::*;

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
