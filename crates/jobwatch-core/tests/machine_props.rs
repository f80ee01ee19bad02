//! Property tests of the job state machine: whatever pings arrive, in whatever order and with
//! whatever retries, and however often (or rarely) sweeps run, the alerts tell a consistent
//! story: down and recovered alternate, a retry changes nothing, and the alerts and final
//! state do not depend on when sweeps happened.

use jiff::{SignedDuration, Timestamp};
use jobwatch_core::machine::{advance, apply_ping, pause, redefine, resume};
use jobwatch_core::{
    AlertEvent, AlertKind, BadRuns, Ctx, Health, JobDoc, JobSpec, JobState, Ping, PingEvent, Run,
    Schedule, Slug,
};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    Ping {
        event: PingEvent,
        rid: Option<u8>,
        body: bool,
    },
    Sweep,
}

fn spec_strategy() -> impl Strategy<Value = JobSpec> {
    let schedule = prop_oneof![
        Just((None, Some("1m"))),
        Just((None, Some("5m"))),
        Just((None, Some("1h"))),
        Just((Some("*/5 * * * *"), None)),
        Just((Some("0 * * * *"), None)),
        Just((Some("30 2 * * *"), None)),
    ];
    (
        schedule,
        prop_oneof![Just("0s"), Just("1m"), Just("5m")],
        prop_oneof![Just("2m"), Just("30m"), Just("2h")],
        prop::option::of(prop_oneof![Just("10s"), Just("1m")]),
        1u32..=3,
        1u32..=2,
    )
        .prop_map(
            |((cron, every), grace, max_runtime, min_runtime, failures, recoveries)| {
                let doc = JobDoc {
                    schedule: cron.map(str::to_string),
                    tz: cron.map(|_| "America/New_York".to_string()),
                    every: every.map(|e| e.parse().expect("period")),
                    grace: Some(grace.parse().expect("grace")),
                    max_runtime: Some(max_runtime.parse().expect("max")),
                    min_runtime: min_runtime.map(|m| m.parse().expect("min")),
                    failure_threshold: Some(failures),
                    recovery_threshold: Some(recoveries),
                    ..JobDoc::default()
                };
                doc.into_spec(Slug::parse("job").expect("slug"))
                    .expect("valid spec")
            },
        )
}

fn step_strategy() -> impl Strategy<Value = (u32, Step)> {
    let event = prop_oneof![
        3 => Just(PingEvent::Start),
        3 => Just(PingEvent::Success),
        1 => Just(PingEvent::Fail),
        1 => (0u8..=3).prop_map(PingEvent::Exit),
        1 => Just(PingEvent::Log),
    ];
    let step = prop_oneof![
        4 => (event, prop::option::of(0u8..4), any::<bool>()).prop_map(|(event, rid, body)| Step::Ping { event, rid, body }),
        1 => Just(Step::Sweep),
    ];
    // Seconds since the previous step: mostly short, sometimes hours (missed runs, timeouts).
    let gap = prop_oneof![4 => 0u32..120, 2 => 0u32..1_800, 1 => 0u32..14_400];
    (gap, step)
}

fn rid(n: u8) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// Plays `steps` on a fresh job; sweeps are skipped when `with_sweeps` is false (pings then
/// catch up by themselves). Returns every alert and the final state after a last sweep.
fn play(spec: &JobSpec, steps: &[(u32, Step)], with_sweeps: bool) -> (Vec<AlertEvent>, JobState) {
    let start: Timestamp = "2026-03-07T00:00:00Z".parse().expect("start");
    let mut state = JobState::new(spec, start);
    let mut now = start;
    let mut alerts = Vec::new();
    for (gap, step) in steps {
        now += SignedDuration::from_secs(i64::from(*gap));
        let ctx = Ctx::new("prop", now);
        match step {
            Step::Sweep if with_sweeps => alerts.extend(advance(spec, &mut state, ctx).alerts),
            Step::Sweep => {}
            Step::Ping {
                event,
                rid: r,
                body,
            } => {
                let ping = Ping {
                    event: *event,
                    rid: r.map(rid),
                    body: body.then(|| "some output".to_string()),
                    source: None,
                };
                alerts.extend(apply_ping(spec, &mut state, &ping, ctx).effects.alerts);
            }
        }
    }
    let end = now + SignedDuration::from_hours(1);
    alerts.extend(advance(spec, &mut state, Ctx::new("prop", end)).alerts);
    (alerts, state)
}

