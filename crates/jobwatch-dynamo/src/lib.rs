//! jobwatch-dynamo: the DynamoDB implementation of the jobwatch [`jobwatch_store::Store`], on one table.
//!
//! | item | `PK` | `SK` | other attributes |
//! | --- | --- | --- | --- |
//! | job | `JOB#<slug>` | `JOB` | `slug`, `uuid_hash`, `version`, `spec`, `state` (JSON), and while the job awaits something `due_shard` + `due_at` |
//! | run | `JOB#<slug>` | `RUN#<seq, 20 digits>` | `run` (JSON), `expires_at` (TTL) |
//! | alert | `OUTBOX` | `<at ms, 15 digits>#<alert id>` | `event` (JSON), `expires_at` (TTL) |
//! | setting | `SETTING#<key>` | `SETTING` | `value` |
//! | incident (notification state) | `INCIDENT#<key>` | `INCIDENT` | `version`, `doc` (JSON), `expires_at` (TTL), and while something is held `due_shard` = `NOTIFY` + `due_at` |
//!
//! The `due` index is sparse and write-sharded: only jobs with a deadline carry `due_shard`
//! (`DUE#0`..`DUE#7`, by a hash of the slug) and `due_at`, so a sweep reads one page per shard
//! plus the due jobs, never the whole table. The `by-uuid` index (keys only) finds a job by the
//! hash of its ping UUID; the answer is cached per process (it never changes for a job).
//! Every state change is a conditional write on `version`, in the same transaction as its runs
//! and alerts. Incidents (the formatter's alert-fatigue and digest state) are conditional
//! writes on their own `version`; those with something held share the `due` index under the
//! shard `NOTIFY`, which the job sweep never reads.

mod counter;
mod schema;

pub use counter::RequestCounter;
pub use schema::{
    AttributeKind, DUE_INDEX, DUE_SHARDS, IndexProjection, IndexSchema, STATUS_INDEX, TABLE,
    TTL_ATTRIBUTE, TableSchema, UUID_INDEX, create_table,
};

use std::collections::HashMap;
use std::sync::Mutex;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata};
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, Put, ReturnValue, TransactWriteItem, WriteRequest,
};
use jiff::Timestamp;
use jobwatch_core::{AlertEvent, JobDoc, JobState, Run, Slug};
use jobwatch_store::{
    Commit, IncidentRecord, IncidentStore, JobRecord, JobStore, Outbox, Settings, StatusCounts,
    StoreError, StoredAlert,
};

/// Default time run history is kept (the table's TTL deletes it afterwards).
pub const DEFAULT_RUN_RETENTION_DAYS: u32 = 90;
/// Undelivered alerts are kept this long before the TTL removes them.
const ALERT_RETENTION_DAYS: u32 = 30;
/// DynamoDB's limit on items in one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;
/// Entries of the UUID-to-slug cache before it is cleared (bounded memory).
const UUID_CACHE_MAX: usize = 10_000;

const JOB_SK: &str = "JOB";
const OUTBOX_PK: &str = "OUTBOX";
const INCIDENT_SK: &str = "INCIDENT";
/// The `due` index shard of incidents with something held.
const NOTIFY_SHARD: &str = "NOTIFY";

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

fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> StoreError {
    StoreError::Backend(DisplayErrorContext(e).to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

fn job_pk(slug: &str) -> String {
    format!("JOB#{slug}")
}

fn run_sk(seq: u64) -> String {
    format!("RUN#{seq:020}")
}

fn alert_sk(event: &AlertEvent) -> String {
    outbox_token(event)
}

/// The outbox token of an alert (what [`Outbox::ack_alerts`] takes), computable from the event
/// alone: the formatter acknowledges alerts that reached it through SNS with it.
pub fn outbox_token(event: &AlertEvent) -> String {
    format!("{:015}#{}", event.at.as_millisecond().max(0), event.id)
}

fn incident_pk(key: &str) -> String {
    format!("INCIDENT#{key}")
}

fn incident_item(record: &IncidentRecord) -> HashMap<String, AttributeValue> {
    let mut item = HashMap::from([
        ("PK".to_string(), s(incident_pk(&record.key))),
        ("SK".to_string(), s(INCIDENT_SK)),
        ("key".to_string(), s(&record.key)),
        ("version".to_string(), n(record.version)),
        ("doc".to_string(), s(&record.doc)),
        (TTL_ATTRIBUTE.to_string(), n(record.expires_at.as_second())),
    ]);
    if let Some(due) = record.due_at {
        item.insert("due_shard".into(), s(NOTIFY_SHARD));
        item.insert("due_at".into(), n(due.as_millisecond()));
    }
    item
}

fn decode_incident(item: &HashMap<String, AttributeValue>) -> Result<IncidentRecord, StoreError> {
    let number = |name: &str| -> Result<i64, StoreError> {
        item.get(name)
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("incident", format!("missing `{name}`")))
    };
    let version = u64::try_from(number("version")?).map_err(|e| corrupt("incident version", e))?;
    let due_at = match item.get("due_at") {
        Some(_) => {
            Some(Timestamp::from_millisecond(number("due_at")?).map_err(|e| corrupt("due_at", e))?)
        }
        None => None,
    };
    Ok(IncidentRecord {
        key: text(item, "key")?.to_string(),
        version,
        doc: text(item, "doc")?.to_string(),
        due_at,
        expires_at: Timestamp::from_second(number(TTL_ATTRIBUTE)?)
            .map_err(|e| corrupt("expires_at", e))?,
    })
}

/// The due shard of a job: a stable hash of its slug (FNV-1a, so it never changes between
/// releases the way `std`'s hasher may).
fn due_shard(slug: &str) -> String {
    let hash = slug.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("DUE#{}", hash % u64::from(DUE_SHARDS))
}

fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("encoding", e))
}

fn expires_at(days: u32) -> i64 {
    Timestamp::now().as_second() + i64::from(days) * 86_400
}

/// An alert in the outbox; its key is derived from the alert, so writing it twice is harmless.
fn outbox_item(
    alert: &AlertEvent,
    expiry: i64,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    Ok(HashMap::from([
        ("PK".to_string(), s(OUTBOX_PK)),
        ("SK".to_string(), s(alert_sk(alert))),
        ("event".to_string(), s(to_json(alert)?)),
        (TTL_ATTRIBUTE.to_string(), n(expiry)),
    ]))
}

/// The whole job item: written in full on every change, so no attribute can go stale.
fn job_item(record: &JobRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item = HashMap::from([
        ("PK".to_string(), s(job_pk(record.slug()))),
        ("SK".to_string(), s(JOB_SK)),
        ("slug".to_string(), s(record.slug())),
        ("uuid_hash".to_string(), s(&record.uuid_hash)),
        ("version".to_string(), n(record.version)),
        ("spec".to_string(), s(to_json(&record.spec.to_doc())?)),
        ("state".to_string(), s(to_json(&record.state)?)),
    ]);
    if let Some(deadline) = record.next_deadline() {
        item.insert("due_shard".into(), s(due_shard(record.slug())));
        item.insert("due_at".into(), n(deadline.as_millisecond()));
    }
    if let Some((class, at)) = record.state.status_marker() {
        let shard = due_shard(record.slug());
        let shard = shard.trim_start_matches("DUE#");
        item.insert(
            "status_shard".into(),
            s(format!("{}#{shard}", class.as_str())),
        );
        item.insert("status_at".into(), n(at.as_millisecond()));
    }
    Ok(item)
}

fn text<'a>(item: &'a HashMap<String, AttributeValue>, name: &str) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt("item", format!("missing `{name}`")))
}

fn decode_job(item: &HashMap<String, AttributeValue>) -> Result<JobRecord, StoreError> {
    let slug = Slug::parse(text(item, "slug")?).map_err(|e| corrupt("job slug", e))?;
    let doc: JobDoc =
        serde_json::from_str(text(item, "spec")?).map_err(|e| corrupt("job definition", e))?;
    let spec = doc
        .into_spec(slug)
        .map_err(|e| corrupt("job definition", e))?;
    let state: JobState =
        serde_json::from_str(text(item, "state")?).map_err(|e| corrupt("job state", e))?;
    let version = item
        .get("version")
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt("item", "missing `version`"))?;
    Ok(JobRecord {
        spec,
        state,
        version,
        uuid_hash: text(item, "uuid_hash")?.to_string(),
    })
}

