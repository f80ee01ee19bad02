//! The web view behind the ingest Function URL: the real ingest binary, with the stack's
//! resources on moto as `template.yaml` declares them (its generated signing secret among
//! them), serves the pages; the link in a Slack message the real formatter posted opens the
//! failed run's page without a login, a tampered one is refused, and a login through the
//! Function URL (cookies in the event's `cookies` field) opens the overview. The sweeper
//! signs the links of what it finds (a missed run's job page) with the same secret.

use std::time::{Duration, Instant};

use jobwatch_tests::lambda::function_url_event;
use jobwatch_tests::stack::{LiveStack, scheduled_event, slack_message_with, status};
use serde_json::{Value, json};

const RID: &str = "7c2e9a14-5b3d-4f6e-8a1c-2d9b7e4f6a30";

/// The first `/jobs/...` address in `text`, with Slack's `&amp;` undone.
fn page_link(text: &str, prefix: &str) -> String {
    let text = text.replace("&amp;", "&").replace("\\u0026", "&");
    let start = text
        .find(prefix)
        .unwrap_or_else(|| panic!("no {prefix} link in {text}"));
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c == '"' || c == '\\' || c == '|' || c == '>' || c.is_whitespace())
        .unwrap_or(rest.len());
    rest[..end].to_string()
}

fn body(response: &Value) -> String {
    response["body"].as_str().unwrap_or_default().to_string()
}

fn get(path_and_query: &str, cookie: Option<&str>) -> Value {
    let mut event = function_url_event("GET", path_and_query, &[], b"");
    if let Some(cookie) = cookie {
        event["cookies"] = json!([cookie]);
    }
    event
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_serves_the_pages_and_a_slack_link_opens_its_run() {
    let stack = LiveStack::stand_up("web", "warn").await;
    let (ingest, sweeper, formatter) = (&stack.ingest, &stack.sweeper, &stack.formatter);
    stack
        .declare("nightly-backup", r#"{"every": "1d", "grace": "1h"}"#)
        .await;
    stack
        .declare("heartbeat", r#"{"every": "2s", "grace": "1s"}"#)
        .await;
    let heartbeat_created = Instant::now();
    ingest
        .invoke(stack.ping("GET", &format!("nightly-backup/start?rid={RID}"), b""))
        .await;
    let failed = ingest
        .invoke(stack.ping(
            "POST",
            &format!("nightly-backup/2?rid={RID}"),
            b"pg_dump: <error> disk full",
        ))
        .await;
    assert_eq!(status(&failed), 200, "{failed}");

    // The formatter posts the failure; its message links the run's page, signed.
    let event = stack.tap.next_event("\"kind\":\"failed\"").await;
    formatter.invoke(event).await;
    let message = slack_message_with(&stack.slack, &["nightly-backup", "disk full"]).await;
    let link = page_link(
        &message.to_string(),
        &format!("/jobs/nightly-backup/runs/{RID}?"),
    );
    assert!(link.contains("exp=") && link.contains("&sig="), "{link}");

    let page = ingest.invoke(get(&link, None)).await;
    assert_eq!(status(&page), 200, "{page}");
    let html = body(&page);
    assert!(
        html.contains(RID) && html.contains("pg_dump: &lt;error&gt; disk full"),
        "{html}"
    );
    assert!(html.contains("Read-only link"));
    assert!(
        html.contains("CloudWatch Logs"),
        "a link to the run's stream: {html}"
    );
    assert_eq!(page["headers"]["content-type"], "text/html; charset=utf-8");

    let tampered = link.replace("nightly-backup", "heartbeat");
    let refused = ingest.invoke(get(&tampered, None)).await;
    assert_eq!(status(&refused), 403, "{refused}");

    // A login through the Function URL: the cookie comes back in `cookies`, Secure.
    let form = ingest.invoke(get("/login", None)).await;
    let form_html = body(&form);
    let at = form_html
        .find(r#"name="csrf" value=""#)
        .expect("form token")
        + r#"name="csrf" value=""#.len();
    let token = &form_html[at..at + form_html[at..].find('"').expect("end")];
    let login = ingest
        .invoke(function_url_event(
            "POST",
            "/login",
            &[("content-type", "application/x-www-form-urlencoded")],
            format!("csrf={token}&next=%2F&api_key={}", stack.api_key).as_bytes(),
        ))
        .await;
    assert_eq!(status(&login), 303, "{login}");
    let cookie = login["cookies"][0]
        .as_str()
        .expect("a session cookie")
        .to_string();
    assert!(
        cookie.contains("HttpOnly")
            && cookie.contains("SameSite=Strict")
            && cookie.contains("Secure"),
        "{cookie}"
    );
    let session = cookie.split(';').next().expect("name=value");
    let overview = ingest.invoke(get("/", Some(session))).await;
    assert_eq!(status(&overview), 200, "{overview}");
    assert!(body(&overview).contains(r#"data-slug="nightly-backup""#));
    let job = ingest
        .invoke(get("/jobs/nightly-backup", Some(session)))
        .await;
    assert_eq!(status(&job), 200, "{job}");
    assert!(body(&job).contains("Uptime"));

    // The sweeper signs the link of a missed run (the job's page) with the same secret.
    tokio::time::sleep_until((heartbeat_created + Duration::from_millis(3_500)).into()).await;
    let swept = sweeper.invoke(scheduled_event()).await;
    assert!(swept["alerts"].as_u64().unwrap_or_default() >= 1, "{swept}");
    let missed = stack.tap.next_event("\"kind\":\"missed\"").await;
    let link = page_link(&missed.to_string(), "/jobs/heartbeat?");
    let page = ingest.invoke(get(&link, None)).await;
    assert_eq!(
        status(&page),
        200,
        "the sweeper's link opens the job page: {page}"
    );

    for running in stack.functions() {
        running.assert_within_its_policy();
    }
}