fn is_down_kind(kind: AlertKind) -> bool {
    kind.is_outage()
}

/// The alerts that change the job's health: outages and recoveries (not warnings/reminders).
fn transitions(alerts: &[AlertEvent]) -> Vec<&AlertEvent> {
    alerts
        .iter()
        .filter(|a| a.kind.is_outage() || a.kind == AlertKind::Recovered)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn down_and_recovered_alternate_and_match_the_health(spec in spec_strategy(), steps in prop::collection::vec(step_strategy(), 0..60)) {
        let (all, state) = play(&spec, &steps, true);
        let alerts = transitions(&all);
        for pair in alerts.windows(2) {
            prop_assert_ne!(is_down_kind(pair[0].kind), is_down_kind(pair[1].kind), "two alerts of one polarity in a row: {:?}", alerts);
        }
        if let Some(first) = alerts.first() {
            prop_assert!(is_down_kind(first.kind), "a recovery needs an outage first");
        }
        let last_down = alerts.last().is_some_and(|a| is_down_kind(a.kind));
        prop_assert_eq!(state.health == Health::Down, last_down);
        let mut ids: Vec<&str> = all.iter().map(|a| a.id.as_str()).collect();
        ids.sort_unstable();
        let before = ids.len();
        ids.dedup();
        prop_assert_eq!(before, ids.len(), "alert ids are unique");
    }

    #[test]
    fn alerts_and_state_do_not_depend_on_when_sweeps_run(spec in spec_strategy(), steps in prop::collection::vec(step_strategy(), 0..60)) {
        let (swept, swept_state) = play(&spec, &steps, true);
        let (lazy, lazy_state) = play(&spec, &steps, false);
        let key = |a: &AlertEvent| (a.kind, a.at, a.run_id.clone(), a.id.clone());
        prop_assert_eq!(swept.iter().map(key).collect::<Vec<_>>(), lazy.iter().map(key).collect::<Vec<_>>());
        prop_assert_eq!(swept_state, lazy_state);
    }

    /// A retry changes nothing beyond what the passing time does by itself (a reminder may fall
    /// due between the ping and its retry).
    #[test]
    fn a_retried_ping_changes_nothing(spec in spec_strategy(), steps in prop::collection::vec(step_strategy(), 0..40), retry_gap in 0u32..5) {
        let (_, mut state) = play(&spec, &steps, true);
        let now: Timestamp = "2026-04-01T00:00:00Z".parse().expect("now");
        let ctx = Ctx::new("prop", now);
        advance(&spec, &mut state, ctx);
        let ping = Ping { event: PingEvent::Fail, rid: Some(rid(9)), body: None, source: None };
        apply_ping(&spec, &mut state, &ping, ctx);
        let later = Ctx::new("prop", now + SignedDuration::from_secs(i64::from(retry_gap)));
        let mut without_retry = state.clone();
        let time_alone = advance(&spec, &mut without_retry, later);
        let retry = apply_ping(&spec, &mut state, &ping, later);
        prop_assert!(retry.duplicate);
        prop_assert_eq!(retry.effects, time_alone);
        prop_assert_eq!(state, without_retry);
    }

    /// The window of remembered pings is short (hashes, so the stored state stays small), but
    /// long enough: a retry after up to `SEEN_WINDOW - 1` other pings is still recognised, and
    /// a ping never seen is never taken for a retry.
    #[test]
    fn a_retry_is_recognised_across_the_whole_seen_window(spec in spec_strategy(), others in 0usize..jobwatch_core::machine::SEEN_WINDOW, event_pick in 0u8..3) {
        let now: Timestamp = "2027-01-01T00:00:00Z".parse().expect("now");
        let mut state = jobwatch_core::JobState::new(&spec, now);
        let event = [PingEvent::Start, PingEvent::Success, PingEvent::Fail][usize::from(event_pick)];
        let ping = Ping { event, rid: Some("retried-run".into()), body: None, source: None };
        let first = apply_ping(&spec, &mut state, &ping, Ctx::new("prop", now));
        prop_assert!(!first.duplicate);
        for n in 0..others {
            let other = Ping { event: PingEvent::Start, rid: Some(format!("other-run-{n}")), body: None, source: None };
            let later = Ctx::new("prop", now + SignedDuration::from_secs(1 + n as i64));
            prop_assert!(!apply_ping(&spec, &mut state, &other, later).duplicate, "a new ping is never a retry");
        }
        let retry_at = Ctx::new("prop", now + SignedDuration::from_secs(1 + others as i64));
        let seen_before = state.seen.clone();
        let retry = apply_ping(&spec, &mut state, &ping, retry_at);
        prop_assert!(retry.duplicate);
        prop_assert_eq!(state.seen, seen_before, "a retry is not remembered again");
    }

    #[test]
    fn after_advancing_no_deadline_is_left_in_the_past(spec in spec_strategy(), steps in prop::collection::vec(step_strategy(), 0..40)) {
        let (_, mut state) = play(&spec, &steps, true);
        let now: Timestamp = "2026-06-01T00:00:00Z".parse().expect("now");
        let ctx = Ctx::new("prop", now);
        advance(&spec, &mut state, ctx);
        prop_assert!(state.next_deadline(&spec).is_none_or(|d| d > now));
        let again = state.clone();
        prop_assert!(advance(&spec, &mut state, ctx).is_empty(), "advancing twice to the same time does nothing more");
        prop_assert_eq!(state, again);
    }
}

