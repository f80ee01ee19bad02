//! Which time-zone names a job may use: IANA region names such as `Europe/Berlin`, `UTC`, and
//! `Etc/GMT+5`-style names for a deliberate fixed offset. Abbreviations are refused with a
//! hint, even the ones the tz database still carries for backward compatibility (`EST`, `CET`,
//! `PST8PDT`...): they look like the zone people mean but are not (`EST` never switches to
//! daylight saving time, `CET` follows one country's rules), so a job declared with one fires
//! an hour off for half the year.

use jiff::tz::TimeZone;

/// Why a name is not accepted as a job's time zone. Messages start with the quoted name so
/// callers can prefix the setting, e.g. `tz "EST" is an abbreviation, ...`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ZoneError {
    #[error("\"{name}\" is an abbreviation, not a time zone: use an IANA name such as {region}{fixed}", fixed = fixed_hint(*.fixed))]
    Abbreviation {
        name: String,
        region: &'static str,
        /// The zone's standard offset east of UTC in hours, when it has a whole-hour one.
        fixed: Option<i8>,
    },
    #[error("\"{name}\" is a fixed offset, not a time zone: use the IANA name of the place, such as Europe/Berlin{fixed}", fixed = offset_hint(*.fixed))]
    FixedOffset {
        name: String,
        /// The offset east of UTC in hours, when it is a whole number that `Etc/` can name.
        fixed: Option<i8>,
    },
    #[error("\"{0}\" is not a known time zone: use an IANA name such as Europe/Berlin or UTC")]
    Unknown(String),
}

/// `Etc/GMT` names count hours west of UTC (POSIX's sign), the opposite of `UTC+5`.
fn etc_name(hours_east: i8) -> String {
    match hours_east {
        0 => "UTC".to_string(),
        east if east > 0 => format!("Etc/GMT-{east}"),
        west => format!("Etc/GMT+{}", -west),
    }
}

fn fixed_hint(fixed: Option<i8>) -> String {
    match fixed {
        Some(0) => " (or UTC for a fixed offset)".to_string(),
        Some(hours) => format!(
            " (or {} for a fixed offset of UTC{hours:+})",
            etc_name(hours)
        ),
        None => String::new(),
    }
}

fn offset_hint(fixed: Option<i8>) -> String {
    match fixed {
        Some(0) => ", or UTC".to_string(),
        Some(hours) => format!(", or {} to keep UTC{hours:+} all year", etc_name(hours)),
        None => String::new(),
    }
}

/// Abbreviations people write as a zone (including the tz database's legacy names), the
/// region they usually mean, and its standard offset when `Etc/` can name it.
const ABBREVIATIONS: &[(&[&str], &str, Option<i8>)] = &[
    (&["EST", "EDT", "EST5EDT"], "America/New_York", Some(-5)),
    (&["CST", "CDT", "CST6CDT"], "America/Chicago", Some(-6)),
    (&["MST", "MDT", "MST7MDT"], "America/Denver", Some(-7)),
    (&["PST", "PDT", "PST8PDT"], "America/Los_Angeles", Some(-8)),
    (&["AKST", "AKDT"], "America/Anchorage", Some(-9)),
    (&["HST"], "Pacific/Honolulu", Some(-10)),
    (&["WET", "WEST"], "Europe/Lisbon", Some(0)),
    (&["BST"], "Europe/London", Some(0)),
    (&["CET", "CEST", "MET", "MEST"], "Europe/Berlin", Some(1)),
    (&["EET", "EEST"], "Europe/Athens", Some(2)),
    (&["MSK"], "Europe/Moscow", Some(3)),
    (&["IST"], "Asia/Kolkata", None),
    (&["JST"], "Asia/Tokyo", Some(9)),
    (&["KST"], "Asia/Seoul", Some(9)),
    (&["AEST", "AEDT"], "Australia/Sydney", Some(10)),
    (&["NZST", "NZDT"], "Pacific/Auckland", Some(12)),
];

