//! The HTTP API as clients see it: the Healthchecks-compatible ping protocol, the admin API,
//! and a precise 4xx with a one-line reason for every kind of malformed request.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use jobwatch_api::{Api, ApiConfig, Secret};
use jobwatch_sqlite::SqliteStore;
use jobwatch_store::Engine;
use jobwatch_tests::{fresh_sqlite, request, t};

const API_KEY: &str = "test-api-key";
const PING_KEY: &str = "test-ping-key";
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
            api_key: Secret::from_plain(API_KEY),
            ping_key: Secret::from_plain(PING_KEY),
            ping_body_limit: 10_000,
            web: jobwatch_api::WebConfig::new(b"test signing secret"),
        };
        Server {
            api: Api::new(Arc::new(Engine::new(store, "test")), config),
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> (StatusCode, String, http::HeaderMap) {
        let response = self
            .api
            .handle(
                request(method, uri, headers, body),
                t("2026-06-01T12:00:00Z"),
            )
            .await;
        let (parts, body): (_, Bytes) = response.into_parts();
        (
            parts.status,
            String::from_utf8_lossy(&body).into_owned(),
            parts.headers,
        )
    }

    async fn admin(&self, method: &str, uri: &str, body: &str) -> (StatusCode, serde_json::Value) {
        let (status, body, _) = self.call(method, uri, &[AUTH], body.as_bytes()).await;
        (
            status,
            serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body)),
        )
    }

    /// Declares `backup` (cron, daily) and returns its UUID ping URL path.
    async fn with_backup_job(&self) -> String {
        let (status, job) = self
            .admin(
                "PUT",
                "/api/v1/jobs/backup",
                r#"{"schedule": "0 3 * * *", "tz": "Europe/Berlin"}"#,
            )
            .await;
        assert_eq!(status, StatusCode::CREATED, "{job}");
        let url = job["ping_url_uuid"]
            .as_str()
            .expect("created job shows its UUID ping URL");
        url.trim_start_matches("http://jobwatch.test").to_string()
    }
}

#[tokio::test]
async fn put_creates_then_updates_a_job_and_shows_its_ping_urls() {
    let server = Server::new();
    let (status, job) = server
        .admin(
            "PUT",
            "/api/v1/jobs/backup",
            r#"{"schedule": "0 3 * * *", "tz": "Europe/Berlin", "tags": ["db"]}"#,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(
        job["ping_url"],
        "http://jobwatch.test/ping/test-ping-key/backup"
    );
    assert!(
        job["ping_url_uuid"]
            .as_str()
            .is_some_and(|u| u.starts_with("http://jobwatch.test/ping/"))
    );
    assert_eq!(job["status"], "new");
    assert_eq!(job["grace"], "5m", "defaults are explicit");
    assert_eq!(
        job["next_expected_at"], "2026-06-02T01:00:00Z",
        "03:00 in Berlin (CEST)"
    );

    let (status, job) = server
        .admin(
            "PUT",
            "/api/v1/jobs/backup",
            r#"{"every": "1h", "grace": "90s"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["every"], "1h");
    assert_eq!(job["grace"], "1m30s");
    let uuid_url = job["ping_url_uuid"].as_str().map(str::to_string);
    assert!(
        uuid_url
            .as_deref()
            .is_some_and(|u| u.starts_with("http://jobwatch.test/ping/")),
        "the UUID URL is shown again (derived, so it can be): {job}"
    );
    let (_, shown) = server.admin("GET", "/api/v1/jobs/backup", "").await;
    assert_eq!(
        shown["ping_url_uuid"].as_str(),
        uuid_url.as_deref(),
        "the same URL"
    );
    let uuid_path = uuid_url
        .unwrap_or_default()
        .replace("http://jobwatch.test", "");
    let (status, _, _) = server.call("GET", &uuid_path, &[], b"").await;
    assert_eq!(status, StatusCode::OK, "and it pings the job");

    let (status, list) = server.admin("GET", "/api/v1/jobs", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["jobs"].as_array().map(Vec::len), Some(1));
    let (status, _) = server.admin("DELETE", "/api/v1/jobs/backup", "").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, reason) = server.admin("GET", "/api/v1/jobs/backup", "").await;
    assert_eq!(
        (status, reason.as_str()),
        (StatusCode::NOT_FOUND, Some("job 'backup' not found"))
    );
}

