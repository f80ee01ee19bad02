//! Detection lag of `jobwatch serve`: from the instant a deadline passes (a run missed, a run
//! timed out) to the alert arriving at Slack (a local receiver), over 24 trials. The server's
//! sweep loop sleeps until the earliest deadline, and is woken by changes that bring one
//! forward, so the lag is the time to sweep, commit and deliver, not a polling interval.
//!
//! The figures are printed (`cargo test -p jobwatch-cli --test detection_lag -- --nocapture`)
//! and recorded in docs/performance.md; the test asserts only that every trial is alerted
//! exactly once, never a time.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jobwatch_testkit::serve_process::ServeProcess;
use jobwatch_testkit::slack::SlackReceiver;

const API_KEY: &str = "lag-api-key";
const PING_KEY: &str = "lag-ping-key";
/// Trials of each kind.
const TRIALS_PER_KIND: usize = 12;
/// Between the trials' set-ups, so their deadlines come one after another.
const STAGGER: Duration = Duration::from_millis(120);
/// Longest wait for the alerts after the last deadline.
const ALERT_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// `{"every": "1s", "grace": "1s"}`, never pinged: missed two seconds after it is declared.
    Missed,
    /// `{"every": "1h", "max_runtime": "1s"}`, started and never finished: timed out a second
    /// after the start.
    TimedOut,
}

struct Trial {
    slug: String,
    kind: Kind,
    /// The deadline the server reported for the job.
    deadline: Timestamp,
}

