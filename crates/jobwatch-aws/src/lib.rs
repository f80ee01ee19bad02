//! jobwatch-aws: the AWS adapters shared by the jobwatch Lambdas: loading SDK configuration
//! with one TLS stack, Function URL events to and from `http` types, publishing alert events
//! to SNS, writing run output to CloudWatch Logs, Embedded Metric Format lines, secrets
//! read once per process, Slack webhooks read from Secrets Manager, and what each function needs
//! from its deployment ([`functions`]).
//!
//! Each Lambda's per-invocation work is a service here ([`ingest::Ingest`],
//! [`sweeper::Sweeper`], [`formatter::Formatter`]) over the library use cases; a Lambda `main`
//! only reads its configuration, builds the clients once and hands the service to the
//! runtime; what a failed invocation tells Lambda is [`failure`].

pub mod emf;
pub mod failure;
pub mod formatter;
pub mod function_url;
pub mod functions;
pub mod ingest;
pub mod lambda;
pub mod observer;
pub mod publisher;
pub mod run_log;
pub mod sdk;
pub mod secrets;
pub mod slack;
pub mod sweeper;
