//! The messages of flapping control: a job announced as flapping, a job stable again after
//! flapping, and a short burst of changes that did not flap. Each says how many changes it
//! reports (so the messages of a flapping job add up to every change) and what the job is now.

use serde_json::Value;

use crate::flapping::{FlapReport, ReportKind};
use jobwatch_core::timefmt::{at_in, zone};

use crate::message::{GREEN, Message, environment_colour, escape, window_words};

/// `4 failures and 5 recoveries`.
fn changes(report: &FlapReport) -> String {
    let count = |n: u32, one: &str, many: &str| match n {
        1 => format!("1 {one}"),
        n => format!("{n} {many}"),
    };
    match (report.downs, report.ups) {
        (0, 0) => "no change".to_string(),
        (downs, 0) => count(downs, "outage", "outages"),
        (0, ups) => count(ups, "recovery", "recoveries"),
        (downs, ups) => format!(
            "{} and {}",
            count(downs, "outage", "outages"),
            count(ups, "recovery", "recoveries")
        ),
    }
}

/// The headline (plain text).
pub fn flap_headline(job: &str, report: &FlapReport) -> String {
    match report.kind {
        ReportKind::Flapping => format!("{job} is flapping"),
        ReportKind::Stable => format!("{job} is stable again after flapping"),
        ReportKind::Burst => format!("{job} changed {} times", report.downs + report.ups),
    }
}

/// What the job is now, in words.
fn now_text(report: &FlapReport, tz: Option<&str>) -> String {
    let state = if report.last.down { "down" } else { "up" };
    format!(
        "Now *{state}*: it {} at {}.",
        escape(&report.last.verb),
        at_in(report.last.at, zone(tz).as_ref())
    )
}

/// The Slack message of a flapping report about `job` in `environment` (times in its zone
/// `tz`, if it has one, and in UTC).
pub fn render_flap(job: &str, environment: &str, tz: Option<&str>, report: &FlapReport) -> Value {
    let headline = flap_headline(job, report);
    let mut message = Message::new(
        &format!("[{}] {}", escape(environment), escape(&headline)),
        if report.last.down {
            environment_colour(environment)
        } else {
            GREEN
        },
    );
    let icon = match (report.kind, report.last.down) {
        (ReportKind::Flapping, _) => "🔁",
        (_, true) => "🔴",
        (_, false) => "✅",
    };
    message.header(&format!("{icon} {headline}"));
    let reported = format!(
        "{} since {} (each reported here, not one by one).",
        changes(report),
        at_in(report.since, zone(tz).as_ref())
    );
    let next = match report.kind {
        ReportKind::Flapping => format!(
            "It changed more than {} times within {}. Its outages and recoveries are held until it has been stable for {}; then one message says what happened meanwhile.",
            report.in_window.saturating_sub(1),
            window_words(report.window),
            window_words(report.stable)
        ),
        ReportKind::Stable => format!(
            "No change for {}: its alerts go one by one again.",
            window_words(report.stable)
        ),
        ReportKind::Burst => {
            "A recovery followed by more changes within a minute: reported together.".to_string()
        }
    };
    message.section(&format!("{reported}\n{}\n{next}", now_text(report, tz)));
    message.into_payload()
}

/// The console line of a flapping report.
pub fn flap_console_line(job: &str, environment: &str, report: &FlapReport) -> String {
    let state = if report.last.down { "down" } else { "up" };
    format!(
        "{} UTC [{environment}] FLAPPING {}: {} since {}; now {state}",
        report.last.at.strftime("%Y-%m-%d %H:%M:%S"),
        flap_headline(job, report),
        changes(report),
        report.since.strftime("%H:%M:%S UTC"),
    )
}
