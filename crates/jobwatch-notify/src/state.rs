//! The notification state kept per key in the store, and the pure decisions over it with an
//! injected `now`:
//!
//! - a **subject** (`job/<env>/<slug>`, `alarm/<name>`, `message/<env>/<id>`) keeps the fatigue
//!   streak of each of its kinds, the ids it has handled (so a message delivered twice, or an
//!   alert published again by the sweeper, is posted once), and its **outgoing** messages:
//!   decided, not yet confirmed delivered. A message is claimed by whoever delivers it (until
//!   its invocation's deadline) and leaves the state only once Slack took it (or refused it for
//!   good), so a crash or an outage loses nothing: [`SubjectDoc::due`] brings it back.
//! - a **digest** (`digest/<env>/<window start ms>`) collects the lines of one window of a
//!   digest environment (staging) and becomes one message when the window closes.

use std::collections::BTreeMap;

use jiff::{SignedDuration, Timestamp};
use jobwatch_core::{Duration, Severity};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::fatigue::{self, Streak, Summary, SummaryReason, Verdict};
use crate::incoming::{Incoming, Notice};
use crate::message::{
    GREEN, Message, clock, environment_colour, escape, times, when, window_words,
};
use crate::policy::{Class, Delivery, Policy};

/// Ids remembered per subject for de-duplication.
pub const SEEN_KEPT: usize = 64;
/// Lines one digest lists (all are counted).
pub const DIGEST_LINES_KEPT: usize = 200;
/// How long state is kept after its last change.
pub fn retention() -> SignedDuration {
    SignedDuration::from_hours(24 * 7)
}

/// Where an outgoing message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Route {
    /// The environment's webhook.
    Slack,
    /// The escalation webhook (critical), when one is configured.
    Escalation,
    /// The environment's digest (the payload is a [`DigestLine`]).
    Digest,
}

/// A message decided but not yet confirmed delivered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outgoing {
    pub id: String,
    /// The id of the notice it came from (empty for flushed summaries).
    #[serde(default)]
    pub source: String,
    pub route: Route,
    pub payload: Value,
    pub created_at: Timestamp,
    /// Someone is delivering it until then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed_until: Option<Timestamp>,
    /// It failed before; try again from then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Timestamp>,
    #[serde(default)]
    pub attempts: u32,
}

impl Outgoing {
    /// When it is next to be delivered (by whoever flushes).
    pub fn next_at(&self) -> Timestamp {
        self.claimed_until
            .or(self.retry_at)
            .unwrap_or(self.created_at)
    }

    pub fn claimable(&self, now: Timestamp) -> bool {
        self.claimed_until.is_none_or(|until| until <= now)
    }

    /// The notification text of its payload, for logs.
    pub fn text(&self) -> String {
        self.payload["text"].as_str().unwrap_or("").to_string()
    }
}

/// Retry delays after failed deliveries: 1, 2, 4 ... up to 15 minutes.
pub fn backoff(attempts: u32) -> SignedDuration {
    SignedDuration::from_secs(60i64 << attempts.min(4)).min(SignedDuration::from_mins(15))
}

/// A fatigue streak with what its summaries need to say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StreakEntry {
    #[serde(flatten)]
    pub streak: Streak,
    /// Plain text: the job or alarm name, and what it did (`failed`).
    pub subject: String,
    pub verb: String,
    pub icon: String,
    pub environment: String,
    pub severity: Severity,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Seen {
    pub id: String,
    pub at: Timestamp,
}

/// A subject's state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct SubjectDoc {
    #[serde(default)]
    pub streaks: BTreeMap<String, StreakEntry>,
    #[serde(default)]
    pub seen: Vec<Seen>,
    #[serde(default)]
    pub outgoing: Vec<Outgoing>,
    /// Numbers outgoing ids.
    #[serde(default)]
    pub next_message: u64,
}

/// What happened to a notice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// The policy does not post it: logged only.
    LogOnly,
    /// Handled before: nothing new to post.
    Duplicate,
    /// Handled before and still being delivered by another invocation.
    InFlight,
    /// Counted, to be reported by a later summary.
    Held,
    /// Its own message goes (or a summary covering it).
    Posted,
    /// Into the environment's digest.
    Digested,
}

