//! The Slack message of a test alert: short, plainly a test, and saying who asked for it and
//! when, so nobody in the channel mistakes it for trouble.

use jobwatch_core::AlertEvent;
use jobwatch_core::timefmt::at_in;
use serde_json::Value;

use crate::message::{Message, environment_colour, escape};

/// The Slack webhook payload for a test alert (kind `test`).
pub fn render_test_alert(event: &AlertEvent) -> Value {
    let headline = format!("jobwatch test alert from {}", event.environment);
    let mut message = Message::new(
        &format!("[{}] {}", escape(&event.environment), escape(&headline)),
        environment_colour(&event.environment),
    );
    message.header(&format!("🧪 {headline}"));
    let by = event
        .source
        .as_ref()
        .and_then(|s| s.user_agent.as_deref())
        .map(requester)
        .unwrap_or("jobwatch doctor");
    let mut asked = format!("Requested at {} by {}", at_in(event.at, None), escape(by));
    if let Some(host) = event.source.as_ref().and_then(|s| s.host.as_deref()) {
        asked.push_str(&format!(" on {}", escape(host)));
    }
    message.section(&format!(
        "{asked}.\nAlerts of *{}* reach this channel: nothing needs doing.",
        escape(&event.environment)
    ));
    let id = event.run_id.as_deref().unwrap_or("");
    message.context(&format!("jobwatch · test · id {}", escape(id)));
    message.into_payload()
}

/// Who asked, in words: `jobwatch doctor` for the doctor's User-Agent, else the agent itself.
fn requester(user_agent: &str) -> &str {
    if user_agent.contains("doctor") {
        "jobwatch doctor"
    } else {
        user_agent
    }
}
