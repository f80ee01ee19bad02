//! DynamoDB capacity units of recorded exchanges ([`crate::proxy::Exchange`]): a shadow
//! copy of every item, keyed by table and primary key, kept from the writes observed, so each
//! write knows the item it replaces and each query the items it read.
//!
//! Writes: PutItem, UpdateItem (the new item as the proxy read it back), DeleteItem,
//! BatchWriteItem (per item, unprocessed ones excluded) and TransactWriteItems (table writes
//! doubled, index writes not; a ConditionCheck is a doubled write of the item checked); a
//! write whose condition failed is charged and changes nothing. Reads: GetItem and
//! BatchGetItem per item, TransactGetItems doubled, Query and Scan per page from the items
//! evaluated (`ScannedCount` of them, in key order after `ExclusiveStartKey`), index queries
//! from the index entries. Every request costs at least one unit (half when eventually
//! consistent).

use std::collections::BTreeMap;

use jobwatch_dynamo::{IndexSchema, TableSchema};
use serde_json::{Map, Value};

use super::dynamo_units::{
    ITEM_OVERHEAD_BYTES, Item, entry_size, in_index, index_entry, index_write, item_size,
    read_units, write_units,
};
use super::key_condition::{self, compare};
use crate::proxy::Exchange;

/// Capacity used by some DynamoDB requests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DynamoUsage {
    /// Write units of the table's items (transactional writes doubled).
    pub table_wru: f64,
    /// Write units of the global secondary indexes.
    pub index_wru: f64,
    pub rru: f64,
    /// Items a read evaluated that the shadow did not hold (sized 0): a sign that the
    /// measurement missed writes.
    pub unknown_items: u64,
    /// Requests the model does not price, by operation.
    pub unpriced: BTreeMap<String, u64>,
}

impl DynamoUsage {
    pub fn wru(&self) -> f64 {
        self.table_wru + self.index_wru
    }

    pub fn add(&mut self, other: &DynamoUsage) {
        self.table_wru += other.table_wru;
        self.index_wru += other.index_wru;
        self.rru += other.rru;
        self.unknown_items += other.unknown_items;
        for (operation, n) in &other.unpriced {
            *self.unpriced.entry(operation.clone()).or_default() += n;
        }
    }
}

/// An item kept in the table at the end: who wrote it first, its storage and its expiry.
#[derive(Debug, Clone, PartialEq)]
pub struct Retained {
    pub origin: String,
    /// The item plus DynamoDB's 100 bytes, plus its entry in every index it is in.
    pub bytes: u64,
    /// The TTL attribute's value (epoch seconds), if any.
    pub expires_at: Option<i64>,
}

struct Stored {
    item: Item,
    origin: String,
}

type Key = (String, String, String);

/// The shadow table(s) and the rules of [`super::dynamo_units`] applied to each exchange.
pub struct DynamoMeter {
    schema: TableSchema,
    items: BTreeMap<Key, Stored>,
    origin: String,
}

fn object(value: &Value) -> Map<String, Value> {
    value.as_object().cloned().unwrap_or_default()
}

