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

use std::fmt;
use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::{Date, DateTime};
use jiff::tz::{AmbiguousOffset, Offset, TimeZone};

/// How many years past the starting point `next_after` searches before giving up. The
/// Gregorian calendar repeats every 400 years, so a schedule that fires at all fires within
/// any window of this length (e.g. `0 0 29 2 */7`, Feb 29 on a Sunday, can wait 40 years).
const SEARCH_YEARS: i16 = 401;

/// Month lengths in a common year; February may also have 29 days.
const MONTH_DAYS: [u8; 12] = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// One of the five fields of a cron expression, used to say where a parse error is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CronField {
    Minute,
    Hour,
    DayOfMonth,
    Month,
    DayOfWeek,
}

impl CronField {
    /// The field's name as used in error messages, e.g. `day-of-month`.
    pub fn name(self) -> &'static str {
        match self {
            CronField::Minute => "minute",
            CronField::Hour => "hour",
            CronField::DayOfMonth => "day-of-month",
            CronField::Month => "month",
            CronField::DayOfWeek => "day-of-week",
        }
    }
}

impl fmt::Display for CronField {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a cron expression was rejected. Every message is one line and names the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CronError {
    #[error("cron expression is empty")]
    Empty,
    #[error(
        "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got {got}"
    )]
    FieldCount { got: usize },
    #[error("@reboot is not supported: it runs at boot, not on a schedule jobwatch can watch")]
    Reboot,
    #[error(
        "unknown nickname '{0}' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)"
    )]
    UnknownNickname(String),
    #[error("nickname '{0}' must be the whole expression")]
    NicknameWithFields(String),
    #[error("{field} field: empty list item")]
    EmptyItem { field: CronField },
    #[error("{field} field: value {value} is out of range {min}-{max}")]
    OutOfRange {
        field: CronField,
        value: String,
        min: u8,
        max: u8,
    },
    #[error("{field} field: step {value} is out of range 1-{max}")]
    StepOutOfRange {
        field: CronField,
        value: String,
        max: u8,
    },
    #[error("{field} field: range {range} is reversed (start is after end)")]
    ReversedRange { field: CronField, range: String },
    #[error("{field} field: unknown name '{name}'")]
    UnknownName { field: CronField, name: String },
    #[error("{field} field: invalid item '{item}'")]
    Invalid { field: CronField, item: String },
    #[error("{field} field: '{item}': {reason}")]
    BadExtension {
        field: CronField,
        item: String,
        reason: &'static str,
    },
    #[error("schedule never fires ({0})")]
    NeverFires(String),
}

/// A parsed 5-field cron expression (or nickname).
///
/// Equality compares the text too, so `0 0 * * 0` and `@weekly` are different values even
/// though they fire at the same times.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CronExpr {
    text: String,
    schedule: Schedule,
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
        let s = &self.schedule;
        let local = tz.to_datetime(after);
        let mut start = local.with().second(0).subsec_nanosecond(0).build().ok()?;
        // Instants grow with wall-clock time except inside a repeated hour: if `after` is in
        // the first pass of a fold, wall times before `local` still have a second occurrence
        // ahead, so start from a wall time at least the fold's length earlier.
        if let AmbiguousOffset::Fold {
            before,
            after: later,
        } = tz.to_ambiguous_timestamp(local).offset()
        {
            start = start
                .checked_sub(before.duration_since(later))
                .unwrap_or(start);
        }
        let limit_year = start.year().saturating_add(SEARCH_YEARS).min(9999);

        let mut cursor = Cursor::at(start);
        // A fold's second occurrence (wildcard jobs only) may beat a later wall time's fire.
        let mut best: Option<Timestamp> = None;
        loop {
            let Some(wall) = s.next_wall_match(cursor, limit_year) else {
                return best;
            };
            // The earliest instant this wall time fires at; it never decreases as the wall
            // time grows, so the first one past `after` ends the search.
            let earliest = match tz.to_ambiguous_timestamp(wall).offset() {
                AmbiguousOffset::Unambiguous { offset } => offset.to_timestamp(wall).ok(),
                AmbiguousOffset::Fold {
                    before,
                    after: later,
                } => {
                    let second = later.to_timestamp(wall).ok();
                    if let Some(second) = second.filter(|&t| s.wildcard_time && t > after) {
                        best = Some(earlier_of(best, second));
                    }
                    before.to_timestamp(wall).ok()
                }
                AmbiguousOffset::Gap {
                    before,
                    after: later,
                } => {
                    if s.wildcard_time {
                        None
                    } else {
                        gap_end(tz, wall, before, later)
                    }
                }
            };
            if let Some(first) = earliest.filter(|&t| t > after) {
                return Some(earlier_of(best, first));
            }
            cursor = Cursor::after(wall);
        }
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

fn earlier_of(a: Option<Timestamp>, b: Timestamp) -> Timestamp {
    a.map_or(b, |a| a.min(b))
}

/// The instant clocks jumped forward across `wall`, a wall time inside a gap. The jump came
/// after `wall` read with the later offset and no later than `wall` read with the earlier.
fn gap_end(tz: &TimeZone, wall: DateTime, before: Offset, later: Offset) -> Option<Timestamp> {
    let lower = later.to_timestamp(wall).ok()?;
    let upper = before.to_timestamp(wall).ok()?;
    match tz.following(lower).next() {
        Some(t) if t.timestamp() <= upper => Some(t.timestamp()),
        // Not expected with real data; firing just after the gap is the next best thing.
        _ => Some(upper),
    }
}

/// The evaluated form of an expression: bit sets per field plus the day-field extensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Schedule {
    /// Bits 0-59.
    minutes: u64,
    /// Bits 0-23.
    hours: u64,
    /// Bits 1-12.
    months: u64,
    dom: DomSpec,
    dow: DowSpec,
    /// Day-of-month field begins with `*` (Vixie's DOM_STAR).
    dom_star: bool,
    /// Day-of-week field begins with `*` (Vixie's DOW_STAR).
    dow_star: bool,
    /// Minute or hour field begins with `*`: see the module docs for why this matters.
    wildcard_time: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct DomSpec {
    /// Plain days, bits 1-31.
    days: u64,
    /// `L`.
    last: bool,
    /// `L-n`, bits 1-30.
    last_minus: u64,
    /// `nW`, bits 1-31.
    nearest_weekday: u64,
    /// `LW`.
    last_weekday: bool,
}

