//! DynamoDB's capacity rules as pure functions: the size of an item (DynamoDB JSON, as the
//! wire carries it), read and write units, and what a write costs each global secondary
//! index of [`TableSchema`] (`jobwatch_dynamo::TABLE`), from the projection of the index.
//!
//! Sizes: an item is the sum over its attributes of the name's UTF-8 bytes and the value's
//! size; S = UTF-8 bytes, N = 1 byte per two significant digits (rounded up) + 1, B = bytes,
//! BOOL and NULL = 1, M and L = 3 + their elements (+ the names, for M) + 1 per element.
//! Units: a write is 1 WRU per KB (1,024 bytes) of the larger of the old and new item, a read
//! 1 RRU per 4 KB (half for an eventually consistent read), at least 1 unit (half) each.

use std::collections::BTreeSet;

use jobwatch_dynamo::{IndexProjection, IndexSchema, TableSchema};
use serde_json::{Map, Value};

/// An item as DynamoDB's JSON protocol writes it: attribute name -> `{"S": "..."}` etc.
pub type Item = Map<String, Value>;

pub const WRITE_UNIT_BYTES: u64 = 1024;
pub const READ_UNIT_BYTES: u64 = 4096;
/// What DynamoDB adds to each index entry (and to each table item, for storage).
pub const ITEM_OVERHEAD_BYTES: u64 = 100;

/// Significant digits of a DynamoDB number: no sign, exponent, point, leading or trailing zeros.
pub fn significant_digits(number: &str) -> u64 {
    let mantissa = number
        .trim()
        .trim_start_matches(['-', '+'])
        .split(['e', 'E'])
        .next()
        .unwrap_or("");
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    digits.trim_start_matches('0').trim_end_matches('0').len() as u64
}

pub fn number_size(number: &str) -> u64 {
    significant_digits(number).div_ceil(2) + 1
}

/// Bytes of a base64 text (how the JSON protocol carries B values).
fn base64_len(text: &str) -> u64 {
    let clean: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let padding = clean.iter().rev().take_while(|b| **b == b'=').count();
    ((clean.len() / 4 * 3).saturating_sub(padding)) as u64
}

fn strings(value: &Value) -> impl Iterator<Item = &str> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

/// The size of one attribute value (`{"S": "abc"}` is 3).
pub fn value_size(value: &Value) -> u64 {
    let Some((kind, inner)) = value.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match kind.as_str() {
        "S" => inner.as_str().map_or(0, |s| s.len() as u64),
        "N" => inner.as_str().map_or(0, number_size),
        "B" => inner.as_str().map_or(0, base64_len),
        "BOOL" | "NULL" => 1,
        "SS" => strings(inner).map(|s| s.len() as u64).sum(),
        "NS" => strings(inner).map(number_size).sum(),
        "BS" => strings(inner).map(base64_len).sum(),
        "M" => {
            3 + inner.as_object().map_or(0, |map| {
                map.iter()
                    .map(|(name, v)| name.len() as u64 + value_size(v) + 1)
                    .sum()
            })
        }
        "L" => {
            3 + inner
                .as_array()
                .map_or(0, |list| list.iter().map(|v| value_size(v) + 1).sum())
        }
        _ => 0,
    }
}

/// The size of an item: names and values of all its attributes.
pub fn item_size(item: &Item) -> u64 {
    item.iter()
        .map(|(name, value)| name.len() as u64 + value_size(value))
        .sum()
}

/// WRU of writing `bytes` (non-transactional): 1 per KB, at least 1.
pub fn write_units(bytes: u64) -> u64 {
    bytes.div_ceil(WRITE_UNIT_BYTES).max(1)
}

/// RRU of reading `bytes` in one request: 1 per 4 KB (half when eventually consistent), at
/// least one unit.
pub fn read_units(bytes: u64, consistent: bool) -> f64 {
    let units = bytes.div_ceil(READ_UNIT_BYTES).max(1) as f64;
    if consistent { units } else { units / 2.0 }
}

/// The attributes an index copies from an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Projected {
    All,
    /// These attributes only (the keys of the table and the index, and any included ones).
    Attributes(BTreeSet<&'static str>),
}

/// What `index` copies: every attribute, or its keys and the table's (an INCLUDE projection
/// would add its list of attributes to the keys here).
pub fn projected(index: &IndexSchema, table: &TableSchema) -> Projected {
    let keys = [table.hash, table.range, index.hash]
        .into_iter()
        .chain(index.range);
    match index.projection {
        IndexProjection::All => Projected::All,
        IndexProjection::KeysOnly => Projected::Attributes(keys.collect()),
    }
}

/// Whether `item` is in `index`: it has the index's hash (and range) attribute.
pub fn in_index(index: &IndexSchema, item: &Item) -> bool {
    item.contains_key(index.hash) && index.range.is_none_or(|r| item.contains_key(r))
}

/// The entry `index` holds for `item`, if the item is in it.
pub fn index_entry(index: &IndexSchema, table: &TableSchema, item: &Item) -> Option<Item> {
    if !in_index(index, item) {
        return None;
    }
    Some(match projected(index, table) {
        Projected::All => item.clone(),
        Projected::Attributes(names) => item
            .iter()
            .filter(|(name, _)| names.contains(name.as_str()))
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    })
}

/// The size of an index entry: its attributes plus DynamoDB's 100 bytes of overhead.
pub fn entry_size(entry: &Item) -> u64 {
    item_size(entry) + ITEM_OVERHEAD_BYTES
}

/// What one table write does to one index, with the WRU of each index write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IndexWrite {
    /// Nothing the index holds changed.
    Nothing,
    /// The item entered the index.
    Put(u64),
    /// The item left the index.
    Delete(u64),
    /// The index key changed: the old entry deleted, the new one put.
    Move { delete: u64, put: u64 },
    /// Only projected attributes changed: the entry updated in place.
    Update(u64),
}

impl IndexWrite {
    pub fn units(self) -> u64 {
        match self {
            IndexWrite::Nothing => 0,
            IndexWrite::Put(u) | IndexWrite::Delete(u) | IndexWrite::Update(u) => u,
            IndexWrite::Move { delete, put } => delete + put,
        }
    }
}

/// What replacing `old` by `new` (either absent) costs `index`. Index writes are never
/// doubled by transactions.
pub fn index_write(
    index: &IndexSchema,
    table: &TableSchema,
    old: Option<&Item>,
    new: Option<&Item>,
) -> IndexWrite {
    let old_entry = old.and_then(|item| index_entry(index, table, item));
    let new_entry = new.and_then(|item| index_entry(index, table, item));
    match (old_entry, new_entry) {
        (None, None) => IndexWrite::Nothing,
        (None, Some(new)) => IndexWrite::Put(write_units(entry_size(&new))),
        (Some(old), None) => IndexWrite::Delete(write_units(entry_size(&old))),
        (Some(old), Some(new)) => {
            let key = |entry: &Item| {
                [Some(index.hash), index.range]
                    .into_iter()
                    .flatten()
                    .map(|name| entry.get(name).cloned())
                    .collect::<Vec<_>>()
            };
            if key(&old) != key(&new) {
                IndexWrite::Move {
                    delete: write_units(entry_size(&old)),
                    put: write_units(entry_size(&new)),
                }
            } else if old != new {
                IndexWrite::Update(write_units(entry_size(&old).max(entry_size(&new))))
            } else {
                IndexWrite::Nothing
            }
        }
    }
}

#[cfg(test)]
mod tests;
