//! What every jobwatch Lambda `main` does the same way: read its configuration from the
//! environment and set up logging that suits Lambda.

/// A required environment variable is missing or empty.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {0} is not set")]
pub struct MissingVariable(pub String);

/// The variable's value; empty counts as unset.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

pub fn required(name: &str) -> Result<String, MissingVariable> {
    optional(name).ok_or_else(|| MissingVariable(name.to_string()))
}

/// A variable is set to something it cannot mean.
#[derive(Debug, thiserror::Error)]
#[error("environment variable {name}={value:?}: {expected}")]
pub struct BadVariable {
    pub name: &'static str,
    pub value: String,
    pub expected: &'static str,
}

/// A `true`/`false` switch, false when unset.
pub fn flag(name: &'static str) -> Result<bool, BadVariable> {
    match optional(name).as_deref().map(str::trim) {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(BadVariable {
            name,
            value: other.to_string(),
            expected: "use true or false",
        }),
    }
}

/// Where report days begin: `JOBWATCH_REPORT_TIME` (HH:MM, default 00:00) in
/// `JOBWATCH_REPORT_TIMEZONE` (IANA name, default UTC), the daily report's own schedule.
/// The ingest and the sweeper tally finished runs by these days.
pub fn report_day() -> Result<jobwatch_core::tally::ReportDay, BadVariable> {
    const TIME: &str = "JOBWATCH_REPORT_TIME";
    const ZONE: &str = "JOBWATCH_REPORT_TIMEZONE";
    let time = match optional(TIME) {
        None => jiff::civil::Time::midnight(),
        Some(text) => text.trim().parse().map_err(|_| BadVariable {
            name: TIME,
            value: text,
            expected: "use HH:MM, e.g. 09:00",
        })?,
    };
    let zone = match optional(ZONE) {
        None => jiff::tz::TimeZone::UTC,
        Some(name) => jobwatch_core::zone::time_zone(name.trim()).map_err(|_| BadVariable {
            name: ZONE,
            value: name,
            expected: "use an IANA time zone name, e.g. Europe/Berlin, not an abbreviation",
        })?,
    };
    Ok(jobwatch_core::tally::ReportDay::new(time, zone))
}

/// The engine as the ingest and the sweeper run it: runs tallied by the report's days, and
/// successful runs' output left to CloudWatch Logs (the run log), not the table.
pub fn engine<S: jobwatch_store::Store>(
    store: S,
    environment: impl Into<String>,
    observer: std::sync::Arc<dyn jobwatch_store::CommitObserver>,
) -> Result<jobwatch_store::Engine<S>, BadVariable> {
    Ok(jobwatch_store::Engine::new(store, environment)
        .with_report_day(report_day()?)
        .with_run_output(jobwatch_store::RunOutput::AllButSuccesses)
        .with_observer(observer))
}

/// The log filter variable (`info` when unset; e.g. `debug`, `jobwatch_notify=debug`).
pub const LOG_VARIABLE: &str = "JOBWATCH_LOG";

/// Logs to stderr (stdout carries the EMF metric lines), without colours or timestamps
/// (Lambda stamps every line itself), filtered by [`LOG_VARIABLE`]: a level (`info`, the
/// default) or `target=level` pairs (`warn,jobwatch_notify=debug`). An unreadable value falls
/// back to `info` and says so.
pub fn init_tracing() {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::filter::{LevelFilter, Targets};
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;

    let default = Targets::new().with_default(LevelFilter::INFO);
    let (filter, unreadable) = match optional(LOG_VARIABLE) {
        None => (default, None),
        Some(text) => match text.parse::<Targets>() {
            Ok(targets) => (targets, None),
            Err(e) => (
                default,
                Some(format!("{LOG_VARIABLE}={text:?} ignored: {e}")),
            ),
        },
    };
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(false)
                .without_time()
                .with_filter(filter),
        )
        .init();
    if let Some(warning) = unreadable {
        tracing::warn!("{warning}");
    }
}
