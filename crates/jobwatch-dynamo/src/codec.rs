//! Items to records and back: the keys and attributes of jobs, runs, alerts and incidents in
//! the one table (see the table in the crate documentation), and the errors of decoding them.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use jiff::Timestamp;
use jobwatch_core::{AlertEvent, JobDoc, JobState, Slug};
use jobwatch_store::{IncidentRecord, JobRecord, StoreError};

use crate::errors::corrupt;
use crate::schema::{DUE_SHARDS, LISTED, TTL_ATTRIBUTE};

pub(crate) const JOB_SK: &str = "JOB";
pub(crate) const OUTBOX_PK: &str = "OUTBOX";
pub(crate) const INCIDENT_SK: &str = "INCIDENT";
/// The `due` index shard of incidents with something held.
pub(crate) const NOTIFY_SHARD: &str = "NOTIFY";

pub(crate) fn s(value: impl Into<String>) -> AttributeValue {
    AttributeValue::S(value.into())
}

pub(crate) fn n(value: impl ToString) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

pub(crate) fn job_pk(slug: &str) -> String {
    format!("JOB#{slug}")
}

pub(crate) fn run_sk(seq: u64) -> String {
    format!("RUN#{seq:020}")
}

fn alert_sk(event: &AlertEvent) -> String {
    outbox_token(event)
}

/// The outbox token of an alert (what
/// [`Outbox::ack_alerts`](jobwatch_store::Outbox::ack_alerts) takes), computable from the
/// event alone: the formatter acknowledges alerts that reached it through SNS with it.
pub fn outbox_token(event: &AlertEvent) -> String {
    format!("{:015}#{}", event.at.as_millisecond().max(0), event.id)
}

pub(crate) fn incident_pk(key: &str) -> String {
    format!("INCIDENT#{key}")
}

pub(crate) fn incident_item(record: &IncidentRecord) -> HashMap<String, AttributeValue> {
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

pub(crate) fn decode_incident(
    item: &HashMap<String, AttributeValue>,
) -> Result<IncidentRecord, StoreError> {
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
pub(crate) fn due_shard(slug: &str) -> String {
    let hash = slug.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("DUE#{}", hash % u64::from(DUE_SHARDS))
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| corrupt("encoding", e))
}

pub(crate) fn expires_at(days: u32) -> i64 {
    Timestamp::now().as_second() + i64::from(days) * 86_400
}

/// An alert in the outbox; its key is derived from the alert, so writing it twice is harmless.
pub(crate) fn outbox_item(
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

/// A run record's item, kept until `expiry` (epoch seconds).
pub(crate) fn run_item(
    slug: &str,
    run: &jobwatch_core::Run,
    expiry: i64,
) -> Result<HashMap<String, AttributeValue>, StoreError> {
    Ok(HashMap::from([
        ("PK".to_string(), s(job_pk(slug))),
        ("SK".to_string(), s(run_sk(run.seq))),
        ("run".to_string(), s(to_json(run)?)),
        (TTL_ATTRIBUTE.to_string(), n(expiry)),
    ]))
}

/// The key of a job item.
pub(crate) fn job_key(slug: &str) -> HashMap<String, AttributeValue> {
    HashMap::from([
        ("PK".to_string(), s(job_pk(slug))),
        ("SK".to_string(), s(JOB_SK)),
    ])
}

/// The whole job item: written in full on every change, so no attribute can go stale. The
/// slug is its key's (`JOB#<slug>`), not stored twice.
pub(crate) fn job_item(record: &JobRecord) -> Result<HashMap<String, AttributeValue>, StoreError> {
    let mut item = HashMap::from([
        ("PK".to_string(), s(job_pk(record.slug()))),
        ("SK".to_string(), s(JOB_SK)),
        ("listed".to_string(), s(LISTED)),
        ("uuid_hash".to_string(), s(&record.uuid_hash)),
        ("version".to_string(), n(record.version)),
        (
            "spec".to_string(),
            s(to_json(&record.spec.to_stored_doc())?),
        ),
        ("state".to_string(), s(to_json(&record.state)?)),
    ]);
    if let Some(deadline) = record.next_deadline() {
        item.insert("due_shard".into(), s(due_shard(record.slug())));
        item.insert("due_at".into(), n(deadline.as_millisecond()));
    }
    if let Some(since) = record.state.down_marker() {
        let shard = due_shard(record.slug());
        let shard = shard.trim_start_matches("DUE#");
        item.insert("status_shard".into(), s(format!("down#{shard}")));
        item.insert("status_at".into(), n(since.as_millisecond()));
    }
    Ok(item)
}

pub(crate) fn text<'a>(
    item: &'a HashMap<String, AttributeValue>,
    name: &str,
) -> Result<&'a str, StoreError> {
    item.get(name)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| corrupt("item", format!("missing `{name}`")))
}

pub(crate) fn decode_job(item: &HashMap<String, AttributeValue>) -> Result<JobRecord, StoreError> {
    let pk = text(item, "PK")?;
    let slug = pk
        .strip_prefix("JOB#")
        .ok_or_else(|| corrupt("job", format!("key `{pk}` is not a job's")))?;
    let slug = Slug::parse(slug).map_err(|e| corrupt("job slug", e))?;
    let doc: JobDoc =
        serde_json::from_str(text(item, "spec")?).map_err(|e| corrupt("job definition", e))?;
    let spec = doc
        .into_stored_spec(slug)
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
