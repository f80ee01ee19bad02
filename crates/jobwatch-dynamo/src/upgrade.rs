//! One-time upgrades of tables written by earlier versions, run by the sweeper on its first
//! sweep after a cold start: a setting records each one done, so afterwards the check costs
//! one read per cold start.
//!
//! - `jobs-index`: job items written before the `jobs` index existed lack its key (`listed`),
//!   so listings and the daily report would miss them until their next write. One filtered
//!   scan adds it to those items (a job written since carries it already).

use jobwatch_store::{Settings, StoreError};

use crate::DynamoStore;
use crate::codec::{JOB_SK, s};
use crate::errors::service;
use crate::schema::LISTED;

const JOBS_INDEX_DONE: &str = "upgrade:jobs-index";

impl DynamoStore {
    /// Applies the upgrades not yet recorded as done; returns the items changed.
    pub async fn upgrade(&self) -> Result<usize, StoreError> {
        if self.get_setting(JOBS_INDEX_DONE).await?.is_some() {
            return Ok(0);
        }
        let mut keys = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("SK = :job AND attribute_not_exists(listed)")
            .expression_attribute_values(":job", s(JOB_SK))
            .projection_expression("PK")
            .into_paginator()
            .items()
            .send();
        let mut changed = 0;
        while let Some(key) = keys.try_next().await.map_err(service)? {
            let Some(pk) = key.get("PK").cloned() else {
                continue;
            };
            // Only if the job still exists: a job deleted meanwhile is not brought back.
            let result = self
                .client
                .update_item()
                .table_name(&self.table)
                .key("PK", pk)
                .key("SK", s(JOB_SK))
                .update_expression("SET listed = :listed")
                .condition_expression("attribute_exists(PK)")
                .expression_attribute_values(":listed", s(LISTED))
                .send()
                .await;
            match result {
                Ok(_) => changed += 1,
                Err(e)
                    if e.as_service_error()
                        .is_some_and(crate::errors::is_conditional_failure) => {}
                Err(e) => return Err(service(e)),
            }
        }
        self.init_setting(JOBS_INDEX_DONE, "done").await?;
        Ok(changed)
    }
}
