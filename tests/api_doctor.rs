//! The routes `jobwatch doctor` asks, as clients see them: `GET /api/v1/about`,
//! `POST /api/v1/test-alert` and `GET /api/v1/test-alert/<id>` need the API key; a test alert
//! is accepted with an id (202) and queued in the outbox; its record is `pending` until a
//! deliverer writes it, and an unknown id is 404. `GET /ping/<ping-key>/` says whether the
//! ping key is right and touches no job.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use jobwatch_api::{About, Api, ApiConfig, Secret};
use jobwatch_sqlite::SqliteStore;
use jobwatch_store::{Engine, Outbox};
use jobwatch_tests::{fresh_sqlite, request, t};
use serde_json::Value;

const AUTH: (&str, &str) = ("authorization", "Bearer test-api-key");

struct Server {
    api: Api<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl Server {
    fn new() -> Server {
        let (store, dir) = fresh_sqlite();
        let config = ApiConfig {
            public_url: "http://jobwatch.test".into(),
            api_key: Secret::from_plain("test-api-key"),
            ping_key: Secret::from_plain("test-ping-key"),
            ping_body_limit: 10_000,
            web: jobwatch_api::WebConfig::new(b"test signing secret"),
        };
        let about = About {
            store: "sqlite".into(),
            policy: "staging: warning and above posted".into(),
            slack_configured: Some(true),
            slack: "the webhook given with --slack-webhook".into(),
        };
        Server {
            api: Api::new(Arc::new(Engine::new(store, "staging")), config).with_about(about),
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
    ) -> (StatusCode, String) {
        let response = self
            .api
            .handle(
                request(method, uri, headers, b""),
                t("2026-06-01T12:00:00Z"),
            )
            .await;
        let (parts, body): (_, Bytes) = response.into_parts();
        (parts.status, String::from_utf8_lossy(&body).into_owned())
    }

    async fn admin(&self, method: &str, uri: &str) -> (StatusCode, Value) {
        let (status, body) = self.call(method, uri, &[AUTH]).await;
        (
            status,
            serde_json::from_str(&body).unwrap_or(Value::String(body)),
        )
    }
}

#[tokio::test]
async fn every_doctor_route_needs_the_api_key() {
    let server = Server::new();
    for (method, uri) in [
        ("GET", "/api/v1/about"),
        ("POST", "/api/v1/test-alert"),
        (
            "GET",
            "/api/v1/test-alert/0b6e9f0c-3a51-4c38-9d7e-1f2a3b4c5d6e",
        ),
    ] {
        let (status, _) = server.call(method, uri, &[]).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        let (status, _) = server
            .call(method, uri, &[("authorization", "Bearer wrong")])
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
}

#[tokio::test]
async fn about_says_which_jobwatch_answers_and_how_it_posts() {
    let server = Server::new();
    let (status, about) = server.admin("GET", "/api/v1/about").await;
    assert_eq!(status, StatusCode::OK, "{about}");
    assert_eq!(about["service"], "jobwatch");
    assert_eq!(about["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(about["environment"], "staging");
    assert_eq!(about["store"], "sqlite");
    assert_eq!(about["public_url"], "http://jobwatch.test");
    assert_eq!(about["slack"]["configured"], true);
    assert!(
        about["policy"]
            .as_str()
            .is_some_and(|p| p.starts_with("staging"))
    );
    let (status, _) = server.admin("POST", "/api/v1/about").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn a_test_alert_is_accepted_with_an_id_queued_and_pending_until_delivered() {
    let server = Server::new();
    let (status, raised) = server.admin("POST", "/api/v1/test-alert").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{raised}");
    let id = raised["id"].as_str().expect("an id").to_string();
    assert_eq!(raised["record"]["status"], "pending");

    let pending = server
        .api
        .engine()
        .store()
        .pending_alerts(10)
        .await
        .expect("outbox");
    assert_eq!(pending.len(), 1, "queued in the outbox like any alert");
    assert_eq!(pending[0].event.kind.as_str(), "test");
    assert_eq!(pending[0].event.environment, "staging");
    assert_eq!(pending[0].event.run_id.as_deref(), Some(id.as_str()));

    let (status, record) = server
        .admin("GET", &format!("/api/v1/test-alert/{id}"))
        .await;
    assert_eq!(status, StatusCode::OK, "{record}");
    assert_eq!(record["status"], "pending");
    assert_eq!(record["id"], id.as_str());
    assert_eq!(record["hops"][0]["name"], "queued");

    let (status, _) = server.admin("GET", "/api/v1/test-alert").await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn an_unknown_test_alert_is_404_and_odd_ids_are_not_echoed_whole() {
    let server = Server::new();
    let (status, _) = server
        .admin(
            "GET",
            "/api/v1/test-alert/0b6e9f0c-3a51-4c38-9d7e-1f2a3b4c5d6e",
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let long = "x".repeat(5_000);
    let (status, body) = server
        .call("GET", &format!("/api/v1/test-alert/{long}"), &[AUTH])
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(body.len() < 200, "{body}");
}

#[tokio::test]
async fn the_ping_key_probe_answers_without_touching_a_job() {
    let server = Server::new();
    let (status, body) = server.call("GET", "/ping/test-ping-key/", &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "OK: the ping key is valid")
    );
    let (status, _) = server.call("HEAD", "/ping/test-ping-key/", &[]).await;
    assert_eq!(status, StatusCode::OK);
    // A wrong key answers as an unknown job does, so keys cannot be told from jobs.
    let (status, body) = server.call("GET", "/ping/wrong-key/", &[]).await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::NOT_FOUND, "not found")
    );
    let (status, _) = server.call("POST", "/ping/test-ping-key/", &[]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (_, jobs) = server.admin("GET", "/api/v1/jobs").await;
    assert_eq!(jobs["jobs"], serde_json::json!([]));
}
