//! DynamoDB transactions on the moto that tests use (`src/moto_serial.py`): they copy only
//! the items they touch, and behave as moto's own do. Against the server through the SDK:
//! a cancelled transaction leaves every item as it was and gives its reasons in order, a
//! transaction naming an item twice applies nothing, an applied one writes every item and
//! its index entries, and on a table of 20,000 items a transaction takes milliseconds. In
//! process: `src/moto_serial_check.py` compares random transactions with moto's own.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex,
    KeySchemaElement, KeyType, Projection, ProjectionType, Put, PutRequest,
    ReturnValuesOnConditionCheckFailure, ScalarAttributeType, TransactWriteItem, Update,
    WriteRequest,
};
use jobwatch_dynamo::RequestCounter;
use jobwatch_testkit_aws::moto;

type Item = HashMap<String, AttributeValue>;

const INDEX: &str = "by-g";

fn s(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_owned())
}

fn n(value: u64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn key(pk: &str) -> Item {
    HashMap::from([("PK".to_owned(), s(pk))])
}

fn item(pk: &str, v: u64, g: &str) -> Item {
    HashMap::from([
        ("PK".to_owned(), s(pk)),
        ("v".to_owned(), n(v)),
        ("g".to_owned(), s(g)),
    ])
}

/// A table keyed by `PK` with a global secondary index on `g`.
async fn table(client: &Client) -> String {
    let name = moto::unique_name("tx");
    let attribute = |name: &str| {
        AttributeDefinition::builder()
            .attribute_name(name)
            .attribute_type(ScalarAttributeType::S)
            .build()
            .expect("attribute")
    };
    let hash = |name: &str| {
        KeySchemaElement::builder()
            .attribute_name(name)
            .key_type(KeyType::Hash)
            .build()
            .expect("key")
    };
    client
        .create_table()
        .table_name(&name)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("PK"))
        .attribute_definitions(attribute("g"))
        .key_schema(hash("PK"))
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(INDEX)
                .key_schema(hash("g"))
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .expect("index"),
        )
        .send()
        .await
        .expect("create table");
    name
}

fn client() -> Client {
    moto::dynamo_client(&RequestCounter::new())
}

async fn put(client: &Client, table: &str, item: Item) {
    client
        .put_item()
        .table_name(table)
        .set_item(Some(item))
        .send()
        .await
        .expect("put");
}

async fn get(client: &Client, table: &str, pk: &str) -> Option<Item> {
    client
        .get_item()
        .table_name(table)
        .set_key(Some(key(pk)))
        .consistent_read(true)
        .send()
        .await
        .expect("get")
        .item
}

/// The keys the index holds under `g`, sorted.
async fn indexed(client: &Client, table: &str, g: &str) -> Vec<String> {
    let items = client
        .query()
        .table_name(table)
        .index_name(INDEX)
        .key_condition_expression("g = :g")
        .expression_attribute_values(":g", s(g))
        .send()
        .await
        .expect("query")
        .items
        .unwrap_or_default();
    let mut keys: Vec<String> = items
        .iter()
        .map(|i| i["PK"].as_s().expect("PK").clone())
        .collect();
    keys.sort();
    keys
}

fn put_op(table: &str, item: Item, condition: Option<&str>) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(table)
        .set_item(Some(item))
        .set_condition_expression(condition.map(str::to_owned))
        .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
        .build()
        .expect("put");
    TransactWriteItem::builder().put(put).build()
}

fn set_op(table: &str, pk: &str, v: u64, g: &str) -> TransactWriteItem {
    let update = Update::builder()
        .table_name(table)
        .set_key(Some(key(pk)))
        .update_expression("SET v = :v, g = :g")
        .expression_attribute_values(":v", n(v))
        .expression_attribute_values(":g", s(g))
        .build()
        .expect("update");
    TransactWriteItem::builder().update(update).build()
}

fn delete_op(table: &str, pk: &str) -> TransactWriteItem {
    let delete = Delete::builder()
        .table_name(table)
        .set_key(Some(key(pk)))
        .build()
        .expect("delete");
    TransactWriteItem::builder().delete(delete).build()
}

fn absent_op(table: &str, pk: &str) -> TransactWriteItem {
    let check = ConditionCheck::builder()
        .table_name(table)
        .set_key(Some(key(pk)))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .expect("condition check");
    TransactWriteItem::builder().condition_check(check).build()
}

async fn transact(
    client: &Client,
    ops: Vec<TransactWriteItem>,
) -> Result<(), aws_sdk_dynamodb::error::SdkError<TransactWriteItemsError>> {
    client
        .transact_write_items()
        .set_transact_items(Some(ops))
        .send()
        .await
        .map(|_| ())
}

