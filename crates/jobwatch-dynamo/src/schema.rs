//! The table's shape, in one place: what the store expects, what tests create on moto, and
//! what the SAM template must declare (consistency tests compare the template with these).

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection,
    ProjectionType, ScalarAttributeType, TimeToLiveSpecification,
};
use jobwatch_store::StoreError;

use crate::errors::{backend, service};

/// The sparse index of jobs by deadline (keys only): hash `due_shard`, range `due_at`. The
/// sweep reads the due keys, then the due jobs themselves, so an index entry stays ~100
/// bytes (one write unit) when a ping moves the deadline.
pub const DUE_INDEX: &str = "due";
/// The index of all jobs (keys only): hash `listed` (always `JOB`), range `PK`. Listings and
/// the daily report read it instead of scanning the table; its entries change only when a
/// job is created or deleted.
pub const JOBS_INDEX: &str = "jobs";
/// The value of `listed` on every job item.
pub const LISTED: &str = "JOB";
/// The index of jobs by ping UUID hash (keys only).
pub const UUID_INDEX: &str = "by-uuid";
/// The sparse index of down jobs (keys only): hash `status_shard` (`down#0`..`down#7`), range
/// `status_at` (down since). The sweeper's gauge is a count on it; only going down or coming
/// back writes it.
pub const STATUS_INDEX: &str = "status";
/// How many partitions the due index is spread over.
pub const DUE_SHARDS: u32 = 8;
/// Epoch seconds after which DynamoDB's TTL deletes an item (runs, alerts).
pub const TTL_ATTRIBUTE: &str = "expires_at";

/// The type of a key attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttributeKind {
    String,
    Number,
}

/// What a secondary index copies from the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexProjection {
    All,
    KeysOnly,
}

/// A global secondary index: its name, hash and optional range attribute, projection.
#[derive(Debug, Clone, Copy)]
pub struct IndexSchema {
    pub name: &'static str,
    pub hash: &'static str,
    pub range: Option<&'static str>,
    pub projection: IndexProjection,
}

/// The whole table as data, so that creating it and checking a template use one description.
#[derive(Debug, Clone, Copy)]
pub struct TableSchema {
    pub hash: &'static str,
    pub range: &'static str,
    /// Every key attribute of the table and its indexes, with its type.
    pub attributes: &'static [(&'static str, AttributeKind)],
    pub indexes: &'static [IndexSchema],
    pub ttl_attribute: &'static str,
}

/// The jobwatch table: jobs, runs, outbox, settings and incidents under `PK`/`SK`.
pub const TABLE: TableSchema = TableSchema {
    hash: "PK",
    range: "SK",
    attributes: &[
        ("PK", AttributeKind::String),
        ("SK", AttributeKind::String),
        ("due_shard", AttributeKind::String),
        ("due_at", AttributeKind::Number),
        ("uuid_hash", AttributeKind::String),
        ("status_shard", AttributeKind::String),
        ("status_at", AttributeKind::Number),
        ("listed", AttributeKind::String),
    ],
    indexes: &[
        IndexSchema {
            name: DUE_INDEX,
            hash: "due_shard",
            range: Some("due_at"),
            projection: IndexProjection::KeysOnly,
        },
        IndexSchema {
            name: UUID_INDEX,
            hash: "uuid_hash",
            range: None,
            projection: IndexProjection::KeysOnly,
        },
        IndexSchema {
            name: STATUS_INDEX,
            hash: "status_shard",
            range: Some("status_at"),
            projection: IndexProjection::KeysOnly,
        },
        IndexSchema {
            name: JOBS_INDEX,
            hash: "listed",
            range: Some("PK"),
            projection: IndexProjection::KeysOnly,
        },
    ],
    ttl_attribute: TTL_ATTRIBUTE,
};

fn key(name: &str, kind: KeyType) -> Result<KeySchemaElement, StoreError> {
    KeySchemaElement::builder()
        .attribute_name(name)
        .key_type(kind)
        .build()
        .map_err(backend)
}

/// Creates the table as [`TABLE`] describes it (on demand, every index, TTL). For tests and
/// local setups; production tables come from `template.yaml`, which a test holds to [`TABLE`].
pub async fn create_table(client: &Client, table: &str) -> Result<(), StoreError> {
    let mut request = client
        .create_table()
        .table_name(table)
        .billing_mode(BillingMode::PayPerRequest)
        .key_schema(key(TABLE.hash, KeyType::Hash)?)
        .key_schema(key(TABLE.range, KeyType::Range)?);
    for (name, kind) in TABLE.attributes {
        let kind = match kind {
            AttributeKind::String => ScalarAttributeType::S,
            AttributeKind::Number => ScalarAttributeType::N,
        };
        request = request.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(*name)
                .attribute_type(kind)
                .build()
                .map_err(backend)?,
        );
    }
    for index in TABLE.indexes {
        let mut builder = GlobalSecondaryIndex::builder()
            .index_name(index.name)
            .key_schema(key(index.hash, KeyType::Hash)?);
        if let Some(range) = index.range {
            builder = builder.key_schema(key(range, KeyType::Range)?);
        }
        let projection = match index.projection {
            IndexProjection::All => ProjectionType::All,
            IndexProjection::KeysOnly => ProjectionType::KeysOnly,
        };
        request = request.global_secondary_indexes(
            builder
                .projection(Projection::builder().projection_type(projection).build())
                .build()
                .map_err(backend)?,
        );
    }
    request.send().await.map_err(service)?;
    client
        .update_time_to_live()
        .table_name(table)
        .time_to_live_specification(
            TimeToLiveSpecification::builder()
                .attribute_name(TABLE.ttl_attribute)
                .enabled(true)
                .build()
                .map_err(backend)?,
        )
        .send()
        .await
        .map_err(service)?;
    Ok(())
}
