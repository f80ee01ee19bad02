//! SDK configuration: every AWS client of jobwatch uses one HTTP client (rustls on ring).

use aws_config::{BehaviorVersion, SdkConfig};
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// The HTTP client for AWS APIs (HTTPS, and plain HTTP for local endpoints such as moto).
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Configuration from the environment (region, credentials, `AWS_ENDPOINT_URL`), as Lambda
/// provides it.
pub async fn load() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .load()
        .await
}
