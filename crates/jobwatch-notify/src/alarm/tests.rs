use super::fields::*;
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
        parse_eventbridge_alarm(&json!({"detail-type": "EC2 Instance State-change Notification"})),
        None
    );
}
