//! Delivering a test alert (kind `test`, asked for by `jobwatch doctor`) and recording how it
//! went, for the asker to read at `GET /api/v1/test-alert/<id>`.
//!
//! A person is waiting for it, so unlike every other alert it is posted whatever the
//! environment's policy (dev logs job alerts only) and never held, digested, grouped or
//! counted by fatigue control. A republished copy of one already delivered is not posted
//! again. A failure is recorded, not retried: the record names the broken hop (the Slack
//! secret, Slack's answer) and the asker runs the check again after fixing it.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use jobwatch_core::AlertEvent;
use jobwatch_core::test_alert::{DeliveryStatus, Hop, id_of};
use jobwatch_store::{IncidentStore, read_test_delivery, record_test_delivery};

use crate::dispatch::Sender;
use crate::message::window_words;
use crate::policy::{Class, Delivery, Policy};
use crate::render::render_slack;
use crate::slack::DeliveryError;
use crate::state::Route;

/// Longest reason kept from Slack or an AWS error in a record.
const DETAIL_MAX: usize = 300;

/// Posts test alert `event` through `sender` (none: no Slack destination is configured,
/// which is recorded as the failure), as `deliverer` (`the formatter`, `jobwatch serve`),
/// until `deadline`; then records how it went. `None` when `event` is no test alert.
pub async fn deliver<S: IncidentStore, T: Sender>(
    store: &S,
    sender: Option<&T>,
    event: &AlertEvent,
    deliverer: &str,
    deadline: Instant,
) -> Option<DeliveryStatus> {
    let id = id_of(event)?;
    match read_test_delivery(store, id, Timestamp::now()).await {
        Ok(Some(record)) if record.status == DeliveryStatus::Delivered => {
            tracing::info!(
                test_alert = id,
                "test alert delivered already; not posted again"
            );
            return Some(DeliveryStatus::Delivered);
        }
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(test_alert = id, error = %e, "reading the test alert's record failed")
        }
    }
    let mut hops = vec![Hop::new(
        "received",
        true,
        format!("{deliverer} received it"),
    )];
    let (status, detail) = match sender {
        None => {
            let detail = format!(
                "no Slack webhook is configured for {deliverer}: start it with --slack-webhook or JOBWATCH_SLACK_WEBHOOK"
            );
            hops.push(Hop::new("slack", false, detail.clone()));
            (DeliveryStatus::Failed, detail)
        }
        Some(sender) => {
            let payload = render_slack(event);
            let result = sender.send(Route::Slack, &payload, deadline).await;
            outcome_hops(sender.webhook_secret(), result, &mut hops)
        }
    };
    tracing::info!(test_alert = id, status = %status, "{detail}");
    write_record(store, id, status, &detail, &hops, deadline).await;
    Some(status)
}

/// The hops and the verdict of one post: a failure to read the webhook secret is told apart
/// from Slack's own answer, so the asker knows which to fix.
fn outcome_hops(
    secret: Option<&str>,
    result: Result<(), DeliveryError>,
    hops: &mut Vec<Hop>,
) -> (DeliveryStatus, String) {
    let secret_read = |hops: &mut Vec<Hop>| {
        if let Some(secret) = secret {
            hops.push(Hop::new(
                "secret",
                true,
                format!("read the Slack webhook from secret {secret}"),
            ));
        }
    };
    match result {
        Ok(()) => {
            secret_read(hops);
            let detail = "Slack accepted the post".to_string();
            hops.push(Hop::new("slack", true, detail.clone()));
            (DeliveryStatus::Delivered, detail)
        }
        Err(e) => {
            let text = shorten(&e.to_string());
            let rejected = matches!(e, DeliveryError::Rejected { .. });
            // Errors before any post (the secret missing, unreadable or malformed) name the
            // secret; Slack's own answers never do.
            if let Some(secret) = secret
                && !rejected
                && text.contains("secret")
            {
                let detail = secret_failure(secret, &text);
                hops.push(Hop::new("secret", false, detail.clone()));
                return (DeliveryStatus::Failed, detail);
            }
            secret_read(hops);
            let detail = match &e {
                DeliveryError::Rejected {
                    status: status @ (404 | 410),
                    reason,
                } => format!(
                    "Slack answered {status} ({}): the webhook was revoked or its channel archived; create a new webhook and store it",
                    shorten(reason)
                ),
                DeliveryError::Rejected { status, reason } => {
                    format!("Slack answered {status} ({})", shorten(reason))
                }
                _ => format!("Slack could not be reached: {text}"),
            };
            hops.push(Hop::new("slack", false, detail.clone()));
            (DeliveryStatus::Failed, detail)
        }
    }
}

/// Why the webhook secret could not be used, in the words a person acts on (`text` is the
/// error, which quotes AWS's).
fn secret_failure(secret: &str, text: &str) -> String {
    if text.contains("ResourceNotFound")
        || text.contains("can't find")
        || text.contains("does not exist")
    {
        format!("Slack secret {secret} not found")
    } else if text.contains("deletion") {
        format!("Slack secret {secret} is scheduled for deletion")
    } else if text.contains("AccessDenied") {
        format!(
            "reading Slack secret {secret} was denied (AccessDenied): the formatter needs secretsmanager:GetSecretValue on it"
        )
    } else {
        // A malformed value: the reader's own words, which never quote it.
        let reason = text
            .rsplit_once(&format!("secret {secret}"))
            .map_or(text, |(_, reason)| reason)
            .trim_start_matches([':', ' ']);
        format!("Slack secret {secret} is unusable: {reason}")
    }
}