/// The subject a notice is about.
pub fn subject_key(incoming: &Incoming, deployment: &str) -> String {
    match &incoming.notice {
        Notice::Alert(event) | Notice::UnknownKind { event, .. } => {
            format!("job/{}/{}", event.environment, event.job.slug)
        }
        Notice::Alarm(alarm) => format!("alarm/{}", alarm.name),
        // Each message on its own (it has no streak; its id still de-duplicates it).
        Notice::Other(fallback) => format!(
            "message/{deployment}/{}",
            incoming
                .id
                .as_deref()
                .or(fallback.topic.as_deref())
                .unwrap_or("direct")
        ),
    }
}

/// What sending a notice amounts to: a post now, or a line in the digest it goes to.
fn sent_as(delivery: Delivery) -> Action {
    if matches!(delivery, Delivery::Digest(_)) {
        Action::Digested
    } else {
        Action::Posted
    }
}

/// The streak a problem notice counts in, with what summaries say about it.
fn streak_of(notice: &Notice) -> Option<(String, String, String, &'static str)> {
    match notice {
        Notice::Alert(event) | Notice::UnknownKind { event, .. } => {
            let view = notice.kind_view()?;
            Some((view.name, event.job.slug.clone(), view.verb, view.icon))
        }
        Notice::Alarm(alarm) => {
            let verb = match alarm.state {
                crate::alarm::AlarmState::InsufficientData => "had insufficient data".to_string(),
                ref state => format!("went into {}", state.as_str()),
            };
            Some((
                alarm.state.as_str().to_string(),
                alarm.name.clone(),
                verb,
                "🚨",
            ))
        }
        Notice::Other(_) => None,
    }
}

/// One line of a digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestLine {
    pub id: String,
    pub at: Timestamp,
    /// mrkdwn, escaped.
    pub text: String,
    #[serde(default)]
    pub recovery: bool,
}

impl SubjectDoc {
    pub fn has_seen(&self, id: &str) -> bool {
        self.seen.iter().any(|s| s.id == id)
    }

    fn remember(&mut self, id: &str, now: Timestamp) {
        self.seen.push(Seen {
            id: id.to_string(),
            at: now,
        });
        let excess = self.seen.len().saturating_sub(SEEN_KEPT);
        self.seen.drain(..excess);
    }

    /// When something in it must be acted on: held occurrences whose window closes, messages
    /// waiting for delivery.
    pub fn due(&self, policy: &Policy) -> Option<Timestamp> {
        let held = self
            .streaks
            .values()
            .filter_map(|e| e.streak.due(&policy.fatigue));
        let outgoing = self.outgoing.iter().map(Outgoing::next_at);
        held.chain(outgoing).min()
    }

    fn push(
        &mut self,
        source: &str,
        route: Route,
        payload: Value,
        now: Timestamp,
        claim_until: Timestamp,
    ) -> String {
        self.next_message += 1;
        let id = format!("{}#{}", source_or_flush(source), self.next_message);
        self.outgoing.push(Outgoing {
            id: id.clone(),
            source: source.to_string(),
            route,
            payload,
            created_at: now,
            claimed_until: Some(claim_until),
            retry_at: None,
            attempts: 0,
        });
        id
    }

    /// Queues `payload` (a Slack message) and its digest line as `delivery` says; returns
    /// the ids queued.
    fn send(
        &mut self,
        source: &str,
        delivery: Delivery,
        payload: Value,
        line: DigestLine,
        now: Timestamp,
        claim_until: Timestamp,
    ) -> Vec<String> {
        match delivery {
            Delivery::LogOnly => Vec::new(),
            Delivery::Digest(_) => {
                let line = serde_json::to_value(line).unwrap_or(Value::Null);
                vec![self.push(source, Route::Digest, line, now, claim_until)]
            }
            Delivery::Now { critical } => {
                let mut ids = Vec::new();
                if critical {
                    ids.push(self.push(
                        source,
                        Route::Escalation,
                        payload.clone(),
                        now,
                        claim_until,
                    ));
                }
                ids.insert(
                    0,
                    self.push(source, Route::Slack, payload, now, claim_until),
                );
                ids
            }
        }
    }

    /// Claims every waiting message whose claim is free; returns their ids.
    pub fn claim_waiting(
        &mut self,
        now: Timestamp,
        claim_until: Timestamp,
        only_due: bool,
    ) -> Vec<String> {
        self.outgoing
            .iter_mut()
            .filter(|o| o.claimable(now) && (!only_due || o.next_at() <= now))
            .map(|o| {
                o.claimed_until = Some(claim_until);
                o.id.clone()
            })
            .collect()
    }
}

fn source_or_flush(source: &str) -> &str {
    if source.is_empty() { "flush" } else { source }
}

