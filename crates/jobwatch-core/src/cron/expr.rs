//! The public face of a cron expression: [`CronExpr`], parsed from text, compared and
//! serialised as that text, asked whether a minute matches and when it fires next.

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::TimeZone;

use super::error::CronError;
use super::evaluate::{Schedule, has_bit, sunday_zero};
use super::parse::{parse_fields, parse_nickname};
use super::zone::next_fire;

/// A parsed 5-field cron expression (or nickname).
///
/// Equality compares the text too, so `0 0 * * 0` and `@weekly` are different values even
/// though they fire at the same times.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronExpr {
    text: String,
    /// Visible to the cron tests, which compare the evaluated forms of different texts.
    pub(super) schedule: Schedule,
}

impl CronExpr {
    /// Parses a cron expression: five whitespace-separated fields or a nickname such as
    /// `@daily`. Rejects expressions that can never fire.
    pub fn parse(expr: &str) -> Result<CronExpr, CronError> {
        let text = expr.trim();
        if text.is_empty() {
            return Err(CronError::Empty);
        }
        let schedule = if text.starts_with('@') {
            parse_nickname(text)?
        } else {
            parse_fields(text)?
        };
        schedule.check_fires()?;
        Ok(CronExpr {
            text: text.to_string(),
            schedule,
        })
    }

    /// The original text as given (trimmed).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether this is a wildcard job (minute or hour field begins with `*`), which follows
    /// real time across DST changes, rather than a fixed-time job.
    pub fn is_wildcard_time(&self) -> bool {
        self.schedule.wildcard_time
    }

    /// Whether the wall-clock minute `dt` matches all five fields (seconds are ignored).
    /// This says nothing about DST: see [`CronExpr::next_after`] for actual fire instants.
    pub fn matches(&self, dt: DateTime) -> bool {
        let s = &self.schedule;
        let first = dt.first_of_month().date();
        let days = s.day_mask(sunday_zero(first), first.days_in_month().unsigned_abs());
        has_bit(s.months, dt.month().unsigned_abs())
            && has_bit(days, dt.day().unsigned_abs())
            && has_bit(s.hours, dt.hour().unsigned_abs())
            && has_bit(s.minutes, dt.minute().unsigned_abs())
    }

    /// The first fire instant strictly after `after`, in time zone `tz`. None only if the
    /// expression can never fire again (should not happen for expressions parse() accepts,
    /// except at the very end of the supported calendar range).
    pub fn next_after(&self, after: Timestamp, tz: &TimeZone) -> Option<Timestamp> {
        next_fire(&self.schedule, after, tz)
    }
}

impl FromStr for CronExpr {
    type Err = CronError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CronExpr::parse(s)
    }
}

impl fmt::Display for CronExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Serialised as the original text, so stored job definitions keep what the user wrote.
impl serde::Serialize for CronExpr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for CronExpr {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        CronExpr::parse(&text).map_err(serde::de::Error::custom)
    }
}
