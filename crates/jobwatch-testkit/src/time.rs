//! Instants and durations written the way tests read best: RFC 3339 strings, wall-clock times
//! in a named zone, and whole seconds or minutes.

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// Parses an RFC 3339 instant.
pub fn t(rfc3339: &str) -> Timestamp {
    rfc3339
        .parse()
        .unwrap_or_else(|e| panic!("bad test instant {rfc3339}: {e}"))
}

/// The instant of a wall-clock time (`2026-01-15T09:00`) in `zone`, which must be unambiguous.
pub fn local(civil: &str, zone: &str) -> Timestamp {
    let tz = TimeZone::get(zone).expect("test zone");
    let dt: DateTime = civil.parse().expect("test civil time");
    tz.to_ambiguous_timestamp(dt)
        .unambiguous()
        .expect("unambiguous test time")
}

pub fn secs(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_secs(n)
}

pub fn mins(n: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_mins(n)
}
