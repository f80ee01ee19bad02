//! The Slack message of a job alert (every kind, and the daily report). Each alert kind is one
//! arm in [`kind_view`] (headline and icon, which the console line shares); everything else
//! about a message is shared.

use jiff::tz::TimeZone;
use jobwatch_core::timefmt::{ago, at_in};
use jobwatch_core::{AlertEvent, AlertKind, DailyReport, PingSource, Severity};
use serde_json::Value;

use crate::message::{
    GREEN, Message, code_block, duration, environment_colour, escape, inline_code, link, when,
};

/// The output excerpt's share of a message.
const OUTPUT_MAX: usize = 2_500;

/// What a kind looks like: its icon and headline.
pub(crate) struct KindView {
    pub name: String,
    pub icon: &'static str,
    /// Plain text (not escaped).
    pub headline: String,
    /// What a summary says the job did, after its name: `failed` (3 times in 5 minutes).
    pub verb: String,
}

pub(crate) fn kind_view(event: &AlertEvent) -> KindView {
    let job = &event.job.slug;
    let (icon, headline, verb) = match event.kind {
        AlertKind::Failed => (
            "🔴",
            match event.exit_code {
                Some(code) => format!("{job} failed (exit status {code})"),
                None => format!("{job} failed"),
            },
            "failed",
        ),
        AlertKind::Missed => ("⏰", format!("{job} did not run"), "did not run"),
        AlertKind::TimedOut => (
            "⏰",
            format!("{job} is still running past its limit"),
            "ran past its limit",
        ),
        AlertKind::TooShort => (
            "⚠️",
            format!("{job} finished suspiciously fast"),
            "finished suspiciously fast",
        ),
        AlertKind::Recovered => ("✅", format!("{job} is back up"), "recovered"),
        AlertKind::Late => ("🐢", format!("{job} has not started yet"), "started late"),
        AlertKind::Slow => (
            "🐢",
            format!("{job} is running much longer than usual"),
            "ran much longer than usual",
        ),
        AlertKind::StillDown => ("🔁", format!("{job} is still down"), "was still down"),
        AlertKind::Report => (
            "📋",
            format!("Daily report for {}", event.environment),
            "reported",
        ),
        AlertKind::Test => (
            "🧪",
            format!("jobwatch test alert from {}", event.environment),
            "sent a test alert",
        ),
    };
    KindView {
        name: event.kind.as_str().to_string(),
        icon,
        headline,
        verb: verb.to_string(),
    }
}

/// A kind this build does not know (an event from a newer jobwatch): shown generically.
pub(crate) fn unknown_kind_view(event: &AlertEvent, kind: &str) -> KindView {
    KindView {
        name: kind.to_string(),
        icon: "🔔",
        headline: format!("{}: {}", event.job.slug, kind.replace('_', " ")),
        verb: format!("raised {}", kind.replace('_', " ")),
    }
}

fn is_recovery(kind: &str) -> bool {
    kind == AlertKind::Recovered.as_str()
}

/// The Slack webhook payload for an alert event.
pub fn render_slack(event: &AlertEvent) -> Value {
    if event.kind == AlertKind::Test {
        return super::test_alert::render_test_alert(event);
    }
    render_with(event, &kind_view(event))
}

pub(crate) fn render_with(event: &AlertEvent, kind: &KindView) -> Value {
    let colour = if is_recovery(&kind.name) {
        GREEN
    } else {
        environment_colour(&event.environment)
    };
    let mut message = Message::new(
        &format!(
            "[{}] {}",
            escape(&event.environment),
            escape(&kind.headline)
        ),
        colour,
    );
    if event.severity == Severity::Critical && !is_recovery(&kind.name) {
        message.mention_channel();
    }
    message.header(&format!("{} {}", kind.icon, kind.headline));
    if !event.job.description.is_empty() {
        message.section(&escape(&event.job.description));
    }
    if let Some(report) = &event.report {
        report_blocks(&mut message, report);
    } else {
        message.fields(&facts(event));
    }
    let tz = zone(event);
    let tz = tz.as_ref();
    message.section(&limits(event));
    if let Some(outage) = &event.outage {
        let mut text = format!(
            "*Outage:* down {} since {} · {} missed, {} failed",
            duration(outage.duration_ms),
            at_in(outage.since, tz),
            outage.runs_missed,
            outage.runs_failed
        );
        if let Some(error) = &outage.last_error {
            text.push_str(&format!("\n*Last error:* {}", escape(error)));
        }
        message.section(&text);
    }
    if let Some(output) = &event.output_excerpt {
        message.section(&code_block(output, OUTPUT_MAX));
    }
    let run_label = match &event.run_id {
        Some(run) => format!("Run {run} in jobwatch"),
        None => "The job's runs in jobwatch".to_string(),
    };
    let links: Vec<String> = [
        event
            .run_url
            .as_deref()
            .and_then(|url| link(url, &run_label)),
        event
            .run_log_url
            .as_deref()
            .and_then(|url| link(url, "View the run's output")),
    ]
    .into_iter()
    .flatten()
    .collect();
    message.section(&links.join(" · "));
    let mut context = format!(
        "jobwatch · {} · {} · at {}",
        escape(&kind.name),
        event.severity,
        at_in(event.at, tz)
    );
    if event.detected_at > event.at {
        context.push_str(&format!(" (noticed {})", at_in(event.detected_at, tz)));
    }
    message.context(&context);
    message.into_payload()
}

