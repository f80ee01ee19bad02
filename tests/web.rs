//! The web view's contract, page by page, through the same router as `jobwatch serve` and
//! the ingest Lambda: who may see what (a session from `/login`, or a signed link to one
//! page), what the cookie and forms carry, and that every string a user or a job provides
//! is escaped wherever it is shown.

use std::sync::Arc;

use bytes::Bytes;
use http::StatusCode;
use jiff::Timestamp;
use jobwatch_api::{Api, ApiConfig, Secret, WebConfig};
use jobwatch_core::links::Signer;
use jobwatch_sqlite::SqliteStore;
use jobwatch_store::{Engine, Outbox};
use jobwatch_tests::{fresh_sqlite, request, t};

const API_KEY: &str = "web-api-key";
const PING_KEY: &str = "web-ping-key";
const SECRET: &[u8] = b"web view test signing secret";
const AUTH: (&str, &str) = ("authorization", "Bearer web-api-key");
const NOW: &str = "2026-06-01T12:00:00Z";

/// What hostile users and jobs send: a script, an attribute break-out, a `javascript:` URL.
const HOSTILE: &str =
    r#"<script>alert(1)</script>"><img src=x onerror=alert(2)>javascript:alert(3)"#;

struct Reply {
    status: StatusCode,
    body: String,
    headers: http::HeaderMap,
}

