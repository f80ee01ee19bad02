//! jobwatch-aws: the AWS adapters shared by the jobwatch Lambdas: loading SDK configuration
//! with one TLS stack, Function URL events to and from `http` types, publishing alert events
//! to SNS, writing run output to CloudWatch Logs, Embedded Metric Format lines, and secrets
//! fetched once per process.

pub mod sdk;
