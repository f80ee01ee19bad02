//! jobwatch-store: the storage port and the use cases built on it.
//!
//! - [`Store`]: what jobwatch needs from a database, the union of [`JobStore`], [`Outbox`],
//!   [`IncidentStore`] and [`Settings`] (see [`port`]). Every state change is a
//!   compare-and-set on the job's version, committed together with its run records and alert
//!   events, so concurrent pings and sweeps announce each transition exactly once.
//! - [`Engine`]: pings, sweeps and job administration, driving the pure core through a store.
//! - [`conformance`]: the behaviour every store must show, as one suite each implementation
//!   runs unchanged.

pub mod conformance;
mod engine;
mod incident;
pub mod port;
mod record;

pub use engine::{CommitObserver, Engine, EngineError, JobLookup, PingReceipt, SweepReport};
pub use incident::IncidentRecord;
pub use port::{Commit, IncidentStore, JobStore, Outbox, Settings, Store, StoreError};
pub use record::{JobRecord, StatusCounts, StoredAlert};
