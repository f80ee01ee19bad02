//! Aggregate metrics with PutMetricData: what the sweeper reports once per sweep (the state of
//! all jobs and its own heartbeat), in namespace `Jobwatch` with an `Environment` dimension.
//! Per-event metrics go out as EMF lines instead (see [`crate::emf`]), which costs no call.

use aws_sdk_cloudwatch::Client;
use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};

use crate::emf::NAMESPACE;

pub struct MetricsPublisher {
    client: Client,
    environment: String,
}

/// One value to publish: name, unit, value.
pub type Metric = (&'static str, StandardUnit, f64);

impl MetricsPublisher {
    pub fn new(client: Client, environment: impl Into<String>) -> MetricsPublisher {
        MetricsPublisher {
            client,
            environment: environment.into(),
        }
    }

    /// Publishes `metrics` at `at` in one call (PutMetricData takes up to 1,000 values).
    pub async fn put(&self, metrics: &[Metric], at: jiff::Timestamp) -> Result<(), String> {
        let dimension = Dimension::builder()
            .name("Environment")
            .value(&self.environment)
            .build();
        let timestamp = aws_sdk_cloudwatch::primitives::DateTime::from_millis(at.as_millisecond());
        let data = metrics
            .iter()
            .map(|(name, unit, value)| {
                MetricDatum::builder()
                    .metric_name(*name)
                    .unit(unit.clone())
                    .value(*value)
                    .timestamp(timestamp)
                    .dimensions(dimension.clone())
                    .build()
            })
            .collect();
        self.client
            .put_metric_data()
            .namespace(NAMESPACE)
            .set_metric_data(Some(data))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(e).to_string())
    }
}
