//! Cron schedules: parsing 5-field Vixie/cronie expressions (plus nicknames and the common
//! Quartz-style `L`, `W` and `#` extensions) and computing the next fire instant in an IANA
//! time zone.
//!
//! jobwatch uses this to know when a monitored job is *expected* to run, so the semantics
//! follow cronie as closely as possible, including its daylight-saving behaviour:
//!
//! * A *fixed-time job* (neither the minute nor the hour field begins with `*`) fires once
//!   for each matching wall-clock time: at the first occurrence of a repeated wall time, and
//!   at the first instant after a skipped one (several skipped slots collapse into one fire).
//! * A *wildcard job* (minute or hour field begins with `*`) follows real time: it fires at
//!   both occurrences of a repeated wall time and not at all for skipped ones.
//!
//! Days follow the Vixie rule: when either day field begins with `*`, a day must match both
//! fields; when both are restricted, a day matching either field is enough.

mod error;
mod evaluate;
mod expr;
mod parse;
mod zone;

#[cfg(test)]
mod tests;

pub use error::{CronError, CronField};
pub use expr::CronExpr;
