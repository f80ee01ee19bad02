//! The message of a group of simultaneous trouble (`crate::grouping`): a headline counting the
//! jobs, one line per job, within Slack's limits; and its console line.

use jobwatch_core::timefmt::at_in;
use jobwatch_core::{AlertEvent, AlertKind, Duration};
use serde_json::Value;

use crate::message::{GREEN, Message, environment_colour, escape, when, window_words};
use crate::stored::{GroupDoc, OpenGroup};

/// Job lines shown in one message; the rest are counted ("and N more"), which keeps even a
/// storm of hundreds well within Slack's block and text limits.
pub const GROUP_LINES_SHOWN: usize = 40;

/// What one job's line says it did.
fn kind_words(kind: &str) -> &'static str {
    match kind {
        "missed" => "did not run",
        "timed_out" => "ran past its limit",
        "recovered" => "recovered",
        _ => "is in trouble",
    }
}

/// One job's line (escaped mrkdwn): name, what it did, when (in the job's zone), the limit.
pub fn group_line(event: &AlertEvent) -> String {
    let tz = super::job::zone(event);
    let tz = tz.as_ref();
    let icon = if event.kind == AlertKind::Recovered {
        "✅"
    } else {
        "⏰"
    };
    let mut line = format!(
        "{icon} *{}* {} · {}",
        escape(&event.job.slug),
        kind_words(event.kind.as_str()),
        at_in(event.at, tz)
    );
    if let Some(breach) = &event.breach {
        line.push_str(&format!(" · limit: {}", escape(&breach.text)));
    } else if let Some(expected) = event.expected_at
        && event.kind == AlertKind::Missed
    {
        line.push_str(&format!(" · expected {}", at_in(expected, tz)));
    }
    line
}

/// `group db-hosts`, `host web-1`, `environment prod`.
pub fn group_label(doc: &GroupDoc) -> String {
    format!("{} {}", doc.by, doc.name)
}

/// The headline (plain text, with its icon): `🔴 10 jobs missed their runs (group db-hosts)`.
pub fn group_headline(doc: &GroupDoc, open: &OpenGroup) -> String {
    let count = open.lines.len() as u64 + open.more;
    let jobs = if count == 1 { "job" } else { "jobs" };
    let label = group_label(doc);
    if doc.recovery {
        return format!("✅ {count} {jobs} recovered ({label})");
    }
    let missed = open.lines.iter().any(|l| l.kind == "missed");
    let timed_out = open.lines.iter().any(|l| l.kind == "timed_out");
    let what = match (missed, timed_out) {
        (false, true) => "ran past their limits",
        (true, true) => "missed their runs or ran past their limits",
        _ => "missed their runs",
    };
    format!("🔴 {count} {jobs} {what} ({label})")
}

/// The Slack message of a closed group.
pub fn render_group(doc: &GroupDoc, open: &OpenGroup) -> Value {
    let headline = group_headline(doc, open);
    let colour = if doc.recovery {
        GREEN
    } else {
        environment_colour(&doc.environment)
    };
    // The notification line without the icon, as every other message's.
    let plain = headline
        .split_once(' ')
        .map_or(headline.as_str(), |(_, h)| h);
    let mut message = Message::new(
        &format!("[{}] {}", escape(&doc.environment), escape(plain)),
        colour,
    );
    message.header(&headline);
    let mut lines: Vec<String> = open
        .lines
        .iter()
        .take(GROUP_LINES_SHOWN)
        .map(|l| l.text.clone())
        .collect();
    let hidden = (open.lines.len().saturating_sub(GROUP_LINES_SHOWN)) as u64 + open.more;
    if hidden > 0 {
        lines.push(format!("_… and {hidden} more_"));
    }
    message.lines(&lines);
    message.context(&format!(
        "jobwatch · grouped within {} · {} · from {}",
        window_words(Duration::between(open.start, open.end)),
        escape(&doc.environment),
        when(open.start)
    ));
    message.into_payload()
}

/// The console and log line of a group message: the headline and the jobs.
pub fn group_console_line(doc: &GroupDoc, open: &OpenGroup) -> String {
    let mut jobs: Vec<&str> = open.lines.iter().map(|l| l.job.as_str()).collect();
    let hidden = jobs.len().saturating_sub(GROUP_LINES_SHOWN) as u64 + open.more;
    jobs.truncate(GROUP_LINES_SHOWN);
    let mut line = format!(
        "[{}] {}: {}",
        doc.environment,
        group_headline(doc, open),
        jobs.join(", ")
    );
    if hidden > 0 {
        line.push_str(&format!(" and {hidden} more"));
    }
    line
}
