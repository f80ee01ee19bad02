//! Alert-fatigue control for one dedupe key (environment + job + kind, or alarm + state), as
//! a pure state machine over an injected `now`:
//!
//! - the first occurrence goes at once, and opens a window (default 5 minutes);
//! - later occurrences are held (counted); when the window's count reaches the threshold
//!   (default 3) one summary goes at once ("failed 3 times in 5 minutes");
//! - every 10th occurrence of a storm that goes on is escalated (a summary with `@channel`);
//! - occurrences still held when their window closes are summarised then: the caller flushes
//!   them ([`flush`]) at [`Streak::due`], or the next occurrence does;
//! - a recovery closes the streak, summarising anything still held ([`close`]);
//! - after a whole window without occurrences the streak is quiet and the next occurrence is a
//!   first one again.
//!
//! Every occurrence is therefore in exactly one message: nothing held is ever dropped.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::policy::Fatigue;

/// The state of one dedupe key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Streak {
    /// The first occurrence (the one posted at once).
    pub opened_at: Timestamp,
    pub last_at: Timestamp,
    /// Occurrences since `opened_at`.
    pub total: u64,
    pub window_start: Timestamp,
    /// Occurrences in the current window.
    pub in_window: u32,
    /// Whether this window's threshold summary went.
    pub summarised: bool,
    /// Occurrences in no message yet, and the first of them.
    pub held: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub held_since: Option<Timestamp>,
}

/// Why a summary goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SummaryReason {
    /// The window's count reached the threshold.
    Threshold,
    /// The storm reached another multiple of `escalate_every`.
    Escalation,
    /// The window closed with occurrences held.
    WindowClosed,
    /// A recovery closed the streak with occurrences held.
    Closed,
}

/// What one summary message reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub reason: SummaryReason,
    /// Occurrences this message is the first to report.
    pub held: u32,
    /// Occurrences in the current window, and its length.
    pub in_window: u32,
    pub window: jobwatch_core::Duration,
    /// Occurrences since the streak opened, and when it did.
    pub total: u64,
    pub opened_at: Timestamp,
    /// The first and last of the occurrences reported.
    pub from: Timestamp,
    pub to: Timestamp,
}

/// What to do with one occurrence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Post the occurrence itself.
    First,
    /// Counted; reported by a later summary.
    Held,
    /// Post this summary (it covers the occurrence).
    Summary(Summary),
}

fn window_end(streak: &Streak, cfg: &Fatigue) -> Timestamp {
    streak.window_start + cfg.window.to_signed()
}

impl Streak {
    fn open(now: Timestamp) -> Streak {
        Streak {
            opened_at: now,
            last_at: now,
            total: 1,
            window_start: now,
            in_window: 1,
            summarised: false,
            held: 0,
            held_since: None,
        }
    }

    /// When held occurrences must be flushed (their window's end), if any are held.
    pub fn due(&self, cfg: &Fatigue) -> Option<Timestamp> {
        (self.held > 0).then(|| window_end(self, cfg))
    }

    /// A whole window without occurrences: the next one starts afresh.
    pub fn is_quiet(&self, now: Timestamp, cfg: &Fatigue) -> bool {
        now >= self.last_at + cfg.window.to_signed()
    }

    fn summary(&mut self, reason: SummaryReason, cfg: &Fatigue) -> Summary {
        let summary = Summary {
            reason,
            held: self.held,
            in_window: self.in_window,
            window: cfg.window,
            total: self.total,
            opened_at: self.opened_at,
            from: self.held_since.unwrap_or(self.last_at),
            to: self.last_at,
        };
        self.held = 0;
        self.held_since = None;
        summary
    }
}

