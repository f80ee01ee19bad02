//! jobwatch-notify: alert events to people. Renders an [`AlertEvent`] as a Slack message
//! (Block Kit inside an attachment coloured by environment, always within Slack's limits) and
//! as one readable console line, and delivers to a Slack incoming webhook with bounded
//! retries (429 honouring `Retry-After`, 5xx, timeouts; never other 4xx).

mod render;
mod slack;

pub use render::{console_line, render_slack};
pub use slack::{DeliveryError, SlackClient};
