//! Times and durations as messages show them to people: in the job's zone with its
//! abbreviation and in UTC (`2026-01-15 03:57 CET (02:57 UTC)`), never raw RFC 3339. Shared by
//! the texts the state machine writes (errors, limits) and every renderer.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::duration::Duration;

/// `2026-01-15 03:57 CET (02:57 UTC)` in `tz`, or `2026-01-15 02:57 UTC` without one (or in
/// UTC itself). The UTC date is repeated only when it differs from the local one.
pub fn at_in(t: Timestamp, tz: Option<&TimeZone>) -> String {
    let utc = t.strftime("%Y-%m-%d %H:%M UTC").to_string();
    let Some(tz) = tz.filter(|tz| tz.iana_name() != Some("UTC")) else {
        return utc;
    };
    let local = t.to_zoned(tz.clone());
    let same_day = local.date() == t.to_zoned(TimeZone::UTC).date();
    let utc_part = if same_day {
        t.strftime("%H:%M UTC").to_string()
    } else {
        utc
    };
    format!("{} ({utc_part})", local.strftime("%Y-%m-%d %H:%M %Z"))
}

/// `03:57 CET (02:57 UTC)`: [`at_in`] without the date, for slots of a known day.
pub fn clock_in(t: Timestamp, tz: Option<&TimeZone>) -> String {
    let utc = t.strftime("%H:%M UTC").to_string();
    match tz.filter(|tz| tz.iana_name() != Some("UTC")) {
        Some(tz) => format!("{} ({utc})", t.to_zoned(tz.clone()).strftime("%H:%M %Z")),
        None => utc,
    }
}

/// The zone a job's times are shown in: its cron zone by IANA name; none (UTC) for interval
/// jobs and unknown names.
pub fn zone(tz_name: Option<&str>) -> Option<TimeZone> {
    tz_name.and_then(|name| TimeZone::get(name).ok())
}

/// A duration for people: whole seconds beyond ten seconds (`2h3m`, `12s`, `850ms`).
pub fn duration(ms: u64) -> String {
    let rounded = if ms >= 10_000 { ms / 1000 * 1000 } else { ms };
    Duration::from_millis(rounded).to_string()
}

/// How long ago, coarsely: `5m ago`, `3h12m ago`, `2d4h ago`.
pub fn ago(then: Timestamp, now: Timestamp) -> String {
    let ms = Duration::between(then, now).as_millis();
    // Minutes are plenty beyond an hour, hours beyond a day.
    let unit = if ms >= 86_400_000 {
        3_600_000
    } else if ms >= 3_600_000 {
        60_000
    } else {
        1_000
    };
    format!("{} ago", Duration::from_millis(ms / unit * unit))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("time")
    }

    #[test]
    fn times_show_the_zone_and_utc() {
        let berlin = zone(Some("Europe/Berlin"));
        assert_eq!(
            at_in(t("2026-12-02T02:57:05.795Z"), berlin.as_ref()),
            "2026-12-02 03:57 CET (02:57 UTC)"
        );
        assert_eq!(
            at_in(t("2026-07-01T23:30:00Z"), berlin.as_ref()),
            "2026-07-02 01:30 CEST (2026-07-01 23:30 UTC)"
        );
        assert_eq!(
            at_in(t("2026-12-02T02:57:05Z"), None),
            "2026-12-02 02:57 UTC"
        );
        assert_eq!(
            at_in(t("2026-12-02T02:57:05Z"), zone(Some("UTC")).as_ref()),
            "2026-12-02 02:57 UTC"
        );
        assert_eq!(
            clock_in(t("2026-12-02T02:00:00Z"), berlin.as_ref()),
            "03:00 CET (02:00 UTC)"
        );
        assert_eq!(zone(Some("Not/AZone")), None);
    }

    #[test]
    fn durations_and_ages_are_short() {
        assert_eq!(duration(7_383_400), "2h3m3s");
        assert_eq!(duration(850), "850ms");
        assert_eq!(
            ago(t("2026-01-01T00:00:00Z"), t("2026-01-01T00:05:07Z")),
            "5m7s ago"
        );
        assert_eq!(
            ago(t("2026-01-01T00:00:00Z"), t("2026-01-01T03:12:40Z")),
            "3h12m ago"
        );
        assert_eq!(
            ago(t("2026-01-01T00:00:00Z"), t("2026-01-03T04:12:40Z")),
            "2d4h ago"
        );
    }
}