/// The decision for one notice (not yet seen by this subject): updates `doc` and returns
/// what happened and the outgoing messages to deliver now (claimed until `claim_until`).
pub fn plan(
    doc: &mut SubjectDoc,
    incoming: &Incoming,
    delivery: Delivery,
    deployment: &str,
    policy: &Policy,
    now: Timestamp,
    claim_until: Timestamp,
) -> (Action, Vec<String>) {
    let notice = &incoming.notice;
    let source = incoming.id.clone().unwrap_or_default();
    if let Some(id) = &incoming.id {
        doc.remember(id, now);
    }
    let environment = notice.environment(deployment).to_string();
    let own_line = DigestLine {
        id: source.clone(),
        at: now,
        text: digest_text(notice),
        recovery: notice.class() == Class::Recovery,
    };
    let mut ids = Vec::new();
    let action = match notice.class() {
        Class::Info => {
            ids = doc.send(
                &source,
                delivery,
                notice.render(deployment),
                own_line,
                now,
                claim_until,
            );
            Action::Posted
        }
        Class::Recovery => {
            // Close every streak of the subject, reporting what they still held first.
            for (_, entry) in std::mem::take(&mut doc.streaks) {
                if let Some(summary) = fatigue::close(entry.streak.clone(), &policy.fatigue) {
                    ids.extend(send_summary(
                        doc,
                        &entry,
                        &summary,
                        policy,
                        now,
                        claim_until,
                    ));
                }
            }
            ids.extend(doc.send(
                &source,
                delivery,
                notice.render(deployment),
                own_line,
                now,
                claim_until,
            ));
            sent_as(delivery)
        }
        Class::Problem => match streak_of(notice) {
            None => {
                ids = doc.send(
                    &source,
                    delivery,
                    notice.render(deployment),
                    own_line,
                    now,
                    claim_until,
                );
                sent_as(delivery)
            }
            Some((key, subject, verb, icon)) => {
                let previous = doc.streaks.remove(&key);
                let (streak, verdict, overdue) =
                    fatigue::observe(previous.map(|e| e.streak), now, &policy.fatigue);
                let entry = StreakEntry {
                    streak,
                    subject,
                    verb,
                    icon: icon.to_string(),
                    environment,
                    severity: notice.severity(),
                };
                if let Some(summary) = overdue {
                    ids.extend(send_summary(
                        doc,
                        &entry,
                        &summary,
                        policy,
                        now,
                        claim_until,
                    ));
                }
                let action = match verdict {
                    Verdict::First => {
                        ids.extend(doc.send(
                            &source,
                            delivery,
                            notice.render(deployment),
                            own_line,
                            now,
                            claim_until,
                        ));
                        sent_as(delivery)
                    }
                    Verdict::Held => Action::Held,
                    Verdict::Summary(summary) => {
                        ids.extend(send_summary(
                            doc,
                            &entry,
                            &summary,
                            policy,
                            now,
                            claim_until,
                        ));
                        Action::Posted
                    }
                };
                doc.streaks.insert(key, entry);
                action
            }
        },
    };
    (action, ids)
}

/// Queues one summary of `entry`: escalations at once with the mention, others as the
/// environment's policy says.
fn send_summary(
    doc: &mut SubjectDoc,
    entry: &StreakEntry,
    summary: &Summary,
    policy: &Policy,
    now: Timestamp,
    claim_until: Timestamp,
) -> Vec<String> {
    let mut delivery = policy.delivery(&entry.environment, entry.severity, Class::Problem);
    if summary.reason == SummaryReason::Escalation && delivery != Delivery::LogOnly {
        delivery = Delivery::Now { critical: true };
    }
    let line = DigestLine {
        id: format!("summary/{}/{}", entry.subject, summary.to.as_millisecond()),
        at: summary.to,
        text: format!(
            "{} {}",
            entry.icon,
            escape(&summary_headline(entry, summary))
        ),
        recovery: false,
    };
    doc.send(
        "",
        delivery,
        render_summary(entry, summary),
        line,
        now,
        claim_until,
    )
}

/// Flushes what is due at `now`: summaries of windows that closed with occurrences held, and
/// messages waiting for a retry or whose claim expired. Prunes quiet streaks. Returns the
/// ids claimed for delivery.
pub fn flush_subject(
    doc: &mut SubjectDoc,
    policy: &Policy,
    now: Timestamp,
    claim_until: Timestamp,
) -> Vec<String> {
    let mut summaries = Vec::new();
    for entry in doc.streaks.values_mut() {
        if let Some(summary) = fatigue::flush(&mut entry.streak, now, &policy.fatigue) {
            summaries.push((entry.clone(), summary));
        }
    }
    doc.streaks
        .retain(|_, e| e.streak.held > 0 || !e.streak.is_quiet(now, &policy.fatigue));
    let mut ids = doc.claim_waiting(now, claim_until, true);
    for (entry, summary) in summaries {
        ids.extend(send_summary(
            doc,
            &entry,
            &summary,
            policy,
            now,
            claim_until,
        ));
    }
    ids
}

