//! The ingest Lambda's work: Function URL events served by the very same
//! [`jobwatch_api::Api`] as `jobwatch serve`, web view included, on DynamoDB. The ping and
//! API keys (one secret) and the web view's signing secret are read from Secrets Manager on
//! the first invocation, then never again in that container.

use std::sync::Arc;

use jobwatch_api::{About, Api, ApiConfig, DEFAULT_PING_BODY_LIMIT, Secret, WebConfig};
use jobwatch_dynamo::DynamoStore;
use jobwatch_notify::Policy;
use jobwatch_store::Engine;
use serde_json::Value;
use tokio::sync::OnceCell;

/// Everything an ingest invocation uses, built once per cold start.
pub struct Ingest {
    engine: Arc<Engine<DynamoStore>>,
    secrets: aws_sdk_secretsmanager::Client,
    keys_secret: String,
    /// The public base URL of links (none: the Function URL the first event was sent to).
    public_url: Option<String>,
    /// The secret that signs the web view's sessions and the alerts' links (none: one is
    /// derived from the API key, and links are not signed).
    web_secret: Option<String>,
    run_log_link: Option<jobwatch_api::RunLogLink>,
    api: OnceCell<Api<DynamoStore>>,
}

impl Ingest {
    pub fn new(
        engine: Engine<DynamoStore>,
        secrets: aws_sdk_secretsmanager::Client,
        keys_secret: String,
        public_url: Option<String>,
    ) -> Ingest {
        Ingest {
            engine: Arc::new(engine),
            secrets,
            keys_secret,
            public_url,
            web_secret: None,
            run_log_link: None,
            api: OnceCell::new(),
        }
    }

    /// The web view signs with the secret `secret_id` (`JOBWATCH_WEB_SECRET`).
    pub fn with_web_secret(mut self, secret_id: Option<String>) -> Ingest {
        self.web_secret = secret_id;
        self
    }

    /// Run pages link to their output in CloudWatch Logs.
    pub fn with_run_log_link(mut self, link: Option<jobwatch_api::RunLogLink>) -> Ingest {
        self.run_log_link = link;
        self
    }

    /// Answers one Function URL event. Fails only while the keys cannot be read (the
    /// invocation fails and is retried); every request gets an HTTP answer otherwise.
    pub async fn handle(&self, event: &Value) -> Result<Value, String> {
        // Boxed: the API's future (pages included) nests deep enough to overflow the
        // compiler's layout query depth inside the runtime's future, as the sweeper's does.
        let api = Box::pin(self.api(event)).await?;
        Ok(Box::pin(crate::function_url::handle(api, event)).await)
    }

    /// The keys and the signing secret, both at once: the first request waits for one
    /// round trip, not two.
    async fn read_secrets(&self) -> Result<(crate::secrets::Keys, Option<String>), String> {
        let web = async {
            match &self.web_secret {
                Some(id) => crate::secrets::read_signing_secret(&self.secrets, id)
                    .await
                    .map(Some),
                None => Ok(None),
            }
        };
        tokio::try_join!(
            crate::secrets::read_keys(&self.secrets, &self.keys_secret),
            web
        )
    }

    async fn api(&self, event: &Value) -> Result<&Api<DynamoStore>, String> {
        self.api
            .get_or_try_init(|| async {
                let (keys, web_secret) = self.read_secrets().await?;
                let public_url = self
                    .public_url
                    .clone()
                    .or_else(|| crate::function_url::public_url(event))
                    .unwrap_or_default();
                self.engine.set_public_url(public_url.clone());
                let signing_secret = match web_secret {
                    Some(secret) => {
                        self.engine
                            .set_link_signer(jobwatch_core::links::Signer::new(secret.as_bytes()));
                        secret
                    }
                    None => crate::secrets::derived_signing_secret(&keys.api_key),
                };
                let mut web = WebConfig::new(signing_secret.as_bytes());
                web.run_log_link = self.run_log_link.clone();
                let config = ApiConfig {
                    public_url,
                    api_key: Secret::from_plain(&keys.api_key),
                    ping_key: Secret::from_plain(&keys.ping_key),
                    ping_body_limit: DEFAULT_PING_BODY_LIMIT,
                    web,
                };
                Ok::<_, String>(
                    Api::new(Arc::clone(&self.engine), config)
                        .with_about(about(self.engine.environment())),
                )
            })
            .await
    }
}

/// What the ingest can say of the deployment at `GET /api/v1/about`: the formatter, not the
/// ingest, reads the Slack secret and the policy variables, so it tells their defaults and
/// leaves the proof to a test alert.
fn about(environment: &str) -> About {
    let policy = jobwatch_notify::test_alert::policy_words(&Policy::default(), environment);
    About {
        store: "dynamodb".into(),
        policy: format!(
            "{policy} (the defaults; the formatter's JOBWATCH_* policy variables may change them)"
        ),
        slack_configured: None,
        slack: format!(
            "read by the formatter from Secrets Manager at each post (secret {}, unless {} names another): a test alert proves it",
            crate::slack::secret_id(None, environment),
            crate::slack::SECRET_VARIABLE
        ),
    }
}