/// The time zone a job's `tz` names, or why the name is refused.
pub fn time_zone(name: &str) -> Result<TimeZone, ZoneError> {
    let shown = || crate::text::shorten(name);
    let upper = name.to_ascii_uppercase();
    if let Some(minutes) = fixed_offset_minutes(&upper) {
        let fixed = (minutes % 60 == 0)
            .then(|| i8::try_from(minutes / 60).ok())
            .flatten()
            .filter(|hours| (-12..=14).contains(hours));
        return Err(ZoneError::FixedOffset {
            name: shown(),
            fixed,
        });
    }
    if let Some((_, region, fixed)) = ABBREVIATIONS
        .iter()
        .find(|(names, ..)| names.contains(&upper.as_str()))
    {
        return Err(ZoneError::Abbreviation {
            name: shown(),
            region,
            fixed: *fixed,
        });
    }
    match TimeZone::get(name) {
        Ok(tz) => Ok(tz),
        Err(_) if looks_like_abbreviation(name) => Err(ZoneError::Abbreviation {
            name: shown(),
            region: "Europe/Berlin",
            fixed: None,
        }),
        Err(_) => Err(ZoneError::Unknown(shown())),
    }
}

/// Any name the tz database knows, abbreviations included: for definitions stored before
/// abbreviations were refused, so they keep loading (and firing as they always did).
pub fn stored_time_zone(name: &str) -> Result<TimeZone, ZoneError> {
    TimeZone::get(name).map_err(|_| ZoneError::Unknown(crate::text::shorten(name)))
}

/// Minutes east of UTC for `UTC+5`, `GMT-03:00`, `UT+0530`, `GMT0`, `+05:00` and the like
/// (already upper-cased); `None` for anything else, `UTC` and `GMT` alone included.
fn fixed_offset_minutes(upper: &str) -> Option<i32> {
    let rest = ["UTC", "GMT", "UT", ""]
        .iter()
        .find_map(|prefix| upper.strip_prefix(prefix))?;
    let (sign, digits) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        b'0'..=b'9' if rest.len() < upper.len() => (1, rest),
        _ => return None,
    };
    let (hours, minutes) = match digits.split_once(':') {
        Some((h, m)) => (h, m),
        None if digits.len() > 2 => digits.split_at(digits.len() - 2),
        None => (digits, "0"),
    };
    let number = |s: &str| {
        (!s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i32>().ok())
            .flatten()
    };
    let (hours, minutes) = (number(hours)?, number(minutes)?);
    (hours <= 14 && minutes < 60).then_some(sign * (hours * 60 + minutes))
}

