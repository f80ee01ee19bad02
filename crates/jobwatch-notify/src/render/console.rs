//! One line per alert or notice for the console and the logs: `2026-01-15 09:05:00 UTC
//! [prod] MISSED backup did not run ...`.

use jobwatch_core::{AlertEvent, AlertKind};

use jobwatch_core::timefmt::{ago, at_in};

use super::job::{kind_view, source_text, unknown_kind_view, zone};
use crate::incoming::Notice;
use crate::message::{duration, truncate, when};

/// One line for the console: `2026-01-15 09:05:00 UTC [prod] MISSED backup did not run ...`.
pub fn console_line(event: &AlertEvent) -> String {
    let kind = kind_view(event);
    let mut line = format!(
        "{} [{}] {} {}",
        when(event.at),
        event.environment,
        kind.name.to_uppercase(),
        kind.headline
    );
    let tz = zone(event);
    if let Some(t) = event.expected_at {
        line.push_str(&format!(" · expected {}", at_in(t, tz.as_ref())));
    }
    if let Some(ms) = event.duration_ms {
        line.push_str(&format!(" · took {}", duration(ms)));
    }
    if let Some(breach) = &event.breach {
        line.push_str(&format!(" · {}", truncate(&breach.text, 200)));
    }
    if let (Some(n), Some(threshold)) = (event.bad_in_a_row, event.failure_threshold)
        && n > 1
    {
        line.push_str(&format!(" · {n} bad in a row (threshold {threshold})"));
    }
    if let Some(last) = &event.last_success {
        line.push_str(&format!(" · last success {}", ago(last.at, event.at)));
    }
    if let Some(source) = &event.source {
        line.push_str(&format!(" · from {}", source_text(source)));
    }
    if let Some(outage) = &event.outage {
        let was = if event.kind == AlertKind::StillDown {
            "down for"
        } else {
            "was down"
        };
        line.push_str(&format!(
            " · {was} {} ({} missed, {} failed)",
            duration(outage.duration_ms),
            outage.runs_missed,
            outage.runs_failed
        ));
    }
    if let Some(report) = &event.report {
        line.push_str(&format!(
            " · {} jobs, {} down, {} runs, {} failed, {} missed",
            report.jobs_total, report.jobs_down, report.runs, report.failures, report.misses
        ));
    }
    if let Some(last) = event
        .output_excerpt
        .as_deref()
        .and_then(|o| o.lines().last())
    {
        line.push_str(&format!(" · {}", truncate(last, 200)));
    }
    if let Some(url) = &event.run_url {
        line.push_str(&format!(" · {url}"));
    }
    line
}

impl Notice {
    /// One line for logs and the console.
    pub fn console_line(&self) -> String {
        match self {
            Notice::Alert(event) => console_line(event),
            Notice::UnknownKind { event, kind } => {
                let view = unknown_kind_view(event, kind);
                format!(
                    "{} [{}] {} {}",
                    when(event.at),
                    event.environment,
                    kind.to_uppercase(),
                    view.headline
                )
            }
            Notice::Alarm(alarm) => format!(
                "{} ALARM {} ({})",
                alarm.changed_at.map(when).unwrap_or_default(),
                alarm.headline(),
                truncate(&alarm.reason, 200)
            ),
            Notice::Other(fallback) => format!(
                "MESSAGE {} ({})",
                truncate(
                    fallback
                        .subject
                        .as_deref()
                        .unwrap_or(fallback.body.lines().next().unwrap_or("")),
                    200
                ),
                fallback.why
            ),
        }
    }
}
