//! The page shell every page shares: the embedded stylesheet, the header, and what the
//! visitor may do there (log out; or, from a signed link, log in for more).

use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The one stylesheet, compiled in: no request, no CDN.
const STYLE: &str = include_str!("style.css");

/// What the header offers.
pub enum Chrome {
    /// A logged-in visitor: the logout form carries the session's form token.
    Session { csrf: String },
    /// A visitor on a signed link: read-only, with a way to log in.
    Link { path: String },
}

/// A page titled `title`, refreshing itself every `refresh_secs` when given.
pub fn page_with(
    title: &str,
    chrome: Option<&Chrome>,
    refresh_secs: Option<u32>,
    body: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                meta name="referrer" content="no-referrer";
                // No favicon request (it would be a 404 in every browser console).
                link rel="icon" href="data:,";
                @if let Some(secs) = refresh_secs {
                    meta http-equiv="refresh" content=(secs);
                }
                title { (title) " · jobwatch" }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href="/" { "jobwatch" }
                    @match chrome {
                        Some(Chrome::Session { csrf }) => {
                            a href="/" { "All jobs" }
                            form method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(csrf);
                                button type="submit" { "Log out" }
                            }
                        }
                        Some(Chrome::Link { path }) => {
                            span.muted { "Read-only link" }
                            a.button href=(super::auth::login_url(path)) { "Log in" }
                        }
                        None => {}
                    }
                }
                main { (body) }
            }
        }
    }
}

pub fn page(title: &str, chrome: Option<&Chrome>, body: Markup) -> Markup {
    page_with(title, chrome, None, body)
}