/// Counts one occurrence at `now`. Returns the new state, the verdict, and a summary of
/// occurrences held from a window that has closed (to post first), if any.
pub fn observe(
    streak: Option<Streak>,
    now: Timestamp,
    cfg: &Fatigue,
) -> (Streak, Verdict, Option<Summary>) {
    let Some(mut streak) = streak else {
        return (Streak::open(now), Verdict::First, None);
    };
    let overdue = flush(&mut streak, now, cfg);
    if streak.is_quiet(now, cfg) {
        return (Streak::open(now), Verdict::First, overdue);
    }
    if now >= window_end(&streak, cfg) {
        streak.window_start = now;
        streak.in_window = 0;
        streak.summarised = false;
    }
    streak.in_window += 1;
    streak.total += 1;
    streak.last_at = now.max(streak.last_at);
    streak.held += 1;
    streak.held_since.get_or_insert(now);
    let verdict = if streak.total.is_multiple_of(cfg.escalate_every.max(2)) {
        Verdict::Summary(streak.summary(SummaryReason::Escalation, cfg))
    } else if !streak.summarised && streak.in_window >= cfg.threshold {
        streak.summarised = true;
        Verdict::Summary(streak.summary(SummaryReason::Threshold, cfg))
    } else {
        Verdict::Held
    };
    (streak, verdict, overdue)
}

/// The summary of occurrences held in a window that has closed by `now`, if any.
pub fn flush(streak: &mut Streak, now: Timestamp, cfg: &Fatigue) -> Option<Summary> {
    let due = streak.due(cfg)?;
    (now >= due).then(|| streak.summary(SummaryReason::WindowClosed, cfg))
}

/// Closes the streak (a recovery): the summary of what is still held, if anything.
pub fn close(mut streak: Streak, cfg: &Fatigue) -> Option<Summary> {
    (streak.held > 0).then(|| streak.summary(SummaryReason::Closed, cfg))
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::SignedDuration;

    fn at(secs: i64) -> Timestamp {
        "2026-01-15T03:00:00Z".parse::<Timestamp>().expect("time") + SignedDuration::from_secs(secs)
    }

    #[test]
    fn first_goes_repeats_are_held_the_threshold_summarises() {
        let cfg = Fatigue::default();
        let (s, v, _) = observe(None, at(0), &cfg);
        assert_eq!(v, Verdict::First);
        let (s, v, _) = observe(Some(s), at(30), &cfg);
        assert_eq!(v, Verdict::Held);
        assert_eq!(s.due(&cfg), Some(at(300)));
        let (s, v, _) = observe(Some(s), at(60), &cfg);
        let Verdict::Summary(summary) = v else {
            panic!("summary expected: {v:?}")
        };
        assert_eq!(
            (
                summary.reason,
                summary.held,
                summary.in_window,
                summary.from,
                summary.to
            ),
            (SummaryReason::Threshold, 2, 3, at(30), at(60))
        );
        assert_eq!(s.due(&cfg), None, "nothing held after a summary");
        let (mut s, v, _) = observe(Some(s), at(90), &cfg);
        assert_eq!(v, Verdict::Held, "one summary per window");
        assert_eq!(
            flush(&mut s, at(299), &cfg),
            None,
            "not before the window closes"
        );
        let flushed = flush(&mut s, at(300), &cfg).expect("flushed at the window's end");
        assert_eq!(
            (flushed.reason, flushed.held, flushed.total),
            (SummaryReason::WindowClosed, 1, 4)
        );
        assert_eq!(s.due(&cfg), None);
    }

    #[test]
    fn a_quiet_window_starts_afresh_and_a_late_flush_comes_first() {
        let cfg = Fatigue::default();
        let (s, _, _) = observe(None, at(0), &cfg);
        let (s, v, _) = observe(Some(s), at(10), &cfg);
        assert_eq!(v, Verdict::Held);
        let (s, v, overdue) = observe(Some(s), at(1_000), &cfg);
        assert_eq!(v, Verdict::First, "quiet for a whole window");
        assert_eq!(
            overdue.map(|o| (o.reason, o.held)),
            Some((SummaryReason::WindowClosed, 1))
        );
        assert_eq!((s.total, s.opened_at), (1, at(1_000)));
    }

    #[test]
    fn recoveries_summarise_what_is_held() {
        let cfg = Fatigue::default();
        let (s, _, _) = observe(None, at(0), &cfg);
        let (s, _, _) = observe(Some(s), at(10), &cfg);
        assert_eq!(
            close(s.clone(), &cfg).map(|c| (c.reason, c.held)),
            Some((SummaryReason::Closed, 1))
        );
        let (s, _, _) = observe(None, at(0), &cfg);
        assert_eq!(close(s, &cfg), None);
    }
}
