//! jobwatch-testkit: what jobwatch's tests share, for `[dev-dependencies]` only.
//!
//! It depends on nothing above `jobwatch-store`, so every crate of the workspace can use it
//! in its tests without a dependency cycle. AWS helpers (moto, SDK clients, the stack's
//! resources) live in `jobwatch-testkit-aws`, which needs the AWS crates.
//!
//! - [`conformance`]: the behaviour every [`jobwatch_store::Store`] must show, one check per
//!   promise; [`conformance_tests!`] turns them into one `#[test]` each for a store.
//! - [`time`]: instants and durations as tests write them (`t("2026-01-01T00:00:00Z")`).
//! - [`slack`]: a local Slack incoming-webhook receiver that enforces Slack's message limits.
//! - [`lambda`]: a Lambda Runtime API for running the real Lambda binaries, Function URL
//!   events, and where the workspace's binaries are.
//! - [`serve_process`]: the real `jobwatch serve` binary on a fresh database.
//! - [`http_client`]: a plain one-request-per-connection HTTP/1.1 client, as `curl` talks.

pub mod conformance;
pub mod http_client;
pub mod lambda;
pub mod serve_process;
pub mod slack;
pub mod time;

pub use time::{local, mins, secs, t};
