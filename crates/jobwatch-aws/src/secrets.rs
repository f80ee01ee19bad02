//! Secrets from Secrets Manager: read once per process, then served from memory, so the warm
//! path never calls Secrets Manager.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// The secret's string: either the value itself, or the `key` field of a JSON object (as
/// `GenerateSecretString` with a template produces).
pub async fn read_key(client: &Client, secret_id: &str) -> Result<String, String> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| format!("reading secret {secret_id}: {}", DisplayErrorContext(e)))?;
    let raw = output
        .secret_string()
        .ok_or_else(|| format!("secret {secret_id} has no string value"))?;
    let value = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(map)) => map
            .get("key")
            .and_then(|v| v.as_str())
            .map(str::to_string)
            .ok_or_else(|| format!("secret {secret_id} is JSON without a string `key` field"))?,
        _ => raw.trim().to_string(),
    };
    if value.is_empty() {
        return Err(format!("secret {secret_id} is empty"));
    }
    Ok(value)
}