impl DomSpec {
    fn is_plain(&self) -> bool {
        !self.last && self.last_minus == 0 && self.nearest_weekday == 0 && !self.last_weekday
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
struct DowSpec {
    /// Plain weekdays, bits 0-6 (0 = Sunday).
    days: u64,
    /// `nL`: bits 0-6 for the weekdays whose last occurrence in the month matches.
    last: u64,
    /// `n#k`: for each weekday, bits 1-5 for the occurrences that match.
    nth: [u8; 7],
}

/// A position in wall-clock time whose parts may overflow (minute 60, day 32, month 13):
/// `next_wall_match` normalises them by carrying into the next larger unit.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    year: i16,
    month: u8,
    day: u8,
    hour: u8,
    minute: u8,
}

impl Cursor {
    fn at(dt: DateTime) -> Cursor {
        Cursor {
            year: dt.year(),
            month: dt.month().unsigned_abs(),
            day: dt.day().unsigned_abs(),
            hour: dt.hour().unsigned_abs(),
            minute: dt.minute().unsigned_abs(),
        }
    }

    fn after(dt: DateTime) -> Cursor {
        let mut c = Cursor::at(dt);
        c.minute += 1;
        c
    }
}

impl Schedule {
    /// The first wall-clock minute at or after `c` that matches all fields, jumping over
    /// whole months, days and hours that cannot match.
    fn next_wall_match(&self, c: Cursor, limit_year: i16) -> Option<DateTime> {
        let Cursor {
            mut year,
            mut month,
            mut day,
            mut hour,
            mut minute,
        } = c;
        loop {
            if year > limit_year {
                return None;
            }
            if month > 12 {
                (year, month, day, hour, minute) = (year + 1, 1, 1, 0, 0);
                continue;
            }
            match next_bit(self.months, month) {
                None => {
                    month = 13;
                    continue;
                }
                Some(m) if m != month => (month, day, hour, minute) = (m, 1, 0, 0),
                Some(_) => {}
            }
            let first = Date::new(year, month as i8, 1).ok()?;
            let days = self.day_mask(sunday_zero(first), first.days_in_month().unsigned_abs());
            match next_bit(days, day) {
                None => {
                    (month, day, hour, minute) = (month + 1, 1, 0, 0);
                    continue;
                }
                Some(d) if d != day => (day, hour, minute) = (d, 0, 0),
                Some(_) => {}
            }
            match next_bit(self.hours, hour) {
                None => {
                    (day, hour, minute) = (day + 1, 0, 0);
                    continue;
                }
                Some(h) if h != hour => (hour, minute) = (h, 0),
                Some(_) => {}
            }
            match next_bit(self.minutes, minute) {
                None => {
                    (hour, minute) = (hour + 1, 0);
                    continue;
                }
                Some(m) => {
                    return DateTime::new(year, month as i8, day as i8, hour as i8, m as i8, 0, 0)
                        .ok();
                }
            }
        }
    }

    /// The days (bits 1-31) that match in a month starting on weekday `first` (0 = Sunday)
    /// with `len` days. Everything about a month's days depends only on these two numbers.
    fn day_mask(&self, first: u8, len: u8) -> u64 {
        let dom = self.dom_mask(first, len);
        let dow = self.dow_mask(first, len);
        if self.dom_star || self.dow_star {
            dom & dow
        } else {
            dom | dow
        }
    }

    fn dom_mask(&self, first: u8, len: u8) -> u64 {
        let spec = &self.dom;
        let in_month = (1u64 << (len + 1)) - 2;
        let mut mask = spec.days & in_month;
        if spec.last {
            mask |= 1 << len;
        }
        for n in bits(spec.last_minus) {
            if n < len {
                mask |= 1 << (len - n);
            }
        }
        for n in bits(spec.nearest_weekday) {
            // Like a plain day, `nW` does not fire in months without day n.
            if n <= len {
                mask |= 1 << nearest_weekday(n, first, len);
            }
        }
        if spec.last_weekday {
            mask |= 1 << nearest_weekday(len, first, len);
        }
        mask
    }

    fn dow_mask(&self, first: u8, len: u8) -> u64 {
        let spec = &self.dow;
        if spec.days == 0x7f {
            // Every weekday: the common `*`, no need to look at each day.
            return (1u64 << (len + 1)) - 2;
        }
        let mut mask = 0;
        for day in 1..=len {
            let weekday = (first + day - 1) % 7;
            let nth = (day - 1) / 7 + 1;
            if has_bit(spec.days, weekday)
                || (has_bit(spec.last, weekday) && day + 7 > len)
                || spec.nth[usize::from(weekday)] & (1 << nth) != 0
            {
                mask |= 1 << day;
            }
        }
        mask
    }

