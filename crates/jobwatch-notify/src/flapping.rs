//! Flapping control for one job, as a pure state machine over an injected `now`. A job's
//! health changes (it goes down, it recovers) are what it watches:
//!
//! - a job that changes more than `threshold` times (default 4) within `window` (default 1
//!   hour) is announced once as **flapping**, then kept quiet until it has been stable (no
//!   change) for `stable` (default 30 minutes), when one message summarises every change
//!   since, and what the job is now;
//! - to see a flap coming, a recovery that follows its outage's message within [`SETTLE`] is
//!   held until `SETTLE` has passed since that message: if nothing else changes, the recovery
//!   itself goes then (at most a minute late); if the job fails again meanwhile, every change
//!   of the burst goes into one message instead of one each.
//!
//! Every change is therefore in exactly one message, and a recovery is never lost: the last
//! message of a burst or a flapping period says what the job is now.

use jiff::Timestamp;
use jobwatch_core::Duration;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How long a recovery soon after its outage's message is held to see whether it lasts (at
/// most; never longer than the fatigue window, which is the same idea for repeats).
pub const SETTLE: Duration = Duration::from_mins(1);

/// Flapping settings: per environment, overridden per job.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flapping {
    /// More changes than this within `window` is flapping; 0 turns flapping control off.
    pub threshold: u32,
    pub window: Duration,
    /// Quiet after a flapping period ends only once the job changed nothing for this long.
    pub stable: Duration,
    /// How long a recovery soon after its outage's message is held ([`SETTLE`]).
    #[serde(default = "settle")]
    pub settle: Duration,
}

fn settle() -> Duration {
    SETTLE
}

impl Default for Flapping {
    fn default() -> Self {
        Flapping {
            threshold: 4,
            window: Duration::from_hours(1),
            stable: Duration::from_mins(30),
            settle: SETTLE,
        }
    }
}

/// One change of a job's health.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub at: Timestamp,
    /// Down (an outage alert) or up again (a recovery).
    pub down: bool,
    /// What happened, in words: `failed`, `missed its run`, `recovered`.
    pub verb: String,
}

/// Why changes are held.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hold {
    /// A recovery soon after its outage, and whatever followed it: until `due`.
    Settling,
    /// Announced as flapping: until the job has been stable for `stable`.
    Flapping,
}

/// Changes held back, and what their message will say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Held {
    pub hold: Hold,
    pub due: Timestamp,
    /// The first change held, and the counts of those held since.
    pub since: Option<Timestamp>,
    pub downs: u32,
    pub ups: u32,
    /// The latest change: what the job is now.
    pub last: Change,
    /// When the flapping period was announced.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flapping_since: Option<Timestamp>,
    /// The held recovery's own message, posted as it is if nothing follows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<Value>,
}

/// What a flush needs to know of the job, kept from its latest change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlapSubject {
    pub job: String,
    pub environment: String,
    pub severity: jobwatch_core::Severity,
    /// The job's zone (cron jobs), which its times are shown in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tz: Option<String>,
    pub flapping: Flapping,
}

/// A job's flapping state, kept in its notification state.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FlapState {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<FlapSubject>,
    /// The latest changes (at most `threshold + 1`, within `window`), oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<Timestamp>,
    /// When the last outage message went: a recovery soon after it is held a little.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outage_posted_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held: Option<Held>,
    /// The direction of the latest change: another outage while down is no flip.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_down: Option<bool>,
}

/// What one message about held changes reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlapReport {
    pub kind: ReportKind,
    /// Changes this message is the first to report, and the first of them.
    pub downs: u32,
    pub ups: u32,
    pub since: Timestamp,
    /// Changes within the window, for the flapping announcement.
    pub in_window: usize,
    pub window: Duration,
    pub stable: Duration,
    /// What the job is now.
    pub last: Change,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportKind {
    /// Flapping from now on: quiet until stable.
    Flapping,
    /// Stable again after flapping.
    Stable,
    /// A short burst (a recovery and what followed within [`SETTLE`]) that did not flap.
    Burst,
}

/// What to do with one change.
#[derive(Debug, Clone, PartialEq)]
pub enum FlapVerdict {
    /// Not flapping: the usual rules post it.
    Pass,
    /// Held for a later message.
    Held,
    /// Post this report instead (it covers the change).
    Report(FlapReport),
}

/// What a flush sends.
#[derive(Debug, Clone, PartialEq)]
pub enum Flushed {
    /// The held recovery's own message.
    Message(Value),
    Report(FlapReport),
}

