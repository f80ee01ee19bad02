//! `/jobs/<slug>/runs/<run-id>`: one run: its pings (times, source, User-Agent), its whole
//! kept output, its outcome against the job's limits, and, where output is kept outside the
//! store (CloudWatch Logs in AWS), a link there. Where an alert's link lands.

use bytes::Bytes;
use http::{Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::{JobSpec, Run, RunOutcome, RunRecords};
use jobwatch_store::Store;
use maud::{Markup, html};

use super::job::{chrome, load};
use super::{duration, outcome_label, time};
use crate::Api;
use crate::web::auth::Access;
use crate::web::{layout, reply};

pub async fn page<S: Store>(
    api: &Api<S>,
    slug: &str,
    run_id: &str,
    access: &Access,
    path: &str,
    now: Timestamp,
) -> Response<Bytes> {
    let (job, runs) = match load(api, slug).await {
        Ok(loaded) => loaded,
        Err(page) => return page,
    };
    let run_id = percent_decode(run_id);
    let Some(RunRecords { main, records }) = RunRecords::find(&runs, &run_id) else {
        return reply::status_page(
            StatusCode::NOT_FOUND,
            "No such run",
            &format!(
                "Job '{}' has no run '{}' among its latest {} records.",
                job.slug(),
                jobwatch_core::text::shorten(&run_id),
                super::job::HISTORY_READ
            ),
        );
    };
    let chrome = chrome(api, access, path);
    let log_link = api
        .config
        .web
        .run_log_link
        .as_ref()
        .and_then(|link| link(job.slug(), main));
    let title = format!("{} · run {}", job.slug(), run_id);
    let body = render(&job.spec, &run_id, main, &records, log_link.as_deref(), now);
    reply::html_page(StatusCode::OK, layout::page(&title, Some(&chrome), body))
}

fn render(
    spec: &JobSpec,
    run_id: &str,
    main: &Run,
    records: &[&Run],
    log_link: Option<&str>,
    now: Timestamp,
) -> Markup {
    let job_path = format!("/jobs/{}", spec.slug.as_str());
    let outputs: Vec<&Run> = records
        .iter()
        .copied()
        .filter(|r| r.output.as_deref().is_some_and(|o| !o.is_empty()))
        .collect();
    html! {
        p { a href=(job_path) { "← " (spec.slug.as_str()) } }
        h1 { "Run " code { (run_id) } " " (outcome_label(main.outcome)) }
        div.cards {
            div.card #outcome {
                h2 { "Outcome" }
                dl {
                    dt { "outcome" } dd { (outcome_label(main.outcome)) @if main.timed_out && main.outcome != RunOutcome::TimedOut { " (after timing out)" } }
                    @if let Some(t) = main.expected_at { dt { "expected" } dd { (time(t, spec)) } }
                    @if let Some(t) = main.started_at { dt { "started" } dd { (time(t, spec)) } }
                    @if let Some(t) = main.finished_at { dt { "finished" } dd { (time(t, spec)) } }
                    @if main.duration_ms.is_some() { dt { "duration" } dd { (duration(main.duration_ms)) } }
                    @else if main.outcome == RunOutcome::Running {
                        @if let Some(t) = main.started_at { dt { "running for" } dd { (duration(Some(jobwatch_core::Duration::between(t, now).as_millis()))) } }
                    }
                    @if let Some(code) = main.exit_code { dt { "exit status" } dd { (code) } }
                    @if main.slots > 1 { dt { "missed slots" } dd { (main.slots) } }
                }
            }
            div.card #limits {
                h2 { "Limits" }
                dl {
                    dt { "max_runtime" } dd { (spec.max_runtime) }
                    dt { "min_runtime" } dd { @match spec.min_runtime { Some(d) => { (d) } None => { "none" } } }
                    dt { "grace" } dd { (spec.grace) }
                    dt { "schedule" } dd { code { (spec.schedule.describe()) } }
                }
            }
        }
        h2 { "Pings" }
        div.scroll { table #pings {
            thead { tr { th { "Ping" } th { "At" } th { "Address" } th { "User-Agent" } th { "Host" } } }
            tbody {
                @for record in records { (ping_rows(spec, record)) }
            }
        } }
        h2 { "Output" }
        @if outputs.is_empty() {
            p.muted {
                @if log_link.is_some() { "No output kept with the run here; every run's output is in CloudWatch Logs." }
                @else { "This run sent no output." }
            }
        }
        @for record in &outputs {
            @if outputs.len() > 1 { p.muted { (record.ping_name()) } }
            pre #output { (record.output.as_deref().unwrap_or_default()) }
        }
        @if let Some(link) = log_link {
            p { a href=(link) rel="noreferrer" { "This run in CloudWatch Logs" } }
        }
    }
}

/// A record's pings (see [`Run::pings`]), one row each.
fn ping_rows(spec: &JobSpec, run: &Run) -> Markup {
    html! {
        @for ping in run.pings() {
            @if ping.missed {
                tr { td.missed { (ping.name) } td { @if let Some(t) = ping.at { "expected " (time(t, spec)) } } td {} td {} td {} }
            } @else {
                tr {
                    td { (ping.name) }
                    td { @if let Some(t) = ping.at { (time(t, spec)) } }
                    @match ping.source {
                        Some(source) => {
                            td { (source.ip.as_deref().unwrap_or_default()) }
                            td.desc { (source.user_agent.as_deref().unwrap_or_default()) }
                            td { (source.host.as_deref().unwrap_or_default()) }
                        }
                        None => { td.muted colspan="3" { "(the source of a run's last ping is kept)" } }
                    }
                }
            }
        }
    }
}

/// A path segment with its `%XX` escapes decoded (invalid ones kept as written).
fn percent_decode(segment: &str) -> String {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16);
    while i < bytes.len() {
        let escaped = (bytes[i] == b'%' && i + 2 < bytes.len())
            .then(|| Some(hex(bytes[i + 1])? * 16 + hex(bytes[i + 2])?))
            .flatten();
        match escaped {
            Some(b) => {
                out.push(b as u8);
                i += 3;
            }
            None => {
                out.push(bytes[i]);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::percent_decode;

    #[test]
    fn run_ids_are_decoded_as_the_links_encode_them() {
        assert_eq!(percent_decode("r12"), "r12");
        assert_eq!(percent_decode("a%2Fb%20c"), "a/b c");
        assert_eq!(percent_decode("bad%zz%4"), "bad%zz%4");
    }
}
