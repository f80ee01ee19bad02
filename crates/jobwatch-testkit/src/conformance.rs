//! The store conformance suite: the behaviour the engine relies on, checked against any
//! [`Store`](jobwatch_store::Store). Each check is a function that takes a fresh, empty store
//! and panics with a message saying which promise was broken.
//!
//! A store's tests run them with [`conformance_tests!`](crate::conformance_tests), one
//! `#[test]` per check, so every broken promise shows on its own:
//!
//! ```text
//! mod conformance {
//!     // Any function (or closure) returning a future of `(store, guard)`; the guard keeps
//!     // the store's resources (a temp dir, a counter) alive for the check.
//!     jobwatch_testkit::conformance_tests!(super::fresh_store);
//! }
//! ```
//!
//! - [`jobs`]: create and read back, unique slugs, the version compare-and-set and the runs
//!   it writes, the deadline index, deletion, status counts.
//! - [`outbox`]: alerts wait, oldest first and each once, until acknowledged.
//! - [`incidents`]: the notifier's records: compare-and-set, the due index.
//! - [`settings`]: a setting is written once.
//! - [`counts`]: outage counts are the runs the store lists (through the engine).
//! - [`fixtures`]: the records the checks build ([`job`] is useful to other tests too).

pub mod counts;
pub mod fixtures;
pub mod incidents;
pub mod jobs;
pub mod outbox;
pub mod settings;

pub use crate::time::t;
pub use counts::outage_counts_match_the_listed_runs;
pub use fixtures::job;
pub use incidents::{
    concurrent_incident_writes_have_one_winner, due_incidents_are_those_past_their_due_time,
    incidents_are_compare_and_set,
};
pub use jobs::{
    commit_is_compare_and_set, concurrent_commits_have_one_winner_per_version,
    create_then_read_back, delete_removes_job_and_runs, due_jobs_are_those_past_their_deadline,
    lists_jobs_by_slug, runs_are_upserted_and_listed_newest_first, slugs_are_unique,
    the_down_count_follows_the_jobs,
};
pub use outbox::{enqueued_alerts_join_the_outbox_once, outbox_keeps_alerts_until_acknowledged};
pub use settings::settings_are_written_once;

/// One `#[tokio::test]` per conformance check, each on a fresh store from `$fresh`: an
/// expression callable with no arguments that returns a future of `(store, guard)`.
///
/// The tests run on a multi-threaded runtime (the concurrency checks race real tasks), so the
/// calling crate needs `tokio` (with `macros` and `rt-multi-thread`) among its
/// dev-dependencies.
#[macro_export]
macro_rules! conformance_tests {
    ($fresh:expr) => {
        $crate::conformance_tests!(@each $fresh;
            create_then_read_back,
            slugs_are_unique,
            lists_jobs_by_slug,
            commit_is_compare_and_set,
            runs_are_upserted_and_listed_newest_first,
            outbox_keeps_alerts_until_acknowledged,
            due_jobs_are_those_past_their_deadline,
            delete_removes_job_and_runs,
            settings_are_written_once,
            the_down_count_follows_the_jobs,
            enqueued_alerts_join_the_outbox_once,
            concurrent_commits_have_one_winner_per_version,
            incidents_are_compare_and_set,
            due_incidents_are_those_past_their_due_time,
            concurrent_incident_writes_have_one_winner,
            outage_counts_match_the_listed_runs,
        );
    };
    (@each $fresh:expr; $($check:ident,)+) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $check() {
                let (store, _guard) = ($fresh)().await;
                $crate::conformance::$check(store).await;
            }
        )+
    };
}
