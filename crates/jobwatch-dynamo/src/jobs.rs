//! [`JobStore`] on DynamoDB: job items, their run items, and the `due`, `by-uuid` and
//! `status` indexes that find them.

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem};
use jiff::Timestamp;
use jobwatch_core::Run;
use jobwatch_store::{Commit, JobRecord, JobStore, StoreError};

use crate::codec::{
    JOB_SK, decode_job, expires_at, job_item, job_key, job_pk, n, outbox_item, run_item, s, text,
};
use crate::errors::{backend, corrupt, is_conditional_failure, is_throttling, service};
use crate::schema::{
    DUE_INDEX, DUE_SHARDS, JOBS_INDEX, LISTED, STATUS_INDEX, TTL_ATTRIBUTE, UUID_INDEX,
};
use crate::{ALERT_RETENTION_DAYS, DynamoStore, page_size};

/// DynamoDB's limit on items in one transaction.
const MAX_TRANSACTION_ITEMS: usize = 100;

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
            Err(e) => Err(service(e)),
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
            .map_err(service)?;
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
            .map_err(service)?;
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
        // The keys from the `jobs` index, then the jobs: reads proportional to the jobs, never
        // to their run history.
        let keys: Vec<_> = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(JOBS_INDEX)
            .key_condition_expression("listed = :job")
            .expression_attribute_values(":job", s(LISTED))
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(service)?;
        let keys = keys
            .iter()
            .map(|key| Ok(job_key(job_slug(key)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        let mut jobs = self.get_jobs(keys).await?;
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
        // A run can change twice in one commit (timed out, then finished by the same ping): a
        // transaction takes one operation per item, so only its latest record is written.
        for (i, run) in commit.runs.iter().enumerate() {
            if commit.runs[i + 1..]
                .iter()
                .any(|later| later.seq == run.seq)
            {
                continue;
            }
            extra_items.push(run_item(slug, run, run_expiry)?);
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
                Err(e) => Err(service(e)),
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
            let reasons: Vec<Option<&str>> = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) => cancelled
                    .cancellation_reasons()
                    .iter()
                    .map(|r| r.code())
                    .collect(),
                _ => Vec::new(),
            };
            let conflict = reasons.first().copied().flatten() == Some("ConditionalCheckFailed");
            // A transaction cancelled because an item was throttled is throttled too.
            let throttled = reasons.iter().any(|code| is_throttling(*code));
            return Err(if conflict {
                StoreError::Conflict
            } else if throttled {
                StoreError::Throttled(aws_sdk_dynamodb::error::DisplayErrorContext(e).to_string())
            } else {
                service(e)
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
            .map_err(service)?;
        let existed = deleted.attributes().is_some_and(|a| !a.is_empty());
        let keys = self
            .client
            .query()
            .table_name(&self.table)
            .key_condition_expression("PK = :pk AND begins_with(SK, :run)")
            .expression_attribute_values(":pk", s(job_pk(slug)))
            .expression_attribute_values(":run", s("RUN#"))
            .projection_expression("PK, SK")
            .into_paginator()
            .items()
            .send()
            .try_collect()
            .await
            .map_err(service)?;
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
            tasks.spawn(async move { due_keys(&client, &table, shard, now, limit).await });
        }
        let mut due = Vec::new();
        while let Some(result) = tasks.join_next().await {
            due.extend(result.map_err(|e| StoreError::Backend(format!("due query task: {e}")))??);
        }
        // The earliest `limit` deadlines of all shards, then only those jobs are read.
        due.sort();
        due.truncate(limit);
        let keys = due.iter().map(|(_, slug)| job_key(slug)).collect();
        let mut jobs = self.get_jobs(keys).await?;
        jobs.sort_by(|a: &JobRecord, b: &JobRecord| {
            (a.next_deadline(), a.slug()).cmp(&(b.next_deadline(), b.slug()))
        });
        Ok(jobs)
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
                .map_err(service)?;
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
        let mut items = self
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
            .into_paginator()
            .page_size(page_size(limit))
            .items()
            .send();
        let mut runs = Vec::new();
        while runs.len() < limit {
            let Some(item) = items.try_next().await.map_err(service)? else {
                break;
            };
            runs.push(serde_json::from_str(text(&item, "run")?).map_err(|e| corrupt("run", e))?);
        }
        Ok(runs)
    }

    async fn jobs_down(&self) -> Result<u64, StoreError> {
        let mut down = 0;
        for shard in 0..DUE_SHARDS {
            // A count query returns no items, only each page's count.
            let mut pages = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(STATUS_INDEX)
                .select(aws_sdk_dynamodb::types::Select::Count)
                .key_condition_expression("status_shard = :shard")
                .expression_attribute_values(":shard", s(format!("down#{shard}")))
                .into_paginator()
                .send();
            while let Some(page) = pages.try_next().await.map_err(service)? {
                down += u64::try_from(page.count()).unwrap_or(0);
            }
        }
        Ok(down)
    }
}

impl DynamoStore {
    /// The jobs of `keys` (those that still exist), in no particular order.
    async fn get_jobs(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<Vec<JobRecord>, StoreError> {
        self.get_items(keys).await?.iter().map(decode_job).collect()
    }
}

/// The slug of a job from its key attributes.
fn job_slug(item: &HashMap<String, AttributeValue>) -> Result<&str, StoreError> {
    let pk = text(item, "PK")?;
    pk.strip_prefix("JOB#")
        .ok_or_else(|| corrupt("job key", format!("`{pk}` is not a job's")))
}

/// The deadlines (ms) and slugs of a shard's jobs due by `now`, earliest first, at most
/// `limit`: keys only, from the index.
async fn due_keys(
    client: &Client,
    table: &str,
    shard: u32,
    now: Timestamp,
    limit: usize,
) -> Result<Vec<(i64, String)>, StoreError> {
    let mut items = client
        .query()
        .table_name(table)
        .index_name(DUE_INDEX)
        .key_condition_expression("due_shard = :shard AND due_at <= :now")
        .expression_attribute_values(":shard", s(format!("DUE#{shard}")))
        .expression_attribute_values(":now", n(now.as_millisecond()))
        .into_paginator()
        .page_size(page_size(limit))
        .items()
        .send();
    let mut due = Vec::new();
    while due.len() < limit {
        let Some(item) = items.try_next().await.map_err(service)? else {
            break;
        };
        let at = item
            .get("due_at")
            .and_then(|v| v.as_n().ok())
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| corrupt("due index", "missing `due_at`"))?;
        due.push((at, job_slug(&item)?.to_string()));
    }
    Ok(due)
}
