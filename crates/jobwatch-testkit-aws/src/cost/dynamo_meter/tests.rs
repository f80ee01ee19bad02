use jobwatch_dynamo::{AttributeKind, IndexProjection, IndexSchema, TableSchema};
use serde_json::{Value, json};

use super::*;

const SCHEMA: TableSchema = TableSchema {
    hash: "PK",
    range: "SK",
    attributes: &[("PK", AttributeKind::String), ("SK", AttributeKind::String)],
    indexes: &[IndexSchema {
        name: "due",
        hash: "due_shard",
        range: Some("due_at"),
        projection: IndexProjection::KeysOnly,
    }],
    ttl_attribute: "expires_at",
};

fn exchange(operation: &str, request: Value, response: Value) -> Exchange {
    Exchange {
        seq: 0,
        service: "dynamodb".into(),
        operation: operation.into(),
        status: 200,
        request: request.to_string(),
        response: response.to_string(),
        updated_items: Vec::new(),
    }
}

/// An item of about `bytes` bytes (PK, SK and a padding attribute).
fn item(sk: &str, bytes: usize, due_at: Option<u64>) -> Value {
    let mut item = json!({"PK": {"S": "JOB#a"}, "SK": {"S": sk}});
    let fixed = 2 + 5 + 2 + sk.len() + 3;
    item["pad"] = json!({"S": "x".repeat(bytes.saturating_sub(fixed))});
    if let Some(at) = due_at {
        item["due_shard"] = json!({"S": "DUE#1"});
        item["due_at"] = json!({"N": at.to_string()});
    }
    item
}

fn put(meter: &mut DynamoMeter, item: Value) -> DynamoUsage {
    meter.record(&exchange(
        "PutItem",
        json!({"TableName": "t", "Item": item}),
        json!({}),
    ))
}

#[test]
fn a_transactional_put_of_a_1_5_kb_item_costs_4_wru() {
    let mut meter = DynamoMeter::new(SCHEMA);
    let usage = meter.record(&exchange(
        "TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": "t", "Item": item("RUN#1", 1536, None)}}]}),
        json!({}),
    ));
    assert_eq!(usage.table_wru, 4.0);
    assert_eq!(usage.index_wru, 0.0);
}

#[test]
fn a_replacement_costs_the_larger_item_and_index_writes_are_not_doubled() {
    let mut meter = DynamoMeter::new(SCHEMA);
    let first = put(&mut meter, item("JOB", 3000, Some(1000)));
    assert_eq!((first.table_wru, first.index_wru), (3.0, 1.0));
    // Smaller, and the deadline moved: 3 WRU for the table (the old item), delete + put.
    let usage = meter.record(&exchange(
        "TransactWriteItems",
        json!({"TransactItems": [{"Put": {"TableName": "t", "Item": item("JOB", 500, Some(2000))}}]}),
        json!({}),
    ));
    assert_eq!((usage.table_wru, usage.index_wru), (6.0, 2.0));
    // Deleted: the item's size, and the entry leaves the index.
    let usage = meter.record(&exchange(
        "DeleteItem",
        json!({"TableName": "t", "Key": {"PK": {"S": "JOB#a"}, "SK": {"S": "JOB"}}}),
        json!({}),
    ));
    assert_eq!((usage.table_wru, usage.index_wru), (1.0, 1.0));
    assert!(meter.retained().is_empty());
}

#[test]
fn a_failed_condition_is_charged_and_changes_nothing() {
    let mut meter = DynamoMeter::new(SCHEMA);
    put(&mut meter, item("JOB", 100, Some(1000)));
    let mut failed = exchange(
        "PutItem",
        json!({"TableName": "t", "Item": item("JOB", 2000, None)}),
        json!({"__type": "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException"}),
    );
    failed.status = 400;
    let usage = meter.record(&failed);
    assert_eq!((usage.table_wru, usage.index_wru), (2.0, 0.0));
    let retained = meter.retained();
    assert_eq!(retained.len(), 1);
    assert!(retained[0].bytes < 400, "{retained:?}");
}

#[test]
fn an_update_costs_what_the_proxy_read_back() {
    let mut meter = DynamoMeter::new(SCHEMA);
    put(&mut meter, item("JOB", 100, Some(1000)));
    let mut update = exchange(
        "UpdateItem",
        json!({"TableName": "t", "Key": {"PK": {"S": "JOB#a"}, "SK": {"S": "JOB"}}}),
        json!({}),
    );
    update.updated_items = vec![item("JOB", 1500, Some(1000))];
    let usage = meter.record(&update);
    assert_eq!((usage.table_wru, usage.index_wru), (2.0, 0.0));
}

#[test]
fn reads_cost_what_they_evaluate() {
    let mut meter = DynamoMeter::new(SCHEMA);
    meter.set_origin("setup");
    for n in 0..3 {
        put(&mut meter, item(&format!("RUN#{n}"), 3000, None));
    }
    put(&mut meter, item("JOB", 200, Some(1000)));
    // A consistent GetItem of a 3 KB item, an eventual one of a missing item.
    let get = |consistent: bool, sk: &str| {
        exchange(
            "GetItem",
            json!({"TableName": "t", "ConsistentRead": consistent,
                   "Key": {"PK": {"S": "JOB#a"}, "SK": {"S": sk}}}),
            json!({}),
        )
    };
    assert_eq!(meter.record(&get(true, "RUN#0")).rru, 1.0);
    assert_eq!(meter.record(&get(false, "RUN#9")).rru, 0.5);
    // The runs of the job: 9 KB evaluated, whatever a filter kept.
    let runs = meter.record(&exchange(
        "Query",
        json!({"TableName": "t", "ConsistentRead": true,
               "KeyConditionExpression": "PK = :pk AND begins_with(SK, :run)",
               "ExpressionAttributeValues": {":pk": {"S": "JOB#a"}, ":run": {"S": "RUN#"}}}),
        json!({"Count": 1, "ScannedCount": 3}),
    ));
    assert_eq!(runs.rru, 3.0);
    assert_eq!(runs.unknown_items, 0);
    // A count on the index reads its (small) entries: half a unit.
    let count = meter.record(&exchange(
        "Query",
        json!({"TableName": "t", "IndexName": "due", "Select": "COUNT",
               "KeyConditionExpression": "due_shard = :s AND due_at <= :now",
               "ExpressionAttributeValues": {":s": {"S": "DUE#1"}, ":now": {"N": "5000"}}}),
        json!({"Count": 1, "ScannedCount": 1}),
    ));
    assert_eq!((count.rru, count.unknown_items), (0.5, 0));
    let retained = meter.retained();
    assert_eq!(retained.len(), 4);
    assert!(retained.iter().all(|r| r.origin == "setup"));
}
