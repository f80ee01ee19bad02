//! `/`: every job on one page, trouble first, filtered by state, tag and text, refreshing
//! itself every 30 seconds. Built from the job records alone (no run history is read), so
//! a thousand jobs cost one listing.

use std::collections::BTreeSet;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use jiff::Timestamp;
use jobwatch_core::Status;
use jobwatch_store::{JobRecord, Store};
use maud::html;

use super::{duration, status_label, trouble_rank};
use crate::Api;
use crate::web::auth::{Session, field, fields, form_token};
use crate::web::layout::{self, Chrome};
use crate::web::{chart, reply};

const REFRESH_SECS: u32 = 30;
const STATES: [&str; 8] = [
    "all", "trouble", "down", "late", "running", "paused", "new", "up",
];

struct Filters {
    state: String,
    tag: String,
    text: String,
}

impl Filters {
    fn from_query(query: Option<&str>) -> Filters {
        let pairs = query.map(|q| fields(q.as_bytes())).unwrap_or_default();
        let get = |name| field(&pairs, name).unwrap_or_default().trim().to_string();
        let state = get("state");
        Filters {
            state: if STATES.contains(&state.as_str()) {
                state
            } else {
                "all".into()
            },
            tag: get("tag"),
            text: get("q").to_lowercase(),
        }
    }

    fn keeps(&self, job: &JobRecord, status: Status) -> bool {
        let state_ok = match self.state.as_str() {
            "all" => true,
            "trouble" => matches!(status, Status::Down | Status::Late),
            wanted => status.as_str() == wanted,
        };
        let tag_ok = self.tag.is_empty() || job.spec.tags.contains(&self.tag);
        let text_ok = self.text.is_empty()
            || job.slug().to_lowercase().contains(&self.text)
            || job.spec.description.to_lowercase().contains(&self.text)
            || job
                .spec
                .tags
                .iter()
                .any(|t| t.to_lowercase().contains(&self.text));
        state_ok && tag_ok && text_ok
    }
}

pub async fn page<S: Store>(
    api: &Api<S>,
    request: &Request<Bytes>,
    session: &Session,
    now: Timestamp,
) -> Response<Bytes> {
    let jobs = match api.engine.list_jobs().await {
        Ok(jobs) => jobs,
        Err(e) => {
            tracing::warn!(error = %e, "listing jobs for the overview failed");
            return reply::status_page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                "The job list could not be read just now: this page reloads itself.",
            );
        }
    };
    let filters = Filters::from_query(request.uri().query());
    reply::compressed(request, render(api, &jobs, &filters, session, now))
}