fn is_conditional_failure(exchange: &Exchange) -> bool {
    let kind = exchange.response_json()["__type"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    kind.contains("ConditionalCheckFailed") || kind.contains("TransactionCanceled")
}

impl DynamoMeter {
    pub fn new(schema: TableSchema) -> DynamoMeter {
        DynamoMeter {
            schema,
            items: BTreeMap::new(),
            origin: String::new(),
        }
    }

    /// Items created from now on are attributed to `origin` (an operation's name).
    pub fn set_origin(&mut self, origin: &str) {
        self.origin = origin.to_string();
    }

    fn key(&self, table: &str, item: &Map<String, Value>) -> Key {
        let part = |name: &str| item.get(name).map(Value::to_string).unwrap_or_default();
        (
            table.to_string(),
            part(self.schema.hash),
            part(self.schema.range),
        )
    }

    fn get(&self, table: &str, key: &Map<String, Value>) -> Option<&Item> {
        self.items.get(&self.key(table, key)).map(|s| &s.item)
    }

    /// The capacity `exchange` used (nothing for other services' requests).
    pub fn record(&mut self, exchange: &Exchange) -> DynamoUsage {
        let mut usage = DynamoUsage::default();
        if exchange.service != "dynamodb" {
            return usage;
        }
        let ok = (200..300).contains(&exchange.status);
        if !ok && !is_conditional_failure(exchange) {
            return usage; // rejected before any work: validation, throttling, moto errors
        }
        let request = exchange.request_json();
        let response = exchange.response_json();
        let table = request["TableName"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        match exchange.operation.as_str() {
            "PutItem" => {
                let item = object(&request["Item"]);
                self.write(&table, &item, Some(item.clone()), 1.0, ok, &mut usage);
            }
            "UpdateItem" => {
                let new = exchange.updated_items.first().map(object);
                self.write(&table, &object(&request["Key"]), new, 1.0, ok, &mut usage);
            }
            "DeleteItem" => self.write(&table, &object(&request["Key"]), None, 1.0, ok, &mut usage),
            "BatchWriteItem" => self.batch_write(&request, &response, &mut usage),
            "TransactWriteItems" => self.transact_write(exchange, &request, ok, &mut usage),
            "GetItem" => {
                let key = object(&request["Key"]);
                let size = self.read_size(&table, &key, &response["Item"], &mut usage);
                usage.rru += read_units(size, request["ConsistentRead"] == true);
            }
            "BatchGetItem" => self.batch_get(&request, &response, &mut usage),
            "TransactGetItems" => {
                for get in request["TransactItems"].as_array().into_iter().flatten() {
                    let get = &get["Get"];
                    let table = get["TableName"].as_str().unwrap_or_default();
                    let size =
                        self.read_size(table, &object(&get["Key"]), &Value::Null, &mut usage);
                    usage.rru += 2.0 * read_units(size, true);
                }
            }
            "Query" | "Scan" => self.query(&exchange.operation, &request, &response, &mut usage),
            other => *usage.unpriced.entry(other.to_string()).or_default() += 1,
        }
        usage
    }

    /// The size of the item at `key`: the shadow's, else the answer's, else 0 (counted).
    fn read_size(
        &self,
        table: &str,
        key: &Map<String, Value>,
        answered: &Value,
        usage: &mut DynamoUsage,
    ) -> u64 {
        match (self.get(table, key), answered.as_object()) {
            (Some(item), _) => item_size(item),
            (None, Some(item)) => {
                usage.unknown_items += 1;
                item_size(item)
            }
            (None, None) => 0, // no such item: the minimum unit
        }
    }

    /// One table write: units from the larger of the old and new item, times `factor`; when
    /// `applied`, the index writes and the shadow's new state.
    fn write(
        &mut self,
        table: &str,
        key: &Map<String, Value>,
        new: Option<Item>,
        factor: f64,
        applied: bool,
        usage: &mut DynamoUsage,
    ) {
        let key = self.key(table, key);
        let old = self.items.get(&key);
        let size = old
            .map(|s| item_size(&s.item))
            .max(new.as_ref().map(item_size))
            .unwrap_or(0);
        usage.table_wru += factor * write_units(size) as f64;
        if !applied {
            return;
        }
        let old_item = old.map(|s| &s.item);
        for index in self.schema.indexes {
            usage.index_wru +=
                index_write(index, &self.schema, old_item, new.as_ref()).units() as f64;
        }
        match new {
            Some(item) => {
                let origin = old.map_or_else(|| self.origin.clone(), |s| s.origin.clone());
                self.items.insert(key, Stored { item, origin });
            }
            None => {
                self.items.remove(&key);
            }
        }
    }

    fn batch_write(&mut self, request: &Value, response: &Value, usage: &mut DynamoUsage) {
        for (table, writes) in object(&request["RequestItems"]) {
            let unprocessed = response["UnprocessedItems"][&table]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for write in writes.as_array().into_iter().flatten() {
                if unprocessed.contains(write) {
                    continue; // retried by the client, and charged then
                }
                if let Some(put) = write.get("PutRequest") {
                    let item = object(&put["Item"]);
                    self.write(&table, &item, Some(item.clone()), 1.0, true, usage);
                } else if let Some(delete) = write.get("DeleteRequest") {
                    self.write(&table, &object(&delete["Key"]), None, 1.0, true, usage);
                }
            }
        }
    }

    fn transact_write(
        &mut self,
        exchange: &Exchange,
        request: &Value,
        applied: bool,
        usage: &mut DynamoUsage,
    ) {
        let mut updated = exchange.updated_items.iter();
        for action in request["TransactItems"].as_array().into_iter().flatten() {
            let Some((kind, body)) = action.as_object().and_then(|o| o.iter().next()) else {
                continue;
            };
            let table = body["TableName"].as_str().unwrap_or_default().to_string();
            match kind.as_str() {
                "Put" => {
                    let item = object(&body["Item"]);
                    self.write(&table, &item, Some(item.clone()), 2.0, applied, usage);
                }
                "Update" => {
                    let new = updated.next().map(object);
                    self.write(&table, &object(&body["Key"]), new, 2.0, applied, usage);
                }
                "Delete" => self.write(&table, &object(&body["Key"]), None, 2.0, applied, usage),
                "ConditionCheck" => {
                    let size = self.get(&table, &object(&body["Key"])).map_or(0, item_size);
                    usage.table_wru += 2.0 * write_units(size) as f64;
                }
                _ => {}
            }
        }
    }

    fn batch_get(&self, request: &Value, response: &Value, usage: &mut DynamoUsage) {
        for (table, asked) in object(&request["RequestItems"]) {
            let consistent = asked["ConsistentRead"] == true;
            let unprocessed = response["UnprocessedKeys"][&table]["Keys"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            for key in asked["Keys"].as_array().into_iter().flatten() {
                if unprocessed.contains(key) {
                    continue;
                }
                let size = self.read_size(&table, &object(key), &Value::Null, usage);
                usage.rru += read_units(size, consistent);
            }
        }
    }

    fn index(&self, request: &Value) -> Option<&'static IndexSchema> {
        let name = request["IndexName"].as_str()?;
        self.schema.indexes.iter().find(|i| i.name == name)
    }

    /// The sizes of what a Query or Scan page evaluated, in the order DynamoDB reads them.
    fn query(&self, operation: &str, request: &Value, response: &Value, usage: &mut DynamoUsage) {
        let table = request["TableName"].as_str().unwrap_or_default();
        let index = self.index(request);
        let clauses = if operation == "Query" {
            match key_condition::parse(
                request["KeyConditionExpression"]
                    .as_str()
                    .unwrap_or_default(),
                &object(&request["ExpressionAttributeNames"]),
                &object(&request["ExpressionAttributeValues"]),
            ) {
                Ok(clauses) => clauses,
                Err(_) => {
                    *usage.unpriced.entry("Query (unparsed)".into()).or_default() += 1;
                    return;
                }
            }
        } else {
            Vec::new()
        };
        let sort_key = index.map_or(Some(self.schema.range), |i| i.range);
        // (sort value, table key, size) of every item the query's keys select.
        let mut candidates: Vec<(Value, Key, u64)> = self
            .items
            .iter()
            .filter(|(key, _)| key.0 == table)
            .filter(|(_, s)| index.is_none_or(|i| in_index(i, &s.item)))
            .filter(|(_, s)| clauses.iter().all(|c| c.matches(&s.item)))
            .map(|(key, s)| {
                let size = match index {
                    Some(i) => index_entry(i, &self.schema, &s.item).map_or(0, |e| entry_size(&e)),
                    None => item_size(&s.item),
                };
                let sort = sort_key
                    .and_then(|k| s.item.get(k).cloned())
                    .unwrap_or(Value::Null);
                (sort, key.clone(), size)
            })
            .collect();
        candidates.sort_by(|a, b| {
            compare(&a.0, &b.0)
                .unwrap_or(std::cmp::Ordering::Equal)
                .then_with(|| a.1.cmp(&b.1))
        });
        if request["ScanIndexForward"] == false {
            candidates.reverse();
        }
        if let Some(start) = request["ExclusiveStartKey"].as_object() {
            let start = self.key(table, start);
            if let Some(at) = candidates.iter().position(|c| c.1 == start) {
                candidates.drain(..=at);
            }
        }
        let scanned = response["ScannedCount"]
            .as_u64()
            .unwrap_or(candidates.len() as u64);
        let known = candidates.len().min(scanned as usize);
        usage.unknown_items += scanned - known as u64;
        let bytes: u64 = candidates[..known].iter().map(|c| c.2).sum();
        usage.rru += read_units(bytes, index.is_none() && request["ConsistentRead"] == true);
    }

    /// Every item in the table now, with its storage (item, overhead, index entries).
    pub fn retained(&self) -> Vec<Retained> {
        self.items
            .values()
            .map(|stored| {
                let entries: u64 = self
                    .schema
                    .indexes
                    .iter()
                    .filter_map(|i| index_entry(i, &self.schema, &stored.item))
                    .map(|e| entry_size(&e))
                    .sum();
                Retained {
                    origin: stored.origin.clone(),
                    bytes: item_size(&stored.item) + ITEM_OVERHEAD_BYTES + entries,
                    expires_at: stored
                        .item
                        .get(self.schema.ttl_attribute)
                        .and_then(|v| v["N"].as_str())
                        .and_then(|n| n.parse().ok()),
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests;
