//! The EventBridge "CloudWatch Alarm State Change" event.

use serde_json::Value;

use super::fields::*;
use super::*;

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
