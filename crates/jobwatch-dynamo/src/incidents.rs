//! [`IncidentStore`] on DynamoDB: one item per key, written with compare-and-set on its
//! `version`; those with something held are found through the `due` index's `NOTIFY` shard.

use std::collections::HashMap;

use jiff::Timestamp;
use jobwatch_store::{IncidentRecord, IncidentStore, StoreError};

use crate::codec::{INCIDENT_SK, NOTIFY_SHARD, decode_incident, incident_item, incident_pk, n, s};
use crate::errors::{corrupt, is_conditional_failure, service};
use crate::schema::DUE_INDEX;
use crate::{DynamoStore, page_size};

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
            .map_err(service)?;
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
            Err(e) => Err(service(e)),
        }
    }

    async fn due_incidents(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let mut items = self
            .client
            .query()
            .table_name(&self.table)
            .index_name(DUE_INDEX)
            .key_condition_expression("due_shard = :shard AND due_at <= :now")
            .expression_attribute_values(":shard", s(NOTIFY_SHARD))
            .expression_attribute_values(":now", n(now.as_millisecond()))
            .into_paginator()
            .page_size(page_size(limit))
            .items()
            .send();
        // The index holds keys only: collect the due keys, then read those records.
        let mut keys = Vec::new();
        while keys.len() < limit {
            let Some(item) = items.try_next().await.map_err(service)? else {
                break;
            };
            keys.push(HashMap::from([
                (
                    "PK".to_string(),
                    item.get("PK")
                        .cloned()
                        .ok_or_else(|| corrupt("due index", "an entry without `PK`"))?,
                ),
                ("SK".to_string(), s(INCIDENT_SK)),
            ]));
        }
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut records = self
            .get_items(keys)
            .await?
            .iter()
            .map(decode_incident)
            .collect::<Result<Vec<_>, _>>()?;
        // Only those still due: a record may have moved on since the index was read.
        records.retain(|r| r.due_at.is_some_and(|due| due <= now));
        // Callers write back with compare-and-set, which catches a record changed since.
        records.sort_by(|a, b| (a.due_at, &a.key).cmp(&(b.due_at, &b.key)));
        records.truncate(limit);
        Ok(records)
    }
}
