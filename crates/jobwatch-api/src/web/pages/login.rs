//! `/login`: the API key in, a session cookie out.

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use jiff::Timestamp;
use jobwatch_store::Store;
use maud::html;

use crate::Api;
use crate::web::WebConfig;
use crate::web::auth::{self, field, fields};
use crate::web::layout;
use crate::web::reply;

pub fn form(
    web: &WebConfig,
    request: &Request<Bytes>,
    now: Timestamp,
    error: Option<&str>,
) -> Response<Bytes> {
    let next = request
        .uri()
        .query()
        .map(|q| fields(q.as_bytes()))
        .and_then(|f| field(&f, "next").map(str::to_string));
    render(web, &auth::safe_next(next.as_deref()), now, error)
}

fn render(web: &WebConfig, next: &str, now: Timestamp, error: Option<&str>) -> Response<Bytes> {
    let status = if error.is_some() {
        StatusCode::FORBIDDEN
    } else {
        StatusCode::OK
    };
    reply::html_page(
        status,
        layout::page(
            "Log in",
            None,
            html! {
                div.login {
                    h1 { "Log in" }
                    @if let Some(error) = error {
                        p.note.down role="alert" { (error) }
                    }
                    form method="post" action="/login" {
                        input type="hidden" name="csrf" value=(auth::login_token(web, now));
                        input type="hidden" name="next" value=(next);
                        label for="api_key" { "API key" }
                        input #api_key type="password" name="api_key" autocomplete="current-password" required autofocus;
                        button.primary type="submit" { "Log in" }
                    }
                    p.muted { "The admin API key: printed by " code { "jobwatch serve" } " on its first start, or kept in the stack's keys secret in AWS." }
                }
            },
        ),
    )
}

pub fn submit<S: Store>(
    api: &Api<S>,
    request: &Request<Bytes>,
    https: bool,
    now: Timestamp,
) -> Response<Bytes> {
    let web = &api.config.web;
    let form = fields(request.body());
    let next = auth::safe_next(field(&form, "next"));
    if !auth::check_login_token(web, field(&form, "csrf").unwrap_or_default(), now) {
        return render(
            web,
            &next,
            now,
            Some("This login form expired or did not come from this server: try again."),
        );
    }
    let key = field(&form, "api_key").unwrap_or_default().trim();
    if key.is_empty() || !api.config.api_key.matches(key) {
        return render(web, &next, now, Some("Wrong API key."));
    }
    match auth::new_session(web, now) {
        Ok((value, max_age)) => reply::with_cookie(
            reply::see_other(&next),
            &reply::session_cookie(&value, max_age, https),
        ),
        Err(e) => {
            tracing::error!(error = %e, "no randomness for a session");
            reply::status_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The server could not start a session: try again.",
            )
        }
    }
}