fn is_conditional_failure<E: ProvideErrorMetadata>(e: &E) -> bool {
    e.code() == Some("ConditionalCheckFailedException")
}

impl JobStore for DynamoStore {
    async fn create_job(&self, record: &JobRecord) -> Result<(), StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(job_item(record)?))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(is_conditional_failure) => {
                Err(StoreError::AlreadyExists)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn get_job(&self, slug: &str) -> Result<Option<JobRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(job_pk(slug)))
            .key("SK", s(JOB_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item().map(decode_job).transpose()
    }

    async fn find_job_by_uuid_hash(
        &self,
        uuid_hash: &str,
    ) -> Result<Option<JobRecord>, StoreError> {
        if let Some(slug) = self.cached_slug(uuid_hash) {
            match self.get_job(&slug).await? {
                Some(job) if job.uuid_hash == uuid_hash => return Ok(Some(job)),
                _ => self.forget_slug(uuid_hash), // deleted, or the slug now names another job
            }
        }
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(UUID_INDEX)
            .key_condition_expression("uuid_hash = :h")
            .expression_attribute_values(":h", s(uuid_hash))
            .limit(1)
            .send()
            .await
            .map_err(backend)?;
        let Some(slug) = output
            .items()
            .first()
            .and_then(|item| item.get("PK"))
            .and_then(|pk| pk.as_s().ok())
        else {
            return Ok(None);
        };
        let slug = slug.trim_start_matches("JOB#").to_string();
        let job = self
            .get_job(&slug)
            .await?
            .filter(|job| job.uuid_hash == uuid_hash);
        if job.is_some() {
            self.remember_slug(uuid_hash, &slug);
        }
        Ok(job)
    }

    async fn list_jobs(&self) -> Result<Vec<JobRecord>, StoreError> {
        // Admin listings are rare: a filtered scan is cheaper than indexing every job write.
        let mut jobs = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let output = self
                .client
                .scan()
                .table_name(&self.table)
                .filter_expression("SK = :job")
                .expression_attribute_values(":job", s(JOB_SK))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in output.items() {
                jobs.push(decode_job(item)?);
            }
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        jobs.sort_by(|a, b| a.slug().cmp(b.slug()));
        Ok(jobs)
    }

    async fn commit(&self, commit: Commit<'_>) -> Result<(), StoreError> {
        let record = commit.record;
        let slug = record.slug();
        let job_put = Put::builder()
            .table_name(&self.table)
            .set_item(Some(job_item(record)?))
            .condition_expression("version = :expected")
            .expression_attribute_values(":expected", n(commit.expected_version))
            .build()
            .map_err(backend)?;
        let run_expiry = expires_at(self.run_retention_days);
        let alert_expiry = expires_at(ALERT_RETENTION_DAYS);
        let mut extra_items = Vec::with_capacity(commit.runs.len() + commit.alerts.len());
        for run in commit.runs {
            extra_items.push(HashMap::from([
                ("PK".to_string(), s(job_pk(slug))),
                ("SK".to_string(), s(run_sk(run.seq))),
                ("run".to_string(), s(to_json(run)?)),
                (TTL_ATTRIBUTE.to_string(), n(run_expiry)),
            ]));
        }
        for alert in commit.alerts {
            extra_items.push(outbox_item(alert, alert_expiry)?);
        }
        if extra_items.is_empty() {
            // One conditional put: the cheapest write for a state-only change.
            let result = self
                .client
                .put_item()
                .table_name(&self.table)
                .set_item(Some(job_put.item().clone()))
                .condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(commit.expected_version))
                .send()
                .await;
            return match result {
                Ok(_) => Ok(()),
                Err(e) if e.as_service_error().is_some_and(is_conditional_failure) => {
                    Err(StoreError::Conflict)
                }
                Err(e) => Err(backend(e)),
            };
        }
        let overflow = extra_items.split_off(extra_items.len().min(MAX_TRANSACTION_ITEMS - 1));
        let mut transaction = vec![TransactWriteItem::builder().put(job_put).build()];
        for item in extra_items {
            let put = Put::builder()
                .table_name(&self.table)
                .set_item(Some(item))
                .build()
                .map_err(backend)?;
            transaction.push(TransactWriteItem::builder().put(put).build());
        }
        let result = self
            .client
            .transact_write_items()
            .set_transact_items(Some(transaction))
            .send()
            .await;
        if let Err(e) = result {
            use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
            let conflict = matches!(
                e.as_service_error(),
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled))
                    if cancelled.cancellation_reasons().first().and_then(|r| r.code()) == Some("ConditionalCheckFailed")
            );
            return Err(if conflict {
                StoreError::Conflict
            } else {
                backend(e)
            });
        }
        // Beyond one transaction's size (a long catch-up), the rest follows the committed state.
        self.write_items(overflow).await
    }

    async fn delete_job(&self, slug: &str) -> Result<bool, StoreError> {
        let deleted = self
            .client
            .delete_item()
            .table_name(&self.table)
            .key("PK", s(job_pk(slug)))
            .key("SK", s(JOB_SK))
            .return_values(ReturnValue::AllOld)
            .send()
            .await
            .map_err(backend)?;
        let existed = deleted.attributes().is_some_and(|a| !a.is_empty());
        let mut keys = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        loop {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :run)")
                .expression_attribute_values(":pk", s(job_pk(slug)))
                .expression_attribute_values(":run", s("RUN#"))
                .projection_expression("PK, SK")
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            keys.extend(output.items().iter().cloned());
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        self.delete_items(keys).await?;
        Ok(existed)
    }

    async fn due_jobs(&self, now: Timestamp, limit: usize) -> Result<Vec<JobRecord>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let mut tasks = tokio::task::JoinSet::new();
        for shard in 0..DUE_SHARDS {
            let client = self.client.clone();
            let table = self.table.clone();
            tasks.spawn(async move { query_due_shard(&client, &table, shard, now, limit).await });
        }
        let mut due = Vec::new();
        while let Some(result) = tasks.join_next().await {
            due.extend(result.map_err(|e| StoreError::Backend(format!("due query task: {e}")))??);
        }
        due.sort_by(|a: &JobRecord, b: &JobRecord| {
            (a.next_deadline(), a.slug()).cmp(&(b.next_deadline(), b.slug()))
        });
        due.truncate(limit);
        Ok(due)
    }

    async fn earliest_deadline(&self) -> Result<Option<Timestamp>, StoreError> {
        let mut earliest: Option<i64> = None;
        for shard in 0..DUE_SHARDS {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(DUE_INDEX)
                .key_condition_expression("due_shard = :shard")
                .expression_attribute_values(":shard", s(format!("DUE#{shard}")))
                .projection_expression("due_at")
                .limit(1)
                .send()
                .await
                .map_err(backend)?;
            let at = output
                .items()
                .first()
                .and_then(|i| i.get("due_at"))
                .and_then(|v| v.as_n().ok())
                .and_then(|v| v.parse().ok());
            earliest = earliest.into_iter().chain(at).min();
        }
        earliest
            .map(|ms| Timestamp::from_millisecond(ms).map_err(|e| corrupt("deadline", e)))
            .transpose()
    }

    async fn runs(&self, slug: &str, limit: usize) -> Result<Vec<Run>, StoreError> {
        let mut runs = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        while runs.len() < limit {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("PK = :pk AND begins_with(SK, :run)")
                // The TTL deletes expired items lazily (up to days later): hide them meanwhile.
                .filter_expression("attribute_not_exists(#ttl) OR #ttl > :now")
                .expression_attribute_names("#ttl", TTL_ATTRIBUTE)
                .expression_attribute_values(":pk", s(job_pk(slug)))
                .expression_attribute_values(":run", s("RUN#"))
                .expression_attribute_values(":now", n(Timestamp::now().as_second()))
                .scan_index_forward(false)
                .limit(i32::try_from(limit - runs.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in output.items() {
                runs.push(serde_json::from_str(text(item, "run")?).map_err(|e| corrupt("run", e))?);
            }
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        runs.truncate(limit);
        Ok(runs)
    }

    async fn status_counts(&self, now: Timestamp) -> Result<StatusCounts, StoreError> {
        let mut counts = StatusCounts::default();
        for class in jobwatch_core::machine::StatusClass::ALL {
            for shard in 0..DUE_SHARDS {
                let mut start: Option<HashMap<String, AttributeValue>> = None;
                loop {
                    let mut query = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .index_name(STATUS_INDEX)
                        .select(aws_sdk_dynamodb::types::Select::Count)
                        .expression_attribute_values(
                            ":shard",
                            s(format!("{}#{shard}", class.as_str())),
                        )
                        .set_exclusive_start_key(start.take());
                    query = if class == jobwatch_core::machine::StatusClass::Waiting {
                        query
                            .key_condition_expression("status_shard = :shard AND status_at <= :now")
                            .expression_attribute_values(":now", n(now.as_millisecond()))
                    } else {
                        query.key_condition_expression("status_shard = :shard")
                    };
                    let output = query.send().await.map_err(backend)?;
                    let found = u64::try_from(output.count()).unwrap_or(0);
                    match class {
                        jobwatch_core::machine::StatusClass::Down => counts.down += found,
                        jobwatch_core::machine::StatusClass::Running => counts.running += found,
                        jobwatch_core::machine::StatusClass::Waiting => counts.late += found,
                    }
                    match output.last_evaluated_key() {
                        Some(key) if !key.is_empty() => start = Some(key.clone()),
                        _ => break,
                    }
                }
            }
        }
        Ok(counts)
    }
}

impl Outbox for DynamoStore {
    async fn pending_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>, StoreError> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let output = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :outbox")
            .expression_attribute_values(":outbox", s(OUTBOX_PK))
            .limit(i32::try_from(limit).unwrap_or(i32::MAX))
            .send()
            .await
            .map_err(backend)?;
        output
            .items()
            .iter()
            .map(|item| {
                let event =
                    serde_json::from_str(text(item, "event")?).map_err(|e| corrupt("alert", e))?;
                Ok(StoredAlert {
                    token: text(item, "SK")?.to_string(),
                    event,
                })
            })
            .collect()
    }

    async fn ack_alerts(&self, tokens: &[String]) -> Result<(), StoreError> {
        let keys = tokens
            .iter()
            .map(|token| {
                HashMap::from([
                    ("PK".to_string(), s(OUTBOX_PK)),
                    ("SK".to_string(), s(token)),
                ])
            })
            .collect();
        self.delete_items(keys).await
    }

    async fn enqueue_alerts(&self, alerts: &[AlertEvent]) -> Result<(), StoreError> {
        let expiry = expires_at(ALERT_RETENTION_DAYS);
        let items = alerts
            .iter()
            .map(|a| outbox_item(a, expiry))
            .collect::<Result<Vec<_>, _>>()?;
        self.write_items(items).await
    }
}

impl IncidentStore for DynamoStore {
    async fn get_incident(&self, key: &str) -> Result<Option<IncidentRecord>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(incident_pk(key)))
            .key("SK", s(INCIDENT_SK))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        output.item().map(decode_incident).transpose()
    }

    async fn put_incident(
        &self,
        record: &IncidentRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let put = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(incident_item(record)));
        let put = if expected_version == 0 {
            put.condition_expression("attribute_not_exists(PK)")
        } else {
            put.condition_expression("version = :expected")
                .expression_attribute_values(":expected", n(expected_version))
        };
        match put.send().await {
            Ok(_) => Ok(()),
            Err(e) if e.as_service_error().is_some_and(is_conditional_failure) => {
                Err(StoreError::Conflict)
            }
            Err(e) => Err(backend(e)),
        }
    }

    async fn due_incidents(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let mut records = Vec::new();
        let mut start: Option<HashMap<String, AttributeValue>> = None;
        while records.len() < limit {
            let output = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(DUE_INDEX)
                .key_condition_expression("due_shard = :shard AND due_at <= :now")
                .expression_attribute_values(":shard", s(NOTIFY_SHARD))
                .expression_attribute_values(":now", n(now.as_millisecond()))
                .limit(i32::try_from(limit - records.len()).unwrap_or(i32::MAX))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(backend)?;
            for item in output.items() {
                records.push(decode_incident(item)?);
            }
            match output.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        // The index is eventually consistent, so a record may be a little stale: callers
        // write back with compare-and-set, which catches that.
        records.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
        records.truncate(limit);
        Ok(records)
    }
}