#[tokio::test]
async fn pings_answer_like_healthchecks() {
    let server = Server::new();
    let uuid_path = server.with_backup_job().await;
    for (method, uri) in [
        ("GET", uuid_path.clone()),
        ("POST", format!("{uuid_path}/start")),
        ("HEAD", format!("{uuid_path}/0")),
        ("GET", "/ping/test-ping-key/backup".to_string()),
        ("POST", "/ping/test-ping-key/backup/fail".to_string()),
        ("GET", "/ping/test-ping-key/backup/log".to_string()),
        (
            "GET",
            "/ping/test-ping-key/backup/start?rid=5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278".to_string(),
        ),
    ] {
        let (status, body, headers) = server.call(method, &uri, &[], b"").await;
        assert_eq!(status, StatusCode::OK, "{method} {uri}: {body}");
        assert_eq!(
            body,
            if method == "HEAD" { "" } else { "OK" },
            "{method} {uri}"
        );
        assert_eq!(headers["ping-body-limit"], "10000");
    }
}

#[tokio::test]
async fn create_1_auto_provisions_a_job_by_slug() {
    let server = Server::new();
    let (status, body, _) = server
        .call("GET", "/ping/test-ping-key/new-job?create=1", &[], b"")
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, "Created"));
    let (status, body, _) = server
        .call("GET", "/ping/test-ping-key/new-job?create=1", &[], b"")
        .await;
    assert_eq!(
        (status, body.as_str()),
        (StatusCode::OK, "OK"),
        "existing job: a plain ping"
    );
    let (status, job) = server.admin("GET", "/api/v1/jobs/new-job", "").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (job["every"].as_str(), job["status"].as_str()),
        (Some("1d"), Some("up"))
    );
    let (status, _, _) = server
        .call("GET", "/ping/wrong-key/other?create=1", &[], b"")
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND, "a wrong key never creates");
}

#[tokio::test]
async fn create_on_demand_makes_a_job_without_a_schedule() {
    let server = Server::new();
    let rid = "3f1c2a9e-5b7d-4e8f-9a0b-1c2d3e4f5a6b";
    let (status, body, _) = server
        .call(
            "POST",
            &format!("/ping/test-ping-key/send-invoice/start?rid={rid}&create=on-demand"),
            &[],
            b"",
        )
        .await;
    assert_eq!((status, body.as_str()), (StatusCode::CREATED, "Created"));
    let (_, job) = server.admin("GET", "/api/v1/jobs/send-invoice", "").await;
    assert_eq!(job["on_demand"], true);
    assert_eq!(
        (job["schedule"].is_null(), job["every"].is_null()),
        (true, true)
    );
    assert_eq!(
        (job["status"].as_str(), job["next_expected_at"].is_null()),
        (Some("running"), true)
    );
    let (status, _, _) = server
        .call("GET", "/ping/test-ping-key/other?create=yes", &[], b"")
        .await;
    assert_eq!(
        status,
        StatusCode::NOT_FOUND,
        "only 1 and on-demand create: another value is a plain ping"
    );
}

