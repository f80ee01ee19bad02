//! [`Outbox`] on SQLite: alerts wait in the `outbox` table, in commit order, until delivered;
//! delivered ones are kept a while so a retried commit does not queue its alerts again.

use jiff::Timestamp;
use jobwatch_core::AlertEvent;
use jobwatch_store::{Outbox, StoreError, StoredAlert};
use rusqlite::{Connection, params};

use crate::SqliteStore;
use crate::codec::{as_i64, backend, corrupt, to_json};

/// Delivered outbox entries kept (for de-duplication by alert id) behind the newest one.
const DELIVERED_ALERTS_KEPT: u64 = 10_000;

/// Puts alert events `(id, JSON)` in the outbox; one already there (a retried commit) stays.
pub(crate) fn insert_outbox(
    conn: &Connection,
    alerts: &[(String, String)],
) -> Result<(), StoreError> {
    if alerts.is_empty() {
        return Ok(());
    }
    let mut put = conn
        .prepare_cached(
            "INSERT INTO outbox (id, event) VALUES (?1, ?2) ON CONFLICT (id) DO NOTHING",
        )
        .map_err(backend)?;
    for (id, event) in alerts {
        put.execute(params![id, event]).map_err(backend)?;
    }
    Ok(())
}

impl Outbox for SqliteStore {
    async fn pending_alerts(&self, limit: usize) -> Result<Vec<StoredAlert>, StoreError> {
        self.read(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT seq, event FROM outbox WHERE delivered_at IS NULL ORDER BY seq LIMIT ?1")
                .map_err(backend)?;
            let rows = stmt
                .query_map([as_i64(limit as u64)], |row| Ok((row.get::<_, i64>(0)?, row.get::<_, String>(1)?)))
                .map_err(backend)?;
            rows.map(|row| {
                let (seq, json) = row.map_err(backend)?;
                let event: AlertEvent = serde_json::from_str(&json).map_err(|e| corrupt("alert", e))?;
                Ok(StoredAlert { token: seq.to_string(), event })
            })
            .collect()
        })
    }

    async fn ack_alerts(&self, tokens: &[String]) -> Result<(), StoreError> {
        let now = Timestamp::now().as_millisecond();
        let seqs: Vec<i64> = tokens.iter().filter_map(|t| t.parse().ok()).collect();
        self.write(move |conn| {
            {
                let mut stmt = conn
                    .prepare_cached("UPDATE outbox SET delivered_at = ?1 WHERE seq = ?2")
                    .map_err(backend)?;
                for seq in &seqs {
                    stmt.execute(params![now, seq]).map_err(backend)?;
                }
            }
            if let Some(newest) = seqs.iter().max() {
                conn.prepare_cached(
                    "DELETE FROM outbox WHERE seq <= ?1 AND delivered_at IS NOT NULL",
                )
                .and_then(|mut stmt| stmt.execute([newest - as_i64(DELIVERED_ALERTS_KEPT)]))
                .map_err(backend)?;
            }
            Ok(())
        })
        .await
    }

    async fn enqueue_alerts(&self, alerts: &[AlertEvent]) -> Result<(), StoreError> {
        let alerts: Vec<(String, String)> = alerts
            .iter()
            .map(|a| Ok((a.id.clone(), to_json(a)?)))
            .collect::<Result<_, StoreError>>()?;
        self.write(move |conn| insert_outbox(conn, &alerts)).await
    }
}
