//! Keeps `docs/alert-events.md` true: its example must be a valid event that serialises back
//! to exactly the same JSON.

use jobwatch_core::{ALERT_SCHEMA_VERSION, AlertEvent};

#[test]
fn the_documented_example_round_trips() {
    let doc = include_str!("../../../docs/alert-events.md");
    let json = doc
        .split("```json")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("an example block");
    let event: AlertEvent = serde_json::from_str(json).expect("the example is a valid alert event");
    assert_eq!(event.schema_version, ALERT_SCHEMA_VERSION);
    assert_eq!(
        event.clone().with_id().id,
        event.id,
        "the example's id follows the documented rule"
    );
    let written: serde_json::Value = serde_json::to_value(&event).expect("serialise");
    let documented: serde_json::Value = serde_json::from_str(json).expect("json");
    assert_eq!(written, documented);
}
