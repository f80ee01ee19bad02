//! Building Slack messages that always fit: every renderer writes through [`Message`], which
//! escapes nothing itself but cuts every piece to Slack's documented limits (see
//! `shared/reference`), caps the number of blocks and the total text, so a message is never
//! refused for its length. Helpers here escape user text for mrkdwn.

use jiff::Timestamp;
use jobwatch_core::Duration;
use serde_json::{Value, json};

/// Slack's documented limits.
pub const MAX_BLOCKS: usize = 50;
pub const SECTION_TEXT_MAX: usize = 3_000;
pub const HEADER_MAX: usize = 150;
pub const FIELD_MAX: usize = 2_000;
pub const MAX_FIELDS: usize = 10;
pub const MAX_CONTEXT_ELEMENTS: usize = 10;
/// The notification text (top-level `text` and the attachment's `fallback`): what a phone
/// shows, so short.
pub const NOTIFICATION_MAX: usize = 300;
/// Slack refuses messages whose blocks hold more than about 13,200 characters in total
/// (`msg_blocks_too_long`, undocumented): stay well below.
pub const TOTAL_BLOCK_TEXT_MAX: usize = 11_000;

/// Attachment colours.
pub const GREEN: &str = "#2EB67D";
pub const GREY: &str = "#808080";

/// The colour bar of an environment: prod red, staging orange, dev blue, others grey.
pub fn environment_colour(environment: &str) -> &'static str {
    match environment {
        "prod" | "production" => "#FF0000",
        "staging" | "stage" => "#FFA500",
        "dev" | "development" => "#0000FF",
        _ => GREY,
    }
}

/// Escapes the three characters Slack's mrkdwn treats as control characters, so user text
/// can neither mention (`<!channel>`) nor link (`<https://...>`).
pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `text` to at most `max` characters, marking the cut.
pub fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    // Never leave half an escape (`&am`) or a dangling link opener behind.
    if let Some(amp) = out.rfind('&')
        && !out[amp..].contains(';')
    {
        out.truncate(amp);
    }
    out.push('…');
    out
}

/// Keeps the end of `text` (output matters most at its end), at most `max` characters.
pub fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let mut out = String::from("…");
    out.extend(text.chars().skip(count - max + 1));
    out
}

/// User text as a code block (escaped; backtick runs that would end it early are broken),
/// keeping the end when it is too long.
pub fn code_block(text: &str, max: usize) -> String {
    let body = escape(text).replace("```", "`\u{200b}``");
    let body = tail(&body, max.saturating_sub(6).max(1));
    format!("```{body}```")
}

/// User text as inline code (escaped; backticks, which would end it, replaced).
pub fn inline_code(text: &str) -> String {
    let body = escape(text).replace('`', "\u{2035}").replace('\n', " ");
    if body.is_empty() {
        return String::new();
    }
    format!("`{body}`")
}

/// A link whose URL we built or checked (`&` escaped as Slack asks); `None` for URLs that
/// would break mrkdwn.
pub fn link(url: &str, label: &str) -> Option<String> {
    let safe = (url.starts_with("https://") || url.starts_with("http://"))
        && !url.contains(['|', '>', '<', '`'])
        && !url.contains(char::is_whitespace);
    safe.then(|| format!("<{}|{}>", url.replace('&', "&amp;"), escape(label)))
}

/// `2026-01-15 03:05:00 UTC`.
pub fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// `03:05 UTC`, for times within one message that share a date.
pub fn clock(t: Timestamp) -> String {
    t.strftime("%H:%M UTC").to_string()
}

/// A duration for people: whole seconds beyond ten seconds.
pub fn duration(ms: u64) -> String {
    let rounded = if ms >= 10_000 { ms / 1000 * 1000 } else { ms };
    Duration::from_millis(rounded).to_string()
}