/// The summary's title (plain text): `backup failed 3 times in 5 minutes`.
pub fn summary_headline(entry: &StreakEntry, summary: &Summary) -> String {
    let subject = &entry.subject;
    let verb = &entry.verb;
    let more = match summary.held {
        1 => "once more".to_string(),
        n => format!("{n} more times"),
    };
    match summary.reason {
        SummaryReason::Threshold => format!(
            "{subject} {verb} {} in {}",
            times(u64::from(summary.in_window)),
            window_words(summary.window)
        ),
        SummaryReason::Escalation => format!(
            "{subject} {verb} {} since {} and it goes on",
            times(summary.total),
            clock(summary.opened_at)
        ),
        SummaryReason::WindowClosed => format!("{subject} {verb} {more}"),
        SummaryReason::Closed => format!("{subject} {verb} {more} before it recovered"),
    }
}

/// The Slack message of a summary.
pub fn render_summary(entry: &StreakEntry, summary: &Summary) -> Value {
    let headline = summary_headline(entry, summary);
    let escalation = summary.reason == SummaryReason::Escalation;
    let mut message = Message::new(
        &format!("[{}] {}", escape(&entry.environment), escape(&headline)),
        environment_colour(&entry.environment),
    );
    if escalation {
        message.mention_channel();
    }
    let icon = if escalation {
        "🔥"
    } else {
        entry.icon.as_str()
    };
    message.header(&format!("{icon} {headline}"));
    let span = if summary.from == summary.to {
        format!("at {}", when(summary.to))
    } else {
        format!("between {} and {}", when(summary.from), when(summary.to))
    };
    let held = match summary.held {
        0 => String::new(),
        1 => format!("1 occurrence held back {span}."),
        n => format!("{n} occurrences held back {span}."),
    };
    let total = match summary.total {
        1 => format!("Once in all since {}.", when(summary.opened_at)),
        n => format!("{n} times in all since {}.", when(summary.opened_at)),
    };
    let next = match summary.reason {
        SummaryReason::Threshold => {
            "Further repeats in this window are held and summarised when it closes."
        }
        SummaryReason::Escalation => "The storm goes on, so this one is escalated.",
        SummaryReason::WindowClosed => "Repeats that follow are held and summarised again.",
        SummaryReason::Closed => "It recovered, which closes the incident.",
    };
    let text = if held.is_empty() {
        format!("{total}\n{next}")
    } else {
        format!("{held} {total}\n{next}")
    };
    message.section(&escape(&text));
    message.context(&format!(
        "jobwatch · summary ({}) · {} · {}",
        match summary.reason {
            SummaryReason::Threshold => "threshold",
            SummaryReason::Escalation => "escalation",
            SummaryReason::WindowClosed => "window closed",
            SummaryReason::Closed => "closed",
        },
        escape(&entry.environment),
        entry.severity
    ));
    message.into_payload()
}

/// A notice's line in a digest (escaped mrkdwn).
pub fn digest_text(notice: &Notice) -> String {
    match notice {
        Notice::Alert(_) | Notice::UnknownKind { .. } => match notice.kind_view() {
            Some(view) => {
                let at = match notice {
                    Notice::Alert(e) | Notice::UnknownKind { event: e, .. } => clock(e.at),
                    _ => String::new(),
                };
                format!("{} {} · {at}", view.icon, escape(&view.headline))
            }
            None => String::new(),
        },
        Notice::Alarm(alarm) => {
            let icon = if alarm.is_ok() { "✅" } else { "🚨" };
            let mut line = format!("{icon} {}", escape(&alarm.headline()));
            if let Some(at) = alarm.changed_at {
                line.push_str(&format!(" · {}", clock(at)));
            }
            line
        }
        Notice::Other(fallback) => format!(
            "📨 {}",
            escape(
                fallback
                    .subject
                    .as_deref()
                    .unwrap_or(fallback.body.lines().next().unwrap_or("a message"))
            )
        ),
    }
}