impl Settings for DynamoStore {
    async fn get_setting(&self, key: &str) -> Result<Option<String>, StoreError> {
        let output = self
            .client
            .get_item()
            .table_name(&self.table)
            .key("PK", s(format!("SETTING#{key}")))
            .key("SK", s("SETTING"))
            .consistent_read(true)
            .send()
            .await
            .map_err(backend)?;
        Ok(output
            .item()
            .and_then(|item| item.get("value"))
            .and_then(|v| v.as_s().ok())
            .cloned())
    }

    async fn init_setting(&self, key: &str, value: &str) -> Result<String, StoreError> {
        let result = self
            .client
            .put_item()
            .table_name(&self.table)
            .item("PK", s(format!("SETTING#{key}")))
            .item("SK", s("SETTING"))
            .item("value", s(value))
            .condition_expression("attribute_not_exists(PK)")
            .send()
            .await;
        match result {
            Ok(_) => Ok(value.to_string()),
            Err(e) if e.as_service_error().is_some_and(is_conditional_failure) => self
                .get_setting(key)
                .await?
                .ok_or_else(|| StoreError::Backend("setting vanished".into())),
            Err(e) => Err(backend(e)),
        }
    }
}

async fn query_due_shard(
    client: &Client,
    table: &str,
    shard: u32,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<JobRecord>, StoreError> {
    let mut jobs = Vec::new();
    let mut start: Option<HashMap<String, AttributeValue>> = None;
    while jobs.len() < limit {
        let output = client
            .query()
            .table_name(table)
            .index_name(DUE_INDEX)
            .key_condition_expression("due_shard = :shard AND due_at <= :now")
            .expression_attribute_values(":shard", s(format!("DUE#{shard}")))
            .expression_attribute_values(":now", n(now.as_millisecond()))
            .limit(i32::try_from(limit - jobs.len()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(backend)?;
        for item in output.items() {
            jobs.push(decode_job(item)?);
        }
        match output.last_evaluated_key() {
            Some(key) if !key.is_empty() => start = Some(key.clone()),
            _ => break,
        }
    }
    Ok(jobs)
}

impl DynamoStore {
    /// Writes many new jobs at once, 25 per request, without the existence check of
    /// [`JobStore::create_job`]: for bulk imports into a table known not to hold them (and tests).
    pub async fn import_jobs(&self, records: &[JobRecord]) -> Result<(), StoreError> {
        let items = records
            .iter()
            .map(job_item)
            .collect::<Result<Vec<_>, _>>()?;
        self.write_items(items).await
    }

    /// Puts items in batches of 25, retrying what DynamoDB leaves unprocessed (bounded).
    async fn write_items(
        &self,
        items: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<(), StoreError> {
        let requests = items
            .into_iter()
            .map(|item| {
                let put = aws_sdk_dynamodb::types::PutRequest::builder()
                    .set_item(Some(item))
                    .build()
                    .map_err(backend)?;
                Ok(WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await
    }

    async fn delete_items(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<(), StoreError> {
        let requests = keys
            .into_iter()
            .map(|key| {
                let delete = DeleteRequest::builder()
                    .set_key(Some(key))
                    .build()
                    .map_err(backend)?;
                Ok(WriteRequest::builder().delete_request(delete).build())
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        self.batch_write(requests).await
    }

    async fn batch_write(&self, requests: Vec<WriteRequest>) -> Result<(), StoreError> {
        for chunk in requests.chunks(25) {
            let mut pending = chunk.to_vec();
            for attempt in 0..8u32 {
                let output = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, pending)
                    .send()
                    .await
                    .map_err(backend)?;
                pending = output
                    .unprocessed_items()
                    .and_then(|u| u.get(&self.table))
                    .cloned()
                    .unwrap_or_default();
                if pending.is_empty() {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
            }
            if !pending.is_empty() {
                return Err(StoreError::Backend(format!(
                    "{} writes left unprocessed after retries",
                    pending.len()
                )));
            }
        }
        Ok(())
    }
}
