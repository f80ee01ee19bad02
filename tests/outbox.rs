//! The outbox's use cases, called the same way by `jobwatch serve` and by the sweeper Lambda:
//! the daily report is queued in the outbox like any alert, and a delivery hands each alert
//! still there to an outlet, oldest first. Locally the outlet (console and Slack) settles an
//! alert and it is acknowledged at once; in AWS the outlet (the SNS topic) forwards it and it
//! stays until the formatter acknowledges it, so a later sweep publishes it again.

use std::sync::Mutex;

use jiff::Timestamp;
use jobwatch_core::AlertKind;
use jobwatch_core::PingEvent::Success;
use jobwatch_store::{AlertOutlet, Delivery, Handover, Outbox, StoredAlert};
use jobwatch_tests::{World, t};

/// An outlet that records what it was handed and answers as told.
struct Recording {
    answer: Handover,
    handed: Mutex<Vec<AlertKind>>,
}

impl Recording {
    fn answering(answer: Handover) -> Recording {
        Recording {
            answer,
            handed: Mutex::new(Vec::new()),
        }
    }

    fn handed(&self) -> Vec<AlertKind> {
        self.handed.lock().expect("lock").clone()
    }
}

impl AlertOutlet for Recording {
    async fn hand_over(&self, alert: &StoredAlert) -> Handover {
        self.handed.lock().expect("lock").push(alert.event.kind);
        self.answer
    }
}

/// One delivery of the outbox, of the alerts raised by `raised_by`.
async fn deliver(world: &World, outlet: &Recording, raised_by: Timestamp) -> Delivery {
    world
        .engine
        .deliver_outbox(outlet, raised_by, 100)
        .await
        .expect("delivery")
}

/// What waits in the outbox, oldest first.
async fn pending(world: &World) -> Vec<StoredAlert> {
    world
        .engine
        .store()
        .pending_alerts(100)
        .await
        .expect("outbox")
}

/// Two jobs: `backup` ran and succeeded, `heartbeat` never pinged (one missed alert).
async fn world_with_a_missed_job() -> World {
    let mut world = World::new(t("2026-03-02T00:00:00Z"));
    world
        .define("backup", r#"{"every": "1h", "grace": "5m"}"#)
        .await;
    world
        .define("heartbeat", r#"{"every": "10m", "grace": "1m"}"#)
        .await;
    world
        .ping_at(t("2026-03-02T00:30:00Z"), "backup", Success, None, None)
        .await;
    world.run_until(t("2026-03-02T00:40:00Z")).await;
    world
}

#[tokio::test]
async fn the_daily_report_is_queued_in_the_outbox_with_the_alerts() {
    let world = world_with_a_missed_job().await;
    // At the end of the report day (midnight UTC by default), it covers that day.
    let report = world
        .engine
        .daily_report(t("2026-03-03T00:00:00Z"))
        .await
        .expect("daily report");
    assert_eq!(report.kind, AlertKind::Report);
    let body = report.report.as_ref().expect("report body");
    assert_eq!((body.jobs_total, body.jobs_down, body.runs), (2, 1, 1));
    let pending: Vec<AlertKind> = pending(&world)
        .await
        .into_iter()
        .map(|a| a.event.kind)
        .collect();
    assert_eq!(pending, [AlertKind::Missed, AlertKind::Report]);
}

#[tokio::test]
async fn settled_alerts_are_acknowledged_and_forwarded_ones_are_handed_over_again() {
    let world = world_with_a_missed_job().await;
    world.engine.daily_report(world.now).await.expect("report");

    // AWS: published to the topic, kept until the formatter acknowledges them.
    let topic = Recording::answering(Handover::Forwarded);
    for _ in 0..2 {
        let delivery = deliver(&world, &topic, world.now).await;
        assert_eq!((delivery.handed_over, delivery.settled), (2, 0));
    }
    assert_eq!(
        topic.handed().len(),
        4,
        "each published again by the next sweep"
    );

    // Alerts raised after the cut-off wait for a later delivery.
    let early = Recording::answering(Handover::Forwarded);
    let cutoff = t("2026-03-02T00:00:00Z");
    let delivery = deliver(&world, &early, cutoff).await;
    assert_eq!(delivery.handed_over, 0);

    // Locally: printed and posted, then acknowledged; nothing is handed over twice.
    let console = Recording::answering(Handover::Settled);
    let delivery = deliver(&world, &console, world.now).await;
    assert_eq!((delivery.handed_over, delivery.settled), (2, 2));
    assert_eq!(console.handed(), [AlertKind::Missed, AlertKind::Report]);
    let pending = pending(&world).await;
    assert!(pending.is_empty(), "{pending:?}");
}

#[tokio::test]
async fn a_blocked_delivery_keeps_the_order_and_a_failed_one_does_not() {
    let world = world_with_a_missed_job().await;
    world.engine.daily_report(world.now).await.expect("report");

    let blocked = Recording::answering(Handover::Blocked);
    let delivery = deliver(&world, &blocked, world.now).await;
    assert_eq!((delivery.handed_over, delivery.failed), (1, 1));
    assert_eq!(
        blocked.handed(),
        [AlertKind::Missed],
        "the report waits its turn"
    );

    let failing = Recording::answering(Handover::Failed);
    let delivery = deliver(&world, &failing, world.now).await;
    assert_eq!((delivery.handed_over, delivery.failed), (2, 2));
    let pending = pending(&world).await;
    assert_eq!(pending.len(), 2, "failed alerts stay in the outbox");
}
