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
