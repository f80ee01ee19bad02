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
/// (Lambda stamps every line itself), filtered by [`LOG_VARIABLE`] (default `info`).
pub fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env(LOG_VARIABLE)
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .without_time()
        .init();
}
