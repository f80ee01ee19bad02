//! `/jobs/<slug>`: one job: its definition, its schedule explained, a duration chart, its
//! runs, its outages of the last 30 days and its uptime; Pause and Resume for a session.

use bytes::Bytes;
use http::{Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::history::{self, Outage};
use jobwatch_core::job::DST_GAP_NOTE;
use jobwatch_core::{Duration, JobSpec, Run, RunOutcome, Slug};
use jobwatch_store::{EngineError, JobRecord, Store, url_segment};
use maud::{Markup, html};

use super::{duration, outcome_label, percent, status_label, time};
use crate::Api;
use crate::web::auth::{Access, Session, check_form_token, field, form_token};
use crate::web::layout::{self, Chrome};
use crate::web::{chart, reply};

/// Run records read for the page: the runs table, the chart and 30 days of outages.
pub const HISTORY_READ: usize = 1_000;
const RUNS_SHOWN: usize = 50;
const CHART_RUNS: usize = 60;
const DAY_MS: i64 = 86_400_000;
/// What the Pause form offers.
const PAUSE_CHOICES: [(&str, &str); 5] = [
    ("1h", "1 hour"),
    ("4h", "4 hours"),
    ("1d", "1 day"),
    ("7d", "7 days"),
    ("", "until resumed"),
];

pub fn not_found(slug: &str) -> Response<Bytes> {
    reply::status_page(
        StatusCode::NOT_FOUND,
        "No such job",
        &format!("There is no job '{}'.", jobwatch_core::text::shorten(slug)),
    )
}

pub fn unavailable() -> Response<Bytes> {
    reply::status_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "The store could not be read just now: reload in a moment.",
    )
}

/// The job and its history, or the page saying why not.
pub async fn load<S: Store>(
    api: &Api<S>,
    slug: &str,
) -> Result<(JobRecord, Vec<Run>), Response<Bytes>> {
    if Slug::parse(slug).is_err() {
        return Err(not_found(slug));
    }
    let job = match api.engine.get_job(slug).await {
        Ok(job) => job,
        Err(EngineError::NotFound) => return Err(not_found(slug)),
        Err(e) => {
            tracing::warn!(error = %e, job = %slug, "reading a job for its page failed");
            return Err(unavailable());
        }
    };
    let runs = api
        .engine
        .runs(slug, HISTORY_READ)
        .await
        .map_err(|_| unavailable())?;
    Ok((job, runs))
}

pub fn chrome<S: Store>(api: &Api<S>, access: &Access, path: &str) -> Chrome {
    match access {
        Access::Session(session) => Chrome::Session {
            csrf: form_token(&api.config.web, session),
        },
        _ => Chrome::Link {
            path: path.to_string(),
        },
    }
}

pub async fn page<S: Store>(
    api: &Api<S>,
    slug: &str,
    access: &Access,
    path: &str,
    now: Timestamp,
) -> Response<Bytes> {
    let (job, runs) = match load(api, slug).await {
        Ok(loaded) => loaded,
        Err(page) => return page,
    };
    let chrome = chrome(api, access, path);
    let body = render(api, &job, &runs, access, now);
    reply::html_page(
        StatusCode::OK,
        layout::page(job.slug(), Some(&chrome), body),
    )
}

