//! How failures become [`StoreError`]s: SDK errors (throttling told apart, so callers can
//! retry it), conditional-check failures, unreadable items.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use jobwatch_store::StoreError;

pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(DisplayErrorContext(e).to_string())
}

/// The error codes with which DynamoDB refuses a request for now, after the SDK's own
/// attempts: the request itself was fine and is expected to succeed later.
const THROTTLING: [&str; 4] = [
    "ThrottlingException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
];

/// The cancellation reasons of a transaction that mean the same.
const THROTTLED_REASONS: [&str; 2] = ["ThrottlingError", "TransactionConflict"];

pub(crate) fn is_throttling(code: Option<&str>) -> bool {
    code.is_some_and(|code| THROTTLING.contains(&code) || THROTTLED_REASONS.contains(&code))
}

/// An SDK call's failure: [`StoreError::Throttled`] when DynamoDB throttled it, else
/// [`StoreError::Backend`].
pub(crate) fn service<E, R>(e: SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if is_throttling(e.code()) {
        // The code and DynamoDB's message say all there is: the request itself was fine.
        StoreError::Throttled(format!(
            "{}: {}",
            e.code().unwrap_or("ThrottlingException"),
            e.message().unwrap_or("request refused for now")
        ))
    } else {
        backend(e)
    }
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn is_conditional_failure<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_codes_are_told_apart_from_other_failures() {
        for code in [
            "ThrottlingException",
            "ProvisionedThroughputExceededException",
        ] {
            assert!(is_throttling(Some(code)), "{code}");
        }
        assert!(
            is_throttling(Some("ThrottlingError")),
            "a transaction's reason"
        );
        assert!(!is_throttling(Some("ValidationException")));
        assert!(!is_throttling(None));
    }
}