impl Reply {
    fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
    }

    fn cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect()
    }

    /// The value of the first hidden `csrf` field.
    fn csrf(&self) -> String {
        let at = self
            .body
            .find(r#"name="csrf" value=""#)
            .expect("a form token");
        let rest = &self.body[at + r#"name="csrf" value=""#.len()..];
        rest[..rest.find('"').expect("end of token")].to_string()
    }
}

struct Web {
    api: Api<SqliteStore>,
    _dir: tempfile::TempDir,
}

impl Web {
    fn new(public_url: &str) -> Web {
        let (store, dir) = fresh_sqlite();
        let engine = Engine::new(store, "test")
            .with_public_url(public_url)
            .with_link_signer(Signer::new(SECRET));
        let config = ApiConfig {
            public_url: public_url.into(),
            api_key: Secret::from_plain(API_KEY),
            ping_key: Secret::from_plain(PING_KEY),
            ping_body_limit: 10_000,
            web: WebConfig::new(SECRET),
        };
        Web {
            api: Api::new(Arc::new(engine), config),
            _dir: dir,
        }
    }

    async fn call_at(
        &self,
        now: Timestamp,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Reply {
        let response = self
            .api
            .handle(request(method, uri, headers, body), now)
            .await;
        let (parts, body): (_, Bytes) = response.into_parts();
        Reply {
            status: parts.status,
            body: String::from_utf8_lossy(&body).into_owned(),
            headers: parts.headers,
        }
    }

    async fn call(&self, method: &str, uri: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.call_at(t(NOW), method, uri, headers, body).await
    }

    async fn get(&self, uri: &str, cookie: &str) -> Reply {
        self.call("GET", uri, &[("cookie", cookie)], b"").await
    }

    /// Logs in and returns the `Cookie` header value of the session.
    async fn login(&self) -> String {
        let form = self.call("GET", "/login", &[], b"").await;
        let body = format!("csrf={}&next=%2F&api_key={API_KEY}", form.csrf());
        let reply = self
            .call(
                "POST",
                "/login",
                &[("content-type", "application/x-www-form-urlencoded")],
                body.as_bytes(),
            )
            .await;
        assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
        let cookie = reply.cookies().pop().expect("a session cookie");
        cookie.split(';').next().expect("name=value").to_string()
    }

    async fn admin(&self, method: &str, uri: &str, body: &str) -> Reply {
        let reply = self.call(method, uri, &[AUTH], body.as_bytes()).await;
        assert!(
            reply.status.is_success(),
            "{uri}: {} {}",
            reply.status,
            reply.body
        );
        reply
    }

    /// A job described, tagged, pinged and failed with hostile text everywhere; returns the
    /// signed link of its alert.
    async fn hostile_job(&self) -> String {
        let definition = serde_json::json!({
            "schedule": "0 3 * * *", "tz": "Europe/Berlin",
            "description": HOSTILE, "tags": ["<b>bold</b>", "javascript:alert(3)"],
        });
        self.admin("PUT", "/api/v1/jobs/hostile", &definition.to_string())
            .await;
        let ua = r#""><img src=x onerror=alert(4)>"#;
        let start = self
            .call(
                "GET",
                &format!("/ping/{PING_KEY}/hostile/start?rid=5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03"),
                &[("user-agent", ua)],
                b"",
            )
            .await;
        assert_eq!(start.status, StatusCode::OK, "{}", start.body);
        let failed = self
            .call(
                "POST",
                &format!("/ping/{PING_KEY}/hostile/fail?rid=5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03"),
                &[("user-agent", ua), ("x-jobwatch-host", "<i>db-1</i>")],
                HOSTILE.as_bytes(),
            )
            .await;
        assert_eq!(failed.status, StatusCode::OK, "{}", failed.body);
        let alerts = self
            .api
            .engine()
            .store()
            .pending_alerts(10)
            .await
            .expect("outbox");
        let alert = alerts
            .iter()
            .find(|a| a.event.job.slug == "hostile")
            .expect("the failure's alert");
        alert.event.run_url.clone().expect("a link to the run")
    }
}

/// `https://host/path?q` -> `/path?q`.
fn path_of(url: &str) -> String {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme[after_scheme.find('/').unwrap_or(after_scheme.len())..].to_string()
}

fn assert_escaped(page: &str, what: &str) {
    assert!(
        !page.contains("<script"),
        "{what}: a script element got through:\n{page}"
    );
    assert!(
        !page.contains("<img src=x"),
        "{what}: an img element got through"
    );
    assert!(
        !page.contains("<b>bold"),
        "{what}: a tag's markup got through"
    );
    assert!(
        !page.contains("<i>db-1"),
        "{what}: the host's markup got through"
    );
    assert!(
        !page.contains("href=\"javascript:"),
        "{what}: a javascript: link"
    );
    assert!(
        !page.contains("onerror=alert") || page.contains("&quot;&gt;&lt;img"),
        "{what}: an attribute break-out"
    );
}

#[tokio::test]
async fn every_page_escapes_what_users_and_jobs_provide() {
    let web = Web::new("http://jobwatch.test");
    let link = web.hostile_job().await;
    let cookie = web.login().await;
    for uri in [
        "/",
        "/?q=%3Cscript%3E&tag=%3Cb%3Ebold%3C%2Fb%3E",
        "/jobs/hostile",
        "/jobs/hostile/runs/5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03",
    ] {
        let page = web.get(uri, &cookie).await;
        assert_eq!(page.status, StatusCode::OK, "{uri}: {}", page.body);
        assert_escaped(&page.body, uri);
        assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
        assert!(
            page.header("content-security-policy")
                .contains("default-src 'none'")
        );
        assert_eq!(
            page.header("referrer-policy"),
            "no-referrer",
            "signed links must not leak"
        );
    }
    let run = web
        .get(
            "/jobs/hostile/runs/5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03",
            &cookie,
        )
        .await
        .body;
    assert!(
        run.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the output is shown, escaped"
    );
    assert!(
        run.contains("&quot;&gt;&lt;img src=x onerror=alert(4)&gt;"),
        "the User-Agent is shown, escaped"
    );
    let job = web.get("/jobs/hostile", &cookie).await.body;
    assert!(
        job.contains("&lt;b&gt;bold&lt;/b&gt;"),
        "tags are shown, escaped"
    );
    let signed = web.get(&path_of(&link), "").await;
    assert_eq!(signed.status, StatusCode::OK);
    assert_escaped(&signed.body, "the signed run page");
}

#[tokio::test]
async fn login_takes_the_api_key_and_sets_a_strict_http_only_cookie() {
    let web = Web::new("http://jobwatch.test");
    let anonymous = web.get("/", "").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.header("location"), "/login?next=%2F");
    let form = web
        .call("GET", "/login?next=%2Fjobs%2Fbackup", &[], b"")
        .await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"name="next" value="/jobs/backup""#));
    let form_header = [("content-type", "application/x-www-form-urlencoded")];

    let wrong = format!("csrf={}&next=%2F&api_key=guess", form.csrf());
    let refused = web
        .call("POST", "/login", &form_header, wrong.as_bytes())
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("Wrong API key"));
    assert!(refused.cookies().is_empty());

    let forged = format!("csrf=1.abc&next=%2F&api_key={API_KEY}");
    let refused = web
        .call("POST", "/login", &form_header, forged.as_bytes())
        .await;
    assert_eq!(
        refused.status,
        StatusCode::FORBIDDEN,
        "a login form not made by this server"
    );

    let stale = form.csrf();
    let late = web
        .call_at(
            t("2026-06-01T13:00:01Z"),
            "POST",
            "/login",
            &form_header,
            format!("csrf={stale}&api_key={API_KEY}").as_bytes(),
        )
        .await;
    assert_eq!(
        late.status,
        StatusCode::FORBIDDEN,
        "a login form over an hour old"
    );

    let good = format!(
        "csrf={}&next=%2F%2Fevil.example&api_key={API_KEY}",
        form.csrf()
    );
    let accepted = web
        .call("POST", "/login", &form_header, good.as_bytes())
        .await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        accepted.header("location"),
        "/",
        "never sent to another site"
    );
    let cookie = accepted.cookies().pop().expect("cookie");
    for attribute in ["Path=/", "Max-Age=43200", "HttpOnly", "SameSite=Strict"] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain http locally: {cookie}");

    let https = Web::new("https://abc.lambda-url.eu-west-1.on.aws");
    let form = https.call("GET", "/login", &[], b"").await;
    let body = format!("csrf={}&api_key={API_KEY}", form.csrf());
    let accepted = https
        .call("POST", "/login", &form_header, body.as_bytes())
        .await;
    let cookie = accepted.cookies().pop().expect("cookie");
    assert!(cookie.contains("; Secure"), "over https: {cookie}");

    // The session lasts 12 hours.
    let session = web.login().await;
    let later = web
        .call_at(
            t("2026-06-01T23:59:00Z"),
            "GET",
            "/",
            &[("cookie", &session)],
            b"",
        )
        .await;
    assert_eq!(later.status, StatusCode::OK);
    let expired = web
        .call_at(
            t("2026-06-02T00:00:00Z"),
            "GET",
            "/",
            &[("cookie", &session)],
            b"",
        )
        .await;
    assert_eq!(expired.status, StatusCode::SEE_OTHER);
    let forged = web
        .get(
            "/",
            &session.replace("jobwatch_session=", "jobwatch_session=9999999999."),
        )
        .await;
    assert_eq!(
        forged.status,
        StatusCode::SEE_OTHER,
        "a session not signed by the server"
    );
}

