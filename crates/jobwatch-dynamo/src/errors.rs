//! How failures become [`StoreError`]s: SDK errors, conditional-check failures, unreadable
//! items.

use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use jobwatch_store::StoreError;

pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(DisplayErrorContext(e).to_string())
}

pub(crate) fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

pub(crate) fn is_conditional_failure<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}