/// The zone the job's times are shown in: the event's `job.tz`, or for events from before it,
/// the zone its cron schedule names (`0 3 * * * (Europe/Berlin)`); none (UTC) for intervals.
pub(crate) fn zone(event: &AlertEvent) -> Option<TimeZone> {
    event.zone().or_else(|| {
        let name = event
            .job
            .schedule
            .rsplit_once(" (")
            .and_then(|(_, rest)| rest.strip_suffix(')'))?;
        TimeZone::get(name).ok()
    })
}

/// `2026-01-14 03:05 CET (02:05 UTC) · 1d ago · took 4m58s`.
pub(crate) fn last_success_text(event: &AlertEvent, tz: Option<&TimeZone>) -> Option<String> {
    let last = event.last_success.as_ref()?;
    let mut text = format!("{} · {}", at_in(last.at, tz), ago(last.at, event.at));
    if let Some(ms) = last.duration_ms {
        text.push_str(&format!(" · took {}", duration(ms)));
    }
    Some(text)
}

/// `db-1 · 192.0.2.7 · curl/8.5`: what is known of where the ping came from (plain text).
pub(crate) fn source_text(source: &PingSource) -> String {
    [&source.host, &source.ip, &source.user_agent]
        .into_iter()
        .flatten()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(" · ")
}

/// The limit broken, the bad streak against its threshold, and where the ping came from.
fn limits(event: &AlertEvent) -> String {
    let mut lines = Vec::new();
    if let Some(breach) = &event.breach {
        lines.push(format!("*Limit:* {}", escape(&breach.text)));
    }
    // A limit that is the threshold itself says the count already.
    let threshold_is_the_limit = event
        .breach
        .as_ref()
        .is_some_and(|b| b.setting == "failure_threshold");
    if let (Some(n), Some(threshold)) = (event.bad_in_a_row, event.failure_threshold)
        && n > 0
        && !threshold_is_the_limit
    {
        let runs = if n == 1 { "bad run" } else { "bad runs" };
        lines.push(format!(
            "*In a row:* {n} {runs} (failure_threshold {threshold})"
        ));
    }
    if let Some(source) = &event.source {
        lines.push(format!(
            "*Ping from:* {}",
            inline_code(&source_text(source))
        ));
    }
    lines.join("\n")
}

/// The details worth a field, in reading order (values escaped).
fn facts(event: &AlertEvent) -> Vec<(&'static str, String)> {
    let tz = zone(event);
    let tz = tz.as_ref();
    let mut facts = vec![
        ("Environment", escape(&event.environment)),
        ("Schedule", escape(&event.job.schedule)),
    ];
    if let Some(t) = event.expected_at {
        facts.push(("Expected", at_in(t, tz)));
    }
    if let Some(t) = event.started_at {
        facts.push(("Started", at_in(t, tz)));
    }
    if let Some(t) = event.finished_at {
        facts.push(("Finished", at_in(t, tz)));
    }
    if let Some(ms) = event.duration_ms {
        facts.push(("Duration", duration(ms)));
    }
    if let Some(code) = event.exit_code {
        facts.push(("Exit status", code.to_string()));
    }
    if let Some(run) = &event.run_id {
        facts.push(("Run", escape(run)));
    }
    if let Some(text) = last_success_text(event, tz) {
        facts.push(("Last success", text));
    }
    if !event.job.tags.is_empty() {
        facts.push(("Tags", escape(&event.job.tags.join(", "))));
    }
    facts
}

fn status_icon(status: &str) -> &'static str {
    match status {
        "down" => "🔴",
        "late" => "🟠",
        "running" => "🔵",
        "paused" | "new" => "⚪",
        _ => "🟢",
    }
}

/// The daily report: totals, then one line per job worth a look.
fn report_blocks(message: &mut Message, report: &DailyReport) {
    message.section(&format!(
        "*{} to {}*\n{} jobs: {} down, {} late, {} running, {} paused\n{} runs · {} failed · {} missed · {} timed out",
        when(report.period_start),
        when(report.period_end),
        report.jobs_total,
        report.jobs_down,
        report.jobs_late,
        report.jobs_running,
        report.jobs_paused,
        report.runs,
        report.failures,
        report.misses,
        report.timeouts,
    ));
    let lines: Vec<String> = report
        .jobs
        .iter()
        .map(|job| {
            let status = job.status.as_str();
            let runs = if job.runs == 1 { "run" } else { "runs" };
            let mut line = format!(
                "{} {} {status} · {} {runs}, {} failed",
                status_icon(status),
                inline_code(&job.slug),
                job.runs,
                job.failures,
            );
            if job.on_demand {
                line.push_str(", on demand");
            } else {
                line.push_str(&format!(", {} missed", job.misses));
            }
            if let Some(avg) = job.avg_duration_ms {
                line.push_str(&format!(" · avg {}", duration(avg)));
                if let Some(usual) = job.usual_duration_ms {
                    line.push_str(&format!(" (usually {})", duration(usual)));
                }
            }
            if let Some(max) = job.max_duration_ms {
                line.push_str(&format!(", max {}", duration(max)));
            }
            if let Some(t) = job.last_success_at {
                line.push_str(&format!(" · last success {}", when(t)));
            }
            line
        })
        .collect();
    message.lines(&lines);
}