    /// Rejects schedules that match no day at all. Whether a month has a matching day
    /// depends only on its first weekday and length, and every combination occurs in the
    /// Gregorian calendar, so trying them all is exact.
    fn check_fires(&self) -> Result<(), CronError> {
        let months: Vec<u8> = bits(self.months).collect();
        let fires = months.iter().any(|&m| {
            let lens: &[u8] = if m == 2 {
                &[28, 29]
            } else {
                &MONTH_DAYS[usize::from(m - 1)..usize::from(m)]
            };
            lens.iter()
                .any(|&len| (0..7).any(|first| self.day_mask(first, len) != 0))
        });
        if fires {
            return Ok(());
        }
        let in_months = if months.len() == 12 {
            "any month".to_string()
        } else {
            join_or(months.iter().map(|&m| MONTH_NAMES[usize::from(m - 1)]))
        };
        let longest = months
            .iter()
            .map(|&m| {
                if m == 2 {
                    29
                } else {
                    MONTH_DAYS[usize::from(m - 1)]
                }
            })
            .max()
            .unwrap_or(31);
        let days: Vec<u8> = bits(self.dom.days).collect();
        // The common mistake gets a specific message: plain days that no selected month has.
        let reason = if self.dom.is_plain() && days.iter().all(|&d| d > longest) {
            let list = join_and(days.iter());
            if days.len() == 1 {
                format!("day {list} does not exist in {in_months}")
            } else {
                format!("days {list} do not exist in {in_months}")
            }
        } else {
            format!("no day in {in_months} matches the day fields")
        };
        Err(CronError::NeverFires(reason))
    }
}

/// The weekday (Mon-Fri) nearest to day `n` without leaving the month (Quartz `nW`).
fn nearest_weekday(n: u8, first: u8, len: u8) -> u8 {
    match (first + n - 1) % 7 {
        // Saturday: the Friday before, unless that is in the previous month.
        6 if n == 1 => 3,
        6 => n - 1,
        // Sunday: the Monday after, unless that is in the next month.
        0 if n == len => n - 2,
        0 => n + 1,
        _ => n,
    }
}

fn sunday_zero(date: Date) -> u8 {
    date.weekday().to_sunday_zero_offset().unsigned_abs()
}

fn has_bit(mask: u64, bit: u8) -> bool {
    bit < 64 && mask & (1 << bit) != 0
}

/// The lowest set bit at or above `from`.
fn next_bit(mask: u64, from: u8) -> Option<u8> {
    if from >= 64 {
        return None;
    }
    let rest = mask & (u64::MAX << from);
    (rest != 0).then(|| rest.trailing_zeros() as u8)
}

/// The set bits of `mask`, lowest first.
fn bits(mut mask: u64) -> impl Iterator<Item = u8> {
    std::iter::from_fn(move || {
        let bit = (mask != 0).then(|| mask.trailing_zeros() as u8)?;
        mask &= mask - 1;
        Some(bit)
    })
}

fn join_with(items: impl Iterator<Item = impl fmt::Display>, last_sep: &str) -> String {
    let items: Vec<String> = items.map(|i| i.to_string()).collect();
    match items.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} {last_sep} {last}", rest.join(", ")),
    }
}

fn join_or(items: impl Iterator<Item = impl fmt::Display>) -> String {
    join_with(items, "or")
}

fn join_and(items: impl Iterator<Item = impl fmt::Display>) -> String {
    join_with(items, "and")
}

fn parse_nickname(text: &str) -> Result<Schedule, CronError> {
    let mut words = text.split_whitespace();
    let name = words.next().unwrap_or(text);
    let fields = match name.to_ascii_lowercase().as_str() {
        "@yearly" | "@annually" => "0 0 1 1 *",
        "@monthly" => "0 0 1 * *",
        "@weekly" => "0 0 * * 0",
        "@daily" | "@midnight" => "0 0 * * *",
        "@hourly" => "0 * * * *",
        "@reboot" => return Err(CronError::Reboot),
        _ => return Err(CronError::UnknownNickname(name.to_string())),
    };
    if words.next().is_some() {
        return Err(CronError::NicknameWithFields(name.to_string()));
    }
    parse_fields(fields)
}

fn parse_fields(text: &str) -> Result<Schedule, CronError> {
    let fields: Vec<&str> = text.split_whitespace().collect();
    let [minute, hour, dom, month, dow] = fields[..] else {
        return Err(CronError::FieldCount { got: fields.len() });
    };
    Ok(Schedule {
        minutes: parse_plain_field(&MINUTE, minute)?,
        hours: parse_plain_field(&HOUR, hour)?,
        dom: parse_dom(dom)?,
        months: parse_plain_field(&MONTH, month)?,
        dow: parse_dow(dow)?,
        dom_star: dom.starts_with('*'),
        dow_star: dow.starts_with('*'),
        wildcard_time: minute.starts_with('*') || hour.starts_with('*'),
    })
}

/// What a field accepts: its value range and, for month and day-of-week, names.
struct FieldSpec {
    field: CronField,
    min: u8,
    max: u8,
    names: &'static [&'static str],
    /// The value of `names[0]`.
    first_name: u8,
}

const MINUTE: FieldSpec = FieldSpec {
    field: CronField::Minute,
    min: 0,
    max: 59,
    names: &[],
    first_name: 0,
};
const HOUR: FieldSpec = FieldSpec {
    field: CronField::Hour,
    min: 0,
    max: 23,
    names: &[],
    first_name: 0,
};
const DAY_OF_MONTH: FieldSpec = FieldSpec {
    field: CronField::DayOfMonth,
    min: 1,
    max: 31,
    names: &[],
    first_name: 0,
};
const MONTH: FieldSpec = FieldSpec {
    field: CronField::Month,
    min: 1,
    max: 12,
    names: &[
        "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
    ],
    first_name: 1,
};
/// 0 and 7 are both Sunday; the parsers fold 7 into 0.
const DAY_OF_WEEK: FieldSpec = FieldSpec {
    field: CronField::DayOfWeek,
    min: 0,
    max: 7,
    names: &["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"],
    first_name: 0,
};

const IN_RANGE_OR_STEP: &str = "L, W and # cannot be combined with a range or step";

impl FieldSpec {
    fn invalid(&self, item: &str) -> CronError {
        CronError::Invalid {
            field: self.field,
            item: item.to_string(),
        }
    }

    fn bad_extension(&self, item: &str, reason: &'static str) -> CronError {
        CronError::BadExtension {
            field: self.field,
            item: item.to_string(),
            reason,
        }
    }

