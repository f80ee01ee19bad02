//! The notification decisions, pure, with an injected `now`: for each notice, whether it is
//! posted, held in a fatigue streak for a summary, or digested; what a flush sends when a
//! window closes. They update the stored documents of `crate::stored` (re-exported here).

use crate::fatigue::{self, Summary, SummaryReason, Verdict};
use crate::flapping::{Change, FlapReport, FlapSubject, FlapVerdict, Flushed};
use crate::incoming::{Incoming, Notice};
use crate::message::escape;
use crate::policy::{Class, Delivery, Policy};
pub use crate::render::{digest_text, render_digest, render_summary, summary_headline};
use crate::render::{flap_console_line, render_flap};
pub use crate::stored::*;
use jiff::Timestamp;

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
    /// Into a group message of simultaneous trouble (`crate::grouping`).
    Grouped,
}

impl Action {
    /// The action's name in logs and metrics.
    pub fn name(self) -> &'static str {
        match self {
            Action::LogOnly => "log_only",
            Action::Duplicate => "duplicate",
            Action::InFlight => "in_flight",
            Action::Held => "held",
            Action::Posted => "posted",
            Action::Digested => "digested",
            Action::Grouped => "grouped",
        }
    }
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
    match delivery {
        Delivery::Digest(_) => Action::Digested,
        Delivery::Group(_) => Action::Grouped,
        _ => Action::Posted,
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
    let change = health_change(notice, now);
    // Flapping is watched wherever changes are posted one by one (at once, or in a group of
    // simultaneous trouble); a digest already batches them.
    if let (Some(change), Notice::Alert(event), Delivery::Now { .. } | Delivery::Group(_)) =
        (&change, notice, delivery)
    {
        let flapping = policy.flapping_of(&event.job.flapping);
        doc.flaps.subject = Some(FlapSubject {
            job: event.job.slug.clone(),
            environment: environment.clone(),
            severity: notice.severity(),
            tz: event.job.tz.clone(),
            flapping,
        });
        match doc
            .flaps
            .observe(change.clone(), notice.render(deployment), &flapping)
        {
            FlapVerdict::Pass => {}
            FlapVerdict::Held => return (Action::Held, ids),
            FlapVerdict::Report(report) => {
                // A report is about one job: posted on its own, never into a group.
                let delivery = match delivery {
                    Delivery::Group(_) => Delivery::Now { critical: false },
                    other => other,
                };
                let ids = send_flap_report(doc, &report, delivery, now, claim_until);
                return (Action::Posted, ids);
            }
        }
    }
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
            ids.extend(close_streaks(doc, policy, now, claim_until));
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
    if change.is_some_and(|c| c.down) && action == Action::Posted {
        doc.flaps.outage_posted(now);
    }
    (action, ids)
}

/// A change of a job's health, which flapping control watches: an outage or a recovery.
fn health_change(notice: &Notice, now: Timestamp) -> Option<Change> {
    let Notice::Alert(event) = notice else {
        return None;
    };
    let down = event.kind.is_outage();
    if !down && event.kind != jobwatch_core::AlertKind::Recovered {
        return None;
    }
    let verb = notice
        .kind_view()
        .map(|view| view.verb)
        .unwrap_or_else(|| event.kind.as_str().replace('_', " "));
    Some(Change {
        at: now,
        down,
        verb,
    })
}

/// Closes every fatigue streak of the subject (it recovered), reporting what they held first.
fn close_streaks(
    doc: &mut SubjectDoc,
    policy: &Policy,
    now: Timestamp,
    claim_until: Timestamp,
) -> Vec<String> {
    let mut ids = Vec::new();
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
    ids
}

/// Queues a flapping report about the subject's job.
fn send_flap_report(
    doc: &mut SubjectDoc,
    report: &FlapReport,
    delivery: Delivery,
    now: Timestamp,
    claim_until: Timestamp,
) -> Vec<String> {
    let Some(subject) = doc.flaps.subject.clone() else {
        return Vec::new();
    };
    let line = DigestLine {
        id: format!(
            "flapping/{}/{}",
            subject.job,
            report.last.at.as_millisecond()
        ),
        at: report.last.at,
        text: escape(&flap_console_line(
            &subject.job,
            &subject.environment,
            report,
        )),
        recovery: !report.last.down,
    };
    tracing::info!(
        job = %subject.job,
        line = %flap_console_line(&subject.job, &subject.environment, report),
        "flapping"
    );
    doc.send(
        "",
        delivery,
        render_flap(
            &subject.job,
            &subject.environment,
            subject.tz.as_deref(),
            report,
        ),
        line,
        now,
        claim_until,
    )
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
    let flapping = doc.flaps.settings();
    if let Some(flushed) = doc.flaps.flush(now, &flapping)
        && let Some(subject) = doc.flaps.subject.clone()
    {
        let class = match &flushed {
            Flushed::Message(_) => Class::Recovery,
            Flushed::Report(report) if !report.last.down => Class::Recovery,
            Flushed::Report(_) => Class::Problem,
        };
        let delivery = match policy.delivery(&subject.environment, subject.severity, class) {
            Delivery::LogOnly => Delivery::LogOnly,
            // Held changes were decided for posting at once; so is what reports them.
            _ => Delivery::Now {
                critical: subject.severity == jobwatch_core::Severity::Critical,
            },
        };
        if class == Class::Recovery {
            ids.extend(close_streaks(doc, policy, now, claim_until));
        }
        match flushed {
            Flushed::Message(payload) => {
                let line = DigestLine {
                    id: format!("recovered/{}", subject.job),
                    at: now,
                    text: String::new(),
                    recovery: true,
                };
                ids.extend(doc.send("", delivery, payload, line, now, claim_until));
            }
            Flushed::Report(report) => {
                ids.extend(send_flap_report(doc, &report, delivery, now, claim_until));
            }
        }
    }
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

impl DigestDoc {
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
}
