//! Grouping simultaneous trouble: where alerts post at once, jobs of one environment that go
//! *missed* or *timed out* within a short window (`JOBWATCH_GROUP_WINDOW`, 30s by default) are
//! announced in one Slack message per group, the job's `group`, else the host that pinged it,
//! else the environment; their recoveries likewise. Every alert still has its own document
//! and metric: only delivery differs.
//!
//! It works like the digest: the alert's subject queues a [`GroupLine`] ([`Route::Group`]),
//! delivering it appends it to a stored [`GroupDoc`] (`group/<env>/<problem|recovered>/<by>/
//! <name>`) under compare-and-set, and the window, opened by its first alert, becomes one
//! message when a flush finds it closed. A group of one is posted as that alert's own
//! message. So the first alert waits at most the window plus the time to the next flush: the
//! formatter flushes at the end of each invocation, the sweeper every minute, `jobwatch
//! serve` every few seconds. The group document is durable, so a crash loses nothing (the next
//! flush delivers it); the ids it took are remembered, so an alert delivered again is never
//! in a second message.

use jiff::{SignedDuration, Timestamp};
use jobwatch_core::{AlertEvent, AlertKind, Duration};
use serde_json::Value;

use crate::incoming::{Incoming, Notice};
use crate::policy::{Delivery, Policy};
use crate::render::group::{group_console_line, group_line, render_group};
pub use crate::stored::{GroupDoc, GroupLine, OpenGroup};
use crate::stored::{Outgoing, Route, SubjectDoc};

/// Lines one group keeps (all are counted).
pub const GROUP_LINES_KEPT: usize = 200;
/// Alert ids a group remembers, so one delivered again joins no second message.
pub const GROUPED_KEPT: usize = 256;

/// What a group is keyed by: `("group", "db-hosts")`, `("host", "web-1")` or
/// `("environment", "prod")`, in that order of preference.
pub fn group_of(event: &AlertEvent) -> (&'static str, String) {
    fn named(s: &Option<String>) -> Option<&str> {
        s.as_deref().map(str::trim).filter(|s| !s.is_empty())
    }
    if let Some(group) = named(&event.job.group) {
        return ("group", group.to_string());
    }
    if let Some(host) = event.source.as_ref().and_then(|s| named(&s.host)) {
        return ("host", host.to_string());
    }
    ("environment", event.environment.clone())
}

/// Whether an alert kind is grouped: trouble that strikes many jobs at once (and its end),
/// not what is about one job's own run (failed, too short).
pub fn is_grouped_kind(kind: AlertKind) -> bool {
    matches!(
        kind,
        AlertKind::Missed | AlertKind::TimedOut | AlertKind::Recovered
    )
}

/// The delivery of a notice once grouping is considered: a non-critical job alert of a
/// grouped kind that would post at once goes into a group; everything else as it was.
pub fn delivery(policy: &Policy, notice: &Notice, delivery: Delivery) -> Delivery {
    let window = policy.grouping_window();
    match notice {
        Notice::Alert(event)
            if delivery == (Delivery::Now { critical: false })
                && !window.is_zero()
                && is_grouped_kind(event.kind) =>
        {
            Delivery::Group(window)
        }
        _ => delivery,
    }
}

impl GroupLine {
    pub fn new(event: &AlertEvent, own: Value) -> GroupLine {
        let (by, name) = group_of(event);
        GroupLine {
            id: event.id.clone(),
            environment: event.environment.clone(),
            recovery: event.kind == AlertKind::Recovered,
            by: by.to_string(),
            name,
            job: event.job.slug.clone(),
            kind: event.kind.as_str().to_string(),
            text: group_line(event),
            own: Some(own),
        }
    }

    /// The key of the group document it goes to.
    pub fn key(&self) -> String {
        let class = if self.recovery {
            "recovered"
        } else {
            "problem"
        };
        format!(
            "group/{}/{class}/{}/{}",
            self.environment, self.by, self.name
        )
    }
}

impl GroupDoc {
    /// Adds an alert that arrived `at` to the window open then (opening one of `window` if
    /// none is); closes a window that `at` is past first. An id taken before is ignored.
    pub fn add(&mut self, mut line: GroupLine, at: Timestamp, window: Duration, now: Timestamp) {
        if self.grouped.contains(&line.id) {
            return;
        }
        if self.open.as_ref().is_some_and(|open| at >= open.end) {
            self.close(now, None);
        }
        if self.open.is_none() {
            self.environment = line.environment.clone();
            self.recovery = line.recovery;
            self.by = line.by.clone();
            self.name = line.name.clone();
        }
        let len = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
        let open = self.open.get_or_insert_with(|| OpenGroup {
            start: at,
            end: at
                .checked_add(SignedDuration::from_millis(len))
                .unwrap_or(at),
            lines: Vec::new(),
            more: 0,
        });
        if !open.lines.is_empty() {
            // A group message lists lines only; own messages would just take room.
            for kept in &mut open.lines {
                kept.own = None;
            }
            line.own = None;
        }
        self.grouped.push(line.id.clone());
        if open.lines.len() < GROUP_LINES_KEPT {
            open.lines.push(line);
        } else {
            open.more += 1;
        }
        let excess = self.grouped.len().saturating_sub(GROUPED_KEPT);
        self.grouped.drain(..excess);
    }

