//! The keys secret from Secrets Manager: read once per process (by the ingest), then served
//! from memory, so the warm path never calls Secrets Manager.

use aws_sdk_secretsmanager::Client;
use aws_sdk_secretsmanager::error::DisplayErrorContext;

/// The ping key and the admin API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub ping_key: String,
    pub api_key: String,
}

/// Characters of each key in a generated keys secret.
const GENERATED_KEY_CHARS: usize = 32;

/// The two keys from one secret's value: 64 generated characters (the ping key, then the API
/// key, 32 each), or a JSON object `{"ping_key": ..., "api_key": ...}` for keys set by hand.
pub fn parse_keys(raw: &str) -> Result<Keys, String> {
    let raw = raw.trim();
    if raw.starts_with('{') {
        let value: serde_json::Value =
            serde_json::from_str(raw).map_err(|e| format!("not a JSON object: {e}"))?;
        let field = |name: &str| {
            value
                .get(name)
                .and_then(|v| v.as_str())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| format!("the JSON has no non-empty string `{name}`"))
        };
        return Ok(Keys {
            ping_key: field("ping_key")?,
            api_key: field("api_key")?,
        });
    }
    if raw.len() != 2 * GENERATED_KEY_CHARS || !raw.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Err(format!(
            "expected {} letters and digits (the ping key, then the API key) or JSON with ping_key and api_key; found {} characters",
            2 * GENERATED_KEY_CHARS,
            raw.len()
        ));
    }
    let (ping_key, api_key) = raw.split_at(GENERATED_KEY_CHARS);
    Ok(Keys {
        ping_key: ping_key.to_string(),
        api_key: api_key.to_string(),
    })
}

/// The string value of the secret `secret_id`.
async fn secret_string(client: &Client, secret_id: &str) -> Result<String, String> {
    let output = client
        .get_secret_value()
        .secret_id(secret_id)
        .send()
        .await
        .map_err(|e| format!("reading secret {secret_id}: {}", DisplayErrorContext(e)))?;
    output
        .secret_string()
        .map(str::to_string)
        .ok_or_else(|| format!("secret {secret_id} has no string value"))
}

/// The keys in the secret `secret_id` (see [`parse_keys`]).
pub async fn read_keys(client: &Client, secret_id: &str) -> Result<Keys, String> {
    let raw = secret_string(client, secret_id).await?;
    parse_keys(&raw).map_err(|e| format!("secret {secret_id}: {e}"))
}

/// Fewest characters of a signing secret: the stack generates 64.
const MIN_SIGNING_SECRET_CHARS: usize = 32;

/// The web view's signing secret in the secret `secret_id` (sessions, form tokens and the
/// signed links in alerts): read once per container by the ingest and the sweeper.
pub async fn read_signing_secret(client: &Client, secret_id: &str) -> Result<String, String> {
    let raw = secret_string(client, secret_id).await?;
    let raw = raw.trim();
    if raw.chars().count() < MIN_SIGNING_SECRET_CHARS {
        return Err(format!(
            "secret {secret_id}: a signing secret needs at least {MIN_SIGNING_SECRET_CHARS} characters, found {}",
            raw.chars().count()
        ));
    }
    Ok(raw.to_string())
}

/// The signing secret of a deployment without its own (`JOBWATCH_WEB_SECRET` unset): one
/// derived from the API key, so logins still work; alerts' links then need a login.
pub fn derived_signing_secret(api_key: &str) -> String {
    format!("derived-from-api-key:{}", jobwatch_api::sha256_hex(api_key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_value_holds_the_ping_key_then_the_api_key() {
        let raw = format!("{}{}", "p".repeat(32), "A".repeat(32));
        let keys = parse_keys(&raw).expect("keys");
        assert_eq!((keys.ping_key.len(), keys.api_key.len()), (32, 32));
        assert!(keys.ping_key.starts_with('p') && keys.api_key.starts_with('A'));
    }

    #[test]
    fn keys_set_by_hand_are_json() {
        let keys = parse_keys(r#"{"ping_key": "pk-1", "api_key": "ak-1"}"#).expect("keys");
        assert_eq!(
            (keys.ping_key.as_str(), keys.api_key.as_str()),
            ("pk-1", "ak-1")
        );
    }

    #[test]
    fn anything_else_is_a_precise_error() {
        for (raw, says) in [
            ("short", "found 5 characters"),
            (r#"{"ping_key": "x"}"#, "`api_key`"),
            (r#"{"ping_key": "x", "api_key": ""}"#, "`api_key`"),
            (&"-".repeat(64), "letters and digits"),
        ] {
            let error = parse_keys(raw).expect_err(raw);
            assert!(error.contains(says), "{raw}: {error}");
        }
    }
}
