//! Parsing cron text into its evaluated form: nicknames, the five fields with names, ranges
//! and steps, and the day-field extensions (`L`, `L-n`, `nW`, `LW`, `n#k`, `nL`).

use super::error::{CronError, CronField};
use super::evaluate::{DomSpec, DowSpec, Schedule};

pub(super) fn parse_nickname(text: &str) -> Result<Schedule, CronError> {
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

pub(super) fn parse_fields(text: &str) -> Result<Schedule, CronError> {
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