    /// A single number or name; `item` is the list item it came from, for error messages.
    fn value(&self, item: &str, text: &str) -> Result<u8, CronError> {
        if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
            // Too many digits fails to parse and is just as out of range.
            return match text.parse::<u32>() {
                Ok(v) if (u32::from(self.min)..=u32::from(self.max)).contains(&v) => Ok(v as u8),
                _ => Err(CronError::OutOfRange {
                    field: self.field,
                    value: text.to_string(),
                    min: self.min,
                    max: self.max,
                }),
            };
        }
        if !self.names.is_empty()
            && !text.is_empty()
            && text.bytes().all(|b| b.is_ascii_alphabetic())
        {
            return match self.names.iter().position(|n| n.eq_ignore_ascii_case(text)) {
                Some(i) => Ok(i as u8 + self.first_name),
                None => Err(CronError::UnknownName {
                    field: self.field,
                    name: text.to_string(),
                }),
            };
        }
        Err(self.invalid(item))
    }

    /// `*`, `n`, `a-b`, each optionally followed by `/step`, as a bit set.
    fn plain_item(&self, item: &str) -> Result<u64, CronError> {
        let (range, step) = match item.split_once('/') {
            Some((range, step)) => (range, Some(step)),
            None => (item, None),
        };
        let step = match step {
            None => 1,
            Some(text) if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => {
                match text.parse::<u32>() {
                    Ok(s) if (1..=u32::from(self.max)).contains(&s) => s as u8,
                    _ => {
                        return Err(CronError::StepOutOfRange {
                            field: self.field,
                            value: text.to_string(),
                            max: self.max,
                        });
                    }
                }
            }
            Some(_) => return Err(self.invalid(item)),
        };
        let (low, high) = if range == "*" {
            (self.min, self.max)
        } else if let Some((a, b)) = range.split_once('-') {
            let (low, high) = (self.value(item, a)?, self.value(item, b)?);
            if low > high {
                return Err(CronError::ReversedRange {
                    field: self.field,
                    range: range.to_string(),
                });
            }
            (low, high)
        } else {
            let low = self.value(item, range)?;
            // `a/n` means every n-th value from a to the end of the field.
            (low, if item.contains('/') { self.max } else { low })
        };
        Ok((low..=high)
            .step_by(usize::from(step))
            .fold(0, |mask, v| mask | 1 << v))
    }

    /// Splits a comma list, rejecting empty items.
    fn items<'a>(&self, text: &'a str) -> Result<Vec<&'a str>, CronError> {
        let items: Vec<&str> = text.split(',').collect();
        if items.iter().any(|i| i.is_empty()) {
            return Err(CronError::EmptyItem { field: self.field });
        }
        Ok(items)
    }
}

fn parse_plain_field(spec: &FieldSpec, text: &str) -> Result<u64, CronError> {
    let mut mask = 0;
    for item in spec.items(text)? {
        mask |= spec.plain_item(item)?;
    }
    Ok(mask)
}

fn parse_dom(text: &str) -> Result<DomSpec, CronError> {
    let spec = &DAY_OF_MONTH;
    let mut dom = DomSpec::default();
    for item in spec.items(text)? {
        let upper = item.to_ascii_uppercase();
        if upper == "L" {
            dom.last = true;
        } else if upper == "LW" {
            dom.last_weekday = true;
        } else if let Some(n) = upper.strip_prefix("L-") {
            if !n.bytes().all(|b| b.is_ascii_digit()) {
                return Err(spec.bad_extension(item, IN_RANGE_OR_STEP));
            }
            match n.parse::<u8>() {
                Ok(n @ 1..=30) => dom.last_minus |= 1 << n,
                _ => return Err(spec.bad_extension(item, "the offset after L- must be 1-30")),
            }
        } else if upper == "W" {
            return Err(spec.bad_extension(item, "W needs a day before it (e.g. 15W)"));
        } else if let Some(n) = upper.strip_suffix('W') {
            if n.contains(['-', '/', '*']) {
                return Err(spec.bad_extension(item, IN_RANGE_OR_STEP));
            }
            dom.nearest_weekday |= 1 << spec.value(item, n)?;
        } else if upper.contains(['L', 'W']) && upper.contains(['-', '/', '*']) {
            return Err(spec.bad_extension(item, IN_RANGE_OR_STEP));
        } else {
            dom.days |= spec.plain_item(item)?;
        }
    }
    Ok(dom)
}

