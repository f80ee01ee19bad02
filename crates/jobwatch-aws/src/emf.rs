//! CloudWatch Embedded Metric Format: metrics as single JSON log lines that CloudWatch turns
//! into metrics without any API call. Namespace `Jobwatch`, dimension `Environment` only (and
//! `Environment`+`Job` for runs when per-job metrics are on): each metric identity is billed
//! $0.30 a month, so what varies by job, kind or reason is a property of the line instead.

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, Run, RunOutcome};
use serde_json::{Map, Value, json};

pub const NAMESPACE: &str = "Jobwatch";

/// One EMF document as a JSON object: `dimensions` are the dimension sets, `values` the
/// dimension values and `metrics` the `(name, unit, value)` triples.
fn document(
    at: Timestamp,
    dimensions: &[&[&str]],
    values: &[(&str, &str)],
    metrics: &[(&str, &str, f64)],
) -> Map<String, Value> {
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
    root
}

/// [`document`] as one line.
fn line(
    at: Timestamp,
    dimensions: &[&[&str]],
    values: &[(&str, &str)],
    metrics: &[(&str, &str, f64)],
) -> String {
    Value::Object(document(at, dimensions, values, metrics)).to_string()
}

/// The metrics of a run that reached an outcome: one count by outcome, and its duration, in
/// the `Environment` dimension; the job is a property of the line, so Logs Insights can still
/// chart one job. With `per_job`, also in `Environment`+`Job`: about three billed metrics
/// per job (see docs/cost.md), so it is off unless a team turns it on.
pub fn run_line(
    environment: &str,
    job: &str,
    run: &Run,
    at: Timestamp,
    per_job: bool,
) -> Option<String> {
    let metric = match run.outcome {
        RunOutcome::Success => "RunSucceeded",
        RunOutcome::Failed => "RunFailed",
        RunOutcome::TooShort => "RunTooShort",
        RunOutcome::TimedOut => "RunTimedOut",
        RunOutcome::Missed => "RunMissed",
        // Starts are counted by the runs they become; output-only records are not runs.
        RunOutcome::Running | RunOutcome::Log => return None,
    };
    let mut metrics = vec![(metric, "Count", 1.0)];
    if let Some(ms) = run.duration_ms {
        metrics.push(("RunDurationMs", "Milliseconds", ms as f64));
    }
    let dimensions: &[&[&str]] = if per_job {
        &[&["Environment"], &["Environment", "Job"]]
    } else {
        &[&["Environment"]]
    };
    Some(line(
        at,
        dimensions,
        &[("Environment", environment), ("Job", job)],
        &metrics,
    ))
}

/// One line per alert raised, with its kind: a log line Logs Insights counts, not a metric
/// (the run metrics already count what goes wrong; a metric costs $0.30 a month).
pub fn alert_line(alert: &AlertEvent) -> String {
    event_line(
        alert.detected_at,
        &alert.environment,
        "AlertsRaised",
        Some(("Kind", alert.kind.as_str())),
        1.0,
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

/// One value of `metric` in the `Environment` dimension, with an optional property that says
/// more (e.g. `SlackPostFailures` with its `Reason`) without making a metric of each value.
pub fn count_line(
    at: Timestamp,
    environment: &str,
    metric: &str,
    property: Option<(&str, &str)>,
    value: f64,
) -> String {
    let mut values = vec![("Environment", environment)];
    values.extend(property);
    line(
        at,
        &[&["Environment"]],
        &values,
        &[(metric, "Count", value)],
    )
}

/// A count as a plain JSON log line, not a metric: for what happens on every alert (posts,
/// formatter actions), which Logs Insights sums for free and a metric would bill for.
pub fn event_line(
    at: Timestamp,
    environment: &str,
    name: &str,
    property: Option<(&str, &str)>,
    value: f64,
) -> String {
    let mut root = Map::new();
    root.insert("Timestamp".into(), json!(at.as_millisecond()));
    root.insert("Environment".into(), json!(environment));
    if let Some((key, text)) = property {
        root.insert(key.to_string(), json!(text));
    }
    root.insert(name.to_string(), json!(value));
    Value::Object(root).to_string()
}

/// The sweeper's line after each sweep: the gauge of down jobs (a metric, for the alarm and
/// the dashboard) and what the sweep did (properties, for Logs Insights). No API call: EMF
/// costs only its log bytes, where PutMetricData cost a request every minute.
pub fn sweep_line(
    at: Timestamp,
    environment: &str,
    jobs_down: u64,
    sweep: &[(&str, u64)],
) -> String {
    let mut root = document(
        at,
        &[&["Environment"]],
        &[("Environment", environment)],
        &[("JobsDown", "Count", jobs_down as f64)],
    );
    for (name, value) in sweep {
        root.insert((*name).to_string(), json!(value));
    }
    Value::Object(root).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identities(line: &str) -> Vec<String> {
        let value: Value = serde_json::from_str(line).expect("json");
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        let mut out = Vec::new();
        for dimensions in directive["Dimensions"].as_array().expect("dimensions") {
            for metric in directive["Metrics"].as_array().expect("metrics") {
                let dims: Vec<String> = dimensions
                    .as_array()
                    .expect("set")
                    .iter()
                    .map(|d| {
                        let name = d.as_str().expect("name");
                        format!("{name}={}", value[name].as_str().expect("value"))
                    })
                    .collect();
                out.push(format!(
                    "{}[{}]",
                    metric["Name"].as_str().expect("name"),
                    dims.join(",")
                ));
            }
        }
        out
    }

    fn success() -> Run {
        Run {
            duration_ms: Some(1_500),
            ..Run::new(1, "r1".into(), RunOutcome::Success)
        }
    }

    #[test]
    fn a_run_makes_environment_metrics_and_names_its_job_as_a_property() {
        let at = Timestamp::UNIX_EPOCH;
        let line = run_line("prod", "backup", &success(), at, false).expect("line");
        assert_eq!(
            identities(&line),
            [
                "RunSucceeded[Environment=prod]",
                "RunDurationMs[Environment=prod]"
            ]
        );
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(value["Job"], "backup");
    }

    #[test]
    fn per_job_metrics_add_the_job_dimension() {
        let line =
            run_line("prod", "backup", &success(), Timestamp::UNIX_EPOCH, true).expect("line");
        assert_eq!(identities(&line).len(), 4);
        assert!(
            identities(&line).contains(&"RunSucceeded[Environment=prod,Job=backup]".to_string())
        );
    }

    #[test]
    fn starts_and_logs_make_no_metric() {
        for outcome in [RunOutcome::Running, RunOutcome::Log] {
            let run = Run::new(1, "r1".into(), outcome);
            assert_eq!(
                run_line("prod", "backup", &run, Timestamp::UNIX_EPOCH, false),
                None
            );
        }
    }

    #[test]
    fn the_sweep_line_has_one_metric_and_its_figures_as_properties() {
        let line = sweep_line(Timestamp::UNIX_EPOCH, "prod", 2, &[("DueJobsProcessed", 7)]);
        assert_eq!(identities(&line), ["JobsDown[Environment=prod]"]);
        let value: Value = serde_json::from_str(&line).expect("json");
        assert_eq!(
            (
                value["JobsDown"].as_f64(),
                value["DueJobsProcessed"].as_u64()
            ),
            (Some(2.0), Some(7))
        );
    }
}
