//! A notice's own Slack message (a first occurrence), whatever it is: a jobwatch alert, an
//! alert of a kind this version does not know, a CloudWatch alarm, or anything else.

use serde_json::Value;

use super::alarm::render_alarm;
use super::fallback::render_fallback;
use super::job::{KindView, kind_view, render_slack, render_with, unknown_kind_view};
use crate::incoming::Notice;

impl Notice {
    pub(crate) fn kind_view(&self) -> Option<KindView> {
        match self {
            Notice::Alert(event) => Some(kind_view(event)),
            Notice::UnknownKind { event, kind } => Some(unknown_kind_view(event, kind)),
            _ => None,
        }
    }

    /// The message posted for this notice on its own (a first occurrence).
    pub fn render(&self, deployment: &str) -> Value {
        match self {
            Notice::Alert(event) => render_slack(event),
            Notice::UnknownKind { event, kind } => {
                render_with(event, &unknown_kind_view(event, kind))
            }
            Notice::Alarm(alarm) => render_alarm(alarm, deployment),
            Notice::Other(fallback) => render_fallback(fallback, deployment),
        }
    }
}
