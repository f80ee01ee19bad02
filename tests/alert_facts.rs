//! The facts on-call needs, in every job alert (driven by the injected clock): the last
//! success, the limit broken in words, the bad runs against `failure_threshold`, where the
//! ping came from, a link to the run, and times in the job's zone, never RFC 3339.

use std::sync::Arc;

use bytes::Bytes;
use jobwatch_api::{Api, ApiConfig, RemoteAddr, Secret};
use jobwatch_core::AlertKind::{Failed, Missed, Recovered, StillDown, TimedOut, TooShort};
use jobwatch_core::{AlertEvent, AlertKind, Duration, LastSuccess, PingEvent};
use jobwatch_store::{Engine, Outbox};
use jobwatch_tests::{World, fresh_sqlite, local, mins, request, secs, slack::check_slack_limits};

const BERLIN: &str = "Europe/Berlin";
const BASE: &str = "https://jobwatch.test";
const NIGHTLY: &str = r#"{"schedule": "0 3 * * *", "tz": "Europe/Berlin", "grace": "5m", "max_runtime": "2h", "min_runtime": "1m", "failure_threshold": 2}"#;

/// A world with a nightly job that ran fine on January 1st (03:00:02, 4 minutes).
async fn world_after_a_good_night(repeat: Duration) -> World {
    let mut world = World::with_reminders(local("2025-12-31T12:00", BERLIN), repeat);
    world.engine.set_public_url(format!("{BASE}/"));
    world.define("nightly", NIGHTLY).await;
    world
        .run_job("nightly", local("2026-01-01T03:00:02", BERLIN), mins(4))
        .await;
    world
}

fn the_good_night() -> Option<LastSuccess> {
    Some(LastSuccess {
        at: local("2026-01-01T03:04:02", BERLIN),
        duration_ms: Some(240_000),
    })
}

fn only(world: &World, kind: AlertKind) -> &AlertEvent {
    let of_kind: Vec<&AlertEvent> = world.alerts.iter().filter(|a| a.kind == kind).collect();
    assert_eq!(of_kind.len(), 1, "{:#?}", world.alerts);
    of_kind[0]
}

/// What every message of `alert` shows: the facts in Slack (within its limits) and on the
/// console, times in the zone and UTC, never RFC 3339.
fn rendered(alert: &AlertEvent) -> String {
    let payload = jobwatch_notify::render::render_slack(alert);
    assert_eq!(check_slack_limits(&payload), Ok(()), "{payload:#}");
    let text = payload.to_string();
    let console = jobwatch_notify::render::console_line(alert);
    for message in [&text, &console] {
        assert!(
            !message.contains("T02:") && !message.contains(":00Z"),
            "no RFC 3339 in {message}"
        );
    }
    assert!(text.contains("CET ("), "{text}");
    text
}

#[tokio::test]
async fn failed_says_the_threshold_it_reached_the_last_success_and_links_the_run() {
    let mut world = world_after_a_good_night(Duration::ZERO).await;
    for day in ["02", "03"] {
        let at = local(&format!("2026-01-{day}T03:00:02"), BERLIN);
        world
            .ping_at(at, "nightly", PingEvent::Start, None, None)
            .await;
        world
            .ping_at(
                at + mins(2),
                "nightly",
                PingEvent::Exit(1),
                None,
                Some("disk full"),
            )
            .await;
    }
    let failed = only(&world, Failed);
    let breach = failed.breach.as_ref().expect("breach");
    assert_eq!(breach.text, "2 failures in a row, threshold 2");
    assert_eq!(
        (breach.setting.as_str(), breach.value.as_str()),
        ("failure_threshold", "2")
    );
    assert_eq!(
        (failed.bad_in_a_row, failed.failure_threshold),
        (Some(2), Some(2))
    );
    assert_eq!(failed.last_success, the_good_night());
    assert_eq!(failed.job.tz.as_deref(), Some(BERLIN));
    let run = failed.run_id.as_deref().expect("run id");
    assert_eq!(
        failed.run_url.as_deref(),
        Some(format!("{BASE}/jobs/nightly/runs/{run}").as_str())
    );
    let text = rendered(failed);
    for fact in [
        "*Last success*\\n2026-01-01 03:04 CET (02:04 UTC) · 1d23h ago · took 4m",
        "*Limit:* 2 failures in a row, threshold 2",
        "*Started*\\n2026-01-03 03:00 CET (02:00 UTC)",
        &format!("<{BASE}/jobs/nightly/runs/{run}|Run {run} in jobwatch>"),
    ] {
        assert!(text.contains(fact), "{fact} in {text}");
    }
}