/// `XYZ`, or a POSIX TZ string such as `EST5EDT,M3.2.0,M11.1.0`: a short upper-case word,
/// maybe followed by an offset and rules.
fn looks_like_abbreviation(name: &str) -> bool {
    let letters = name.bytes().take_while(u8::is_ascii_uppercase).count();
    let rest = &name[letters..];
    (2..=5).contains(&letters)
        && (rest.is_empty()
            || rest.starts_with(|c: char| c.is_ascii_digit() || c == '+' || c == '-'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refusal(name: &str) -> String {
        match time_zone(name) {
            Ok(_) => panic!("{name} was accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn iana_region_names_utc_and_etc_offsets_are_accepted() {
        for name in [
            "UTC",
            "Etc/UTC",
            "GMT",
            "Europe/Berlin",
            "America/New_York",
            "America/Argentina/Buenos_Aires",
            "Asia/Kolkata",
            "Etc/GMT+5",
            "Etc/GMT-14",
            "US/Eastern",
            "Japan",
        ] {
            assert!(time_zone(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn abbreviations_are_refused_with_the_region_they_usually_mean() {
        assert_eq!(
            refusal("EST"),
            "\"EST\" is an abbreviation, not a time zone: use an IANA name such as \
             America/New_York (or Etc/GMT+5 for a fixed offset of UTC-5)"
        );
        assert_eq!(
            refusal("CET"),
            "\"CET\" is an abbreviation, not a time zone: use an IANA name such as \
             Europe/Berlin (or Etc/GMT-1 for a fixed offset of UTC+1)"
        );
        assert_eq!(
            refusal("pst8pdt"),
            "\"pst8pdt\" is an abbreviation, not a time zone: use an IANA name such as \
             America/Los_Angeles (or Etc/GMT+8 for a fixed offset of UTC-8)"
        );
        assert!(refusal("WET").ends_with("Europe/Lisbon (or UTC for a fixed offset)"));
        assert!(refusal("IST").ends_with("such as Asia/Kolkata"));
        // Not in the database, but written like an abbreviation or a POSIX TZ string.
        assert!(refusal("XYZT").starts_with("\"XYZT\" is an abbreviation"));
        assert!(refusal("EST5EDT,M3.2.0,M11.1.0").contains("is an abbreviation"));
    }

    #[test]
    fn fixed_offsets_are_refused_with_the_etc_name_of_the_same_offset() {
        assert_eq!(
            refusal("UTC+5"),
            "\"UTC+5\" is a fixed offset, not a time zone: use the IANA name of the place, \
             such as Europe/Berlin, or Etc/GMT-5 to keep UTC+5 all year"
        );
        assert!(refusal("GMT-03:00").ends_with(", or Etc/GMT+3 to keep UTC-3 all year"));
        assert!(refusal("+0100").ends_with(", or Etc/GMT-1 to keep UTC+1 all year"));
        assert!(refusal("GMT0").ends_with("such as Europe/Berlin, or UTC"));
        assert!(refusal("UTC+05:30").ends_with("such as Europe/Berlin"));
    }

    #[test]
    fn other_names_are_unknown() {
        assert_eq!(
            refusal("Mars/Olympus"),
            "\"Mars/Olympus\" is not a known time zone: use an IANA name such as Europe/Berlin or UTC"
        );
        assert!(refusal("Berlin").contains("not a known time zone"));
        assert!(
            refusal(&"X".repeat(100)).contains('…'),
            "long names are cut"
        );
    }

    /// Every name in the bundled database, decided: the region names (with a `/`) are kept,
    /// and of the short legacy names exactly the abbreviations and offsets are refused. A new
    /// database release that adds a short name fails here until it is decided.
    #[test]
    fn every_database_name_is_decided() {
        let refused_short = [
            "CET", "CST6CDT", "EET", "EST", "EST5EDT", "GMT+0", "GMT-0", "GMT0", "HST", "MET",
            "MST", "MST7MDT", "PST8PDT", "WET",
        ];
        let accepted_short = [
            "Cuba",
            "Egypt",
            "Eire",
            "Factory",
            "GB",
            "GB-Eire",
            "GMT",
            "Greenwich",
            "Hongkong",
            "Iceland",
            "Iran",
            "Israel",
            "Jamaica",
            "Japan",
            "Kwajalein",
            "Libya",
            "NZ",
            "NZ-CHAT",
            "Navajo",
            "PRC",
            "Poland",
            "Portugal",
            "ROC",
            "ROK",
            "Singapore",
            "Turkey",
            "UCT",
            "UTC",
            "Universal",
            "W-SU",
            "Zulu",
        ];
        for name in jiff::tz::db().available() {
            let name = name.as_str();
            let accepted = time_zone(name).is_ok();
            if name.contains('/') {
                assert!(accepted, "{name} is a region name");
            } else if refused_short.contains(&name) {
                assert!(!accepted, "{name} is an abbreviation or offset");
            } else {
                assert!(accepted_short.contains(&name), "{name} is not decided");
                assert!(accepted, "{name} names a region or UTC");
            }
            assert!(stored_time_zone(name).is_ok(), "{name} still loads");
        }
    }
}
