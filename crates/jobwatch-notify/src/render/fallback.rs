//! The readable fallback message for anything published to the topic that is neither a
//! jobwatch alert nor a CloudWatch alarm.

use serde_json::Value;

use crate::incoming::Fallback;
use crate::message::{GREY, Message, code_block, environment_colour, escape, truncate, when};

/// The readable fallback: the subject as the title, the message as text (JSON pretty-printed
/// in a code block).
pub fn render_fallback(fallback: &Fallback, environment: &str) -> Value {
    let first_line = fallback
        .body
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("");
    let title = fallback
        .subject
        .clone()
        .unwrap_or_else(|| match &fallback.topic {
            Some(topic) => format!("Message on {topic}"),
            None => "Message".to_string(),
        });
    let colour = if environment.is_empty() {
        GREY
    } else {
        environment_colour(environment)
    };
    let looks_like_json = fallback.body.trim_start().starts_with(['{', '[']);
    let summary = if fallback.subject.is_some() || first_line.is_empty() || looks_like_json {
        title.clone()
    } else {
        truncate(first_line, 120)
    };
    let mut message = Message::new(
        &format!("[{}] {}", escape(environment), escape(&summary)),
        colour,
    );
    message.header(&format!("📨 {title}"));
    if looks_like_json {
        message.section(&code_block(&fallback.body, 2_900));
    } else {
        // Long text: its first sections (cut before escaping, so no escape is split).
        let chars: Vec<char> = fallback.body.chars().collect();
        for chunk in chars.chunks(2_000).take(3) {
            message.section(&escape(&chunk.iter().collect::<String>()));
        }
    }
    let mut context = format!("jobwatch · shown as is: {}", escape(&fallback.why));
    if let Some(topic) = &fallback.topic {
        context.push_str(&format!(" · topic {}", escape(topic)));
    }
    if let Some(at) = fallback.received_at {
        context.push_str(&format!(" · at {}", when(at)));
    }
    message.context(&context);
    message.into_payload()
}
