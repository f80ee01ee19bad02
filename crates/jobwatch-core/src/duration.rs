//! Durations as users write them in job definitions: `90s`, `10m`, `1h30m`, `500ms`, `2d`, or
//! a bare integer meaning seconds. Kept at millisecond resolution so tests can use short ones.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A non-negative duration with millisecond resolution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(u64);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("duration is empty")]
    Empty,
    #[error("durations cannot be negative: '{0}'")]
    Negative(String),
    #[error("invalid duration '{0}': use e.g. 90s, 10m, 1h30m, 2d or whole seconds")]
    Invalid(String),
    #[error("duration '{0}' is too large")]
    TooLarge(String),
}

const UNITS: [(&str, u64); 6] = [
    ("ms", 1),
    ("s", 1_000),
    ("m", 60_000),
    ("h", 3_600_000),
    ("d", 86_400_000),
    ("w", 604_800_000),
];

impl Duration {
    pub const ZERO: Duration = Duration(0);

    pub const fn from_millis(ms: u64) -> Self {
        Duration(ms)
    }
    pub const fn from_secs(s: u64) -> Self {
        Duration(s.saturating_mul(1000))
    }
    pub const fn from_mins(m: u64) -> Self {
        Duration(m.saturating_mul(60_000))
    }
    pub const fn from_hours(h: u64) -> Self {
        Duration(h.saturating_mul(3_600_000))
    }
    pub const fn as_millis(self) -> u64 {
        self.0
    }
    pub const fn is_zero(self) -> bool {
        self.0 == 0
    }
    /// For timestamp arithmetic. Saturates far beyond any schedule jobwatch accepts.
    pub fn to_signed(self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_millis(i64::try_from(self.0).unwrap_or(i64::MAX))
    }
    /// The (non-negative) distance between two instants; zero when `to` is before `from`.
    pub fn between(from: jiff::Timestamp, to: jiff::Timestamp) -> Self {
        let ms = to.as_millisecond().saturating_sub(from.as_millisecond());
        Duration(u64::try_from(ms).unwrap_or(0))
    }
}

impl FromStr for Duration {
    type Err = DurationError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let s = input.trim();
        if s.is_empty() {
            return Err(DurationError::Empty);
        }
        if s.starts_with('-') {
            return Err(DurationError::Negative(s.to_string()));
        }
        if let Ok(secs) = s.parse::<u64>() {
            return secs
                .checked_mul(1000)
                .map(Duration)
                .ok_or_else(|| DurationError::TooLarge(s.to_string()));
        }
        let invalid = || DurationError::Invalid(s.to_string());
        let mut total: u64 = 0;
        let mut rest = s;
        while !rest.is_empty() {
            let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
            if digits == 0 {
                return Err(invalid());
            }
            let value: u64 = rest[..digits].parse().map_err(|_| invalid())?;
            rest = &rest[digits..];
            let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
            let unit = &rest[..unit_len];
            let (_, factor) = UNITS
                .iter()
                .find(|(name, _)| *name == unit)
                .ok_or_else(invalid)?;
            rest = rest[unit_len..].trim_start();
            total = value
                .checked_mul(*factor)
                .and_then(|ms| total.checked_add(ms))
                .ok_or_else(|| DurationError::TooLarge(s.to_string()))?;
        }
        Ok(Duration(total))
    }
}

impl fmt::Display for Duration {
    /// Canonical form, largest units first: `1h30m`, `90ms`, `2d`, `0s`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0s");
        }
        let mut rest = self.0;
        for (name, factor) in [
            ("d", 86_400_000u64),
            ("h", 3_600_000),
            ("m", 60_000),
            ("s", 1_000),
            ("ms", 1),
        ] {
            if rest >= factor {
                write!(f, "{}{}", rest / factor, name)?;
                rest %= factor;
            }
        }
        Ok(())
    }
}

impl Serialize for Duration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Duration {
    /// Accepts `"1h30m"` or a whole number of seconds (`5400`).
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Duration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as \"90s\", \"10m\", \"1h30m\" or whole seconds")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Duration, E> {
                v.parse().map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Duration, E> {
                v.checked_mul(1000)
                    .map(Duration)
                    .ok_or_else(|| E::custom(DurationError::TooLarge(v.to_string())))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Duration, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(DurationError::Negative(v.to_string()))),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Duration, E> {
                if v < 0.0 {
                    Err(E::custom(DurationError::Negative(v.to_string())))
                } else if v.is_finite() && v < 1e15 {
                    Ok(Duration((v * 1000.0).round() as u64))
                } else {
                    Err(E::custom(DurationError::TooLarge(v.to_string())))
                }
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_forms_users_write() {
        for (text, ms) in [
            ("90s", 90_000),
            ("10m", 600_000),
            ("1h30m", 5_400_000),
            ("1h 30m", 5_400_000),
            ("2d", 172_800_000),
            ("1w", 604_800_000),
            ("500ms", 500),
            ("3600", 3_600_000),
            ("0", 0),
        ] {
            assert_eq!(text.parse::<Duration>(), Ok(Duration(ms)), "{text}");
        }
    }

    #[test]
    fn rejects_what_is_not_a_duration() {
        assert_eq!(
            "-5m".parse::<Duration>(),
            Err(DurationError::Negative("-5m".into()))
        );
        assert_eq!("".parse::<Duration>(), Err(DurationError::Empty));
        for bad in ["5x", "m5", "1.5h", "h", "5m-", "1e3"] {
            assert!(
                matches!(bad.parse::<Duration>(), Err(DurationError::Invalid(_))),
                "{bad}"
            );
        }
        assert!(matches!(
            "99999999999999999999d".parse::<Duration>(),
            Err(DurationError::Invalid(_) | DurationError::TooLarge(_))
        ));
    }

    #[test]
    fn displays_canonically_and_round_trips() {
        for (ms, text) in [
            (5_400_000, "1h30m"),
            (90_000, "1m30s"),
            (500, "500ms"),
            (0, "0s"),
        ] {
            let d = Duration(ms);
            assert_eq!(d.to_string(), text);
            assert_eq!(text.parse::<Duration>(), Ok(d));
        }
    }

    #[test]
    fn deserializes_strings_and_integers() {
        let d: Duration = serde_json::from_str("\"10m\"").unwrap();
        assert_eq!(d, Duration::from_mins(10));
        let d: Duration = serde_json::from_str("90").unwrap();
        assert_eq!(d, Duration::from_secs(90));
        let e = serde_json::from_str::<Duration>("-3")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot be negative"), "{e}");
    }
}
