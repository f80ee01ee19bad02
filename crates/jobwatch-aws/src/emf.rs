//! CloudWatch Embedded Metric Format: metrics as single JSON log lines that CloudWatch turns
//! into metrics without any API call. Namespace `Jobwatch`, dimension `Environment` (and
//! `Environment`+`Job` for run outcomes and durations).

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, Run, RunOutcome};
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Jobwatch";

/// One EMF document: `dimensions` are the dimension sets, `values` the dimension values and
/// `metrics` the `(name, unit, value)` triples.
fn line(
    at: Timestamp,
    dimensions: &[&[&str]],
    values: &[(&str, &str)],
    metrics: &[(&str, &str, f64)],
) -> String {
    let mut root = Map::new();
    root.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.as_millisecond(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": dimensions,
                "Metrics": metrics.iter().map(|(name, unit, _)| json!({"Name": name, "Unit": unit})).collect::<Vec<_>>(),
            }],
        }),
    );
    for (name, value) in values {
        root.insert((*name).to_string(), Value::String((*value).to_string()));
    }
    for (name, _, value) in metrics {
        root.insert((*name).to_string(), json!(value));
    }
    Value::Object(root).to_string()
}

/// The metrics of a run that reached an outcome: one count by outcome, and its duration.
pub fn run_line(environment: &str, job: &str, run: &Run, at: Timestamp) -> Option<String> {
    let metric = match run.outcome {
        RunOutcome::Success => "RunSucceeded",
        RunOutcome::Failed => "RunFailed",
        RunOutcome::TooShort => "RunTooShort",
        RunOutcome::TimedOut => "RunTimedOut",
        RunOutcome::Missed => "RunMissed",
        RunOutcome::Running => "RunStarted",
        RunOutcome::Log => return None,
    };
    let mut metrics = vec![(metric, "Count", 1.0)];
    if let (Some(ms), false) = (run.duration_ms, run.outcome == RunOutcome::Running) {
        metrics.push(("RunDurationMs", "Milliseconds", ms as f64));
    }
    Some(line(
        at,
        &[&["Environment"], &["Environment", "Job"]],
        &[("Environment", environment), ("Job", job)],
        &metrics,
    ))
}

/// One count per alert raised, by kind.
pub fn alert_line(alert: &AlertEvent) -> String {
    line(
        alert.detected_at,
        &[&["Environment"], &["Environment", "Kind"]],
        &[
            ("Environment", &alert.environment),
            ("Kind", alert.kind.as_str()),
        ],
        &[("AlertsRaised", "Count", 1.0)],
    )
}

/// Writes EMF lines to stdout, each whole, apart from the tracing output (on stderr), so
/// CloudWatch extracts them.
pub fn emit(lines: impl IntoIterator<Item = String>) {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    for line in lines {
        let _ = writeln!(out, "{line}");
    }
    let _ = out.flush();
}

/// One value of `metric` in the `Environment` dimension and, when `dimension` is given, in
/// `Environment` + that dimension too (e.g. `SlackPostFailures` by `Reason`).
pub fn count_line(
    at: Timestamp,
    environment: &str,
    metric: &str,
    dimension: Option<(&str, &str)>,
    value: f64,
) -> String {
    match dimension {
        Some((name, dimension_value)) => line(
            at,
            &[&["Environment"], &["Environment", name]],
            &[("Environment", environment), (name, dimension_value)],
            &[(metric, "Count", value)],
        ),
        None => line(
            at,
            &[&["Environment"]],
            &[("Environment", environment)],
            &[(metric, "Count", value)],
        ),
    }
}
