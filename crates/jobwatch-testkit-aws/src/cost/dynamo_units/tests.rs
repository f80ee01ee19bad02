use jobwatch_dynamo::{AttributeKind, IndexProjection, IndexSchema, TableSchema};
use serde_json::json;

use super::*;

/// A table like jobwatch's, with one index of each projection, fixed here so these rules do
/// not move with the real schema.
const SCHEMA: TableSchema = TableSchema {
    hash: "PK",
    range: "SK",
    attributes: &[("PK", AttributeKind::String), ("SK", AttributeKind::String)],
    indexes: &[
        IndexSchema {
            name: "due",
            hash: "due_shard",
            range: Some("due_at"),
            projection: IndexProjection::All,
        },
        IndexSchema {
            name: "keys",
            hash: "due_shard",
            range: Some("due_at"),
            projection: IndexProjection::KeysOnly,
        },
    ],
    ttl_attribute: "expires_at",
};

fn item(value: serde_json::Value) -> Item {
    value.as_object().expect("an object").clone()
}

#[test]
fn an_item_is_the_sum_of_its_names_and_values() {
    let item = item(json!({
        "PK": {"S": "JOB#backup"},                     // 2 + 10
        "SK": {"S": "JOB"},                            // 2 + 3
        "version": {"N": "42"},                        // 7 + (1 + 1)
        "ok": {"BOOL": true},                          // 2 + 1
        "tags": {"L": [{"S": "a"}, {"S": "bc"}]},      // 4 + 3 + (1 + 1) + (2 + 1)
        "m": {"M": {"k": {"N": "1000"}}},              // 1 + 3 + (1 + 2 + 1)
        "none": {"NULL": true},                        // 4 + 1
        "blob": {"B": "AAEC"}                          // 4 + 3
    }));
    assert_eq!(item_size(&item), 12 + 5 + 9 + 3 + 12 + 8 + 5 + 7);
}

#[test]
fn numbers_count_significant_digits() {
    assert_eq!(significant_digits("1764683293000"), 10);
    assert_eq!(number_size("1764683293000"), 6);
    assert_eq!(significant_digits("0.00120"), 2);
    assert_eq!(number_size("-5"), 2);
    assert_eq!(number_size("0"), 1);
    assert_eq!(number_size("123"), 3);
}

#[test]
fn units_round_up_with_a_minimum_of_one() {
    assert_eq!(write_units(0), 1);
    assert_eq!(write_units(1024), 1);
    assert_eq!(write_units(1025), 2);
    assert_eq!(write_units(1536), 2);
    assert_eq!(read_units(4096, true), 1.0);
    assert_eq!(read_units(4097, true), 2.0);
    assert_eq!(read_units(10, false), 0.5);
}

fn job(due_at: Option<&str>, state: &str) -> Item {
    let mut job = item(json!({
        "PK": {"S": "JOB#backup"}, "SK": {"S": "JOB"}, "state": {"S": state},
    }));
    if let Some(at) = due_at {
        job.insert("due_shard".into(), json!({"S": "DUE#3"}));
        job.insert("due_at".into(), json!({"N": at}));
    }
    job
}

#[test]
fn an_index_entry_holds_its_projection_and_costs_100_bytes_more() {
    let job = job(Some("1000"), "idle");
    let all = index_entry(&SCHEMA.indexes[0], &SCHEMA, &job).expect("in the index");
    assert_eq!(entry_size(&all), item_size(&job) + 100);
    let keys = index_entry(&SCHEMA.indexes[1], &SCHEMA, &job).expect("in the index");
    assert!(!keys.contains_key("state"), "{keys:?}");
    assert_eq!(keys.len(), 4);
    assert_eq!(
        index_entry(&SCHEMA.indexes[0], &SCHEMA, &self::job(None, "idle")),
        None
    );
}

#[test]
fn index_writes_follow_the_entry() {
    let (all, keys) = (&SCHEMA.indexes[0], &SCHEMA.indexes[1]);
    let waiting = job(Some("1000"), "idle");
    let moved = job(Some("2000"), "idle");
    let restated = job(Some("1000"), "running");
    let unindexed = job(None, "idle");
    // Entering and leaving.
    assert_eq!(
        index_write(all, &SCHEMA, None, Some(&waiting)),
        IndexWrite::Put(1)
    );
    assert_eq!(
        index_write(all, &SCHEMA, Some(&waiting), Some(&unindexed)),
        IndexWrite::Delete(1)
    );
    assert_eq!(
        index_write(all, &SCHEMA, Some(&unindexed), Some(&unindexed)),
        IndexWrite::Nothing
    );
    // The index key moved: a delete and a put, 2 WRU.
    let key_move = index_write(all, &SCHEMA, Some(&waiting), Some(&moved));
    assert_eq!(key_move, IndexWrite::Move { delete: 1, put: 1 });
    assert_eq!(key_move.units(), 2);
    // Only a projected attribute changed: an update where it is projected, nothing elsewhere.
    assert_eq!(
        index_write(all, &SCHEMA, Some(&waiting), Some(&restated)),
        IndexWrite::Update(1)
    );
    assert_eq!(
        index_write(keys, &SCHEMA, Some(&waiting), Some(&restated)),
        IndexWrite::Nothing
    );
    // A deleted item leaves every index it was in.
    assert_eq!(
        index_write(keys, &SCHEMA, Some(&waiting), None),
        IndexWrite::Delete(1)
    );
}

#[test]
fn a_big_entry_costs_a_unit_per_kb() {
    let big = job(Some("1000"), &"x".repeat(2_000));
    assert_eq!(
        index_write(&SCHEMA.indexes[0], &SCHEMA, None, Some(&big)),
        IndexWrite::Put(3)
    );
    assert_eq!(
        index_write(&SCHEMA.indexes[1], &SCHEMA, None, Some(&big)),
        IndexWrite::Put(1)
    );
}
