//! The table's shape, in one place: what the store expects, what tests create on moto, and
//! what the SAM template must declare (consistency tests compare the template with these).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use jobwatch_store::StoreError;

use crate::backend;

/// The sparse index of jobs by deadline: hash `due_shard`, range `due_at`.
pub const DUE_INDEX: &str = "due";
/// The index of jobs by ping UUID hash (keys only).
pub const UUID_INDEX: &str = "by-uuid";
/// The sparse index of jobs by gauge (keys only): hash `status_shard` (`down#3`,
/// `running#0`, `waiting#5`...), range `status_at`. The sweeper's gauges are counts on it.
pub const STATUS_INDEX: &str = "status";
/// How many partitions the due index is spread over.
pub const DUE_SHARDS: u32 = 8;
/// Epoch seconds after which DynamoDB's TTL deletes an item (runs, alerts).
pub const TTL_ATTRIBUTE: &str = "expires_at";

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(backend)
}

fn attribute(name: &str, kind: ScalarAttributeType) -> Result<AttributeDefinition, StoreError> {
    AttributeDefinition::builder()
        .attribute_name(name)
        .attribute_type(kind)
        .build()
        .map_err(backend)
}

/// Creates the table as the template declares it (on demand, both indexes, TTL). For tests and
/// local setups; production tables come from `template.yaml`.
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(attribute("PK", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("SK", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("due_shard", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("due_at", ScalarAttributeType::N)?)
        .attribute_definitions(attribute("uuid_hash", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("status_shard", ScalarAttributeType::S)?)
        .attribute_definitions(attribute("status_at", ScalarAttributeType::N)?)
        .key_schema(key("PK", KeyType::Hash)?)
        .key_schema(key("SK", KeyType::Range)?)
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(DUE_INDEX)
                .key_schema(key("due_shard", KeyType::Hash)?)
                .key_schema(key("due_at", KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::All)
                        .build(),
                )
                .build()
                .map_err(backend)?,
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(UUID_INDEX)
                .key_schema(key("uuid_hash", KeyType::Hash)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .map_err(backend)?,
        )
        .global_secondary_indexes(
            GlobalSecondaryIndex::builder()
                .index_name(STATUS_INDEX)
                .key_schema(key("status_shard", KeyType::Hash)?)
                .key_schema(key("status_at", KeyType::Range)?)
                .projection(
                    Projection::builder()
                        .projection_type(ProjectionType::KeysOnly)
                        .build(),
                )
                .build()
                .map_err(backend)?,
        )
        .send()
        .await
        .map_err(backend)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TTL_ATTRIBUTE)
                .enabled(true)
                .build()
                .map_err(backend)?,
        )
        .send()
        .await
        .map_err(backend)?;
    Ok(())
}
