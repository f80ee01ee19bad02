//! Batch reads and writes: items read 100 per request and put or deleted 25 per request,
//! retrying what DynamoDB leaves unprocessed, and bulk imports of jobs built on them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, KeysAndAttributes, WriteRequest};
use jobwatch_store::{JobRecord, StoreError};

use crate::DynamoStore;
use crate::codec::job_item;
use crate::errors::{backend, service};

impl DynamoStore {
    /// Writes many new jobs at once, 25 per request, without the existence check of
    /// [`JobStore::create_job`](jobwatch_store::JobStore::create_job): for bulk imports into a table known not to hold them (and tests).
    pub async fn import_jobs(&self, records: &[JobRecord]) -> Result<(), StoreError> {
        let items = records
            .iter()
            .map(job_item)
            .collect::<Result<Vec<_>, _>>()?;
        self.write_items(items).await
    }

    /// Writes run records of a job at once, 25 per request: for bulk imports of history (and
    /// tests). Runs already there are replaced.
    pub async fn import_runs(
        &self,
        slug: &str,
        runs: &[jobwatch_core::Run],
    ) -> Result<(), StoreError> {
        let expiry = crate::codec::expires_at(self.run_retention_days);
        let items = runs
            .iter()
            .map(|run| crate::codec::run_item(slug, run, expiry))
            .collect::<Result<Vec<_>, _>>()?;
        self.write_items(items).await
    }

    /// Reads the items of `keys` (strongly consistent), 100 per BatchGetItem, a few batches
    /// at a time, retrying what DynamoDB leaves unprocessed (bounded). Keys without an item
    /// are left out; the order of the answer is not that of `keys`.
    pub(crate) async fn get_items(
        &self,
        keys: Vec<HashMap<String, AttributeValue>>,
    ) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
        /// BatchGetItem requests in flight at once: enough to hide latency, few enough not to
        /// be throttled in bursts.
        const CONCURRENT_BATCHES: usize = 4;
        let mut items = Vec::with_capacity(keys.len());
        let mut tasks = tokio::task::JoinSet::new();
        let mut chunks = keys
            .chunks(100)
            .map(<[_]>::to_vec)
            .collect::<Vec<_>>()
            .into_iter();
        loop {
            while tasks.len() < CONCURRENT_BATCHES {
                let Some(chunk) = chunks.next() else { break };
                let (client, table) = (self.client.clone(), self.table.clone());
                tasks.spawn(async move { get_batch(&client, &table, chunk).await });
            }
            let Some(done) = tasks.join_next().await else {
                return Ok(items);
            };
            items.extend(done.map_err(|e| StoreError::Backend(format!("batch read task: {e}")))??);
        }
    }

    /// Puts items in batches of 25, retrying what DynamoDB leaves unprocessed (bounded).
    pub(crate) async fn write_items(
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

    pub(crate) async fn delete_items(
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
                    .map_err(service)?;
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

async fn get_batch(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    keys: Vec<HashMap<String, AttributeValue>>,
) -> Result<Vec<HashMap<String, AttributeValue>>, StoreError> {
    let mut items = Vec::with_capacity(keys.len());
    let mut pending = KeysAndAttributes::builder()
        .set_keys(Some(keys))
        .consistent_read(true)
        .build()
        .map_err(backend)?;
    for attempt in 0..8u32 {
        let output = client
            .batch_get_item()
            .request_items(table, pending.clone())
            .send()
            .await
            .map_err(service)?;
        if let Some(found) = output.responses().and_then(|r| r.get(table)) {
            items.extend(found.iter().cloned());
        }
        match output
            .unprocessed_keys()
            .and_then(|u| u.get(table))
            .filter(|k| !k.keys().is_empty())
        {
            Some(rest) => pending = rest.clone(),
            None => return Ok(items),
        }
        tokio::time::sleep(std::time::Duration::from_millis(50 << attempt)).await;
    }
    Err(StoreError::Backend(format!(
        "{} reads left unprocessed after retries",
        pending.keys().len()
    )))
}
