//! jobwatch-core: the pure heart of jobwatch. Schedules, job definitions, the ping state
//! machine, the sweep evaluation and alert events. No I/O, no clock of its own: every
//! function takes `now` as an argument, so tests can run months of schedule in milliseconds.

pub mod alert;
pub mod cron;
pub mod duration;
pub mod health;
pub mod history;
pub mod job;
pub mod links;
pub mod machine;
pub mod report;
pub mod report_types;
pub mod run;
pub mod settings;
pub mod tally;
pub mod test_alert;
pub mod text;
pub mod timefmt;
pub mod zone;

pub use alert::{
    ALERT_SCHEMA_VERSION, AlertEvent, AlertKind, Breach, JobSummary, LastSuccess, OutageSummary,
    PingSource,
};
pub use duration::Duration;
pub use job::{FlapSettings, JobDoc, JobError, JobSpec, Schedule, Severity, Slug};
pub use machine::{Ctx, Effects, Health, JobState, Ping, PingEvent, PingOutcome, Status};
pub use report_types::DailyReport;
pub use run::{BadRuns, PingRow, Run, RunOutcome, RunRecords};
