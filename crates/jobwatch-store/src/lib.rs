//! jobwatch-store: the storage port and the use cases built on it.
//!
//! - [`Store`]: what jobwatch needs from a database, the union of [`JobStore`], [`Outbox`],
//!   [`IncidentStore`] and [`Settings`] (see [`port`]). Every state change is a
//!   compare-and-set on the job's version, committed together with its run records and alert
//!   events, so concurrent pings and sweeps announce each transition exactly once.
//! - [`Engine`]: pings, sweeps and job administration, driving the pure core through a store;
//!   the daily report and the delivery of the outbox ([`AlertOutlet`]); test alerts and
//!   their delivery records.
//! - [`ConflictRetry`]: the one retry loop of every compare-and-set writer.
//!
//! The behaviour every store must show is checked by the conformance suite in
//! `jobwatch-testkit` (test code, so not shipped here).

mod engine;
mod incident;
mod outbox;
pub mod port;
mod record;
mod retry;
mod test_alert;

pub use engine::{
    CommitObserver, Engine, EngineError, JobLookup, PingReceipt, RunOutput, SweepReport,
    url_segment,
};
pub use incident::IncidentRecord;
pub use outbox::{AlertOutlet, Delivery, Handover};
pub use port::{Commit, IncidentStore, JobStore, Outbox, Settings, Store, StoreError};
pub use record::{JobRecord, StoredAlert};
pub use retry::ConflictRetry;
pub use test_alert::{TestAlertReceipt, read_test_delivery, record_test_delivery};