/// One window of a digest environment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestDoc {
    pub environment: String,
    pub start: Timestamp,
    pub end: Timestamp,
    #[serde(default)]
    pub lines: Vec<DigestLine>,
    /// Lines beyond those kept, counted.
    #[serde(default)]
    pub more: u64,
    #[serde(default)]
    pub recoveries_only: bool,
    #[serde(default)]
    pub closed: bool,
    #[serde(default)]
    pub outgoing: Vec<Outgoing>,
}

/// The digest window that `at` falls in: aligned to the window length.
pub fn digest_window(at: Timestamp, window: Duration) -> (Timestamp, Timestamp) {
    let len = i64::try_from(window.as_millis().max(1_000)).unwrap_or(i64::MAX);
    let start_ms = at.as_millisecond().div_euclid(len) * len;
    let start = Timestamp::from_millisecond(start_ms).unwrap_or(at);
    (start, start + SignedDuration::from_millis(len))
}

pub fn digest_key(environment: &str, start: Timestamp) -> String {
    format!("digest/{environment}/{}", start.as_millisecond())
}

impl Default for DigestDoc {
    fn default() -> Self {
        DigestDoc::new("", Timestamp::UNIX_EPOCH, Timestamp::UNIX_EPOCH)
    }
}

impl DigestDoc {
    pub fn new(environment: &str, start: Timestamp, end: Timestamp) -> DigestDoc {
        DigestDoc {
            environment: environment.to_string(),
            start,
            end,
            lines: Vec::new(),
            more: 0,
            recoveries_only: true,
            closed: false,
            outgoing: Vec::new(),
        }
    }

    /// Adds a line (once per id); false when the window was already flushed.
    pub fn add(&mut self, line: DigestLine) -> bool {
        if self.closed {
            return false;
        }
        if self.lines.iter().any(|l| l.id == line.id) {
            return true;
        }
        self.recoveries_only &= line.recovery;
        if self.lines.len() < DIGEST_LINES_KEPT {
            self.lines.push(line);
        } else {
            self.more += 1;
        }
        true
    }

    pub fn due(&self) -> Option<Timestamp> {
        let open = (!self.closed && !self.lines.is_empty()).then_some(self.end);
        open.into_iter()
            .chain(self.outgoing.iter().map(Outgoing::next_at))
            .min()
    }

    /// Closes the window once it has passed, queueing its message; claims what waits.
    pub fn flush(&mut self, now: Timestamp, claim_until: Timestamp) -> Vec<String> {
        let mut ids = self.claim_waiting(now, claim_until);
        if !self.closed && now >= self.end && !self.lines.is_empty() {
            self.closed = true;
            let id = format!("digest/{}#1", self.start.as_millisecond());
            self.outgoing.push(Outgoing {
                id: id.clone(),
                source: String::new(),
                route: Route::Slack,
                payload: render_digest(self),
                created_at: now,
                claimed_until: Some(claim_until),
                retry_at: None,
                attempts: 0,
            });
            ids.push(id);
        }
        ids
    }

    fn claim_waiting(&mut self, now: Timestamp, claim_until: Timestamp) -> Vec<String> {
        self.outgoing
            .iter_mut()
            .filter(|o| o.claimable(now) && o.next_at() <= now)
            .map(|o| {
                o.claimed_until = Some(claim_until);
                o.id.clone()
            })
            .collect()
    }
}

/// The digest message: one line per notice of the window.
pub fn render_digest(digest: &DigestDoc) -> Value {
    let count = digest.lines.len() as u64 + digest.more;
    let window = Duration::between(digest.start, digest.end);
    let noun = if count == 1 {
        "notification"
    } else {
        "notifications"
    };
    let title = format!(
        "{count} {noun} in {} ({}–{})",
        window_words(window),
        digest.start.strftime("%H:%M"),
        clock(digest.end)
    );
    let colour = if digest.recoveries_only {
        GREEN
    } else {
        environment_colour(&digest.environment)
    };
    let mut message = Message::new(
        &format!(
            "[{}] Digest: {}",
            escape(&digest.environment),
            escape(&title)
        ),
        colour,
    );
    message.header(&format!("🗞️ {} digest: {title}", digest.environment));
    let mut lines: Vec<String> = digest.lines.iter().map(|l| l.text.clone()).collect();
    if digest.more > 0 {
        lines.push(format!("_… and {} more_", digest.more));
    }
    message.lines(&lines);
    message.context(&format!(
        "jobwatch · digest of {} · {} to {}",
        escape(&digest.environment),
        when(digest.start),
        when(digest.end)
    ));
    message.into_payload()
}