#[tokio::test]
async fn a_cancelled_transaction_leaves_every_item_and_gives_its_reasons_in_order() {
    let client = client();
    let table = table(&client).await;
    put(&client, &table, item("a", 1, "x")).await;
    put(&client, &table, item("b", 1, "x")).await;
    put(&client, &table, item("c", 1, "x")).await;

    let error = transact(
        &client,
        vec![
            set_op(&table, "a", 2, "y"),
            delete_op(&table, "c"),
            put_op(&table, item("b", 2, "y"), Some("attribute_not_exists(PK)")),
            put_op(&table, item("new", 2, "y"), None),
        ],
    )
    .await
    .expect_err("b exists, so the transaction is cancelled");

    let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
        error.as_service_error()
    else {
        panic!("expected TransactionCanceledException, got {error:?}");
    };
    let codes: Vec<_> = cancelled
        .cancellation_reasons()
        .iter()
        .map(|r| r.code().unwrap_or("-"))
        .collect();
    assert_eq!(codes, ["None", "None", "ConditionalCheckFailed", "None"]);
    assert_eq!(
        cancelled.cancellation_reasons()[2].item(),
        Some(&item("b", 1, "x")),
        "ALL_OLD returns the item as it stands"
    );
    for pk in ["a", "b", "c"] {
        assert_eq!(get(&client, &table, pk).await, Some(item(pk, 1, "x")));
    }
    assert_eq!(get(&client, &table, "new").await, None);
    assert_eq!(indexed(&client, &table, "x").await, ["a", "b", "c"]);
    assert_eq!(indexed(&client, &table, "y").await, Vec::<String>::new());
}

#[tokio::test]
async fn a_transaction_naming_an_item_twice_applies_nothing() {
    let client = client();
    let table = table(&client).await;
    put(&client, &table, item("a", 1, "x")).await;

    let error = transact(
        &client,
        vec![
            put_op(&table, item("new", 1, "x"), None),
            set_op(&table, "a", 2, "y"),
            delete_op(&table, "a"),
        ],
    )
    .await
    .expect_err("a twice");
    assert_eq!(error.code(), Some("ValidationException"), "{error:?}");
    assert_eq!(get(&client, &table, "a").await, Some(item("a", 1, "x")));
    assert_eq!(get(&client, &table, "new").await, None);
}

#[tokio::test]
async fn an_applied_transaction_writes_every_item_and_its_index_entries() {
    let client = client();
    let table = table(&client).await;
    put(&client, &table, item("a", 1, "x")).await;
    put(&client, &table, item("b", 1, "x")).await;

    transact(
        &client,
        vec![
            set_op(&table, "a", 2, "z"),
            put_op(
                &table,
                item("new", 1, "z"),
                Some("attribute_not_exists(PK)"),
            ),
            delete_op(&table, "b"),
            absent_op(&table, "missing"),
        ],
    )
    .await
    .expect("transaction");

    assert_eq!(get(&client, &table, "a").await, Some(item("a", 2, "z")));
    assert_eq!(get(&client, &table, "new").await, Some(item("new", 1, "z")));
    assert_eq!(get(&client, &table, "b").await, None);
    assert_eq!(indexed(&client, &table, "z").await, ["a", "new"]);
    assert_eq!(indexed(&client, &table, "x").await, Vec::<String>::new());
}

/// moto's own method copies the whole table on every transaction: about a second at this
/// size (see `moto_serial_check.py`'s timing). The bound is coarse on purpose.
#[tokio::test]
async fn on_a_table_of_20000_items_a_transaction_takes_milliseconds() {
    const ITEMS: u32 = 20_000;
    let client = client();
    let table = table(&client).await;
    let started = Instant::now();
    let requests: Vec<WriteRequest> = (0..ITEMS)
        .map(|i| {
            // Ten attributes, about the size of a job's item.
            let mut item = item(
                &format!("job-{i:06}"),
                u64::from(i),
                &format!("g{}", i % 100),
            );
            for field in ["a", "b", "c", "d", "e", "f", "h"] {
                item.insert(field.to_owned(), s(&format!("{field}-{i}")));
            }
            let put = PutRequest::builder()
                .set_item(Some(item))
                .build()
                .expect("put request");
            WriteRequest::builder().put_request(put).build()
        })
        .collect();
    for chunk in requests.chunks(25) {
        let output = client
            .batch_write_item()
            .request_items(&table, chunk.to_vec())
            .send()
            .await
            .expect("batch write");
        assert!(output.unprocessed_items().is_none_or(HashMap::is_empty));
    }
    println!(
        "seeded {ITEMS} items in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    transact(&client, vec![set_op(&table, "job-000001", 7, "x")])
        .await
        .expect("transaction");
    let applied = started.elapsed();
    let started = Instant::now();
    transact(
        &client,
        vec![
            set_op(&table, "job-000002", 7, "x"),
            absent_op(&table, "job-000003"),
        ],
    )
    .await
    .expect_err("job-000003 exists");
    let cancelled = started.elapsed();
    println!(
        "transaction on {ITEMS} items: {:.1} ms applied, {:.1} ms cancelled",
        applied.as_secs_f64() * 1000.0,
        cancelled.as_secs_f64() * 1000.0
    );
    assert_eq!(indexed(&client, &table, "x").await, ["job-000001"]);
    assert!(
        applied < Duration::from_secs(1) && cancelled < Duration::from_secs(1),
        "{applied:?} and {cancelled:?}: is moto copying whole tables again?"
    );
}

#[test]
fn random_transactions_behave_as_motos_own() {
    let python = moto::python().unwrap_or_else(|e| panic!("{e}"));
    let check = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("src/moto_serial_check.py");
    // Seed 13, 1,000 transactions, no timing (the test above times the server).
    let output = Command::new(&python)
        .arg(&check)
        .args(["13", "1000", "0"])
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e}", python.display()));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    print!("{stdout}");
}
