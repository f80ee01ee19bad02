//! The size of an item as DynamoDB bills it: the sum over its attributes of the name's UTF-8
//! length and the value's size (strings: UTF-8 bytes; numbers: about one byte per two
//! significant digits, plus one; binary: bytes; booleans and nulls: one; lists and maps: three
//! plus their elements, one more per element). A write costs one unit per started KB of it.

use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;

/// Bytes of `item` as DynamoDB counts them.
pub fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter()
        .map(|(name, value)| name.len() + value_size(value))
        .sum()
}

/// Write units of one standard (non-transactional) write of `item`.
pub fn write_units(item: &HashMap<String, AttributeValue>) -> usize {
    item_size(item).div_ceil(1024).max(1)
}

fn number_size(text: &str) -> usize {
    let digits = text
        .trim_start_matches('-')
        .split(['e', 'E'])
        .next()
        .unwrap_or_default()
        .replace('.', "");
    let significant = digits.trim_start_matches('0').trim_end_matches('0').len();
    significant.div_ceil(2) + 1
}

fn value_size(value: &AttributeValue) -> usize {
    match value {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => number_size(n),
        AttributeValue::B(b) => b.as_ref().len(),
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::Ss(items) => items.iter().map(String::len).sum(),
        AttributeValue::Ns(items) => items.iter().map(|n| number_size(n)).sum(),
        AttributeValue::Bs(items) => items.iter().map(|b| b.as_ref().len()).sum(),
        AttributeValue::L(items) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        AttributeValue::M(map) => {
            3 + map
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_follow_the_documented_rules() {
        let item = HashMap::from([
            ("PK".to_string(), AttributeValue::S("JOB#backup".into())),
            ("version".to_string(), AttributeValue::N("12345".into())),
            ("ok".to_string(), AttributeValue::Bool(true)),
        ]);
        // 2 + 10, 7 + (5 digits: 3 + 1), 2 + 1
        assert_eq!(item_size(&item), 12 + 11 + 3);
        assert_eq!(write_units(&item), 1);
        let big = HashMap::from([("run".to_string(), AttributeValue::S("x".repeat(1_100)))]);
        assert_eq!(write_units(&big), 2);
    }
}
