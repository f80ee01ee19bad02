//! jobwatch-dynamo: the DynamoDB implementation of the jobwatch [`jobwatch_store::Store`], on one table.
//!
//! | item | `PK` | `SK` | other attributes |
//! | --- | --- | --- | --- |
//! | job | `JOB#<slug>` | `JOB` | `uuid_hash`, `version`, `spec`, `state` (JSON), `listed` = `JOB`, while the job awaits something `due_shard` + `due_at`, while it is down `status_shard` + `status_at` |
//! | run | `JOB#<slug>` | `RUN#<seq, 20 digits>` | `run` (JSON), `expires_at` (TTL) |
//! | alert | `OUTBOX` | `<at ms, 15 digits>#<alert id>` | `event` (JSON), `expires_at` (TTL) |
//! | setting | `SETTING#<key>` | `SETTING` | `value` |
//! | incident (notification state) | `INCIDENT#<key>` | `INCIDENT` | `version`, `doc` (JSON), `expires_at` (TTL), and while something is held `due_shard` = `NOTIFY` + `due_at` |
//!
//! A job item stays within one 1 KB write unit in the steady state (see the cost model in
//! `docs/cost.md`): its state keeps short windows (ping hashes, recent durations, two days of
//! tallies), and every index projects keys only.
//!
//! The `due` index is sparse and write-sharded: only jobs with a deadline carry `due_shard`
//! (`DUE#0`..`DUE#7`, by a hash of the slug) and `due_at`, so a sweep reads one page of keys
//! per shard, then the due jobs (BatchGetItem), never the whole table. The `by-uuid` index
//! finds a job by the hash of its ping UUID; the answer is cached per process (it never
//! changes for a job). The `jobs` index lists every job without a scan. The `status` index
//! holds down jobs only.
//! Every state change is a conditional write on `version`; a change with run records or
//! alerts writes them in the same transaction (a start ping, which writes none, is a single
//! conditional put). Incidents (the formatter's alert-fatigue and digest state) are conditional
//! writes on their own `version`; those with something held share the `due` index under the
//! shard `NOTIFY`, which the job sweep never reads.
//!
//! Modules: [`schema`] (the table's shape), [`codec`] (items to records), [`errors`], one per store trait
//! ([`jobs`], [`outbox`], [`incidents`], [`settings`]), [`batch`] (batch reads and writes),
//! [`upgrade`] (one-time upgrades of tables written by earlier versions), [`size`] (item sizes
//! as DynamoDB bills them).

mod batch;
mod codec;
mod counter;
mod errors;
mod incidents;
mod jobs;
mod outbox;
mod schema;
mod settings;
mod size;
mod upgrade;

pub use codec::outbox_token;
pub use counter::RequestCounter;
pub use schema::{
    AttributeKind, DUE_INDEX, DUE_SHARDS, IndexProjection, IndexSchema, JOBS_INDEX, STATUS_INDEX,
    TABLE, TTL_ATTRIBUTE, TableSchema, UUID_INDEX, create_table,
};
pub use size::{item_size, write_units};

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client;

/// Default time run history is kept (the table's TTL deletes it afterwards).
pub const DEFAULT_RUN_RETENTION_DAYS: u32 = 90;
/// Undelivered alerts are kept this long before the TTL removes them.
const ALERT_RETENTION_DAYS: u32 = 30;
/// Entries of the UUID-to-slug cache before it is cleared (bounded memory).
const UUID_CACHE_MAX: usize = 10_000;

/// The DynamoDB store. Cheap to share behind an `Arc`; the SDK client pools connections.
pub struct DynamoStore {
    client: Client,
    table: String,
    run_retention_days: u32,
    uuid_to_slug: Mutex<HashMap<String, String>>,
}

impl DynamoStore {
    pub fn new(client: Client, table: impl Into<String>) -> DynamoStore {
        DynamoStore {
            client,
            table: table.into(),
            run_retention_days: DEFAULT_RUN_RETENTION_DAYS,
            uuid_to_slug: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_run_retention_days(mut self, days: u32) -> DynamoStore {
        self.run_retention_days = days.max(1);
        self
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    fn cached_slug(&self, uuid_hash: &str) -> Option<String> {
        self.uuid_to_slug
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(uuid_hash)
            .cloned()
    }

    fn remember_slug(&self, uuid_hash: &str, slug: &str) {
        let mut cache = self.uuid_to_slug.lock().unwrap_or_else(|p| p.into_inner());
        if cache.len() >= UUID_CACHE_MAX {
            cache.clear();
        }
        cache.insert(uuid_hash.to_string(), slug.to_string());
    }

    fn forget_slug(&self, uuid_hash: &str) {
        self.uuid_to_slug
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(uuid_hash);
    }
}

/// The `Limit` of each query page when at most `limit` items are wanted. The paginators read
/// pages only as their items are taken, so stopping at `limit` sends no further request.
fn page_size(limit: usize) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}
