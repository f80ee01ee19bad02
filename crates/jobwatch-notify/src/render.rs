//! The one renderer for job alerts: Slack payloads and console lines come from here only.

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, AlertKind, Duration};
use serde_json::{Value, json};

/// Slack's documented limits (see shared/reference): a section's text, a header, a field.
const SECTION_TEXT_MAX: usize = 3_000;
const HEADER_MAX: usize = 150;
const FIELD_MAX: usize = 2_000;
const FALLBACK_TEXT_MAX: usize = 500;
const OUTPUT_MAX: usize = 2_500;

/// Attachment colour: by environment, green for recoveries.
fn colour(event: &AlertEvent) -> &'static str {
    if event.kind == AlertKind::Recovered {
        return "#2EB67D";
    }
    match event.environment.as_str() {
        "prod" | "production" => "#FF0000",
        "staging" => "#FFA500",
        "dev" | "development" => "#0000FF",
        _ => "#808080",
    }
}

fn headline(event: &AlertEvent) -> String {
    let job = &event.job.slug;
    match event.kind {
        AlertKind::Failed => match event.exit_code {
            Some(code) => format!("{job} failed (exit status {code})"),
            None => format!("{job} failed"),
        },
        AlertKind::Missed => format!("{job} did not run"),
        AlertKind::TimedOut => format!("{job} is still running past its limit"),
        AlertKind::TooShort => format!("{job} finished suspiciously fast"),
        AlertKind::Recovered => format!("{job} is back up"),
        AlertKind::Late => format!("{job} has not started yet"),
        AlertKind::Slow => format!("{job} is running much longer than usual"),
        AlertKind::StillDown => format!("{job} is still down"),
        AlertKind::Report => format!("Daily report for {}", event.environment),
    }
}

fn icon(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::Recovered => "✅",
        AlertKind::Missed | AlertKind::TimedOut => "⏰",
        AlertKind::TooShort => "⚠️",
        AlertKind::Failed => "🔴",
        AlertKind::Late | AlertKind::Slow => "🐢",
        AlertKind::StillDown => "🔁",
        AlertKind::Report => "📋",
    }
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Cuts `text` to at most `max` characters, marking the cut.
fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Keeps the end of `text` (output matters most at its end), at most `max` characters.
fn tail(text: &str, max: usize) -> String {
    let count = text.chars().count();
    if count <= max {
        return text.to_string();
    }
    let mut out = String::from("…");
    out.extend(text.chars().skip(count - max + 1));
    out
}

fn when(t: Timestamp) -> String {
    t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string()
}

fn duration(ms: u64) -> String {
    // Whole seconds read better than milliseconds beyond a few seconds.
    let rounded = if ms >= 10_000 { ms / 1000 * 1000 } else { ms };
    Duration::from_millis(rounded).to_string()
}

/// The details worth a field, in reading order.
fn facts(event: &AlertEvent) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Environment", event.environment.clone()),
        ("Schedule", event.job.schedule.clone()),
    ];
    if let Some(t) = event.expected_at {
        facts.push(("Expected", when(t)));
    }
    if let Some(t) = event.started_at {
        facts.push(("Started", when(t)));
    }
    if let Some(t) = event.finished_at {
        facts.push(("Finished", when(t)));
    }
    if let Some(ms) = event.duration_ms {
        facts.push(("Duration", duration(ms)));
    }
    if let Some(code) = event.exit_code {
        facts.push(("Exit status", code.to_string()));
    }
    if let Some(run) = &event.run_id {
        facts.push(("Run", run.clone()));
    }
    facts.truncate(10); // Slack allows at most 10 fields in a section
    facts
}

/// The Slack webhook payload for an alert event.
pub fn render_slack(event: &AlertEvent) -> Value {
    let title = format!("{} {}", icon(event.kind), headline(event));
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&title, HEADER_MAX), "emoji": true}
    })];
    if !event.job.description.is_empty() {
        blocks.push(section(&escape(&event.job.description)));
    }
    let fields: Vec<Value> = facts(event)
        .into_iter()
        .map(|(name, value)| json!({"type": "mrkdwn", "text": truncate(&format!("*{name}*\n{}", escape(&value)), FIELD_MAX)}))
        .collect();
    blocks.push(json!({"type": "section", "fields": fields}));
    if let Some(outage) = &event.outage {
        let mut text = format!(
            "*Outage:* down {} since {} · {} missed, {} failed",
            duration(outage.duration_ms),
            when(outage.since),
            outage.runs_missed,
            outage.runs_failed
        );
        if let Some(error) = &outage.last_error {
            text.push_str(&format!("\n*Last error:* {}", escape(error)));
        }
        blocks.push(section(&text));
    }
    if let Some(output) = &event.output_excerpt {
        // Triple backticks inside the output would end the code block early.
        let body = tail(&escape(output).replace("```", "`\u{200b}``"), OUTPUT_MAX);
        blocks.push(section(&format!("```{body}```")));
    }
    if let Some(url) = &event.run_log_url {
        // A URL with `|` or `>` would break the link syntax; such a URL is not one of ours.
        if !url.contains(['|', '>', '<']) {
            blocks.push(section(&format!("<{url}|View the run's output>")));
        }
    }
    let mut context = format!(
        "jobwatch · {} · {} · at {}",
        event.kind,
        event.severity,
        when(event.at)
    );
    if event.detected_at > event.at {
        context.push_str(&format!(" (noticed {})", when(event.detected_at)));
    }
    blocks.push(json!({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(&context, FIELD_MAX)}]}));
    let mention = if event.severity == jobwatch_core::Severity::Critical
        && event.kind != AlertKind::Recovered
    {
        "<!channel> "
    } else {
        ""
    };
    let text = truncate(
        &format!(
            "{mention}[{}] {}",
            event.environment,
            escape(&headline(event))
        ),
        FALLBACK_TEXT_MAX,
    );
    json!({
        "text": text,
        "attachments": [{"color": colour(event), "fallback": text, "blocks": blocks}]
    })
}

fn section(text: &str) -> Value {
    json!({"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_MAX)}})
}

/// One line for the console: `2026-01-15 09:05:00 UTC [prod] MISSED backup did not run ...`.
pub fn console_line(event: &AlertEvent) -> String {
    let mut line = format!(
        "{} [{}] {} {}",
        when(event.at),
        event.environment,
        event.kind.as_str().to_uppercase(),
        headline(event)
    );
    if let Some(t) = event.expected_at {
        line.push_str(&format!(" · expected {}", when(t)));
    }
    if let Some(ms) = event.duration_ms {
        line.push_str(&format!(" · took {}", duration(ms)));
    }
    if let Some(outage) = &event.outage {
        line.push_str(&format!(
            " · was down {} ({} missed, {} failed)",
            duration(outage.duration_ms),
            outage.runs_missed,
            outage.runs_failed
        ));
    }
    if let Some(last) = event
        .output_excerpt
        .as_deref()
        .and_then(|o| o.lines().last())
    {
        line.push_str(&format!(" · {}", truncate(last, 200)));
    }
    line
}