fn render<S: Store>(
    api: &Api<S>,
    job: &JobRecord,
    runs: &[Run],
    access: &Access,
    now: Timestamp,
) -> Markup {
    let spec = &job.spec;
    let state = &job.state;
    let status = state.status(now);
    let outages = history::outages(spec, runs);
    let month_ago = Timestamp::from_millisecond(now.as_millisecond() - 30 * DAY_MS).unwrap_or(now);
    let recent_outages: Vec<&Outage> = outages
        .iter()
        .rev()
        .filter(|o| o.until.is_none_or(|u| u > month_ago))
        .collect();
    // History older than what was read, or than the job, is not counted as uptime.
    let oldest_read = (runs.len() >= HISTORY_READ)
        .then(|| runs.iter().filter_map(record_time).min())
        .flatten();
    let uptime = |days: i64| {
        let from = Timestamp::from_millisecond(now.as_millisecond() - days * DAY_MS)
            .unwrap_or(now)
            .max(state.created_at)
            .max(oldest_read.unwrap_or(Timestamp::MIN));
        history::uptime(&outages, from, now)
    };
    let finished: Vec<&Run> = runs
        .iter()
        .filter(|r| r.duration_ms.is_some() && r.outcome != RunOutcome::Log)
        .take(CHART_RUNS)
        .collect();
    let bars: Vec<chart::Bar> = finished
        .iter()
        .rev()
        .map(|r| chart::Bar {
            duration_ms: r.duration_ms.unwrap_or(0),
            bad: r.is_failure(),
            label: format!(
                "{} {}: {}",
                r.run_id,
                r.outcome.as_str(),
                duration(r.duration_ms)
            ),
        })
        .collect();
    let session = match access {
        Access::Session(s) => Some(s),
        _ => None,
    };
    html! {
        h1 { (spec.slug.as_str()) " " (status_label(status)) }
        @if !spec.description.is_empty() { p.desc { (spec.description) } }
        p { @for tag in &spec.tags { span.tag { (tag) } } }
        @if let Some(pause) = &state.paused {
            p.note {
                "Paused since " (time(pause.since, spec))
                @if let Some(until) = pause.until { ", until " (time(until, spec)) }
                ": no alerts while paused."
            }
        }
        @if let Some(session) = session { (actions(api, spec, state.paused.is_some(), session)) }
        div.cards {
            div.card #uptime {
                h2 { "Uptime" }
                dl {
                    dt { "7 days" } dd { (percent(uptime(7))) }
                    dt { "30 days" } dd { (percent(uptime(30))) }
                    dt { "Fails in 24 h" } dd { (state.bad_in_last_day(now)) }
                    dt { "Last success" } dd {
                        @match state.last_success_at {
                            Some(t) => { (time(t, spec)) " (" (jobwatch_core::timefmt::ago(t, now)) ")" }
                            None => { "never" }
                        }
                    }
                }
                @if let Some(oldest) = oldest_read {
                    p.muted { "Counted from " (time(oldest, spec)) ", the oldest of the latest " (HISTORY_READ) " records." }
                }
            }
            div.card #schedule {
                h2 { "Schedule" }
                p { code { (spec.schedule.describe()) } }
                @if spec.schedule.is_on_demand() {
                    p.muted { "Runs when something starts it: never missed; failures, timeouts and too-short runs alert." }
                } @else {
                    table {
                        thead { tr { th { "Next runs (" (spec.schedule.tz_name().unwrap_or("UTC")) ")" } th { "UTC" } } }
                        tbody {
                            @for fire in spec.schedule.fire_times(now, 5) {
                                tr {
                                    td {
                                        (fire.at.to_zoned(spec.schedule.zone().cloned().unwrap_or(jiff::tz::TimeZone::UTC)).strftime("%a %Y-%m-%d %H:%M %Z"))
                                        @if fire.moved_by_dst { div.desc.late { (DST_GAP_NOTE) } }
                                    }
                                    td { (fire.at.strftime("%Y-%m-%d %H:%M")) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Durations" }
        (chart::durations(&bars, spec.max_runtime.as_millis(), spec.min_runtime.map(|d| d.as_millis())))
        h2 { "Runs" }
        (runs_table(spec, runs))
        h2 { "Outages in the last 30 days" }
        @if recent_outages.is_empty() {
            p.muted { "None." }
        } @else {
            div.scroll { table #outages {
                thead { tr { th { "From" } th { "To" } th { "Lasted" } th { "Summary" } } }
                tbody {
                    @for outage in &recent_outages {
                        tr {
                            td { (time(outage.since, spec)) }
                            td { @match outage.until { Some(u) => { (time(u, spec)) } None => { span.down { "still down" } } } }
                            td { (duration(Some(outage.duration_ms(now)))) }
                            td { (summary(outage)) }
                        }
                    }
                }
            } }
        }
        h2 { "Definition" }
        (definition(api, spec, session.is_some()))
    }
}

fn record_time(run: &Run) -> Option<Timestamp> {
    run.finished_at.or(run.started_at).or(run.expected_at)
}

fn summary(outage: &Outage) -> String {
    let mut parts = Vec::new();
    if outage.runs_failed > 0 {
        parts.push(format!("{} failed", outage.runs_failed));
    }
    if outage.runs_missed > 0 {
        parts.push(format!("{} missed", outage.runs_missed));
    }
    format!("{}; last: {}", parts.join(", "), outage.last_problem)
}

fn actions<S: Store>(api: &Api<S>, spec: &JobSpec, paused: bool, session: &Session) -> Markup {
    let csrf = form_token(&api.config.web, session);
    let base = format!("/jobs/{}", spec.slug.as_str());
    html! {
        div.actions {
            @if paused {
                form method="post" action={(base) "/resume"} {
                    input type="hidden" name="csrf" value=(csrf);
                    button.primary #resume type="submit" { "Resume" }
                }
            } @else {
                form.actions method="post" action={(base) "/pause"} {
                    input type="hidden" name="csrf" value=(csrf);
                    select name="for" aria-label="pause for" {
                        @for (value, label) in PAUSE_CHOICES { option value=(value) { (label) } }
                    }
                    button #pause type="submit" { "Pause" }
                }
            }
        }
    }
}

pub fn runs_table(spec: &JobSpec, runs: &[Run]) -> Markup {
    if runs.is_empty() {
        return html! { p.muted { "No runs yet." } };
    }
    html! {
        div.scroll { table #runs {
            thead { tr {
                th { "Outcome" } th { "Started" } th.n { "Duration" } th.n { "Exit" }
                th.wide { "Host" } th.wide { "Output" }
            } }
            tbody {
                @for run in runs.iter().take(RUNS_SHOWN) {
                    tr {
                        td { a href={"/jobs/" (spec.slug.as_str()) "/runs/" (url_segment(&run.run_id))} { (outcome_label(run.outcome)) } }
                        td { @if let Some(t) = run.started_at.or(run.expected_at).or(run.finished_at) { (time(t, spec)) } }
                        td.n { (duration(run.duration_ms)) }
                        td.n { @if let Some(code) = run.exit_code { (code) } }
                        td.wide { (run.source.as_ref().and_then(|s| s.host.as_deref()).unwrap_or("")) }
                        td.wide.desc { (excerpt(run.output.as_deref())) }
                    }
                }
            }
        } }
    }
}

/// The last line of an output, cut to 100 characters.
fn excerpt(output: Option<&str>) -> String {
    let last = output
        .map(str::trim_end)
        .and_then(|o| o.lines().next_back())
        .unwrap_or_default();
    jobwatch_core::text::one_line(last, 100)
}

fn definition<S: Store>(api: &Api<S>, spec: &JobSpec, session: bool) -> Markup {
    let settings = spec.to_settings_object();
    let ping_key = api.config.ping_key.plain().unwrap_or("<ping-key>");
    let base = api.config.public_url.trim_end_matches('/');
    let badge = format!(
        "{base}/badge/{}/{}.svg",
        api.config.web.badge_key(),
        spec.slug.as_str()
    );
    html! {
        dl #definition {
            @for (name, value) in &settings {
                dt { (name) }
                dd { code { (match value { serde_json::Value::String(s) => s.clone(), other => other.to_string() }) } }
            }
            // The ping key is a credential: a signed link, which may be forwarded, never shows it.
            @if session {
                dt { "ping URL" } dd { code { (base) "/ping/" (ping_key) "/" (spec.slug.as_str()) } }
                dt { "badge" } dd { img src=(badge) alt={"status badge of " (spec.slug.as_str())}; " " code.desc { (badge) } }
            }
        }
    }
}

/// Pause (for a chosen time) or resume, from the job page's forms.
pub async fn act<S: Store>(
    api: &Api<S>,
    slug: &str,
    action: &str,
    session: &Session,
    body: &[u8],
    now: Timestamp,
) -> Response<Bytes> {
    let fields = match check_form_token(&api.config.web, session, body) {
        Ok(fields) => fields,
        Err(refusal) => return refusal,
    };
    if Slug::parse(slug).is_err() {
        return not_found(slug);
    }
    let result = if action == "pause" {
        let period = field(&fields, "for").unwrap_or_default().trim();
        let until = if period.is_empty() {
            None
        } else {
            match period.parse::<Duration>() {
                Ok(d) => now.checked_add(d.to_signed()).ok(),
                Err(e) => {
                    return reply::status_page(
                        StatusCode::BAD_REQUEST,
                        "Not paused",
                        &format!("The pause duration is not valid: {e}"),
                    );
                }
            }
        };
        api.engine.pause(slug, until, now).await
    } else {
        api.engine.resume(slug, now).await
    };
    match result {
        Ok(_) => reply::see_other(&format!("/jobs/{slug}")),
        Err(EngineError::NotFound) => not_found(slug),
        Err(e) => {
            tracing::warn!(error = %e, job = %slug, "{action} from the web view failed");
            unavailable()
        }
    }
}