fn render<S: Store>(
    api: &Api<S>,
    jobs: &[JobRecord],
    filters: &Filters,
    session: &Session,
    now: Timestamp,
) -> Response<Bytes> {
    let tags: BTreeSet<&str> = jobs
        .iter()
        .flat_map(|j| j.spec.tags.iter().map(String::as_str))
        .collect();
    let mut counts = [0usize; 6];
    let mut shown: Vec<(&JobRecord, Status, usize)> = Vec::with_capacity(jobs.len());
    for job in jobs {
        let status = job.state.status(now);
        counts[usize::from(trouble_rank(status))] += 1;
        if filters.keeps(job, status) {
            shown.push((job, status, job.state.bad_in_last_day(now)));
        }
    }
    shown.sort_by(|a, b| {
        (trouble_rank(a.1), std::cmp::Reverse(a.2), a.0.slug()).cmp(&(
            trouble_rank(b.1),
            std::cmp::Reverse(b.2),
            b.0.slug(),
        ))
    });
    let chrome = Chrome::Session {
        csrf: form_token(&api.config.web, session),
    };
    let summary = [
        (Status::Down, counts[0]),
        (Status::Late, counts[1]),
        (Status::Running, counts[2]),
        (Status::New, counts[3]),
        (Status::Paused, counts[4]),
        (Status::Up, counts[5]),
    ];
    let body = html! {
        h1 { "Jobs" span.muted { " · " (api.engine.environment()) } }
        p #summary {
            (jobs.len()) " jobs: "
            @for (status, n) in summary {
                @if n > 0 { (status_label(status)) " " (n) "  " }
            }
        }
        form.filters method="get" action="/" {
            select name="state" aria-label="state" {
                @for state in STATES {
                    option value=(state) selected[filters.state == state] { (state) }
                }
            }
            select name="tag" aria-label="tag" {
                option value="" { "any tag" }
                @for tag in &tags {
                    option value=(tag) selected[filters.tag == *tag] { (tag) }
                }
            }
            input type="search" name="q" value=(filters.text) placeholder="search" aria-label="search";
            button type="submit" { "Filter" }
        }
        @if shown.is_empty() {
            p.note { @if jobs.is_empty() { "No jobs yet: define one with " code { "jobwatch jobs apply" } " or ping a new slug." } @else { "No job matches these filters." } }
        } @else {
            div.scroll {
                table #jobs {
                    thead { tr {
                        th { "State" } th { "Job" } th { "Last run" } th.wide { "Next expected" }
                        th.wide { "Durations" } th.n { "Fails 24 h" }
                    } }
                    tbody {
                        @for (job, status, fails) in &shown {
                            (row(job, *status, *fails, now))
                        }
                    }
                }
            }
        }
        p.muted { "Updated " (now.strftime("%H:%M:%S UTC")) "; this page refreshes every " (REFRESH_SECS) " s." }
    };
    reply::html_page(
        StatusCode::OK,
        layout::page_with("Jobs", Some(&chrome), Some(REFRESH_SECS), body),
    )
}

fn row(job: &JobRecord, status: Status, fails: usize, now: Timestamp) -> maud::Markup {
    let state = &job.state;
    let spec = &job.spec;
    let last = match (state.last_success_at, state.last_failure_at) {
        (Some(ok), Some(bad)) if bad > ok => Some(("failed", bad)),
        (Some(ok), _) => Some(("ok", ok)),
        (None, Some(bad)) => Some(("failed", bad)),
        (None, None) => None,
    };
    let next = match (&state.paused, state.expected) {
        (Some(pause), _) => match pause.until {
            Some(until) => format!("paused until {}", super::at(until, spec)),
            None => "paused".into(),
        },
        (None, Some(expected)) => super::at(expected, spec),
        (None, None) if spec.schedule.is_on_demand() => jobwatch_core::job::ON_DEMAND.into(),
        (None, None) => String::new(),
    };
    let durations: Vec<u64> = state.recent_durations.iter().copied().collect();
    let fails_text = if fails >= jobwatch_core::machine::RECENT_BAD_KEPT {
        format!("{fails}+")
    } else {
        fails.to_string()
    };
    html! {
        tr data-slug=(spec.slug.as_str()) {
            td { (status_label(status)) }
            td {
                a href={"/jobs/" (spec.slug.as_str())} { (spec.slug.as_str()) }
                @if !spec.description.is_empty() { div.desc { (spec.description) } }
                @for tag in &spec.tags { span.tag { (tag) } }
            }
            td {
                @if let Some((outcome, at)) = last {
                    span class=(if outcome == "ok" { "success" } else { "failed" }) { (outcome) }
                    " " (jobwatch_core::timefmt::ago(at, now))
                    @if let Some(ms) = state.last_duration_ms { " · " (duration(Some(ms))) }
                } @else { span.muted { "never" } }
            }
            td.wide { (next) }
            td.wide { (chart::sparkline(&durations)) }
            td.n { (fails_text) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_filter_values_fall_back_to_all() {
        let f = Filters::from_query(Some("state=%3Cscript%3E&tag=x&q=Back"));
        assert_eq!(
            (f.state.as_str(), f.tag.as_str(), f.text.as_str()),
            ("all", "x", "back")
        );
    }
}
