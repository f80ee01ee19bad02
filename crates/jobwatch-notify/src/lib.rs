//! jobwatch-notify: alerts to people. Every Slack message of jobwatch comes from here:
//!
//! - [`incoming`]: SNS records read leniently and classified (jobwatch alert events,
//!   CloudWatch alarms in every shape ([`alarm`]: the model and its parsers), anything else as
//!   a readable fallback);
//! - [`render`]: every message, per thing shown and per target (Slack Block Kit inside an
//!   attachment coloured by environment, always within Slack's limits, built with
//!   [`message`]; the console line);
//! - [`policy`]: what each environment posts, and how; [`fatigue`]: the per-key rules that
//!   keep alert storms readable; [`flapping`]: a job going down and up again and again, kept to
//!   a few messages; [`grouping`]: simultaneous trouble of many jobs as one message;
//!   [`state`]: all decided over the stored notification state;
//! - [`dispatch`]: the decisions made durable through the `Store` and delivered through a
//!   [`Sender`] (the formatter and sweeper Lambdas, and `jobwatch serve`);
//!   [`Notifier::handle_batch`]: the formatter's handling of one Lambda event's records;
//! - [`test_alert`]: the test alert `jobwatch doctor` asks for, posted past the policy and
//!   its delivery recorded for the asker;
//! - [`SlackClient`]: an incoming webhook with bounded retries (429 honouring
//!   `Retry-After`, 5xx, timeouts; never other 4xx).

pub mod alarm;
mod batch;
pub mod dispatch;
pub mod fatigue;
pub mod flapping;
pub mod grouping;
pub mod incoming;
pub mod message;
pub mod policy;
pub mod render;
mod slack;
pub mod state;
mod stored;
pub mod test_alert;

pub use batch::{BatchOutcome, Unsettled};
pub use dispatch::{
    FlushReport, Notifier, NotifyError, Outcome, Sender, Settlements, Webhooks, flush_due,
};
pub use incoming::{Incoming, Notice, SnsRecord, classify, sns_records};
pub use policy::{Class, Delivery, Fatigue, POLICY_VARIABLES, Policy, Rule};
pub use render::{console_line, render_alarm, render_fallback, render_slack};
pub use slack::{DeliveryError, SlackClient, http_client};
pub use state::{Action, Route};
