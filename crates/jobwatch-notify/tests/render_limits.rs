//! Whatever a job's output or description holds, the Slack message stays within Slack's
//! limits (checked by the same rules the test Slack receiver enforces) and its mrkdwn cannot
//! be hijacked by `<`, `>` or `&`.

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, AlertKind, JobDoc, OutageSummary, Severity, Slug};
use jobwatch_notify::{console_line, render_slack};
use jobwatch_testkit::slack::check_slack_limits;
use proptest::prelude::*;

const KINDS: [AlertKind; 9] = [
    AlertKind::Failed,
    AlertKind::Missed,
    AlertKind::TimedOut,
    AlertKind::TooShort,
    AlertKind::Recovered,
    AlertKind::Late,
    AlertKind::Slow,
    AlertKind::StillDown,
    AlertKind::Report,
];

fn event(kind: AlertKind, text: &str, environment: &str) -> AlertEvent {
    let doc = JobDoc {
        every: Some("1h".parse().expect("period")),
        description: Some(text.chars().take(1000).collect()),
        ..JobDoc::default()
    };
    let spec = doc
        .into_spec(Slug::parse("backup").expect("slug"))
        .expect("spec");
    let at: Timestamp = "2026-01-15T03:05:00Z".parse().expect("time");
    let mut event = AlertEvent::new(kind, &spec, environment, at, at);
    event.severity = Severity::Critical;
    event.run_id = Some(text.to_string());
    event.exit_code = Some(3);
    event.duration_ms = Some(61_000);
    event.started_at = Some(at);
    event.finished_at = Some(at);
    event.expected_at = Some(at);
    event.output_excerpt = Some(text.to_string());
    event.outage =
        matches!(kind, AlertKind::Recovered | AlertKind::StillDown).then(|| OutageSummary {
            since: at,
            duration_ms: 3_600_000,
            runs_missed: 2,
            runs_failed: 1,
            last_error: Some(text.to_string()),
        });
    event
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn every_kind_stays_within_slack_limits(text in "\\PC{0,300}", repeat in 1usize..60, kind in 0usize..KINDS.len()) {
        let long = text.repeat(repeat);
        let payload = render_slack(&event(KINDS[kind], &long, "prod"));
        prop_assert_eq!(check_slack_limits(&payload), Ok(()));
        let line = console_line(&event(KINDS[kind], &long, "prod"));
        prop_assert!(!line.is_empty());
    }
}

#[test]
fn a_10000_character_output_with_control_characters_is_cut_and_escaped() {
    let nasty = format!(
        "{}<!channel> & <https://evil|click> ```done```",
        "x".repeat(10_000)
    );
    for kind in KINDS {
        let payload = render_slack(&event(kind, &nasty, "staging"));
        assert_eq!(check_slack_limits(&payload), Ok(()), "{kind}");
        let json = serde_json::to_string(&payload).expect("json");
        assert!(
            !json.contains("<!channel> &"),
            "user text never mentions @channel: {kind}"
        );
        assert!(json.contains("&lt;!channel&gt; &amp;"), "escaped: {kind}");
        assert!(!json.contains("<https://evil"), "no injected links: {kind}");
    }
}

#[test]
fn critical_alerts_mention_the_channel_and_colours_follow_the_environment() {
    let failed = render_slack(&event(AlertKind::Failed, "boom", "prod"));
    assert!(
        failed["text"]
            .as_str()
            .is_some_and(|t| t.starts_with("<!channel> [prod] backup failed (exit status 3)"))
    );
    assert_eq!(failed["attachments"][0]["color"], "#FF0000");
    assert_eq!(
        render_slack(&event(AlertKind::Missed, "x", "staging"))["attachments"][0]["color"],
        "#FFA500"
    );
    assert_eq!(
        render_slack(&event(AlertKind::Missed, "x", "dev"))["attachments"][0]["color"],
        "#0000FF"
    );
    assert_eq!(
        render_slack(&event(AlertKind::Missed, "x", "qa"))["attachments"][0]["color"],
        "#808080"
    );
    let recovered = render_slack(&event(AlertKind::Recovered, "x", "prod"));
    assert_eq!(recovered["attachments"][0]["color"], "#2EB67D");
    assert!(
        !recovered["text"]
            .as_str()
            .unwrap_or_default()
            .contains("<!channel>"),
        "recoveries do not page"
    );
}
