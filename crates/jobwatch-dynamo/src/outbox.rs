//! [`Outbox`] on DynamoDB: alert items under one partition, sorted by time, deleted when
//! delivered (the TTL removes those never delivered).

use std::collections::HashMap;

use jobwatch_core::AlertEvent;
use jobwatch_store::{Outbox, StoreError, StoredAlert};

use crate::codec::{OUTBOX_PK, expires_at, outbox_item, s, text};
use crate::errors::{corrupt, service};
use crate::{ALERT_RETENTION_DAYS, DynamoStore};

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
            .map_err(service)?;
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