/// A step of the counting scenarios: pings and sweeps, plus pauses and redefinitions.
#[derive(Debug, Clone)]
enum LifeStep {
    Step(Step),
    Pause,
    Resume,
    /// Switches between the job's schedule and a five-minute cron (same grace and limits).
    Redefine,
}

fn life_strategy() -> impl Strategy<Value = (u32, LifeStep)> {
    let step = prop_oneof![
        12 => step_strategy().prop_map(|(_, step)| LifeStep::Step(step)),
        1 => Just(LifeStep::Pause),
        1 => Just(LifeStep::Resume),
        1 => Just(LifeStep::Redefine),
    ];
    // At least a second apart, so "since" and "until" order the records unambiguously.
    let gap = prop_oneof![4 => 1u32..120, 2 => 1u32..1_800, 1 => 1u32..14_400];
    (gap, step)
}

/// The bad runs recorded in `[since, until]`: each number's latest record, as a store keeps it.
fn recorded_between(runs: &[Run], spec: &JobSpec, since: Timestamp, until: Timestamp) -> BadRuns {
    let mut latest: std::collections::BTreeMap<u64, &Run> = std::collections::BTreeMap::new();
    for run in runs {
        latest.insert(run.seq, run);
    }
    BadRuns::count(latest.into_values().filter(|r| {
        r.turned_bad_at(spec.grace, spec.max_runtime)
            .is_some_and(|at| since <= at && at <= until)
    }))
}