fn parse_dow(text: &str) -> Result<DowSpec, CronError> {
    let spec = &DAY_OF_WEEK;
    let mut dow = DowSpec::default();
    for item in spec.items(text)? {
        if let Some((day, nth)) = item.split_once('#') {
            if day.contains(['-', '/', '*']) || nth.contains(['-', '/', '*']) {
                return Err(spec.bad_extension(item, IN_RANGE_OR_STEP));
            }
            let day = spec.value(item, day)? % 7;
            if nth.is_empty() || !nth.bytes().all(|b| b.is_ascii_digit()) {
                return Err(spec.invalid(item));
            }
            match nth.parse::<u8>() {
                Ok(k @ 1..=5) => dow.nth[usize::from(day)] |= 1 << k,
                _ => return Err(spec.bad_extension(item, "the occurrence after # must be 1-5")),
            }
        } else if item.eq_ignore_ascii_case("L") {
            return Err(spec.bad_extension(
                item,
                "L needs a day-of-week before it (e.g. 5L for the last Friday)",
            ));
        } else if let Some(day) = item.strip_suffix(['L', 'l']) {
            if day.contains(['-', '/', '*']) {
                return Err(spec.bad_extension(item, IN_RANGE_OR_STEP));
            }
            dow.last |= 1 << (spec.value(item, day)? % 7);
        } else {
            let mask = spec.plain_item(item)?;
            // Sunday is both 0 and 7.
            dow.days |= (mask | mask >> 7) & 0x7f;
        }
    }
    Ok(dow)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tz(name: &str) -> TimeZone {
        TimeZone::get(name).expect("time zone in the bundled database")
    }

    fn ts(text: &str) -> Timestamp {
        text.parse().expect("valid test timestamp")
    }

    /// The first `n` fire instants strictly after `start`, as RFC 3339 UTC strings.
    fn fires(expr: &str, zone: &str, start: &str, n: usize) -> Vec<String> {
        let cron = CronExpr::parse(expr).expect("valid test expression");
        let zone = tz(zone);
        let mut t = ts(start);
        let mut out = Vec::new();
        for _ in 0..n {
            t = cron.next_after(t, &zone).expect("schedule fires");
            out.push(t.to_string());
        }
        out
    }

    fn parse_err(expr: &str) -> String {
        match CronExpr::parse(expr) {
            Ok(_) => format!("accepted: {expr}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn accepts_valid_expressions() {
        let valid = [
            "* * * * *",
            "0 0 * * *",
            "  59 23 31 12 7  ",
            "0\t0\t*\t*\t*",
            "*/15 9-17 * * MON-FRI",
            "0-59/7 */3 1-31/2 */2 0-7/2",
            "5/10 3/4 2/5 2/3 1/2",
            "1,2,3-5,10-20/5 0 * * *",
            "0 0 1 jan,Mar,DEC sun,sat",
            "0 0 * JAN-JUN FRI-SAT",
            "0 0 L * *",
            "0 0 L-3 * *",
            "0 0 L-30 * *",
            "0 0 15W * *",
            "0 0 1w,lw * *",
            "0 0 1,15,L * *",
            "0 0 * * 5L",
            "0 0 * * FRIL",
            "0 0 * * 1#1,5#3,SUN#5",
            "0 0 * * 7#2",
            "0 0 29 2 *",
            "0 0 29 2 0",
            "0 0 30 1-3 *",
            "0 0 31 * *",
            "@yearly",
            "@annually",
            "@monthly",
            "@weekly",
            "@daily",
            "@midnight",
            "@hourly",
            "@DAILY",
            "00 007 01 01 00",
        ];
        for expr in valid {
            let cron = CronExpr::parse(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"));
            assert_eq!(cron.as_str(), expr.trim());
            assert_eq!(cron.to_string(), expr.trim());
            assert_eq!(expr.parse::<CronExpr>(), Ok(cron));
        }
    }

    #[test]
    fn rejects_invalid_expressions_with_precise_messages() {
        let invalid = [
            ("", "cron expression is empty"),
            ("   ", "cron expression is empty"),
            (
                "* * * *",
                "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 4",
            ),
            (
                "0 * * * * *",
                "cron expression needs 5 fields (minute hour day-of-month month day-of-week), got 6",
            ),
            ("61 * * * *", "minute field: value 61 is out of range 0-59"),
            ("* 24 * * *", "hour field: value 24 is out of range 0-23"),
            (
                "* * 0 * *",
                "day-of-month field: value 0 is out of range 1-31",
            ),
            (
                "* * 32 * *",
                "day-of-month field: value 32 is out of range 1-31",
            ),
            ("* * * 13 *", "month field: value 13 is out of range 1-12"),
            (
                "* * * * 8",
                "day-of-week field: value 8 is out of range 0-7",
            ),
            (
                "99999999999999999999 * * * *",
                "minute field: value 99999999999999999999 is out of range 0-59",
            ),
            (
                "5-1 * * * *",
                "minute field: range 5-1 is reversed (start is after end)",
            ),
            (
                "* * * * FRI-MON",
                "day-of-week field: range FRI-MON is reversed (start is after end)",
            ),
            ("*/0 * * * *", "minute field: step 0 is out of range 1-59"),
            ("*/60 * * * *", "minute field: step 60 is out of range 1-59"),
            ("* 1-5/0 * * *", "hour field: step 0 is out of range 1-23"),
            ("1,,2 * * * *", "minute field: empty list item"),
            ("1, * * * *", "minute field: empty list item"),
            ("* * * * FOO", "day-of-week field: unknown name 'FOO'"),
            ("* * * JANUARY *", "month field: unknown name 'JANUARY'"),
            ("* MON * * *", "hour field: invalid item 'MON'"),
            ("1;2 * * * *", "minute field: invalid item '1;2'"),
            ("x * * * *", "minute field: invalid item 'x'"),
            ("*/ * * * *", "minute field: invalid item '*/'"),
            ("/5 * * * *", "minute field: invalid item '/5'"),
            ("1-2-3 * * * *", "minute field: invalid item '1-2-3'"),
            ("1/2/3 * * * *", "minute field: invalid item '1/2/3'"),
            ("-1 * * * *", "minute field: invalid item '-1'"),
            ("+1 * * * *", "minute field: invalid item '+1'"),
            ("* * ? * *", "day-of-month field: invalid item '?'"),
            ("* * * * 1#", "day-of-week field: invalid item '1#'"),
            ("L * * * *", "minute field: invalid item 'L'"),
            ("* * * L *", "month field: unknown name 'L'"),
            ("０ * * * *", "minute field: invalid item '０'"),
            (
                "* * L-31 * *",
                "day-of-month field: 'L-31': the offset after L- must be 1-30",
            ),
            (
                "* * L-0 * *",
                "day-of-month field: 'L-0': the offset after L- must be 1-30",
            ),
            (
                "* * 32W * *",
                "day-of-month field: value 32 is out of range 1-31",
            ),
            (
                "* * W * *",
                "day-of-month field: 'W': W needs a day before it (e.g. 15W)",
            ),
            (
                "* * 1-5W * *",
                "day-of-month field: '1-5W': L, W and # cannot be combined with a range or step",
            ),
            (
                "* * L/2 * *",
                "day-of-month field: 'L/2': L, W and # cannot be combined with a range or step",
            ),
            (
                "* * 1-L * *",
                "day-of-month field: '1-L': L, W and # cannot be combined with a range or step",
            ),
            (
                "* * * * L",
                "day-of-week field: 'L': L needs a day-of-week before it (e.g. 5L for the last Friday)",
            ),
            (
                "* * * * 1-5L",
                "day-of-week field: '1-5L': L, W and # cannot be combined with a range or step",
            ),
            (
                "* * * * 1#6",
                "day-of-week field: '1#6': the occurrence after # must be 1-5",
            ),
            (
                "* * * * 1#0",
                "day-of-week field: '1#0': the occurrence after # must be 1-5",
            ),
            (
                "* * * * 1-2#1",
                "day-of-week field: '1-2#1': L, W and # cannot be combined with a range or step",
            ),
            (
                "* * * * 8#1",
                "day-of-week field: value 8 is out of range 0-7",
            ),
            (
                "@reboot",
                "@reboot is not supported: it runs at boot, not on a schedule jobwatch can watch",
            ),
            (
                "@fortnightly",
                "unknown nickname '@fortnightly' (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
            ),
            ("@daily 5", "nickname '@daily' must be the whole expression"),
            (
                "0 0 30 2 *",
                "schedule never fires (day 30 does not exist in February)",
            ),
            (
                "0 0 31 2 *",
                "schedule never fires (day 31 does not exist in February)",
            ),
            (
                "0 0 30,31 feb *",
                "schedule never fires (days 30 and 31 do not exist in February)",
            ),
            (
                "0 0 31 4,6,9,11 *",
                "schedule never fires (day 31 does not exist in April, June, September or November)",
            ),
            (
                "0 0 L-29 2 *",
                "schedule never fires (no day in February matches the day fields)",
            ),
            (
                "0 0 30W 2 *",
                "schedule never fires (no day in February matches the day fields)",
            ),
            // A star-led day field means AND: days 1, 16 and 31, but a 5th Monday in February is the 29th.
            (
                "0 0 */15 2 1#5",
                "schedule never fires (no day in February matches the day fields)",
            ),
        ];
        for (expr, message) in invalid {
            assert_eq!(parse_err(expr), message, "for {expr:?}");
        }
    }

    #[test]
    fn nicknames_mean_their_five_field_forms() {
        let pairs = [
            ("@yearly", "0 0 1 1 *"),
            ("@annually", "0 0 1 1 *"),
            ("@monthly", "0 0 1 * *"),
            ("@weekly", "0 0 * * 0"),
            ("@daily", "0 0 * * *"),
            ("@midnight", "0 0 * * *"),
            ("@hourly", "0 * * * *"),
        ];
        for (nick, long) in pairs {
            let nick = CronExpr::parse(nick).unwrap_or_else(|e| panic!("{nick}: {e}"));
            let long = CronExpr::parse(long).unwrap_or_else(|e| panic!("{long}: {e}"));
            assert_eq!(nick.schedule, long.schedule, "{nick}");
        }
    }

    #[test]
    fn names_and_numbers_are_interchangeable() {
        let same = [
            ("0 0 * * MON-FRI", "0 0 * * 1-5"),
            ("0 0 * * sun", "0 0 * * 7"),
            ("0 0 * * 0", "0 0 * * 7"),
            ("0 0 * * 5-7", "0 0 * * 0,5,6"),
            ("0 0 1 jan-mar *", "0 0 1 1-3 *"),
            ("0 0 * * 1#1", "0 0 * * MON#1"),
            ("0 0 * * 0L", "0 0 * * 7L"),
            ("0 0 * * 5L", "0 0 * * fril"),
        ];
        for (a, b) in same {
            let pa = CronExpr::parse(a).unwrap_or_else(|e| panic!("{a}: {e}"));
            let pb = CronExpr::parse(b).unwrap_or_else(|e| panic!("{b}: {e}"));
            assert_eq!(pa.schedule, pb.schedule, "{a} vs {b}");
        }
    }

    #[test]
    fn wildcard_jobs_are_those_whose_minute_or_hour_begins_with_a_star() {
        for (expr, wildcard) in [
            ("*/15 * * * *", true),
            ("30 * * * *", true),
            ("* 2 * * *", true),
            ("0 */2 * * *", true),
            ("@hourly", true),
            ("30 2 * * *", false),
            ("0 9,17 * * 1-5", false),
            ("0-59 0-23 * * *", false),
            ("@daily", false),
        ] {
            let cron = CronExpr::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"));
            assert_eq!(cron.is_wildcard_time(), wildcard, "{expr}");
        }
    }

    #[test]
    fn serde_round_trips_as_the_original_text() {
        let cron = CronExpr::parse("*/5 * * * MON-FRI").expect("valid");
        let json = serde_json::to_string(&cron).expect("serialises");
        assert_eq!(json, r#""*/5 * * * MON-FRI""#);
        assert_eq!(serde_json::from_str::<CronExpr>(&json).ok(), Some(cron));
        let err = serde_json::from_str::<CronExpr>(r#""61 * * * *""#).unwrap_err();
        assert!(err.to_string().contains("minute field: value 61"), "{err}");
    }

    #[test]
    fn daily_in_seoul_fires_at_midnight_utc() {
        // 09:00 KST = 00:00Z; the start instant itself is a fire and is excluded.
        assert_eq!(
            fires("0 9 * * *", "Asia/Seoul", "2026-01-01T00:00:00Z", 3),
            [
                "2026-01-02T00:00:00Z",
                "2026-01-03T00:00:00Z",
                "2026-01-04T00:00:00Z"
            ]
        );
    }

    #[test]
    fn monthly_on_the_first() {
        assert_eq!(
            fires("0 10 1 * *", "UTC", "2026-01-15T00:00:00Z", 3),
            [
                "2026-02-01T10:00:00Z",
                "2026-03-01T10:00:00Z",
                "2026-04-01T10:00:00Z"
            ]
        );
    }

    #[test]
    fn every_quarter_hour_in_business_hours_skips_the_weekend() {
        // 2026-01-16 is a Friday.
        assert_eq!(
            fires("*/15 9-17 * * MON-FRI", "UTC", "2026-01-16T17:40:00Z", 4),
            [
                "2026-01-16T17:45:00Z",
                "2026-01-19T09:00:00Z",
                "2026-01-19T09:15:00Z",
                "2026-01-19T09:30:00Z"
            ]
        );
    }

    #[test]
    fn both_day_fields_restricted_means_either_matches() {
        // Every 13th and every Friday; April 2026 has Fridays 3, 10, 17, 24 and a Monday 13th.
        assert_eq!(
            fires("0 0 13 * 5", "UTC", "2026-04-01T00:00:00Z", 6),
            [
                "2026-04-03T00:00:00Z",
                "2026-04-10T00:00:00Z",
                "2026-04-13T00:00:00Z",
                "2026-04-17T00:00:00Z",
                "2026-04-24T00:00:00Z",
                "2026-05-01T00:00:00Z"
            ]
        );
    }

    #[test]
    fn a_star_led_day_field_means_both_must_match() {
        // `*/2` is odd days; Mondays of Jan-Mar 2026: 5 12 19 26, 2 9 16 23, 2 9 16 23 30.
        assert_eq!(
            fires("0 0 */2 * 1", "UTC", "2026-01-01T00:00:00Z", 6),
            [
                "2026-01-05T00:00:00Z",
                "2026-01-19T00:00:00Z",
                "2026-02-09T00:00:00Z",
                "2026-02-23T00:00:00Z",
                "2026-03-09T00:00:00Z",
                "2026-03-23T00:00:00Z"
            ]
        );
    }

    #[test]
    fn last_day_of_month_in_leap_and_common_years() {
        assert_eq!(
            fires("0 0 L * *", "UTC", "2024-01-15T00:00:00Z", 3),
            [
                "2024-01-31T00:00:00Z",
                "2024-02-29T00:00:00Z",
                "2024-03-31T00:00:00Z"
            ]
        );
        assert_eq!(
            fires("0 0 L * *", "UTC", "2026-01-15T00:00:00Z", 4),
            [
                "2026-01-31T00:00:00Z",
                "2026-02-28T00:00:00Z",
                "2026-03-31T00:00:00Z",
                "2026-04-30T00:00:00Z"
            ]
        );
        // Three days before the last day.
        assert_eq!(
            fires("0 0 L-3 * *", "UTC", "2026-02-01T00:00:00Z", 2),
            ["2026-02-25T00:00:00Z", "2026-03-28T00:00:00Z"]
        );
    }

    #[test]
    fn nearest_weekday_moves_off_weekends_within_the_month() {
        // 15 Feb and 15 Mar 2026 are Sundays (-> Monday 16th), 15 Apr is a Wednesday.
        assert_eq!(
            fires("0 0 15W * *", "UTC", "2026-02-01T00:00:00Z", 3),
            [
                "2026-02-16T00:00:00Z",
                "2026-03-16T00:00:00Z",
                "2026-04-15T00:00:00Z"
            ]
        );
        // 15 Aug 2026 is a Saturday -> Friday 14th.
        assert_eq!(
            fires("0 0 15W * *", "UTC", "2026-08-01T00:00:00Z", 1),
            ["2026-08-14T00:00:00Z"]
        );
        // 1 Aug 2026 is a Saturday: Friday would be in July, so Monday 3rd.
        assert_eq!(
            fires("0 0 1W * *", "UTC", "2026-07-02T00:00:00Z", 2),
            ["2026-08-03T00:00:00Z", "2026-09-01T00:00:00Z"]
        );
        // 31 May 2026 is a Sunday: Monday would be in June, so Friday 29th.
        assert_eq!(
            fires("0 0 31W * *", "UTC", "2026-05-01T00:00:00Z", 1),
            ["2026-05-29T00:00:00Z"]
        );
    }

    #[test]
    fn last_weekday_of_month() {
        // 31 Jan 2026 is a Saturday, 28 Feb a Saturday, 31 Mar a Tuesday.
        assert_eq!(
            fires("0 0 LW * *", "UTC", "2026-01-01T00:00:00Z", 3),
            [
                "2026-01-30T00:00:00Z",
                "2026-02-27T00:00:00Z",
                "2026-03-31T00:00:00Z"
            ]
        );
    }

    #[test]
    fn last_friday_of_month() {
        assert_eq!(
            fires("0 0 * * 5L", "UTC", "2026-01-01T00:00:00Z", 3),
            [
                "2026-01-30T00:00:00Z",
                "2026-02-27T00:00:00Z",
                "2026-03-27T00:00:00Z"
            ]
        );
    }

    #[test]
    fn first_monday_of_month() {
        assert_eq!(
            fires("0 0 * * 1#1", "UTC", "2026-01-01T00:00:00Z", 3),
            [
                "2026-01-05T00:00:00Z",
                "2026-02-02T00:00:00Z",
                "2026-03-02T00:00:00Z"
            ]
        );
    }

    #[test]
    fn fifth_monday_skips_months_without_one() {
        assert_eq!(
            fires("0 0 * * 1#5", "UTC", "2026-01-01T00:00:00Z", 4),
            [
                "2026-03-30T00:00:00Z",
                "2026-06-29T00:00:00Z",
                "2026-08-31T00:00:00Z",
                "2026-11-30T00:00:00Z"
            ]
        );
    }

    #[test]
    fn weekly_is_sunday_midnight() {
        assert_eq!(
            fires("@weekly", "UTC", "2026-01-01T00:00:00Z", 2),
            ["2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"]
        );
    }

    #[test]
    fn february_29th_waits_for_a_leap_year() {
        assert_eq!(
            fires("0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", 3),
            [
                "2028-02-29T00:00:00Z",
                "2032-02-29T00:00:00Z",
                "2036-02-29T00:00:00Z"
            ]
        );
        // Feb 29 that is also a Sunday (`*/7` is 0 and 7, and star-led, so AND): 2100 is not
        // a leap year, which stretches the usual 28-year wait.
        assert_eq!(
            fires("0 0 29 2 */7", "UTC", "2089-01-01T00:00:00Z", 1),
            ["2128-02-29T00:00:00Z"]
        );
    }

    #[test]
    fn fixed_time_in_the_spring_gap_fires_once_right_after_it() {
        // New York skips 02:00-02:59 on 2026-03-08: 02:30 fires at 03:00 EDT.
        assert_eq!(
            fires("30 2 * * *", "America/New_York", "2026-03-07T00:00:00Z", 3),
            [
                "2026-03-07T07:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-09T06:30:00Z"
            ]
        );
        // Two skipped slots collapse into one fire, which also covers 03:00 itself.
        assert_eq!(
            fires(
                "0,30 2,3 * * *",
                "America/New_York",
                "2026-03-08T06:00:00Z",
                3
            ),
            [
                "2026-03-08T07:00:00Z",
                "2026-03-08T07:30:00Z",
                "2026-03-09T06:00:00Z"
            ]
        );
    }

    #[test]
    fn fixed_time_in_the_autumn_fold_fires_once_at_the_first_occurrence() {
        // New York repeats 01:00-01:59 on 2026-11-01 (EDT, then EST).
        assert_eq!(
            fires("30 1 * * *", "America/New_York", "2026-10-31T00:00:00Z", 3),
            [
                "2026-10-31T05:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-02T06:30:00Z"
            ]
        );
        // 02:30 exists once that night.
        assert_eq!(
            fires("30 2 * * *", "America/New_York", "2026-10-31T12:00:00Z", 2),
            ["2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"]
        );
        // Starting between the two occurrences does not fire the second one.
        assert_eq!(
            fires("45 1 * * *", "America/New_York", "2026-11-01T05:50:00Z", 1),
            ["2026-11-02T06:45:00Z"]
        );
    }

    #[test]
    fn wildcard_jobs_follow_real_time_across_dst() {
        let ny = "America/New_York";
        // Autumn: 01:30 happens twice, and both fire.
        assert_eq!(
            fires("30 * * * *", ny, "2026-11-01T03:00:00Z", 5),
            [
                "2026-11-01T03:30:00Z",
                "2026-11-01T04:30:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:30:00Z",
                "2026-11-01T07:30:00Z"
            ]
        );
        // Starting inside the first pass of the repeated hour (01:40 EDT).
        assert_eq!(
            fires("30 * * * *", ny, "2026-11-01T05:40:00Z", 2),
            ["2026-11-01T06:30:00Z", "2026-11-01T07:30:00Z"]
        );
        // Spring: 02:30 does not exist, and nothing stands in for it.
        assert_eq!(
            fires("30 * * * *", ny, "2026-03-08T05:00:00Z", 4),
            [
                "2026-03-08T05:30:00Z",
                "2026-03-08T06:30:00Z",
                "2026-03-08T07:30:00Z",
                "2026-03-08T08:30:00Z"
            ]
        );
        // A job for every minute of 02:xx does not run at all on the day 02:xx is skipped.
        assert_eq!(
            fires("* 2 * * *", ny, "2026-03-08T06:59:00Z", 1),
            ["2026-03-09T06:00:00Z"]
        );
    }

    #[test]
    fn every_half_hour_stays_evenly_spaced_in_real_time_across_dst() {
        let ny = "America/New_York";
        // Spring: 01:00 EST, 01:30 EST, (02:00 and 02:30 skipped), 03:00 EDT, 03:30 EDT.
        assert_eq!(
            fires("*/30 * * * *", ny, "2026-03-08T05:45:00Z", 5),
            [
                "2026-03-08T06:00:00Z",
                "2026-03-08T06:30:00Z",
                "2026-03-08T07:00:00Z",
                "2026-03-08T07:30:00Z",
                "2026-03-08T08:00:00Z"
            ]
        );
        // Autumn: 01:00 EDT, 01:30 EDT, 01:00 EST, 01:30 EST, 02:00 EST.
        assert_eq!(
            fires("*/30 * * * *", ny, "2026-11-01T04:45:00Z", 6),
            [
                "2026-11-01T05:00:00Z",
                "2026-11-01T05:30:00Z",
                "2026-11-01T06:00:00Z",
                "2026-11-01T06:30:00Z",
                "2026-11-01T07:00:00Z",
                "2026-11-01T07:30:00Z"
            ]
        );
    }

    #[test]
    fn london_fixed_time_across_both_transitions() {
        // 2026-03-29: 01:00 GMT jumps to 02:00 BST, so 01:30 fires at 02:00 BST = 01:00Z.
        assert_eq!(
            fires("30 1 * * *", "Europe/London", "2026-03-28T12:00:00Z", 2),
            ["2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"]
        );
        // 2026-10-25: 01:00-01:59 happens in BST then GMT; the fixed job fires once, in BST.
        assert_eq!(
            fires("30 1 * * *", "Europe/London", "2026-10-24T12:00:00Z", 2),
            ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"]
        );
    }

    #[test]
    fn lord_howe_half_hour_dst_shift() {
        let zone = "Australia/Lord_Howe";
        // 2026-10-04: 02:00 (+10:30) jumps to 02:30 (+11). 02:15 fires at the jump, 15:30Z.
        assert_eq!(
            fires("15 2 * * *", zone, "2026-10-03T00:00:00Z", 2),
            ["2026-10-03T15:30:00Z", "2026-10-04T15:15:00Z"]
        );
        // 2026-04-05: 02:00 (+11) goes back to 01:30 (+10:30). 01:45 fires once, at +11.
        assert_eq!(
            fires("45 1 * * *", zone, "2026-04-04T00:00:00Z", 2),
            ["2026-04-04T14:45:00Z", "2026-04-05T15:15:00Z"]
        );
        // A wildcard job sees 01:45 twice that night, then 02:45 (+10:30).
        assert_eq!(
            fires("45 * * * *", zone, "2026-04-04T14:00:00Z", 3),
            [
                "2026-04-04T14:45:00Z",
                "2026-04-04T15:15:00Z",
                "2026-04-04T16:15:00Z"
            ]
        );
    }

    #[test]
    fn matches_checks_wall_clock_fields() {
        let cron = CronExpr::parse("*/15 9-17 * * MON-FRI").expect("valid");
        let at = |s: &str| s.parse::<DateTime>().expect("valid datetime");
        assert!(cron.matches(at("2026-01-16T17:45")));
        assert!(!cron.matches(at("2026-01-16T17:50")));
        assert!(!cron.matches(at("2026-01-17T10:00")));
    }

    #[test]
    fn gives_up_at_the_end_of_the_calendar() {
        let cron = CronExpr::parse("0 0 1 1 *").expect("valid");
        assert_eq!(cron.next_after(Timestamp::MAX, &TimeZone::UTC), None);
        assert_eq!(
            cron.next_after(ts("9999-06-01T00:00:00Z"), &TimeZone::UTC),
            None
        );
        assert!(cron.next_after(Timestamp::MIN, &TimeZone::UTC).is_some());
    }
}
