//! Golden files: for every fixture event in `tests/golden/<name>.sns.json` (SNS Lambda events
//! as AWS delivers them: each jobwatch alert kind, CloudWatch alarms in every shape, plain
//! text, malformed JSON...), the exact Slack payload the formatter posts for it on its own (a
//! first occurrence, deployment environment `prod`) is checked in as `<name>.slack.json`;
//! summaries, a digest and group messages, built from fixed inputs here, likewise. The test compares and
//! names every file that differs.
//!
//! To regenerate the expected files after an intended change, run
//! `UPDATE_GOLDEN=1 cargo test -p jobwatch-notify --test golden` and review the diff.

use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jobwatch_core::{AlertEvent, AlertKind, Breach, Duration, JobSummary, Severity};
use jobwatch_notify::fatigue::{Summary, SummaryReason};
use jobwatch_notify::flapping::{Change, FlapReport, ReportKind};
use jobwatch_notify::grouping::{GroupDoc, GroupLine};
use jobwatch_notify::render::group::render_group;
use jobwatch_notify::render::render_flap;
use jobwatch_notify::state::{DigestDoc, DigestLine, StreakEntry, render_digest, render_summary};
use jobwatch_notify::{classify, sns_records};
use jobwatch_testkit::slack::check_slack_limits;
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden")
}

fn t(text: &str) -> Timestamp {
    text.parse().expect("time")
}

/// Compares `actual` with the checked-in file (or writes it, with `UPDATE_GOLDEN=1`);
/// returns a complaint when they differ.
fn check(name: &str, actual: &Value) -> Option<String> {
    assert_eq!(
        check_slack_limits(actual),
        Ok(()),
        "{name} within Slack's limits"
    );
    let path = dir().join(format!("{name}.slack.json"));
    let text = serde_json::to_string_pretty(actual).expect("json") + "\n";
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, &text).expect("write golden file");
        return None;
    }
    match std::fs::read_to_string(&path) {
        Ok(expected) if expected == text => None,
        Ok(expected) => Some(format!(
            "{name}: the payload differs from {}\n--- expected\n{expected}\n--- actual\n{text}",
            path.display()
        )),
        Err(_) => Some(format!(
            "{name}: no golden file {} (run with UPDATE_GOLDEN=1 to create it)",
            path.display()
        )),
    }
}

fn payloads_of(fixture: &Path) -> Value {
    let event: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture).expect("read fixture"))
            .expect("fixture is JSON");
    let mut payloads: Vec<Value> = sns_records(&event)
        .iter()
        .map(|record| classify(record).notice.render("prod"))
        .collect();
    if payloads.len() == 1 {
        payloads.remove(0)
    } else {
        Value::Array(payloads)
    }
}

fn entry() -> StreakEntry {
    StreakEntry {
        streak: serde_json::from_value(serde_json::json!({
            "opened_at": "2026-01-15T03:00:00Z", "last_at": "2026-01-15T03:04:00Z",
            "total": 3, "window_start": "2026-01-15T03:00:00Z", "in_window": 3,
            "summarised": true, "held": 0
        }))
        .expect("streak"),
        subject: "nightly-backup".into(),
        verb: "failed".into(),
        icon: "🔴".into(),
        environment: "prod".into(),
        severity: Severity::Error,
    }
}

fn summary(reason: SummaryReason, held: u32, in_window: u32, total: u64) -> Summary {
    Summary {
        reason,
        held,
        in_window,
        window: Duration::from_mins(5),
        total,
        opened_at: t("2026-01-15T03:00:00Z"),
        from: t("2026-01-15T03:01:00Z"),
        to: t("2026-01-15T03:04:00Z"),
    }
}

