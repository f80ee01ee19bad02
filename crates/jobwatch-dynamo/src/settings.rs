//! [`Settings`] on DynamoDB: one `SETTING#<key>` item per setting.

use jobwatch_store::{Settings, StoreError};

use crate::DynamoStore;
use crate::codec::s;
use crate::errors::{is_conditional_failure, service};

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
            .map_err(service)?;
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
            Err(e) => Err(service(e)),
        }
    }
}
