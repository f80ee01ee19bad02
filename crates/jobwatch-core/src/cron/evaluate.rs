//! Evaluating a parsed expression on the wall clock: which days of a month match (with the
//! `L`, `W` and `#` extensions and the Vixie day rule), the next matching minute, and whether
//! an expression can fire at all.

use std::fmt;

use jiff::civil::{Date, DateTime};

use super::error::CronError;

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

/// The evaluated form of an expression: bit sets per field plus the day-field extensions.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Schedule {
    /// Bits 0-59.
    pub(super) minutes: u64,
    /// Bits 0-23.
    pub(super) hours: u64,
    /// Bits 1-12.
    pub(super) months: u64,
    pub(super) dom: DomSpec,
    pub(super) dow: DowSpec,
    /// Day-of-month field begins with `*` (Vixie's DOM_STAR).
    pub(super) dom_star: bool,
    /// Day-of-week field begins with `*` (Vixie's DOW_STAR).
    pub(super) dow_star: bool,
    /// Minute or hour field begins with `*`: see the module docs for why this matters.
    pub(super) wildcard_time: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct DomSpec {
    /// Plain days, bits 1-31.
    pub(super) days: u64,
    /// `L`.
    pub(super) last: bool,
    /// `L-n`, bits 1-30.
    pub(super) last_minus: u64,
    /// `nW`, bits 1-31.
    pub(super) nearest_weekday: u64,
    /// `LW`.
    pub(super) last_weekday: bool,
}

impl DomSpec {
    fn is_plain(&self) -> bool {
        !self.last && self.last_minus == 0 && self.nearest_weekday == 0 && !self.last_weekday
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub(super) struct DowSpec {
    /// Plain weekdays, bits 0-6 (0 = Sunday).
    pub(super) days: u64,
    /// `nL`: bits 0-6 for the weekdays whose last occurrence in the month matches.
    pub(super) last: u64,
    /// `n#k`: for each weekday, bits 1-5 for the occurrences that match.
    pub(super) nth: [u8; 7],
}

/// A position in wall-clock time whose parts may overflow (minute 60, day 32, month 13):
/// `next_wall_match` normalises them by carrying into the next larger unit.
#[derive(Debug, Clone, Copy)]
pub(super) struct Cursor {
    pub(super) year: i16,
    pub(super) month: u8,
    pub(super) day: u8,
    pub(super) hour: u8,
    pub(super) minute: u8,
}

impl Cursor {
    pub(super) fn at(dt: DateTime) -> Cursor {
        Cursor {
            year: dt.year(),
            month: dt.month().unsigned_abs(),
            day: dt.day().unsigned_abs(),
            hour: dt.hour().unsigned_abs(),
            minute: dt.minute().unsigned_abs(),
        }
    }

    pub(super) fn after(dt: DateTime) -> Cursor {
        let mut c = Cursor::at(dt);
        c.minute += 1;
        c
    }
}

impl Schedule {
    /// The first wall-clock minute at or after `c` that matches all fields, jumping over
    /// whole months, days and hours that cannot match.
    pub(super) fn next_wall_match(&self, c: Cursor, limit_year: i16) -> Option<DateTime> {
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
    pub(super) fn day_mask(&self, first: u8, len: u8) -> u64 {
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
    pub(super) fn check_fires(&self) -> Result<(), CronError> {
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

pub(super) fn sunday_zero(date: Date) -> u8 {
    date.weekday().to_sunday_zero_offset().unsigned_abs()
}

pub(super) fn has_bit(mask: u64, bit: u8) -> bool {
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
