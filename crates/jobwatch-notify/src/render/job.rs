//! The Slack message of a job alert (every kind, and the daily report). Each alert kind is one
//! arm in [`kind_view`] (headline and icon, which the console line shares); everything else
//! about a message is shared.

use jobwatch_core::{AlertEvent, AlertKind, DailyReport, Severity};
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
        message.section(&text);
    }
    if let Some(output) = &event.output_excerpt {
        message.section(&code_block(output, OUTPUT_MAX));
    }
    if let Some(url) = &event.run_log_url
        && let Some(link) = link(url, "View the run's output")
    {
        message.section(&link);
    }
    let mut context = format!(
        "jobwatch · {} · {} · at {}",
        escape(&kind.name),
        event.severity,
        when(event.at)
    );
    if event.detected_at > event.at {
        context.push_str(&format!(" (noticed {})", when(event.detected_at)));
    }
    message.context(&context);
    message.into_payload()
}

/// The details worth a field, in reading order (values escaped).
fn facts(event: &AlertEvent) -> Vec<(&'static str, String)> {
    let mut facts = vec![
        ("Environment", escape(&event.environment)),
        ("Schedule", escape(&event.job.schedule)),
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
        facts.push(("Run", escape(run)));
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
                "{} {} {status} · {} {runs}, {} failed, {} missed",
                status_icon(status),
                inline_code(&job.slug),
                job.runs,
                job.failures,
                job.misses
            );
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
