//! Alert delivery of `jobwatch serve`: the outbox handed to the console and to Slack (through
//! the environment policy and the alert-fatigue rules, the same code as the formatter Lambda),
//! acknowledged only once settled, and held notifications flushed as they come due. A stop
//! cuts a Slack post short ([`UntilStopped`]): its alert stays stored for the next start.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use jiff::Timestamp;
use jobwatch_notify::{
    DeliveryError, Incoming, Notifier, Policy, Route, Sender, Webhooks, console_line,
};
use jobwatch_store::{AlertOutlet, Engine, Handover, Store, StoredAlert};
use tokio::sync::watch;

/// The Slack webhooks, until the server stops: a post still retrying then gives up at once,
/// as a retryable failure, so its message stays stored and is delivered after the next start.
pub(super) struct UntilStopped {
    pub(super) webhooks: Webhooks,
    pub(super) stopped: watch::Receiver<bool>,
}

impl Sender for UntilStopped {
    async fn send(
        &self,
        route: Route,
        payload: &serde_json::Value,
        deadline: Instant,
    ) -> Result<(), DeliveryError> {
        let mut stopped = self.stopped.clone();
        tokio::select! {
            biased;
            _ = stopped.wait_for(|stop| *stop) => Err(DeliveryError::GaveUp {
                attempts: 0,
                last: "jobwatch is stopping; delivered after the next start".into(),
            }),
            result = self.webhooks.send(route, payload, deadline) => result,
        }
    }

    fn unrecorded(&self) -> Option<&jobwatch_notify::dispatch::Settlements> {
        self.webhooks.unrecorded()
    }
}

/// Where alerts go besides the console: Slack, through the environment policy and the
/// alert-fatigue rules (the same code as the formatter Lambda).
pub(super) struct Outlet {
    pub(super) slack: Option<UntilStopped>,
    pub(super) policy: Policy,
    pub(super) environment: String,
}

/// Time one alert's delivery may take, retries included.
const DELIVERY_BUDGET: StdDuration = StdDuration::from_secs(30);
/// Outbox entries read per delivery round.
const DELIVERY_PAGE: usize = 100;

/// The console and Slack as the outbox's outlet: each alert printed once, then handed to the
/// policy (posted, held for a summary, digested or logged only). Settled once that is (or
/// Slack refused it for good); a failure blocks the alerts after it, so they keep their order.
struct ConsoleAndSlack<'a, S> {
    engine: &'a Engine<S>,
    outlet: &'a Outlet,
    /// Alerts printed and not yet settled: printed again only after a restart.
    printed: Mutex<HashSet<String>>,
}

impl<S: Store> AlertOutlet for ConsoleAndSlack<'_, S> {
    async fn hand_over(&self, alert: &StoredAlert) -> Handover {
        let first_time = self
            .printed
            .lock()
            .map(|mut printed| printed.insert(alert.token.clone()))
            .unwrap_or(true);
        if first_time {
            say!("ALERT {}", console_line(&alert.event));
        }
        // A test alert (`jobwatch doctor`) is posted past the policy and its delivery recorded.
        if let Some(_status) = jobwatch_notify::test_alert::deliver(
            self.engine.store(),
            self.outlet.slack.as_ref(),
            &alert.event,
            "jobwatch serve",
            Instant::now() + DELIVERY_BUDGET,
        )
        .await
        {
            return Handover::Settled;
        }
        let settled = match &self.outlet.slack {
            None => true,
            Some(sender) => {
                let notifier = Notifier {
                    store: self.engine.store(),
                    sender,
                    policy: &self.outlet.policy,
                    environment: &self.outlet.environment,
                };
                let incoming = Incoming::alert(alert.event.clone());
                let deadline = Instant::now() + DELIVERY_BUDGET;
                match notifier.handle(&incoming, Timestamp::now(), deadline).await {
                    Ok(outcome) => {
                        tracing::debug!(alert = %alert.event.id, action = ?outcome.action, "alert handled");
                        if !outcome.is_settled() {
                            tracing::warn!(alert = %alert.event.id, "Slack delivery failed; will retry");
                        }
                        outcome.is_settled()
                    }
                    Err(e) => {
                        tracing::error!(error = %e, alert = %alert.event.id, "handling the alert failed; will retry");
                        false
                    }
                }
            }
        };
        if !settled {
            return Handover::Blocked;
        }
        if let Ok(mut printed) = self.printed.lock() {
            printed.remove(&alert.token);
        }
        Handover::Settled
    }
}

/// The longest the delivery loop sleeps when nothing comes due sooner.
const IDLE_FLUSH: StdDuration = StdDuration::from_secs(5);

/// How long until the earliest held notification (a group window, a summary, a retry) comes
/// due, at most `idle`: so a group of one is posted as its window closes, not up to `idle`
/// later.
async fn until_next_due<S: Store>(store: &S, idle: StdDuration) -> StdDuration {
    let now = Timestamp::now();
    let horizon = now + jiff::SignedDuration::try_from(idle).unwrap_or_default();
    match store.due_incidents(horizon, 1).await {
        Ok(next) => next
            .first()
            .and_then(|record| record.due_at)
            .and_then(|due| StdDuration::try_from(due.duration_since(now)).ok())
            .map_or(idle, |wait| wait.clamp(StdDuration::from_millis(20), idle)),
        Err(_) => idle,
    }
}

/// Delivers the outbox through [`ConsoleAndSlack`], acknowledging each alert only once it is
/// settled, so a crash or outage loses nothing. Held summaries, digests, groups and retries
/// are flushed as they come due (it sleeps until the next is due, at most [`IDLE_FLUSH`]).
pub(super) async fn delivery_loop<S: Store>(
    engine: Arc<Engine<S>>,
    outlet: Outlet,
    mut stopped: watch::Receiver<bool>,
) {
    let console_and_slack = ConsoleAndSlack {
        engine: &engine,
        outlet: &outlet,
        printed: Mutex::new(HashSet::new()),
    };
    let mut retry_after = StdDuration::from_secs(1);
    loop {
        let mut failed = match engine
            .deliver_outbox(&console_and_slack, Timestamp::now(), DELIVERY_PAGE)
            .await
        {
            Ok(delivery) => delivery.failed > 0,
            Err(e) => {
                tracing::error!(error = %e, "reading pending alerts failed");
                true
            }
        };
        if let Some(sender) = &outlet.slack {
            let notifier = Notifier {
                store: engine.store(),
                sender,
                policy: &outlet.policy,
                environment: &outlet.environment,
            };
            match notifier
                .flush_due(Timestamp::now(), Instant::now() + DELIVERY_BUDGET)
                .await
            {
                Ok(report) if report.failed > 0 => failed = true,
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "flushing held notifications failed"),
            }
        }
        let wait = if failed {
            retry_after = (retry_after * 2).min(StdDuration::from_secs(60));
            retry_after
        } else {
            retry_after = StdDuration::from_secs(1);
            until_next_due(engine.store(), IDLE_FLUSH).await
        };
        tokio::select! {
            _ = tokio::time::sleep(wait), if true => {}
            _ = engine.alerts_added().notified(), if !failed => {}
            _ = stopped.changed() => return,
        }
    }
}
