//! jobwatch-notify: alerts to people. Every Slack message of jobwatch comes from here:
//!
//! - [`incoming`]: SNS records read leniently and classified (jobwatch alert events,
//!   CloudWatch alarms in every shape, anything else as a readable fallback);
//! - [`render_slack`] (job alerts), [`alarm::render_alarm`], the fallback, summaries and
//!   digests: Block Kit inside an attachment coloured by environment, always within Slack's
//!   limits ([`message`]);
//! - [`policy`]: what each environment posts, and how; [`fatigue`]: the per-key rules that
//!   keep alert storms readable; [`state`]: both over the stored notification state;
//! - [`dispatch`]: the decisions made durable through the `Store` and delivered through a
//!   [`Sender`] (the formatter and sweeper Lambdas, and `jobwatch serve`);
//! - [`SlackClient`]: an incoming webhook with bounded retries (429 honouring
//!   `Retry-After`, 5xx, timeouts; never other 4xx).

pub mod alarm;
pub mod dispatch;
pub mod fatigue;
pub mod incoming;
pub mod message;
pub mod policy;
mod render;
mod slack;
pub mod state;

pub use dispatch::{FlushReport, Notifier, NotifyError, Outcome, Sender, Webhooks, flush_due};
pub use incoming::{Incoming, Notice, SnsRecord, classify, sns_records};
pub use policy::{Class, Delivery, Fatigue, POLICY_VARIABLES, Policy, Rule};
pub use render::{console_line, render_slack};
pub use slack::{DeliveryError, SlackClient, http_client};
pub use state::{Action, Route};
