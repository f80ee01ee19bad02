//! Every message jobwatch shows a person comes from here, one module per thing shown, for
//! both targets: Slack (Block Kit inside an attachment coloured by environment, always within
//! Slack's limits, built with `crate::message`) and the console line.
//!
//! - [`job`]: job alerts of every kind and the daily report (Slack);
//! - [`console`]: the console and log line of every alert and notice;
//! - [`alarm`]: CloudWatch alarm state changes (Slack);
//! - [`fallback`]: anything else published to the topic (Slack);
//! - [`fatigue`]: summaries and digests (Slack);
//! - [`flapping`]: a flapping job announced, stable again, or a short burst (Slack, console);
//! - [`group`]: simultaneous trouble of several jobs in one message (Slack and console);
//! - [`test_alert`]: the test alert `jobwatch doctor` asks for (Slack);
//! - [`notice`]: a notice's own message, whichever of the above it is.

pub mod alarm;
pub mod console;
pub mod fallback;
pub mod fatigue;
pub mod flapping;
pub mod group;
pub mod job;
mod notice;
pub mod test_alert;

pub use alarm::render_alarm;
pub use console::console_line;
pub use fallback::render_fallback;
pub use fatigue::{digest_text, render_digest, render_summary, summary_headline};
pub use flapping::{flap_console_line, render_flap};
pub use group::{group_console_line, render_group};
pub use job::render_slack;