    /// Turns the open window into its message: the alert's own when alone, else the group's.
    fn close(&mut self, now: Timestamp, claim_until: Option<Timestamp>) -> Option<String> {
        let open = self.open.take()?;
        let payload = match open.lines.as_slice() {
            [alone] if open.more == 0 && alone.own.is_some() => alone.own.clone()?,
            _ => {
                tracing::info!("{}", group_console_line(self, &open));
                render_group(self, &open)
            }
        };
        self.next_message += 1;
        let id = format!(
            "group/{}#{}",
            open.start.as_millisecond(),
            self.next_message
        );
        self.outgoing.push(Outgoing {
            id: id.clone(),
            source: String::new(),
            route: Route::Slack,
            payload,
            created_at: now,
            claimed_until: claim_until,
            retry_at: None,
            attempts: 0,
        });
        Some(id)
    }

    /// Closes the window once it has passed; claims what waits. Returns the ids claimed.
    pub fn flush(&mut self, now: Timestamp, claim_until: Timestamp) -> Vec<String> {
        if self.open.as_ref().is_some_and(|open| now >= open.end) {
            self.close(now, None);
        }
        self.outgoing
            .iter_mut()
            .filter(|o| o.claimable(now) && o.next_at() <= now)
            .map(|o| {
                o.claimed_until = Some(claim_until);
                o.id.clone()
            })
            .collect()
    }

    pub fn due(&self) -> Option<Timestamp> {
        let open = self.open.as_ref().map(|open| open.end);
        open.into_iter()
            .chain(self.outgoing.iter().map(Outgoing::next_at))
            .min()
    }
}

/// Turns the just-planned group messages of an alert (its own message, [`Route::Group`]) into
/// [`GroupLine`]s that carry it.
pub(crate) fn wrap(doc: &mut SubjectDoc, incoming: &Incoming, ids: &[String]) {
    let Notice::Alert(event) = &incoming.notice else {
        return;
    };
    for outgoing in doc
        .outgoing
        .iter_mut()
        .filter(|o| o.route == Route::Group && ids.contains(&o.id))
    {
        let own = std::mem::take(&mut outgoing.payload);
        outgoing.payload = serde_json::to_value(GroupLine::new(event, own)).unwrap_or(Value::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jobwatch_core::{JobSummary, PingSource, Severity};

    fn event(group: Option<&str>, host: Option<&str>) -> AlertEvent {
        let at: Timestamp = "2026-01-15T03:00:00Z".parse().expect("time");
        let job = JobSummary {
            slug: "backup".into(),
            schedule: "every 1h".into(),
            description: String::new(),
            tags: Vec::new(),
            tz: None,
            group: group.map(str::to_string),
            flapping: Default::default(),
        };
        let mut event =
            AlertEvent::new_about(AlertKind::Missed, job, Severity::Error, "prod", at, at);
        event.source = host.and_then(|h| PingSource::new(None, None, Some(h)));
        event.with_id()
    }

    #[test]
    fn the_group_is_the_jobs_group_then_the_host_then_the_environment() {
        assert_eq!(
            group_of(&event(Some("db-hosts"), Some("web-1"))),
            ("group", "db-hosts".to_string())
        );
        assert_eq!(
            group_of(&event(None, Some("web-1"))),
            ("host", "web-1".to_string())
        );
        assert_eq!(
            group_of(&event(Some(" "), Some(""))),
            ("environment", "prod".to_string())
        );
        assert_eq!(
            group_of(&event(None, None)),
            ("environment", "prod".to_string())
        );
        let line = GroupLine::new(&event(None, Some("web-1")), Value::Null);
        assert_eq!(line.key(), "group/prod/problem/host/web-1");
    }

    #[test]
    fn only_missed_timed_out_and_recovered_alerts_that_post_at_once_are_grouped() {
        let policy = Policy::default();
        let now = Delivery::Now { critical: false };
        let mut missed = event(None, None);
        let notice = Notice::Alert(Box::new(missed.clone()));
        assert_eq!(
            delivery(&policy, &notice, now),
            Delivery::Group(Duration::from_secs(30))
        );
        for other in [
            Delivery::Now { critical: true },
            Delivery::Digest(Duration::from_mins(5)),
            Delivery::LogOnly,
        ] {
            assert_eq!(delivery(&policy, &notice, other), other);
        }
        missed.kind = AlertKind::Failed;
        assert_eq!(
            delivery(&policy, &Notice::Alert(Box::new(missed)), now),
            now
        );
        let off = Policy {
            group_window: Some(Duration::from_secs(0)),
            ..Policy::default()
        };
        assert_eq!(delivery(&off, &notice, now), now);
    }
}
