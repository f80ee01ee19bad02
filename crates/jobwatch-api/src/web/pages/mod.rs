//! The pages, one module each, and what they share: how a state, an outcome and a time are
//! shown.

pub mod job;
pub mod login;
pub mod overview;
pub mod run;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use jobwatch_core::{JobSpec, RunOutcome, Status};
use maud::{Markup, html};

/// A state as a coloured label with its name (never colour alone).
pub fn status_label(status: Status) -> Markup {
    html! { span class={"st " (status.as_str())} { (status.as_str()) } }
}

pub fn outcome_label(outcome: RunOutcome) -> Markup {
    let text = match outcome {
        RunOutcome::TooShort => "too short",
        RunOutcome::TimedOut => "timed out",
        other => other.as_str(),
    };
    html! { span class={"st " (outcome.as_str())} { (text) } }
}

/// Where a state ranks on the overview: trouble first.
pub fn trouble_rank(status: Status) -> u8 {
    match status {
        Status::Down => 0,
        Status::Late => 1,
        Status::Running => 2,
        Status::New => 3,
        Status::Paused => 4,
        Status::Up => 5,
    }
}

pub fn zone(spec: &JobSpec) -> Option<&TimeZone> {
    spec.schedule.zone()
}

/// `2026-01-15 03:57 CET (02:57 UTC)`.
pub fn at(t: Timestamp, spec: &JobSpec) -> String {
    jobwatch_core::timefmt::at_in(t, zone(spec))
}

/// A time as a `<time>` element, in the job's zone and UTC.
pub fn time(t: Timestamp, spec: &JobSpec) -> Markup {
    html! { time datetime=(t.to_string()) { (at(t, spec)) } }
}

pub fn duration(ms: Option<u64>) -> String {
    ms.map(jobwatch_core::timefmt::duration).unwrap_or_default()
}

/// A percentage with one decimal, `99.9 %`, or a dash when unknown.
pub fn percent(share: Option<f64>) -> String {
    match share {
        Some(s) => format!("{:.1} %", (s * 1000.0).floor() / 10.0),
        None => "–".into(),
    }
}