#[tokio::test]
async fn missed_names_the_grace_and_the_slot_in_the_jobs_zone() {
    let mut world = world_after_a_good_night(Duration::ZERO).await;
    world
        .define(
            "nightly",
            &NIGHTLY.replace("\"failure_threshold\": 2", "\"failure_threshold\": 1"),
        )
        .await;
    world.run_until(local("2026-01-02T04:00", BERLIN)).await;
    let missed = only(&world, Missed);
    assert_eq!(
        missed.breach.as_ref().map(|b| b.text.as_str()),
        Some("missed: no ping within grace 5m of the 03:00 CET (02:00 UTC) slot")
    );
    assert_eq!(
        (missed.bad_in_a_row, missed.failure_threshold),
        (Some(1), Some(1))
    );
    assert_eq!(missed.last_success, the_good_night());
    assert_eq!(
        missed.run_url.as_deref(),
        Some(format!("{BASE}/jobs/nightly").as_str())
    );
    let text = rendered(missed);
    assert!(
        text.contains("*Expected*\\n2026-01-02 03:00 CET (02:00 UTC)"),
        "{text}"
    );
}

#[tokio::test]
async fn timed_out_and_too_short_name_their_runtime_limits_with_the_counts() {
    let mut world = world_after_a_good_night(Duration::ZERO).await;
    // Night 2: too short; night 3: never finishes. Two bad runs in a row take it down.
    let night2 = local("2026-01-02T03:00:02", BERLIN);
    world
        .ping_at(night2, "nightly", PingEvent::Start, None, None)
        .await;
    world
        .ping_at(night2 + secs(12), "nightly", PingEvent::Success, None, None)
        .await;
    let night3 = local("2026-01-03T03:00:02", BERLIN);
    world
        .ping_at(night3, "nightly", PingEvent::Start, None, None)
        .await;
    world.run_until(local("2026-01-03T06:00", BERLIN)).await;
    let timed_out = only(&world, TimedOut);
    assert_eq!(
        timed_out.breach.as_ref().map(|b| b.text.as_str()),
        Some("max_runtime 2h exceeded after 2h")
    );
    assert_eq!(
        (timed_out.bad_in_a_row, timed_out.failure_threshold),
        (Some(2), Some(2))
    );
    assert_eq!(timed_out.last_success, the_good_night());
    let text = rendered(timed_out);
    assert!(
        text.contains("*In a row:* 2 bad runs (failure_threshold 2)"),
        "{text}"
    );

    // On its own (threshold 1), the short run is the alert.
    let mut world = world_after_a_good_night(Duration::ZERO).await;
    world
        .define(
            "nightly",
            &NIGHTLY.replace("\"failure_threshold\": 2", "\"failure_threshold\": 1"),
        )
        .await;
    world
        .ping_at(night2, "nightly", PingEvent::Start, None, None)
        .await;
    world
        .ping_at(night2 + secs(12), "nightly", PingEvent::Success, None, None)
        .await;
    let too_short = only(&world, TooShort);
    assert_eq!(
        too_short.breach.as_ref().map(|b| b.text.as_str()),
        Some("min_runtime 1m not reached (took 12s)")
    );
    assert_eq!(too_short.last_success, the_good_night());
    let text = rendered(too_short);
    assert!(
        text.contains("*Limit:* min_runtime 1m not reached (took 12s)"),
        "{text}"
    );
}

#[tokio::test]
async fn still_down_and_recovered_carry_the_last_success_before_the_outage() {
    let mut world = world_after_a_good_night(Duration::from_hours(4)).await;
    world
        .define(
            "nightly",
            &NIGHTLY.replace("\"failure_threshold\": 2", "\"failure_threshold\": 1"),
        )
        .await;
    world.run_until(local("2026-01-02T07:10", BERLIN)).await;
    let still_down = only(&world, StillDown);
    assert_eq!(
        (still_down.bad_in_a_row, still_down.failure_threshold),
        (Some(1), Some(1))
    );
    assert_eq!(still_down.last_success, the_good_night());
    let error = still_down
        .outage
        .as_ref()
        .and_then(|o| o.last_error.as_deref())
        .expect("last error");
    // The issue's report: the reminder showed a raw RFC 3339 time.
    assert_eq!(
        error,
        "missed the run expected at 2026-01-02 03:00 CET (02:00 UTC)"
    );
    let text = rendered(still_down);
    assert!(
        text.contains("*Last success*\\n2026-01-01 03:04 CET"),
        "{text}"
    );

    world
        .run_job("nightly", local("2026-01-03T03:00:02", BERLIN), mins(3))
        .await;
    let recovered = only(&world, Recovered);
    assert_eq!(recovered.last_success, the_good_night());
    assert_eq!(recovered.duration_ms, Some(180_000), "this run's own");
    rendered(recovered);
}

