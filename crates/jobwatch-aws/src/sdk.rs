//! SDK configuration: every AWS client of jobwatch uses one HTTP client (rustls on ring), and
//! the configuration Lambda hands a function in its environment.
//!
//! `aws-config`'s default chain (profiles, SSO, STS, IMDS, ECS) is not used: in Lambda the
//! region and the execution role's credentials are environment variables, valid for the
//! execution environment's lifetime. Reading them directly keeps the STS client and the
//! chain's code out of the binaries (smaller, faster to start) and makes a missing setting a
//! clear error at start instead of a failed first request.

use aws_credential_types::Credentials;
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_smithy_async::rt::sleep::TokioSleep;
use aws_smithy_async::time::SystemTimeSource;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::behavior_version::BehaviorVersion;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_types::SdkConfig;
use aws_types::region::Region;

use crate::lambda::{MissingVariable, optional, required};

/// The HTTP client for AWS APIs (HTTPS, and plain HTTP for local endpoints such as moto).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Configuration from the environment as Lambda provides it: `AWS_REGION` (or
/// `AWS_DEFAULT_REGION`), `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`,
/// and `AWS_ENDPOINT_URL` when set (tests point it at moto).
pub fn from_env() -> Result<SdkConfig, MissingVariable> {
    let region = optional("AWS_REGION")
        .or_else(|| optional("AWS_DEFAULT_REGION"))
        .ok_or_else(|| MissingVariable("AWS_REGION".into()))?;
    let credentials = Credentials::new(
        required("AWS_ACCESS_KEY_ID")?,
        required("AWS_SECRET_ACCESS_KEY")?,
        optional("AWS_SESSION_TOKEN"),
        None,
        "lambda-environment",
    );
    let mut builder = SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .credentials_provider(SharedCredentialsProvider::new(credentials))
        .http_client(http_client())
        .sleep_impl(TokioSleep::new())
        .time_source(SystemTimeSource::new());
    if let Some(endpoint) = optional("AWS_ENDPOINT_URL") {
        builder = builder.endpoint_url(endpoint);
    }
    Ok(builder.build())
}