/// A window in words: `5 minutes`, `90 seconds`, `1 hour`.
pub fn window_words(window: Duration) -> String {
    let ms = window.as_millis();
    let (n, unit) = if ms >= 3_600_000 && ms.is_multiple_of(3_600_000) {
        (ms / 3_600_000, "hour")
    } else if ms >= 60_000 && ms.is_multiple_of(60_000) {
        (ms / 60_000, "minute")
    } else {
        return format!("{} seconds", ms / 1000);
    };
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// `1 time`, `3 times`.
pub fn times(n: u64) -> String {
    if n == 1 {
        "once".to_string()
    } else {
        format!("{n} times")
    }
}

/// A Slack message under construction: Block Kit blocks inside one attachment with a colour
/// bar, and a top-level `text` for notifications.
#[derive(Debug, Clone)]
pub struct Message {
    text: String,
    colour: String,
    blocks: Vec<Value>,
}

impl Message {
    /// `text` is mrkdwn (already escaped) and becomes the notification line.
    pub fn new(text: &str, colour: &str) -> Message {
        Message {
            text: truncate(text, NOTIFICATION_MAX),
            colour: colour.to_string(),
            blocks: Vec::new(),
        }
    }

    /// Prefixes the notification line with an `@channel` mention.
    pub fn mention_channel(&mut self) {
        if !self.text.starts_with("<!channel>") {
            self.text = truncate(&format!("<!channel> {}", self.text), NOTIFICATION_MAX);
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    /// A header of plain text (no escaping needed, none applied).
    pub fn header(&mut self, plain: &str) {
        let plain = plain.replace('\n', " ");
        let plain = plain.trim();
        if !plain.is_empty() {
            self.blocks.push(json!({
                "type": "header",
                "text": {"type": "plain_text", "text": truncate(plain, HEADER_MAX), "emoji": true}
            }));
        }
    }

    /// A section of mrkdwn (already escaped); empty text adds nothing.
    pub fn section(&mut self, mrkdwn: &str) {
        if !mrkdwn.trim().is_empty() {
            self.blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate(mrkdwn, SECTION_TEXT_MAX)}
            }));
        }
    }

    /// Lines of mrkdwn as few sections as fit, each line whole where possible.
    pub fn lines(&mut self, lines: &[String]) {
        let mut current = String::new();
        for line in lines {
            let line = truncate(line, SECTION_TEXT_MAX);
            if !current.is_empty()
                && current.chars().count() + 1 + line.chars().count() > SECTION_TEXT_MAX
            {
                self.section(&std::mem::take(&mut current));
            }
            if !current.is_empty() {
                current.push('\n');
            }
            current.push_str(&line);
        }
        self.section(&current);
    }

    /// A section of `*name*\nvalue` fields (values already escaped), at most ten.
    pub fn fields(&mut self, fields: &[(&str, String)]) {
        let fields: Vec<Value> = fields
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .take(MAX_FIELDS)
            .map(|(name, value)| {
                json!({"type": "mrkdwn", "text": truncate(&format!("*{name}*\n{value}"), FIELD_MAX)})
            })
            .collect();
        if !fields.is_empty() {
            self.blocks
                .push(json!({"type": "section", "fields": fields}));
        }
    }

    /// A context line of mrkdwn (already escaped).
    pub fn context(&mut self, mrkdwn: &str) {
        if !mrkdwn.trim().is_empty() {
            self.blocks.push(json!({
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": truncate(mrkdwn, FIELD_MAX)}]
            }));
        }
    }

    pub fn divider(&mut self) {
        self.blocks.push(json!({"type": "divider"}));
    }

    /// The webhook payload, within every limit: at most 50 blocks (the last one, usually the
    /// context, is kept) and a bounded total of text.
    pub fn into_payload(self) -> Value {
        let Message {
            text,
            colour,
            mut blocks,
        } = self;
        if blocks.len() > MAX_BLOCKS {
            let omitted = blocks.len() - (MAX_BLOCKS - 1);
            let last = blocks.pop();
            blocks.truncate(MAX_BLOCKS - 2);
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("_… {omitted} more blocks left out (Slack shows at most {MAX_BLOCKS})_")}
            }));
            blocks.extend(last);
        }
        let mut budget = TOTAL_BLOCK_TEXT_MAX;
        for block in &mut blocks {
            budget = fit_block(block, budget);
        }
        blocks.retain(|block| {
            block["type"] != "section"
                || block["text"]["text"]
                    .as_str()
                    .is_some_and(|t| !t.is_empty())
                || block["fields"].as_array().is_some_and(|f| !f.is_empty())
        });
        let text = if text.trim().is_empty() {
            "jobwatch".to_string()
        } else {
            text
        };
        json!({
            "text": text,
            "attachments": [{"color": colour, "fallback": text, "blocks": blocks}]
        })
    }
}