impl FlapState {
    /// When held changes are to be flushed.
    pub fn due(&self) -> Option<Timestamp> {
        self.held.as_ref().map(|h| h.due)
    }

    /// Nothing worth keeping.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
            && self.outage_posted_at.is_none()
            && self.held.is_none()
            && self.last_down.is_none()
    }

    /// The settings in force: the latest change's (the job's own over its environment's).
    pub fn settings(&self) -> Flapping {
        self.subject
            .as_ref()
            .map(|s| s.flapping)
            .unwrap_or_default()
    }

    fn remember(&mut self, at: Timestamp, cfg: &Flapping) {
        self.changes.push(at);
        let horizon = at - cfg.window.to_signed();
        self.changes.retain(|t| *t > horizon);
        let excess = self
            .changes
            .len()
            .saturating_sub(cfg.threshold as usize + 1);
        self.changes.drain(..excess);
    }

    fn flapping(&self, cfg: &Flapping) -> bool {
        self.changes.len() > cfg.threshold as usize
    }

    /// Observes one change. `message` is the change's own message (posted as is if a held
    /// recovery turns out to last).
    pub fn observe(&mut self, change: Change, message: Value, cfg: &Flapping) -> FlapVerdict {
        if cfg.threshold == 0 {
            return FlapVerdict::Pass;
        }
        let now = change.at;
        let flip = self.last_down != Some(change.down);
        self.last_down = Some(change.down);
        if flip {
            self.remember(now, cfg);
        }
        if let Some(held) = self.held.as_mut() {
            if change.down {
                held.downs += 1;
            } else {
                held.ups += 1;
            }
            held.since.get_or_insert(now);
            held.message = None;
            if held.hold == Hold::Flapping {
                held.due = now + cfg.stable.to_signed();
            }
            held.last = change;
            return FlapVerdict::Held;
        }
        if !flip {
            return FlapVerdict::Pass;
        }
        if self.flapping(cfg) {
            // Flips slower than the settle time still add up: announce, then hold.
            let report = FlapReport {
                kind: ReportKind::Flapping,
                downs: u32::from(change.down),
                ups: u32::from(!change.down),
                since: now,
                in_window: self.changes.len(),
                window: cfg.window,
                stable: cfg.stable,
                last: change.clone(),
            };
            self.held = Some(Held {
                hold: Hold::Flapping,
                due: now + cfg.stable.to_signed(),
                since: None,
                downs: 0,
                ups: 0,
                last: change,
                flapping_since: Some(now),
                message: None,
            });
            return FlapVerdict::Report(report);
        }
        let settling = self
            .outage_posted_at
            .filter(|posted| !change.down && now < *posted + cfg.settle.to_signed());
        if let Some(posted) = settling {
            self.held = Some(Held {
                hold: Hold::Settling,
                due: posted + cfg.settle.to_signed(),
                since: Some(now),
                downs: 0,
                ups: 1,
                last: change,
                flapping_since: None,
                message: Some(message),
            });
            return FlapVerdict::Held;
        }
        FlapVerdict::Pass
    }

    /// Notes that an outage's own message went at `at`.
    pub fn outage_posted(&mut self, at: Timestamp) {
        self.outage_posted_at = Some(at);
    }

    /// What is due at `now`, if anything.
    pub fn flush(&mut self, now: Timestamp, cfg: &Flapping) -> Option<Flushed> {
        let held = self.held.take_if(|h| h.due <= now)?;
        let report = |kind, held: &Held, in_window| FlapReport {
            kind,
            downs: held.downs,
            ups: held.ups,
            since: held.since.unwrap_or(held.last.at),
            in_window,
            window: cfg.window,
            stable: cfg.stable,
            last: held.last.clone(),
        };
        match held.hold {
            Hold::Settling => {
                if let Some(message) = held.message {
                    return Some(Flushed::Message(message));
                }
                let in_window = self.changes.len();
                if self.flapping(cfg) {
                    let flushed = report(ReportKind::Flapping, &held, in_window);
                    self.held = Some(Held {
                        hold: Hold::Flapping,
                        due: held.last.at + cfg.stable.to_signed(),
                        since: None,
                        downs: 0,
                        ups: 0,
                        last: held.last.clone(),
                        flapping_since: Some(now),
                        message: None,
                    });
                    // Still unstable by then: the period goes on quietly.
                    if let Some(next) = self.held.as_mut().filter(|h| h.due <= now) {
                        next.due = now + cfg.stable.to_signed();
                    }
                    return Some(Flushed::Report(flushed));
                }
                Some(Flushed::Report(report(ReportKind::Burst, &held, in_window)))
            }
            Hold::Flapping => {
                self.changes.clear();
                (held.downs + held.ups > 0)
                    .then(|| Flushed::Report(report(ReportKind::Stable, &held, self.changes.len())))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn at(secs: i64) -> Timestamp {
        "2026-01-15T03:00:00Z".parse::<Timestamp>().expect("time") + SignedDuration::from_secs(secs)
    }

    fn change(secs: i64, down: bool) -> Change {
        Change {
            at: at(secs),
            down,
            verb: if down { "failed" } else { "recovered" }.into(),
        }
    }

    fn message(n: i64) -> Value {
        serde_json::json!({ "text": format!("message {n}") })
    }

    #[test]
    fn five_fail_ok_cycles_in_five_seconds_are_the_first_failure_and_one_report() {
        let cfg = Flapping::default();
        let mut state = FlapState::default();
        assert_eq!(
            state.observe(change(0, true), message(0), &cfg),
            FlapVerdict::Pass
        );
        state.outage_posted(at(0));
        for i in 1..10 {
            let down = i % 2 == 0;
            let verdict = state.observe(change(i / 2, down), message(i), &cfg);
            assert_eq!(verdict, FlapVerdict::Held, "change {i}");
        }
        assert_eq!(state.due(), Some(at(60)));
        assert_eq!(state.flush(at(59), &cfg), None);
        let Some(Flushed::Report(report)) = state.flush(at(60), &cfg) else {
            panic!("a report at the end of the settle time")
        };
        assert_eq!(report.kind, ReportKind::Flapping);
        assert_eq!(
            (report.downs, report.ups),
            (4, 5),
            "with the first failure, all ten"
        );
        assert!(!report.last.down, "it ended up");
        // Stable for 30 minutes: nothing new to say, the period ends quietly.
        assert_eq!(state.due(), Some(at(4) + SignedDuration::from_mins(30)));
        assert_eq!(state.flush(at(4 + 1800), &cfg), None);
        assert_eq!(state.held, None);
    }

    #[test]
    fn a_recovery_that_lasts_is_posted_as_itself_a_minute_late_at_most() {
        let cfg = Flapping::default();
        let mut state = FlapState::default();
        state.observe(change(0, true), message(0), &cfg);
        state.outage_posted(at(0));
        assert_eq!(
            state.observe(change(20, false), message(1), &cfg),
            FlapVerdict::Held
        );
        assert_eq!(
            state.flush(at(60), &cfg),
            Some(Flushed::Message(message(1)))
        );
        // A recovery long after the outage goes at once.
        state.observe(change(600, true), message(2), &cfg);
        state.outage_posted(at(600));
        assert_eq!(
            state.observe(change(900, false), message(3), &cfg),
            FlapVerdict::Pass
        );
    }

    #[test]
    fn slow_flips_are_announced_on_the_fifth_and_summarised_once_stable() {
        let cfg = Flapping::default();
        let mut state = FlapState::default();
        for i in 0..4 {
            let verdict = state.observe(change(i * 300, i % 2 == 0), message(i), &cfg);
            assert_eq!(verdict, FlapVerdict::Pass, "change {i}");
        }
        let FlapVerdict::Report(report) = state.observe(change(1200, true), message(4), &cfg)
        else {
            panic!("the fifth change within the hour is flapping")
        };
        assert_eq!((report.kind, report.in_window), (ReportKind::Flapping, 5));
        assert_eq!(
            state.observe(change(1500, false), message(5), &cfg),
            FlapVerdict::Held
        );
        assert_eq!(state.flush(at(1500 + 1799), &cfg), None, "not stable yet");
        let Some(Flushed::Report(stable)) = state.flush(at(1500 + 1800), &cfg) else {
            panic!("stable again")
        };
        assert_eq!(
            (stable.kind, stable.downs, stable.ups, stable.last.down),
            (ReportKind::Stable, 0, 1, false),
            "the recovery that ended the period is reported"
        );
    }

    #[test]
    fn a_threshold_of_zero_turns_it_off() {
        let cfg = Flapping {
            threshold: 0,
            ..Flapping::default()
        };
        let mut state = FlapState::default();
        for i in 0..10 {
            assert_eq!(
                state.observe(change(i, i % 2 == 0), message(i), &cfg),
                FlapVerdict::Pass
            );
        }
    }
}
