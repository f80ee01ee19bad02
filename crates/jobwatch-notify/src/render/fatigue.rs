//! The messages of alert fatigue: a summary of the occurrences a streak held back, and the
//! digest of a window of a digest environment.

use jobwatch_core::Duration;
use serde_json::Value;

use crate::fatigue::{Summary, SummaryReason};
use crate::incoming::Notice;
use crate::message::{
    GREEN, Message, clock, environment_colour, escape, times, when, window_words,
};
use crate::stored::{DigestDoc, StreakEntry};

/// The summary's title (plain text): `backup failed 3 times in 5 minutes`.
pub fn summary_headline(entry: &StreakEntry, summary: &Summary) -> String {
    let subject = &entry.subject;
    let verb = &entry.verb;
    let more = match summary.held {
        1 => "once more".to_string(),
        n => format!("{n} more times"),
    };
    match summary.reason {
        SummaryReason::Threshold => format!(
            "{subject} {verb} {} in {}",
            times(u64::from(summary.in_window)),
            window_words(summary.window)
        ),
        SummaryReason::Escalation => format!(
            "{subject} {verb} {} since {} and it goes on",
            times(summary.total),
            clock(summary.opened_at)
        ),
        SummaryReason::WindowClosed => format!("{subject} {verb} {more}"),
        SummaryReason::Closed => format!("{subject} {verb} {more} before it recovered"),
    }
}

/// The Slack message of a summary.
pub fn render_summary(entry: &StreakEntry, summary: &Summary) -> Value {
    let headline = summary_headline(entry, summary);
    let escalation = summary.reason == SummaryReason::Escalation;
    let mut message = Message::new(
        &format!("[{}] {}", escape(&entry.environment), escape(&headline)),
        environment_colour(&entry.environment),
    );
    if escalation {
        message.mention_channel();
    }
    let icon = if escalation {
        "🔥"
    } else {
        entry.icon.as_str()
    };
    message.header(&format!("{icon} {headline}"));
    let span = if summary.from == summary.to {
        format!("at {}", when(summary.to))
    } else {
        format!("between {} and {}", when(summary.from), when(summary.to))
    };
    let held = match summary.held {
        0 => String::new(),
        1 => format!("1 occurrence held back {span}."),
        n => format!("{n} occurrences held back {span}."),
    };
    let total = match summary.total {
        1 => format!("Once in all since {}.", when(summary.opened_at)),
        n => format!("{n} times in all since {}.", when(summary.opened_at)),
    };
    let next = match summary.reason {
        SummaryReason::Threshold => {
            "Further repeats in this window are held and summarised when it closes."
        }
        SummaryReason::Escalation => "The storm goes on, so this one is escalated.",
        SummaryReason::WindowClosed => "Repeats that follow are held and summarised again.",
        SummaryReason::Closed => "It recovered, which closes the incident.",
    };
    let text = if held.is_empty() {
        format!("{total}\n{next}")
    } else {
        format!("{held} {total}\n{next}")
    };
    message.section(&escape(&text));
    message.context(&format!(
        "jobwatch · summary ({}) · {} · {}",
        match summary.reason {
            SummaryReason::Threshold => "threshold",
            SummaryReason::Escalation => "escalation",
            SummaryReason::WindowClosed => "window closed",
            SummaryReason::Closed => "closed",
        },
        escape(&entry.environment),
        entry.severity
    ));
    message.into_payload()
}

/// A notice's line in a digest (escaped mrkdwn).
pub fn digest_text(notice: &Notice) -> String {
    match notice {
        Notice::Alert(_) | Notice::UnknownKind { .. } => match notice.kind_view() {
            Some(view) => {
                let at = match notice {
                    // A job's alert in the job's zone (and UTC), as its own message.
                    Notice::Alert(e) | Notice::UnknownKind { event: e, .. } => {
                        jobwatch_core::timefmt::clock_in(e.at, super::job::zone(e).as_ref())
                    }
                    _ => String::new(),
                };
                format!("{} {} · {at}", view.icon, escape(&view.headline))
            }
            None => String::new(),
        },
        Notice::Alarm(alarm) => {
            let icon = if alarm.is_ok() { "✅" } else { "🚨" };
            let mut line = format!("{icon} {}", escape(&alarm.headline()));
            if let Some(at) = alarm.changed_at {
                line.push_str(&format!(" · {}", clock(at)));
            }
            line
        }
        Notice::Other(fallback) => format!(
            "📨 {}",
            escape(
                fallback
                    .subject
                    .as_deref()
                    .unwrap_or(fallback.body.lines().next().unwrap_or("a message"))
            )
        ),
    }
}

/// The digest message: one line per notice of the window.
pub fn render_digest(digest: &DigestDoc) -> Value {
    let count = digest.lines.len() as u64 + digest.more;
    let window = Duration::between(digest.start, digest.end);
    let noun = if count == 1 {
        "notification"
    } else {
        "notifications"
    };
    let title = format!(
        "{count} {noun} in {} ({}–{})",
        window_words(window),
        digest.start.strftime("%H:%M"),
        clock(digest.end)
    );
    let colour = if digest.recoveries_only {
        GREEN
    } else {
        environment_colour(&digest.environment)
    };
    let mut message = Message::new(
        &format!(
            "[{}] Digest: {}",
            escape(&digest.environment),
            escape(&title)
        ),
        colour,
    );
    message.header(&format!("🗞️ {} digest: {title}", digest.environment));
    let mut lines: Vec<String> = digest.lines.iter().map(|l| l.text.clone()).collect();
    if digest.more > 0 {
        lines.push(format!("_… and {} more_", digest.more));
    }
    message.lines(&lines);
    message.context(&format!(
        "jobwatch · digest of {} · {} to {}",
        escape(&digest.environment),
        when(digest.start),
        when(digest.end)
    ));
    message.into_payload()
}