/// Cuts the texts of `block` to what is left of `budget`; returns what is left after it.
fn fit_block(block: &mut Value, mut budget: usize) -> usize {
    let mut fit = |text: &mut Value| {
        if let Some(s) = text.as_str() {
            let n = s.chars().count();
            if n > budget {
                let cut = if budget < 20 {
                    String::new()
                } else {
                    truncate(s, budget)
                };
                budget -= cut.chars().count().min(budget);
                *text = Value::String(cut);
            } else {
                budget -= n;
            }
        }
    };
    if let Some(text) = block.get_mut("text").and_then(|t| t.get_mut("text")) {
        fit(text);
    }
    if let Some(fields) = block.get_mut("fields").and_then(Value::as_array_mut) {
        for field in fields.iter_mut() {
            if let Some(text) = field.get_mut("text") {
                fit(text);
            }
        }
        fields.retain(|f| f["text"].as_str().is_some_and(|t| !t.is_empty()));
    }
    if let Some(elements) = block.get_mut("elements").and_then(Value::as_array_mut) {
        for element in elements.iter_mut() {
            if let Some(text) = element.get_mut("text") {
                fit(text);
            }
        }
        // A context needs an element with text: keep a minimal one.
        for element in elements.iter_mut() {
            if element["text"].as_str().is_some_and(str::is_empty) {
                element["text"] = Value::String("…".into());
            }
        }
    }
    budget
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_cutting_never_break_mrkdwn() {
        assert_eq!(escape("a <b> & c"), "a &lt;b&gt; &amp; c");
        assert_eq!(truncate("abcdef", 4), "abc…");
        assert_eq!(truncate("ab&amp;cd", 5), "ab…", "no half escape at the cut");
        assert_eq!(tail("abcdef", 4), "…def");
        assert_eq!(code_block("a```b", 100), "```a`\u{200b}``b```");
        assert_eq!(inline_code("a`b<"), "`a\u{2035}b&lt;`");
        assert_eq!(
            link("https://x/y", "a<b"),
            Some("<https://x/y|a&lt;b>".into())
        );
        assert_eq!(link("https://x/y|z", "a"), None);
        assert_eq!(link("javascript:x", "a"), None);
    }

    #[test]
    fn words_for_windows_and_counts() {
        assert_eq!(window_words(Duration::from_mins(5)), "5 minutes");
        assert_eq!(window_words(Duration::from_mins(1)), "1 minute");
        assert_eq!(window_words(Duration::from_hours(2)), "2 hours");
        assert_eq!(window_words(Duration::from_secs(90)), "90 seconds");
        assert_eq!(times(1), "once");
        assert_eq!(times(3), "3 times");
    }

    #[test]
    fn too_many_blocks_keep_the_last_and_say_so() {
        let mut message = Message::new("t", GREY);
        for i in 0..80 {
            message.section(&format!("s{i}"));
        }
        message.context("last");
        let payload = message.into_payload();
        let blocks = payload["attachments"][0]["blocks"]
            .as_array()
            .expect("blocks");
        assert_eq!(blocks.len(), MAX_BLOCKS);
        assert_eq!(blocks[49]["elements"][0]["text"], "last");
        assert!(
            blocks[48]["text"]["text"]
                .as_str()
                .is_some_and(|t| t.contains("more blocks left out"))
        );
    }
}
