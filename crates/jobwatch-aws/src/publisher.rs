//! Publishing alert events to the SNS alert topic, with message attributes (environment, kind,
//! severity) that subscriptions can filter on.

use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use jobwatch_core::AlertEvent;

pub struct AlertPublisher {
    client: Client,
    topic_arn: String,
}

fn attribute(value: &str) -> Option<MessageAttributeValue> {
    MessageAttributeValue::builder()
        .data_type("String")
        .string_value(value)
        .build()
        .ok()
}

impl AlertPublisher {
    pub fn new(client: Client, topic_arn: impl Into<String>) -> AlertPublisher {
        AlertPublisher {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// Publishes one alert event (the JSON document of `docs/alert-events.md`).
    pub async fn publish(&self, alert: &AlertEvent) -> Result<(), String> {
        let message = serde_json::to_string(alert).map_err(|e| e.to_string())?;
        // SNS subjects: at most 100 printable ASCII characters.
        let subject: String = format!(
            "jobwatch {} {}: {}",
            alert.environment, alert.kind, alert.job.slug
        )
        .chars()
        .filter(|c| c.is_ascii_graphic() || *c == ' ')
        .take(100)
        .collect();
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .subject(subject)
            .message(message)
            .set_message_attributes(Some(
                [
                    ("environment", attribute(&alert.environment)),
                    ("kind", attribute(alert.kind.as_str())),
                    ("severity", attribute(&alert.severity.to_string())),
                ]
                .into_iter()
                .filter_map(|(name, value)| Some((name.to_string(), value?)))
                .collect(),
            ))
            .send()
            .await
            .map(|_| ())
            .map_err(|e| DisplayErrorContext(e).to_string())
    }
}
