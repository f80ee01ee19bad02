//! jobwatch-testkit-aws: test support for the AWS side of jobwatch, for `[dev-dependencies]`
//! only (the Lambda crates and the root test suite).
//!
//! - [`moto`]: one `moto_server` per test process (the AWS stand-in), DynamoDB clients for it
//!   and fresh DynamoDB stores on new tables.
//! - [`aws`]: SDK clients on moto for the other services and the resources of one jobwatch
//!   environment ([`aws::Stack`]).
//! - [`proxy`]: a proxy that counts every AWS request a binary makes and can record each
//!   exchange (re-exported by [`aws`]), and answer chosen requests with AWS's errors
//!   ([`faults`]).
//! - [`cost`]: the AWS cost model: DynamoDB capacity units from the exchanges recorded,
//!   CloudWatch metric identities, the price table and the monthly bill of a workload.

pub mod aws;
pub mod cost;
pub mod faults;
pub mod moto;
pub mod proxy;