/// One truth for counts: whatever happens (pings, sweeps, pauses, redefinitions), an
/// outage's counts in its still-down and recovered alerts, and in the state while it lasts,
/// are exactly the bad runs recorded in its window.
fn counts_agree(spec: &JobSpec, steps: &[(u32, LifeStep)]) -> Result<(), TestCaseError> {
    let spec = spec.clone();
    let other: JobSpec = JobDoc {
        schedule: Some("*/5 * * * *".into()),
        tz: Some("UTC".into()),
        ..JobDoc::default()
    }
    .into_spec(Slug::parse("job").expect("slug"))
    .expect("spec");
    let mut alternate = spec.clone();
    alternate.schedule = other.schedule.clone();
    let start: Timestamp = "2026-03-07T00:00:00Z".parse().expect("start");
    let mut current = spec.clone();
    let mut state = JobState::new(&current, start);
    let (mut now, mut runs) = (start, Vec::new());
    for (gap, step) in steps {
        now += SignedDuration::from_secs(i64::from(*gap));
        let ctx = Ctx::new("prop", now);
        // What time does by itself comes first, then what the step does: an alert is
        // checked against the records made up to it, not those of a ping at the same instant.
        let mut batches = vec![advance(&current, &mut state, ctx)];
        match step {
            LifeStep::Step(Step::Sweep) => {}
            LifeStep::Step(Step::Ping {
                event,
                rid: r,
                body,
            }) => {
                let ping = Ping {
                    event: *event,
                    rid: r.map(rid),
                    body: body.then(|| "out".to_string()),
                    source: None,
                };
                batches.push(apply_ping(&current, &mut state, &ping, ctx).effects);
            }
            LifeStep::Pause => pause(&mut state, now, None),
            LifeStep::Resume => resume(&current, &mut state, now),
            LifeStep::Redefine => {
                let next = if matches!(current.schedule, Schedule::Cron { .. })
                    && current.schedule == alternate.schedule
                {
                    spec.clone()
                } else {
                    alternate.clone()
                };
                redefine(&current, &next, &mut state, now);
                current = next;
            }
        }
        for fx in batches {
            runs.extend(fx.runs);
            for alert in fx
                .alerts
                .iter()
                .filter(|a| matches!(a.kind, AlertKind::Recovered | AlertKind::StillDown))
            {
                let outage = alert.outage.as_ref().expect("an outage summary");
                let recorded = recorded_between(&runs, &spec, outage.since, alert.at);
                prop_assert_eq!(
                    (outage.runs_missed, outage.runs_failed),
                    (recorded.missed, recorded.failed),
                    "{} at {}: the alert's counts are not the records'",
                    alert.kind,
                    alert.at
                );
            }
        }
    }
    if let (Health::Down, Some(streak)) = (state.health, &state.streak) {
        let recorded = recorded_between(&runs, &spec, streak.since, now);
        prop_assert_eq!(
            (streak.runs_missed, streak.runs_failed),
            (recorded.missed, recorded.failed)
        );
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn outage_counts_are_the_runs_recorded_in_the_outage(spec in spec_strategy(), steps in prop::collection::vec(life_strategy(), 0..60)) {
        counts_agree(&spec, &steps)?;
    }
}

/// Found by the property: a ping at the very instant of a still-down reminder. The reminder
/// counts what was recorded by then; the ping's failure is counted after it.
#[test]
fn a_failure_at_the_instant_of_a_reminder_is_counted_after_it() {
    let spec: JobSpec = JobDoc {
        every: Some("1m".parse().expect("period")),
        grace: Some("1m".parse().expect("grace")),
        max_runtime: Some("2m".parse().expect("max")),
        failure_threshold: Some(3),
        recovery_threshold: Some(2),
        ..JobDoc::default()
    }
    .into_spec(Slug::parse("job").expect("slug"))
    .expect("spec");
    let ping = |event| {
        LifeStep::Step(Step::Ping {
            event,
            rid: None,
            body: false,
        })
    };
    let mut steps = vec![
        (1, ping(PingEvent::Fail)),
        (1, ping(PingEvent::Fail)),
        (1, ping(PingEvent::Fail)),
    ];
    for gap in [17, 17, 20, 98, 554, 9745, 4296, 8] {
        steps.push((gap, ping(PingEvent::Start)));
    }
    // Down at 00:00:03: reminders every 4 hours; the last ping lands on the second one.
    steps.push((75 + 35, LifeStep::Resume));
    steps.push((13935, ping(PingEvent::Fail)));
    counts_agree(&spec, &steps).expect("counts agree");
}