/// Writes the record, retrying storage failures (throttling) with backoff until `deadline`:
/// the asker is polling for it.
async fn write_record<S: IncidentStore>(
    store: &S,
    id: &str,
    status: DeliveryStatus,
    detail: &str,
    hops: &[Hop],
    deadline: Instant,
) {
    let mut pause = Duration::from_millis(100);
    loop {
        let written = record_test_delivery(store, id, Timestamp::now(), |record| {
            record.status = status;
            record.detail = detail.to_string();
            for hop in hops {
                record.push_hop(hop.clone());
            }
        })
        .await;
        match written {
            Ok(_) => return,
            Err(e) if Instant::now() + pause < deadline => {
                tracing::warn!(test_alert = id, error = %e, "recording the test alert's delivery failed; retrying");
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(2));
            }
            Err(e) => {
                tracing::error!(test_alert = id, error = %e, "recording the test alert's delivery failed; the asker will see it pending");
                return;
            }
        }
    }
}

/// What `policy` does with job alerts in `environment`, in words (`GET /api/v1/about`).
pub fn policy_words(policy: &Policy, environment: &str) -> String {
    use jobwatch_core::Severity;
    let rule = policy.rule(environment);
    let Some(min) = rule.min_severity else {
        return format!(
            "{environment}: job alerts are logged only, nothing is posted to Slack (JOBWATCH_DEBUG=1 posts them); test alerts are posted"
        );
    };
    let how = match policy.delivery(environment, min, Class::Problem) {
        Delivery::Digest(window) => format!("in a digest every {}", window_words(window)),
        _ => "at once".to_string(),
    };
    let above = if min == Severity::Critical {
        "critical".to_string()
    } else {
        format!("{min} and above")
    };
    format!(
        "{environment}: {above} posted to Slack {how}; critical at once with @channel; test alerts are posted"
    )
}

fn shorten(text: &str) -> String {
    let line = text.lines().next().unwrap_or("").trim();
    let cut: String = line.chars().take(DETAIL_MAX).collect();
    if cut.len() < line.len() {
        format!("{cut}…")
    } else {
        cut
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hops_of(secret: Option<&str>, result: Result<(), DeliveryError>) -> (String, Vec<Hop>) {
        let mut hops = Vec::new();
        let (status, detail) = outcome_hops(secret, result, &mut hops);
        (format!("{status}: {detail}"), hops)
    }

    #[test]
    fn a_missing_secret_is_the_secret_hop_not_slack() {
        let (verdict, hops) = hops_of(
            Some("slack-webhook-dev"),
            Err(DeliveryError::GaveUp {
                attempts: 0,
                last: "reading secret slack-webhook-dev: ResourceNotFoundException".into(),
            }),
        );
        assert!(
            verdict.starts_with("failed: Slack secret slack-webhook-dev"),
            "{verdict}"
        );
        assert_eq!(hops.len(), 1);
        assert_eq!((hops[0].name.as_str(), hops[0].ok), ("secret", false));
    }

    #[test]
    fn a_secret_the_sender_reports_missing_is_not_found() {
        let (verdict, hops) = hops_of(
            Some("slack-webhook-dev"),
            Err(DeliveryError::NotConfigured {
                reason: "the Slack webhook secret slack-webhook-dev does not exist: run `infra/put-slack-webhook --env dev`".into(),
            }),
        );
        assert_eq!(verdict, "failed: Slack secret slack-webhook-dev not found");
        assert_eq!((hops[0].name.as_str(), hops[0].ok), ("secret", false));
    }

    #[test]
    fn a_malformed_secret_says_why_without_quoting_it() {
        let (verdict, _) = hops_of(
            Some("slack-webhook-dev"),
            Err(DeliveryError::GaveUp {
                attempts: 0,
                last: "secret slack-webhook-dev: `webhook_url` is not an http(s) URL".into(),
            }),
        );
        assert_eq!(
            verdict,
            "failed: Slack secret slack-webhook-dev is unusable: `webhook_url` is not an http(s) URL"
        );
    }

    #[test]
    fn a_revoked_webhook_is_slack_answering_404_after_the_secret_was_read() {
        let (verdict, hops) = hops_of(
            Some("slack-webhook-prod"),
            Err(DeliveryError::Rejected {
                status: 404,
                reason: "no_service".into(),
            }),
        );
        assert!(
            verdict.contains("Slack answered 404 (no_service)"),
            "{verdict}"
        );
        let names: Vec<(&str, bool)> = hops.iter().map(|h| (h.name.as_str(), h.ok)).collect();
        assert_eq!(names, vec![("secret", true), ("slack", false)]);
    }

    #[test]
    fn a_delivered_post_without_a_secret_is_one_slack_hop() {
        let (verdict, hops) = hops_of(None, Ok(()));
        assert_eq!(verdict, "delivered: Slack accepted the post");
        assert_eq!(
            hops,
            vec![Hop::new("slack", true, "Slack accepted the post")]
        );
    }

    #[test]
    fn policies_are_told_in_words() {
        let policy = Policy::default();
        assert!(policy_words(&policy, "dev").contains("logged only"));
        assert_eq!(
            policy_words(&policy, "staging"),
            "staging: warning and above posted to Slack in a digest every 5 minutes; critical at once with @channel; test alerts are posted"
        );
        assert!(
            policy_words(&policy, "prod")
                .starts_with("prod: error and above posted to Slack at once")
        );
    }
}