#[test]
fn every_fixture_renders_exactly_its_golden_payload() {
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(dir())
        .expect("golden dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".sns.json"))
        .collect();
    fixtures.sort();
    assert!(fixtures.len() >= 20, "fixtures found: {}", fixtures.len());
    let mut complaints = Vec::new();
    for fixture in &fixtures {
        let name = fixture
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sns.json"))
            .expect("name");
        complaints.extend(check(name, &payloads_of(fixture)));
    }

    let entry = entry();
    for (name, summary) in [
        (
            "summary-threshold",
            summary(SummaryReason::Threshold, 2, 3, 3),
        ),
        (
            "summary-escalation",
            summary(SummaryReason::Escalation, 6, 8, 10),
        ),
        (
            "summary-window-closed",
            summary(SummaryReason::WindowClosed, 3, 13, 13),
        ),
        ("summary-closed", summary(SummaryReason::Closed, 1, 2, 2)),
    ] {
        complaints.extend(check(name, &render_summary(&entry, &summary)));
    }

    let mut digest = DigestDoc::new(
        "staging",
        t("2026-01-15T03:05:00Z"),
        t("2026-01-15T03:10:00Z"),
    );
    for (id, at, text, recovery) in [
        (
            "a",
            "2026-01-15T03:05:10Z",
            "🔴 nightly-backup failed (exit status 1) · 03:05 UTC",
            false,
        ),
        (
            "b",
            "2026-01-15T03:06:00Z",
            "🚨 jobwatch-staging-missed-runs is in ALARM · 03:06 UTC",
            false,
        ),
        (
            "c",
            "2026-01-15T03:08:30Z",
            "🔴 nightly-backup failed 3 times in 5 minutes",
            false,
        ),
        (
            "d",
            "2026-01-15T03:09:59Z",
            "✅ nightly-backup is back up · 03:09 UTC",
            true,
        ),
    ] {
        digest.add(DigestLine {
            id: id.into(),
            at: t(at),
            text: text.into(),
            recovery,
        });
    }
    complaints.extend(check("digest", &render_digest(&digest)));
    complaints.extend(check("group-problem", &group(false)));
    complaints.extend(check("group-recovered", &group(true)));

    for (name, kind, downs, ups, down_now) in [
        ("flapping-announced", ReportKind::Flapping, 4, 5, false),
        ("flapping-stable", ReportKind::Stable, 2, 1, true),
        ("flapping-burst", ReportKind::Burst, 1, 2, false),
    ] {
        let report = FlapReport {
            kind,
            downs,
            ups,
            since: t("2026-01-15T03:00:01Z"),
            in_window: 5,
            window: Duration::from_hours(1),
            stable: Duration::from_mins(30),
            last: Change {
                at: t("2026-01-15T03:00:05Z"),
                down: down_now,
                verb: if down_now { "failed" } else { "recovered" }.into(),
            },
        };
        complaints.extend(check(
            name,
            &render_flap("nightly-backup", "prod", Some("Europe/Berlin"), &report),
        ));
    }

    assert!(complaints.is_empty(), "{}", complaints.join("\n\n"));
}

/// A closed group of simultaneous trouble (or of the recoveries after it) in prod.
fn group(recovery: bool) -> Value {
    let mut doc = GroupDoc::default();
    let start = t("2026-01-15T03:00:05Z");
    for (i, (slug, tz)) in [
        ("pg-dump-orders", Some("Europe/Berlin")),
        ("pg-dump-users", Some("Europe/Berlin")),
        ("vacuum-analyze", None),
        ("wal-archive-check", Some("America/New_York")),
    ]
    .into_iter()
    .enumerate()
    {
        let kind = match (recovery, i) {
            (true, _) => AlertKind::Recovered,
            (false, 3) => AlertKind::TimedOut,
            _ => AlertKind::Missed,
        };
        let job = JobSummary {
            slug: slug.into(),
            schedule: "0 3 * * *".into(),
            description: String::new(),
            tags: Vec::new(),
            tz: tz.map(str::to_string),
            group: Some("db-hosts".into()),
            flapping: Default::default(),
        };
        let at = start + jiff::SignedDuration::from_secs(i as i64 * 3);
        let mut event = AlertEvent::new_about(kind, job, Severity::Error, "prod", at, at);
        match kind {
            AlertKind::Missed => event.expected_at = Some(t("2026-01-15T02:55:00Z")),
            AlertKind::TimedOut => {
                event.breach = Some(Breach {
                    setting: "max_runtime".into(),
                    value: "20m".into(),
                    text: "max_runtime 20m exceeded after 20m4s".into(),
                })
            }
            _ => {}
        }
        let line = GroupLine::new(&event.with_id(), Value::Null);
        doc.add(line, at, Duration::from_secs(30), at);
    }
    let open = doc.open.clone().expect("an open group");
    render_group(&doc, &open)
}