#[tokio::test]
async fn state_changing_forms_need_the_session_token() {
    let web = Web::new("http://jobwatch.test");
    web.admin("PUT", "/api/v1/jobs/backup", r#"{"schedule": "0 3 * * *"}"#)
        .await;
    let cookie = web.login().await;
    let page = web.get("/jobs/backup", &cookie).await;
    assert!(page.body.contains(r#"id="pause""#), "a Pause button");
    let csrf = page.csrf();
    let form = |extra: &str| format!("for=1h{extra}");

    let without = web
        .call(
            "POST",
            "/jobs/backup/pause",
            &[("cookie", &cookie)],
            form("").as_bytes(),
        )
        .await;
    assert_eq!(without.status, StatusCode::FORBIDDEN);
    let other_session = web.login().await;
    let wrong = web
        .call(
            "POST",
            "/jobs/backup/pause",
            &[("cookie", &other_session)],
            form(&format!("&csrf={csrf}")).as_bytes(),
        )
        .await;
    assert_eq!(
        wrong.status,
        StatusCode::FORBIDDEN,
        "a token of another session"
    );
    let job = web.admin("GET", "/api/v1/jobs/backup", "").await.body;
    assert!(job.contains(r#""paused": false"#), "{job}");

    let paused = web
        .call(
            "POST",
            "/jobs/backup/pause",
            &[("cookie", &cookie)],
            form(&format!("&csrf={csrf}")).as_bytes(),
        )
        .await;
    assert_eq!(paused.status, StatusCode::SEE_OTHER, "{}", paused.body);
    assert_eq!(paused.header("location"), "/jobs/backup");
    let page = web.get("/jobs/backup", &cookie).await.body;
    assert!(
        page.contains("Paused since") && page.contains(r#"id="resume""#),
        "{page}"
    );
    assert!(
        page.contains(">2026-06-01 13:00 UTC</time>"),
        "paused for an hour: {page}"
    );

    let resumed = web
        .call(
            "POST",
            "/jobs/backup/resume",
            &[("cookie", &cookie)],
            format!("csrf={csrf}").as_bytes(),
        )
        .await;
    assert_eq!(resumed.status, StatusCode::SEE_OTHER);
    let job = web.admin("GET", "/api/v1/jobs/backup", "").await.body;
    assert!(job.contains(r#""paused": false"#), "{job}");

    let bad = web
        .call(
            "POST",
            "/jobs/backup/pause",
            &[("cookie", &cookie)],
            format!("for=soon&csrf={csrf}").as_bytes(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let out = web
        .call(
            "POST",
            "/logout",
            &[("cookie", &cookie)],
            format!("csrf={csrf}").as_bytes(),
        )
        .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    let cleared = out.cookies().pop().expect("a clearing cookie");
    assert!(
        cleared.starts_with("jobwatch_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
}

#[tokio::test]
async fn a_signed_link_opens_its_one_page_read_only_until_it_expires() {
    let web = Web::new("https://jobs.example.com");
    let link = web.hostile_job().await;
    assert!(
        link.starts_with(
            "https://jobs.example.com/jobs/hostile/runs/5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03?exp="
        ),
        "{link}"
    );
    let path = path_of(&link);

    let page = web.get(&path, "").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Read-only link"));
    assert!(
        !page.body.contains(r#"name="csrf""#),
        "no forms on a signed link"
    );
    assert!(
        !page.body.contains(PING_KEY),
        "a forwarded link shows no credential"
    );

    let tampered = path.replace(
        "5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f03",
        "5f0e1c9a-3b7d-4e2a-9c41-7a2d8e6b1f04",
    );
    let refused = web.get(&tampered, "").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("/login?next="), "a way to log in");
    let mut forged_sig = path.clone();
    let last = forged_sig.pop().expect("sig");
    forged_sig.push(if last == '0' { '1' } else { '0' });
    assert_eq!(web.get(&forged_sig, "").await.status, StatusCode::FORBIDDEN);
    let job_page = web
        .get(
            &format!("/jobs/hostile?{}", path.split_once('?').expect("query").1),
            "",
        )
        .await;
    assert_eq!(
        job_page.status,
        StatusCode::FORBIDDEN,
        "the link opens its page only"
    );
    let overview = web
        .get(&format!("/?{}", path.split_once('?').expect("query").1), "")
        .await;
    assert_ne!(overview.status, StatusCode::OK);

    let week_later = web
        .call_at(t("2026-06-08T11:59:00Z"), "GET", &path, &[], b"")
        .await;
    assert_eq!(week_later.status, StatusCode::OK, "valid for 7 days");
    let expired = web
        .call_at(t("2026-06-08T12:00:01Z"), "GET", &path, &[], b"")
        .await;
    assert_eq!(expired.status, StatusCode::FORBIDDEN);
    assert!(expired.body.contains("expired"), "{}", expired.body);

    let query = path.split_once('?').expect("query").1;
    let pause = web
        .call(
            "POST",
            &format!("/jobs/hostile/pause?{query}"),
            &[],
            b"for=1h",
        )
        .await;
    assert_eq!(
        pause.status,
        StatusCode::FORBIDDEN,
        "a link cannot change anything"
    );
}

#[tokio::test]
async fn pages_show_what_on_call_needs() {
    let web = Web::new("http://jobwatch.test");
    web.admin(
        "PUT",
        "/api/v1/jobs/backup",
        r#"{"schedule": "0 3 * * *", "tz": "Europe/Berlin", "max_runtime": "2h", "tags": ["db"]}"#,
    )
    .await;
    web.admin("PUT", "/api/v1/jobs/report", r#"{"every": "1h"}"#)
        .await;
    web.call(
        "POST",
        &format!("/ping/{PING_KEY}/backup/1?rid=0d6f3a52-8c1e-4b7a-9f20-3e5d7c9b1a42"),
        &[],
        b"disk full",
    )
    .await;
    let cookie = web.login().await;

    let overview = web.get("/", &cookie).await.body;
    let down = overview
        .find(r#"data-slug="backup""#)
        .expect("backup listed");
    let up = overview
        .find(r#"data-slug="report""#)
        .expect("report listed");
    assert!(down < up, "trouble first");
    assert!(
        overview.contains(r#"<span class="st down">down</span>"#),
        "state as text, not colour alone"
    );
    assert!(overview.contains(r#"http-equiv="refresh" content="30""#));
    let filtered = web.get("/?state=down", &cookie).await.body;
    assert!(filtered.contains("backup") && !filtered.contains(r#"data-slug="report""#));
    let tagged = web.get("/?tag=db", &cookie).await.body;
    assert!(!tagged.contains(r#"data-slug="report""#));
    let searched = web.get("/?q=REP", &cookie).await.body;
    assert!(
        searched.contains(r#"data-slug="report""#) && !searched.contains(r#"data-slug="backup""#)
    );

    let job = web.get("/jobs/backup", &cookie).await.body;
    for needle in [
        "0 3 * * * (Europe/Berlin)",
        "CEST",
        "Uptime",
        "30 days",
        "max_runtime",
        r#"id="runs""#,
        r#"id="outages""#,
        "still down",
        "failed with exit status 1",
        "/badge/",
    ] {
        assert!(job.contains(needle), "job page shows {needle}");
    }
    let run = web
        .get(
            "/jobs/backup/runs/0d6f3a52-8c1e-4b7a-9f20-3e5d7c9b1a42",
            &cookie,
        )
        .await
        .body;
    for needle in ["disk full", "exit status", "max_runtime", "2h"] {
        assert!(run.contains(needle), "run page shows {needle}");
    }
    assert_eq!(
        web.get("/jobs/backup/runs/nope", &cookie).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web.get("/jobs/nope", &cookie).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web.get("/jobs/Bad%20Slug", &cookie).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn badges_are_read_with_their_own_key() {
    let web = Web::new("http://jobwatch.test");
    web.admin(
        "PUT",
        "/api/v1/jobs/backup",
        r#"{"schedule": "0 3 * * *", "tags": ["nightly"]}"#,
    )
    .await;
    web.admin(
        "PUT",
        "/api/v1/jobs/sync",
        r#"{"every": "1h", "tags": ["nightly"]}"#,
    )
    .await;
    web.call("GET", &format!("/ping/{PING_KEY}/backup"), &[], b"")
        .await;
    web.call("GET", &format!("/ping/{PING_KEY}/sync/fail"), &[], b"")
        .await;
    let key = WebConfig::new(SECRET).badge_key();
    let up = web.get(&format!("/badge/{key}/backup.svg"), "").await;
    assert_eq!(up.status, StatusCode::OK);
    assert_eq!(up.header("content-type"), "image/svg+xml");
    assert!(up.body.contains(">up<"), "{}", up.body);
    let tag = web.get(&format!("/badge/{key}/nightly.svg"), "").await;
    assert!(
        tag.body.contains(">down<"),
        "a tag shows its worst job: {}",
        tag.body
    );
    assert_eq!(
        web.get(&format!("/badge/{key}/nothing.svg"), "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web.get("/badge/0123456789abcdef0123456789abcdef/backup.svg", "")
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        web.get(&format!("/badge/{API_KEY}/backup.svg"), "")
            .await
            .status,
        StatusCode::NOT_FOUND,
        "the API key is no badge key"
    );
}