#[tokio::test]
async fn an_on_demand_job_is_declared_without_a_schedule_and_checked() {
    let server = Server::new();
    let (status, job) = server
        .admin(
            "PUT",
            "/api/v1/jobs/resize",
            r#"{"on_demand": true, "max_runtime": "5m"}"#,
        )
        .await;
    assert_eq!(status, StatusCode::CREATED, "{job}");
    assert_eq!(
        (job["on_demand"].as_bool(), job["max_runtime"].as_str()),
        (Some(true), Some("5m"))
    );
    for (doc, reason) in [
        (
            r#"{"on_demand": true, "every": "1h"}"#,
            "an `on_demand` job has no `schedule` or `every`",
        ),
        (
            r#"{"on_demand": true, "tz": "Asia/Seoul"}"#,
            "`tz` only applies to a cron `schedule`",
        ),
        (
            r#"{"on_demand": false}"#,
            "a job needs `schedule` (cron), `every` (interval) or `on_demand = true`",
        ),
    ] {
        let (status, answer) = server.admin("PUT", "/api/v1/jobs/resize", doc).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{doc}");
        assert!(answer.to_string().contains(reason), "{doc}: {answer}");
    }
    let (status, job) = server
        .admin("PUT", "/api/v1/jobs/resize", r#"{"every": "1h"}"#)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        job.get("on_demand").is_none(),
        "a schedule replaces on-demand: {job}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_kept_up_to_the_limit() {
    let server = Server::new();
    server.with_backup_job().await;
    let body = "x".repeat(25_000);
    let (status, _, _) = server
        .call(
            "POST",
            "/ping/test-ping-key/backup/fail",
            &[],
            body.as_bytes(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let (_, runs) = server
        .admin("GET", "/api/v1/jobs/backup/runs?limit=5", "")
        .await;
    assert_eq!(
        runs["runs"][0]["output"].as_str().map(str::len),
        Some(10_000)
    );
}

#[tokio::test]
async fn a_retried_ping_with_the_same_rid_counts_once() {
    let server = Server::new();
    server.with_backup_job().await;
    let uri = "/ping/test-ping-key/backup/fail?rid=5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
    for _ in 0..3 {
        let (status, body, _) = server.call("POST", uri, &[], b"boom").await;
        assert_eq!((status, body.as_str()), (StatusCode::OK, "OK"));
    }
    let (_, runs) = server.admin("GET", "/api/v1/jobs/backup/runs", "").await;
    assert_eq!(runs["runs"].as_array().map(Vec::len), Some(1));
    let alerts = server.api.engine().store();
    let pending = jobwatch_store::Outbox::pending_alerts(alerts, 10)
        .await
        .expect("outbox");
    assert_eq!(pending.len(), 1, "one failure, one alert");
}

#[tokio::test]
async fn pause_and_resume_through_the_admin_api() {
    let server = Server::new();
    server.with_backup_job().await;
    let (status, job) = server
        .admin("POST", "/api/v1/jobs/backup/pause", r#"{"for": "2h"}"#)
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        (job["status"].as_str(), job["paused_until"].as_str()),
        (Some("paused"), Some("2026-06-01T14:00:00Z"))
    );
    let (status, job) = server.admin("POST", "/api/v1/jobs/backup/resume", "").await;
    assert_eq!(
        (status, job["status"].as_str()),
        (StatusCode::OK, Some("new"))
    );
}

/// A value echoed in an error is cut to 40 characters, and no reason is longer than a line
/// (600 characters), however long what was sent: a 5,000-digit limit, slug, run id, exit
/// status or field name.
#[tokio::test]
async fn long_values_are_shortened_where_an_error_echoes_them() {
    let server = Server::new();
    server.with_backup_job().await;
    let auth: &[(&str, &str)] = &[AUTH];
    let digits = "9".repeat(5_000);
    let forty_nines = "9".repeat(40);
    let (status, body, _) = server
        .call(
            "GET",
            &format!("/api/v1/jobs/backup/runs?limit={digits}"),
            auth,
            b"",
        )
        .await;
    assert_eq!(
        (status.as_u16(), body.as_str()),
        (
            400,
            format!("invalid limit '{forty_nines}…': must be 1-1000").as_str()
        )
    );
    let long_field = format!(r#"{{"every": "1h", "{}": 1}}"#, "f".repeat(5_000));
    let cases = [
        (
            "GET",
            format!("/api/v1/jobs/backup/runs/{digits}"),
            String::new(),
        ),
        (
            "GET",
            format!("/api/v1/jobs/{}", "a".repeat(5_000)),
            String::new(),
        ),
        (
            "GET",
            format!("/ping/test-ping-key/backup/{digits}"),
            String::new(),
        ),
        ("PUT", "/api/v1/jobs/x".to_string(), long_field),
    ];
    for (method, uri, body) in cases {
        let (status, reason, _) = server.call(method, &uri, auth, body.as_bytes()).await;
        assert!(status.is_client_error(), "{method} {uri:.60}: {status}");
        assert!(
            reason.chars().count() <= 601 && !reason.contains('\n'),
            "{method} {uri:.60}: {} characters: {reason:.200}",
            reason.chars().count()
        );
        assert!(!reason.contains(&"9".repeat(41)), "{reason:.200}");
    }
}

/// method, URI, headers, body, expected status, expected reason.
type Case<'a> = (
    &'a str,
    String,
    &'a [(&'a str, &'a str)],
    &'a str,
    u16,
    &'a str,
);

/// Every malformed request gets a precise status and a one-line reason; nothing is created.
#[tokio::test]
async fn malformed_requests_get_precise_errors() {
    let server = Server::new();
    let uuid_path = server.with_backup_job().await;
    let no_auth: &[(&str, &str)] = &[];
    let auth: &[(&str, &str)] = &[AUTH];
    let x_api_key: &[(&str, &str)] = &[("x-api-key", "wrong")];
    let big = format!(
        r#"{{"every": "1h", "description": "{}"}}"#,
        "x".repeat(70_000)
    );
    #[rustfmt::skip]
    let cases: Vec<Case> = vec![
        // Ping API
        ("GET", "/ping/test-ping-key/backup/256".into(), no_auth, "", 400, "invalid exit status '256': must be 0-255"),
        ("GET", "/ping/test-ping-key/backup/-1".into(), no_auth, "", 400, "invalid exit status '-1': must be 0-255"),
        ("GET", format!("{uuid_path}/999"), no_auth, "", 400, "invalid exit status '999': must be 0-255"),
        ("GET", "/ping/test-ping-key/backup/finish".into(), no_auth, "", 400, "unknown ping suffix 'finish': use /start, /fail, /log or /<exit-status 0-255>"),
        ("GET", "/ping/test-ping-key/backup?rid=not-a-uuid".into(), no_auth, "", 400, "invalid rid 'not-a-uuid': must be a UUID"),
        ("GET", "/ping/test-ping-key/Bad%20Slug".into(), no_auth, "", 400, "invalid slug 'Bad%20Slug': use 1-64 characters of a-z, 0-9, '-' and '_'"),
        ("GET", "/ping/test-ping-key/unknown-job".into(), no_auth, "", 404, "not found"),
        ("GET", "/ping/wrong-key/backup".into(), no_auth, "", 404, "not found"),
        ("GET", "/ping/8e2b4a1c-0000-4000-8000-000000000000".into(), no_auth, "", 404, "not found"),
        ("GET", "/ping/not-a-uuid".into(), no_auth, "", 404, "not found: expected /ping/<uuid> or /ping/<ping-key>/<slug>"),
        ("GET", "/ping/a/b/c/d".into(), no_auth, "", 404, "not found"),
        ("DELETE", "/ping/test-ping-key/backup".into(), no_auth, "", 405, "method not allowed: use GET, HEAD or POST"),
        // Admin API: authentication
        ("GET", "/api/v1/jobs".into(), no_auth, "", 401, "missing API key: send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'"),
        ("GET", "/api/v1/jobs".into(), x_api_key, "", 401, "invalid API key"),
        ("GET", "/api/v1/jobs".into(), &[("authorization", "Bearer test-ping-key")], "", 401, "invalid API key"),
        // Admin API: definitions
        ("PUT", "/api/v1/jobs/x".into(), auth, "{not json", 400, "invalid job JSON: key must be a string at line 1 column 2"),
        ("PUT", "/api/v1/jobs/x".into(), auth, "", 400, "missing job JSON body, e.g. {\"schedule\": \"0 9 * * *\", \"tz\": \"UTC\"}"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"schedule": "0 25 * * *"}"#, 400, "invalid cron schedule: hour field: value 25 is out of range 0-23"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"schedule": "0 9 * * *", "tz": "Mars/Olympus"}"#, 400, "tz \"Mars/Olympus\" is not a known time zone: use an IANA name such as Europe/Berlin or UTC"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"schedule": "0 9 * * *", "tz": "EST"}"#, 400, "tz \"EST\" is an abbreviation, not a time zone: use an IANA name such as America/New_York (or Etc/GMT+5 for a fixed offset of UTC-5)"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"schedule": "0 9 * * *", "tz": "UTC+5"}"#, 400, "tz \"UTC+5\" is a fixed offset, not a time zone: use the IANA name of the place, such as Europe/Berlin, or Etc/GMT-5 to keep UTC+5 all year"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "grace": "-5m"}"#, 400, "invalid job JSON: durations cannot be negative: '-5m' at line 1 column 30"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "max_runtime": -60}"#, 400, "invalid job JSON: durations cannot be negative: '-60' at line 1 column 34"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "colour": "red"}"#, 400, "invalid job JSON: unknown field `colour`, expected one of `schedule`, `tz`, `every`, `on_demand`, `grace`, `max_runtime`, `min_runtime`, `failure_threshold`, `recovery_threshold`, `severity`, `tags`, `description`, `late_alert`, `repeat_interval`, `group`, `flap_threshold`, `flap_window`, `flap_stable`, `paused` at line 1 column 24"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "group": "db hosts"}"#, 400, "invalid group 'db hosts': use 1-64 characters of letters, digits, '-', '_' and '.'"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "flap_threshold": 500}"#, 400, "`flap_threshold` must be between 0 (off) and 100"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "flap_threshold": -1}"#, 400, "invalid job JSON: invalid value: integer `-1`, expected u32 at line 1 column 36"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "flap_window": "10s"}"#, 400, "`flap_window` must be between 1m and 1d"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{"every": "1h", "flap_stable": "3d"}"#, 400, "`flap_stable` must be between 1m and 1d"),
        ("PUT", "/api/v1/jobs/x".into(), auth, r#"{}"#, 400, "a job needs `schedule` (cron), `every` (interval) or `on_demand = true`"),
        ("PUT", "/api/v1/jobs/Bad_Slug!".into(), auth, r#"{"every": "1h"}"#, 400, "invalid slug 'Bad_Slug!': use 1-64 characters of a-z, 0-9, '-' and '_'"),
        ("PUT", "/api/v1/jobs/x".into(), auth, &big, 413, "request body too large: the limit is 65536 bytes"),
        // Admin API: everything else
        ("GET", "/api/v1/jobs/nope".into(), auth, "", 404, "job 'nope' not found"),
        ("DELETE", "/api/v1/jobs/nope".into(), auth, "", 404, "job 'nope' not found"),
        ("POST", "/api/v1/jobs/nope/pause".into(), auth, "", 404, "job 'nope' not found"),
        ("POST", "/api/v1/jobs/backup/pause".into(), auth, r#"{"for": "soon"}"#, 400, "invalid pause JSON: invalid duration 'soon': use e.g. 90s, 10m, 1h30m, 2d or whole seconds at line 1 column 14 (expected {\"for\": \"2h\"})"),
        ("GET", "/api/v1/jobs/backup/runs?limit=0".into(), auth, "", 400, "invalid limit '0': must be 1-1000"),
        ("GET", "/api/v1/jobs/backup/runs?limit=abc".into(), auth, "", 400, "invalid limit 'abc': must be 1-1000"),
        ("POST", "/api/v1/jobs".into(), auth, "", 405, "method not allowed: use GET"),
        ("GET", "/api/v1/jobs/backup/pause".into(), auth, "", 405, "method not allowed: use POST"),
        ("GET", "/api/v1/jobs/backup/frobnicate".into(), auth, "", 404, "not found"),
        ("GET", "/nowhere".into(), no_auth, "", 404, "not found"),
    ];
    for (method, uri, headers, body, status, reason) in cases {
        let (got_status, got_body, _) = server.call(method, &uri, headers, body.as_bytes()).await;
        assert_eq!(
            (got_status.as_u16(), got_body.as_str()),
            (status, reason),
            "{method} {uri}"
        );
        assert!(!got_body.contains('\n'), "one line: {got_body}");
    }
    let (_, list) = server.admin("GET", "/api/v1/jobs", "").await;
    assert_eq!(
        list["jobs"].as_array().map(Vec::len),
        Some(1),
        "no bad request created anything"
    );
}
