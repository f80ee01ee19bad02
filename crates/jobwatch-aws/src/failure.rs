//! What a failed invocation tells Lambda, in one place for the three functions: an
//! `errorType` that names the failure (`SlackUnavailable`, `StoreThrottled`,
//! `BadConfiguration`...) and a one-line message, rather than the runtime's default, the
//! Rust type name of a boxed error. The `errorType` is what the Lambda console, the
//! on-failure destination's record and CloudWatch Logs show first, so it is what a person
//! filters and alarms on.

use jobwatch_notify::Unsettled;
use jobwatch_store::{EngineError, StoreError};

use crate::formatter::Undelivered;
use crate::sweeper::SweepError;

/// A failed invocation (or initialisation), as Lambda records it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{error_type}: {message}")]
pub struct Failure {
    pub error_type: &'static str,
    pub message: String,
}

impl Failure {
    pub fn new(error_type: &'static str, message: impl Into<String>) -> Failure {
        Failure {
            error_type,
            message: message.into(),
        }
    }

    /// The function's configuration is wrong (a variable missing or unreadable): nothing
    /// works until the deployment is fixed.
    pub fn bad_configuration(error: &anyhow::Error) -> Failure {
        Failure::new("BadConfiguration", format!("{error:#}"))
    }

    /// The ingest could not read its keys (it answers every request once it has them).
    pub fn keys_unavailable(message: String) -> Failure {
        Failure::new("KeysUnavailable", message)
    }
}

impl From<Failure> for lambda_runtime::Diagnostic {
    fn from(failure: Failure) -> lambda_runtime::Diagnostic {
        lambda_runtime::Diagnostic {
            error_type: failure.error_type.to_string(),
            error_message: failure.message,
        }
    }
}

fn store_error_type(error: &StoreError) -> &'static str {
    match error {
        StoreError::Throttled(_) => "StoreThrottled",
        StoreError::Conflict => "StoreContention",
        StoreError::Corrupt(_) => "StoreCorrupt",
        StoreError::AlreadyExists | StoreError::Backend(_) => "StoreUnavailable",
    }
}

fn engine_error_type(error: &EngineError) -> &'static str {
    match error {
        EngineError::Store(e) => store_error_type(e),
        EngineError::Contention => "StoreContention",
        EngineError::NotFound => "JobVanished",
    }
}

impl From<Undelivered> for Failure {
    fn from(error: Undelivered) -> Failure {
        let error_type = match &error.cause {
            Some(Unsettled::Delivery) => "SlackUnavailable",
            Some(Unsettled::StoreThrottled(_)) => "StoreThrottled",
            Some(Unsettled::Store(_)) => "StoreUnavailable",
            Some(Unsettled::Contention) => "StoreContention",
            None => "Undelivered",
        };
        Failure::new(error_type, error.to_string())
    }
}

impl From<SweepError> for Failure {
    fn from(error: SweepError) -> Failure {
        let error_type = match &error {
            SweepError::Sweep(e) | SweepError::Report(e) => engine_error_type(e),
            SweepError::Count(e) => store_error_type(e),
            SweepError::UnknownMode(_) => "UnknownMode",
        };
        Failure::new(error_type, error.to_string())
    }
}

/// Tells Lambda why the function could not start (`/runtime/init/error`, as the runtime
/// does for its own init failures), then returns the error for `main` to exit with. The
/// runtime crate reports only its own failures there; without this, Lambda would record a
/// bare `Runtime.ExitError`.
pub async fn init_failed(error: anyhow::Error) -> lambda_runtime::Error {
    let failure = Failure::bad_configuration(&error);
    tracing::error!(error_type = failure.error_type, "{}", failure.message);
    if let Some(api) = crate::lambda::optional("AWS_LAMBDA_RUNTIME_API") {
        let body = serde_json::json!({
            "errorType": failure.error_type,
            "errorMessage": failure.message,
        });
        let sent = reqwest::Client::new()
            .post(format!("http://{api}/2018-06-01/runtime/init/error"))
            .header("Lambda-Runtime-Function-Error-Type", failure.error_type)
            .timeout(std::time::Duration::from_secs(2))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        if let Err(e) = sent {
            tracing::error!(error = %e, "reporting the init error to Lambda failed");
        }
    }
    lambda_runtime::Error::from(failure.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_named_after_what_failed() {
        let undelivered = |cause| Undelivered {
            undelivered: 1,
            records: 2,
            cause,
        };
        assert_eq!(
            Failure::from(undelivered(Some(Unsettled::Delivery))).error_type,
            "SlackUnavailable"
        );
        let throttled = Failure::from(undelivered(Some(Unsettled::StoreThrottled(
            "ThrottlingException".into(),
        ))));
        assert_eq!(throttled.error_type, "StoreThrottled");
        assert!(
            throttled.message.contains("1 of 2"),
            "{}",
            throttled.message
        );
        let sweep = SweepError::Sweep(EngineError::Store(StoreError::Throttled("x".into())));
        assert_eq!(Failure::from(sweep).error_type, "StoreThrottled");
        let count = SweepError::Count(StoreError::Backend("connection reset".into()));
        assert_eq!(Failure::from(count).error_type, "StoreUnavailable");
        let diagnostic = lambda_runtime::Diagnostic::from(Failure::bad_configuration(
            &anyhow::anyhow!("environment variable JOBWATCH_TABLE is not set"),
        ));
        assert_eq!(diagnostic.error_type, "BadConfiguration");
        assert_eq!(
            diagnostic.error_message,
            "environment variable JOBWATCH_TABLE is not set"
        );
    }
}
