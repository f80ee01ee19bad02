//! What can be wrong with a cron expression: the field ([`CronField`]) and the reason
//! ([`CronError`]), each message one line.

use std::fmt;

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
