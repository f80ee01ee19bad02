//! [`IncidentStore`] on SQLite: the notification state, one compare-and-set row per key.

use jiff::Timestamp;
use jobwatch_store::{IncidentRecord, IncidentStore, StoreError};
use rusqlite::{OptionalExtension, params};

use crate::SqliteStore;
use crate::codec::{INCIDENT_COLUMNS, as_i64, backend, decode_incident, millis, raw_incident};

impl IncidentStore for SqliteStore {
    async fn get_incident(&self, key: &str) -> Result<Option<IncidentRecord>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE key = ?1"
                ))
                .map_err(backend)?;
            stmt.query_row([key], raw_incident)
                .optional()
                .map_err(backend)?
                .map(decode_incident)
                .transpose()
        })
    }

    async fn put_incident(
        &self,
        record: &IncidentRecord,
        expected_version: u64,
    ) -> Result<(), StoreError> {
        let record = record.clone();
        self.write(move |conn| {
            let written = if expected_version == 0 {
                conn.prepare_cached(
                    "INSERT INTO incidents (key, version, doc, due_at, expires_at)
                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (key) DO NOTHING",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.key,
                        as_i64(record.version),
                        record.doc,
                        millis(record.due_at),
                        record.expires_at.as_millisecond()
                    ])
                })
            } else {
                conn.prepare_cached(
                    "UPDATE incidents SET version = ?2, doc = ?3, due_at = ?4, expires_at = ?5
                     WHERE key = ?1 AND version = ?6",
                )
                .and_then(|mut stmt| {
                    stmt.execute(params![
                        record.key,
                        as_i64(record.version),
                        record.doc,
                        millis(record.due_at),
                        record.expires_at.as_millisecond(),
                        as_i64(expected_version)
                    ])
                })
            }
            .map_err(backend)?;
            if written == 0 {
                Err(StoreError::Conflict)
            } else {
                Ok(())
            }
        })
        .await
    }

    async fn due_incidents(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        self.write(move |conn| {
            // Expired records with nothing due are only kept for de-duplication: drop them here,
            // by the caller's clock (as DynamoDB's TTL does by its own).
            conn.prepare_cached("DELETE FROM incidents WHERE due_at IS NULL AND expires_at <= ?1")
                .and_then(|mut stmt| stmt.execute([now.as_millisecond()]))
                .map_err(backend)?;
            let mut stmt = conn
                .prepare_cached(&format!(
                    "SELECT {INCIDENT_COLUMNS} FROM incidents
                     WHERE due_at IS NOT NULL AND due_at <= ?1 ORDER BY due_at, key LIMIT ?2"
                ))
                .map_err(backend)?;
            let rows = stmt
                .query_map(
                    params![now.as_millisecond(), as_i64(limit as u64)],
                    raw_incident,
                )
                .map_err(backend)?;
            rows.map(|row| row.map_err(backend).and_then(decode_incident))
                .collect()
        })
        .await
    }
}
