//! The AWS cost model of a jobwatch environment: the real Lambda binaries' AWS requests,
//! recorded by [`crate::proxy::CountingProxy`], priced by AWS's documented rules.
//!
//! - [`dynamo_units`]: item sizes, read and write units, index writes by projection;
//! - [`key_condition`]: key condition expressions, to know what a query read;
//! - [`dynamo_meter`]: a shadow of the table kept from the writes seen, and the units of
//!   every DynamoDB exchange;
//! - [`metrics`]: CloudWatch metric identities from EMF lines and PutMetricData;
//! - [`usage`]: what one operation used, and usage that grows with the jobs (a + b x J);
//! - [`workload`]: the workloads priced and the operations they are made of;
//! - [`prices`]: the dated price table;
//! - [`bill`]: the monthly bill by component; [`report`]: all of it as markdown.

pub mod bill;
pub mod dynamo_meter;
pub mod dynamo_units;
pub mod key_condition;
pub mod metrics;
pub mod prices;
pub mod report;
pub mod usage;
pub mod workload;