fn next_deadline(job: &serde_json::Value) -> Timestamp {
    job["next_deadline"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no next_deadline in {job}"))
}

/// Declares the trials' jobs one after another (starting the runs of the timed-out ones), and
/// returns them with the deadlines the server reports.
fn set_up_trials(server: &ServeProcess) -> Vec<Trial> {
    let mut trials = Vec::new();
    for i in 0..TRIALS_PER_KIND * 2 {
        let kind = if i % 2 == 0 {
            Kind::Missed
        } else {
            Kind::TimedOut
        };
        let slug = match kind {
            Kind::Missed => format!("lag-missed-{i:02}"),
            Kind::TimedOut => format!("lag-timeout-{i:02}"),
        };
        let definition = match kind {
            Kind::Missed => r#"{"every": "1s", "grace": "1s"}"#,
            Kind::TimedOut => r#"{"every": "1h", "max_runtime": "1s"}"#,
        };
        let created = server.admin("PUT", &format!("/api/v1/jobs/{slug}"), definition);
        assert_eq!(created.status, 201, "{}", created.body);
        let deadline = match kind {
            Kind::Missed => next_deadline(&created.json()),
            Kind::TimedOut => {
                let started = server.ping(&format!("/ping/{PING_KEY}/{slug}/start"), "");
                assert_eq!(started.status, 200, "{}", started.body);
                let job = server.admin("GET", &format!("/api/v1/jobs/{slug}"), "");
                next_deadline(&job.json())
            }
        };
        trials.push(Trial {
            slug,
            kind,
            deadline,
        });
        std::thread::sleep(STAGGER);
    }
    trials
}

fn header_of(message: &serde_json::Value) -> String {
    message["attachments"][0]["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

fn median_and_max(mut lags: Vec<f64>) -> (f64, f64) {
    lags.sort_by(f64::total_cmp);
    let n = lags.len();
    let median = if n % 2 == 1 {
        lags[n / 2]
    } else {
        (lags[n / 2 - 1] + lags[n / 2]) / 2.0
    };
    (median, lags[n - 1])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_are_alerted_once_each_and_the_lag_is_printed() {
    let slack = SlackReceiver::start().await;
    // The default sweep interval (10 s): detection must not depend on it.
    let server = ServeProcess::start(
        env!("CARGO_BIN_EXE_jobwatch"),
        API_KEY,
        PING_KEY,
        &["--env", "prod"],
        // Each trial's own lag is measured: grouping would hold them together for its window.
        &[
            ("JOBWATCH_SLACK_WEBHOOK", slack.url.as_str()),
            ("JOBWATCH_GROUP_WINDOW", "0s"),
        ],
    );

    // Watch the receiver closely from the start, noting when each message is first seen.
    let slack = Arc::new(slack);
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (slack, watching) = (Arc::clone(&slack), Arc::clone(&watching));
        tokio::spawn(async move {
            let mut seen_at: Vec<Timestamp> = Vec::new();
            while watching.load(Ordering::SeqCst) {
                let posts = slack.posts();
                while seen_at.len() < posts {
                    seen_at.push(Timestamp::now());
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            seen_at
        })
    };

    let (server, trials) = tokio::task::spawn_blocking(move || {
        let trials = set_up_trials(&server);
        (server, trials)
    })
    .await
    .expect("set-up");

    let last_deadline = trials.iter().map(|t| t.deadline).max().expect("trials");
    let give_up = Instant::now()
        + Duration::from_millis(
            u64::try_from(
                last_deadline
                    .as_millisecond()
                    .saturating_sub(Timestamp::now().as_millisecond())
                    .max(0),
            )
            .unwrap_or(0),
        )
        + ALERT_TIMEOUT;
    while slack.posts() < trials.len() && Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // A moment longer, so a duplicate alert would show.
    tokio::time::sleep(Duration::from_millis(500)).await;
    watching.store(false, Ordering::SeqCst);
    let seen_at = watcher.await.expect("watcher");
    drop(server);
    let messages = slack.messages();
    assert_eq!(slack.rejections(), Vec::<String>::new());
    assert_eq!(
        messages.len(),
        trials.len(),
        "one alert per trial: {:#?}",
        messages.iter().map(header_of).collect::<Vec<_>>()
    );

    let mut by_slug: HashMap<&str, (usize, String)> = HashMap::new();
    for (index, message) in messages.iter().enumerate() {
        let header = header_of(message);
        let trial = trials
            .iter()
            .find(|t| header.contains(&format!("{} ", t.slug)))
            .unwrap_or_else(|| panic!("an alert for no trial: {header}"));
        assert!(
            by_slug.insert(&trial.slug, (index, header)).is_none(),
            "{} was alerted twice",
            trial.slug
        );
    }
    let mut lags = Vec::new();
    let mut per_kind: HashMap<&str, Vec<f64>> = HashMap::new();
    for trial in &trials {
        let (index, header) = by_slug
            .get(trial.slug.as_str())
            .unwrap_or_else(|| panic!("{} was never alerted", trial.slug));
        let expected = match trial.kind {
            Kind::Missed => "did not run",
            Kind::TimedOut => "still running past its limit",
        };
        assert!(header.contains(expected), "{}: {header}", trial.slug);
        let observed = seen_at.get(*index).copied().unwrap_or_else(Timestamp::now);
        let lag_ms = (observed.as_microsecond() - trial.deadline.as_microsecond()) as f64 / 1000.0;
        lags.push(lag_ms);
        eprintln!(
            "{} deadline {} lag {lag_ms:.1} ms (message {index})",
            trial.slug, trial.deadline
        );
        per_kind
            .entry(match trial.kind {
                Kind::Missed => "missed",
                Kind::TimedOut => "timed out",
            })
            .or_default()
            .push(lag_ms);
    }
    let (median, max) = median_and_max(lags.clone());
    eprintln!(
        "detection lag over {} trials (deadline -> alert at the Slack receiver): median {median:.1} ms, max {max:.1} ms",
        lags.len()
    );
    let mut kinds: Vec<_> = per_kind.into_iter().collect();
    kinds.sort_by_key(|(kind, _)| *kind);
    for (kind, lags) in kinds {
        let n = lags.len();
        let (median, max) = median_and_max(lags);
        eprintln!("  {kind}: {n} trials, median {median:.1} ms, max {max:.1} ms");
    }
}