/// The API as the local server or the ingest Lambda hands it a request.
fn api() -> (Api<jobwatch_sqlite::SqliteStore>, tempfile::TempDir) {
    let (store, dir) = fresh_sqlite();
    let engine = Engine::new(store, "test").with_public_url(BASE);
    let config = ApiConfig {
        public_url: BASE.into(),
        api_key: Secret::from_plain("test-api-key"),
        ping_key: Secret::from_plain("test-ping-key"),
        ping_body_limit: 10_000,
        web: jobwatch_api::WebConfig::new(b"test signing secret"),
    };
    (Api::new(Arc::new(engine), config), dir)
}

async fn call(
    api: &Api<jobwatch_sqlite::SqliteStore>,
    method: &str,
    uri: &str,
    headers: &[(&str, &str)],
    body: &str,
    from: Option<&str>,
) -> (u16, String) {
    let mut request = request(method, uri, headers, body.as_bytes());
    if let Some(ip) = from {
        request
            .extensions_mut()
            .insert(RemoteAddr(ip.parse().expect("ip")));
    }
    let response = api.handle(request, jiff::Timestamp::now()).await;
    let (parts, body): (_, Bytes) = response.into_parts();
    (
        parts.status.as_u16(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

#[tokio::test]
async fn the_pings_address_user_agent_and_host_reach_the_run_and_the_alert() {
    let (api, _dir) = api();
    let auth = ("authorization", "Bearer test-api-key");
    let (status, body) = call(
        &api,
        "PUT",
        "/api/v1/jobs/backup",
        &[auth],
        r#"{"every": "1h"}"#,
        None,
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let long_agent = format!("curl/8.5 {}", "x".repeat(500));
    let rid = "5bf66975-d4c7-4bf5-bcc8-b8d8a82ea278";
    let (status, _) = call(
        &api,
        "POST",
        &format!("/ping/test-ping-key/backup/3?rid={rid}"),
        &[
            ("user-agent", &long_agent),
            ("x-jobwatch-host", "db-1.internal"),
        ],
        "boom",
        Some("192.0.2.7"),
    )
    .await;
    assert_eq!(status, 200);

    let pending = api
        .engine()
        .store()
        .pending_alerts(10)
        .await
        .expect("outbox");
    let alert = &pending.last().expect("an alert").event;
    assert_eq!(alert.kind, Failed);
    let source = alert.source.as_ref().expect("source");
    assert_eq!(source.ip.as_deref(), Some("192.0.2.7"));
    assert_eq!(source.host.as_deref(), Some("db-1.internal"));
    assert_eq!(
        source.user_agent.as_ref().map(|ua| ua.chars().count()),
        Some(200),
        "bounded"
    );
    assert_eq!(
        alert.run_url.as_deref(),
        Some(format!("{BASE}/jobs/backup/runs/{rid}").as_str())
    );
    let text = jobwatch_notify::render::render_slack(alert).to_string();
    assert!(
        text.contains("*Ping from:* `db-1.internal · 192.0.2.7 · curl/8.5 x"),
        "{text}"
    );
    assert!(
        jobwatch_notify::render::console_line(alert).contains("from db-1.internal · 192.0.2.7"),
    );

    // The link resolves: the run as JSON, with where it came from; a wrong id is a one-line 404.
    let (status, body) = call(
        &api,
        "GET",
        &format!("/api/v1/jobs/backup/runs/{rid}"),
        &[auth],
        "",
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let run: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(
        (run["run_id"].as_str(), run["exit_code"].as_u64()),
        (Some(rid), Some(3))
    );
    assert_eq!(run["source"]["host"], "db-1.internal");
    let (status, body) = call(
        &api,
        "GET",
        "/api/v1/jobs/backup/runs/r999",
        &[auth],
        "",
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(body.lines().count(), 1, "{body}");
    assert!(
        body.contains("run 'r999' of job 'backup' not found"),
        "{body}"
    );
}
