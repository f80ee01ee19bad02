//! Batch writes: items put or deleted 25 per request, retrying what DynamoDB leaves
//! unprocessed, and bulk imports of jobs built on them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, WriteRequest};
use jobwatch_store::{JobRecord, StoreError};

use crate::DynamoStore;
use crate::codec::job_item;
use crate::errors::backend;

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
