//! The Slack message of a CloudWatch alarm state change.

use jobwatch_core::Severity;
use serde_json::Value;

use crate::alarm::{Alarm, AlarmSource, AlarmState};
use crate::message::{GREEN, Message, environment_colour, escape, link, when};

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
