//! The pings a job has already applied, so that a client's retry (same `rid`, same event) is
//! not counted twice: a short window of 48-bit hashes, written as one compact string, so the
//! job's stored state stays within one DynamoDB write unit (a window of whole run ids cost
//! ~63 bytes a ping; a hash costs 8). Two different pings share a hash with odds of about one
//! in 10^13 per ping.

use std::collections::VecDeque;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Distinct pings remembered. A retry arrives within seconds to a minute; this many other
/// pings of the same job in between (six runs started and finished meanwhile) is more than
/// cron jobs send.
pub const SEEN_WINDOW: usize = 12;

/// Characters of one hash in the stored string (48 bits in base64url).
const HASH_CHARS: usize = 8;
const HASH_MASK: u64 = (1 << 48) - 1;
const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// The identity of a ping: FNV-1a of its run id and event name, folded to 48 bits. FNV is
/// stable across releases (unlike `std`'s hasher), so states written by one version are read
/// alike by the next.
pub fn ping_identity(rid: &str, event: &str) -> u64 {
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    for byte in rid.bytes().chain([0u8]).chain(event.bytes()) {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    (hash ^ (hash >> 48)) & HASH_MASK
}

/// The window of applied pings, oldest first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SeenPings(VecDeque<u64>);

impl SeenPings {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, identity: u64) -> bool {
        self.0.contains(&identity)
    }

    /// Remembers a ping, forgetting the oldest beyond [`SEEN_WINDOW`].
    pub fn remember(&mut self, identity: u64) {
        if self.0.len() >= SEEN_WINDOW {
            self.0.pop_front();
        }
        self.0.push_back(identity);
    }
}

fn encode(hash: u64, out: &mut String) {
    for i in (0..HASH_CHARS).rev() {
        let index = ((hash >> (i * 6)) & 0x3f) as usize;
        out.push(char::from(ALPHABET[index]));
    }
}

fn decode(chunk: &[u8]) -> Option<u64> {
    chunk.iter().try_fold(0u64, |acc, byte| {
        let value = ALPHABET.iter().position(|c| c == byte)?;
        Some((acc << 6) | value as u64)
    })
}

impl Serialize for SeenPings {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut text = String::with_capacity(self.0.len() * HASH_CHARS);
        for hash in &self.0 {
            encode(*hash, &mut text);
        }
        serializer.serialize_str(&text)
    }
}

/// What earlier versions stored: the whole run id and event of each ping.
#[derive(Deserialize)]
struct LegacySeen {
    rid: String,
    event: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum StoredSeen {
    Compact(String),
    Legacy(Vec<LegacySeen>),
}

impl<'de> Deserialize<'de> for SeenPings {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut seen = SeenPings::default();
        match StoredSeen::deserialize(deserializer)? {
            StoredSeen::Compact(text) => {
                if text.len() % HASH_CHARS != 0 {
                    return Err(serde::de::Error::custom("seen pings: bad length"));
                }
                for chunk in text.as_bytes().chunks(HASH_CHARS) {
                    let hash = decode(chunk)
                        .filter(|hash| *hash <= HASH_MASK)
                        .ok_or_else(|| serde::de::Error::custom("seen pings: bad character"))?;
                    seen.remember(hash);
                }
            }
            StoredSeen::Legacy(pings) => {
                for ping in pings {
                    seen.remember(ping_identity(&ping.rid, &ping.event));
                }
            }
        }
        Ok(seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_round_trips_through_its_compact_text() {
        let mut seen = SeenPings::default();
        for n in 0..40 {
            seen.remember(ping_identity(&format!("rid-{n}"), "start"));
        }
        seen.remember(HASH_MASK);
        seen.remember(0);
        let text = serde_json::to_string(&seen).expect("encode");
        assert_eq!(text.len(), 2 + SEEN_WINDOW * HASH_CHARS);
        let back: SeenPings = serde_json::from_str(&text).expect("decode");
        assert_eq!(back, seen);
        assert!(back.contains(HASH_MASK) && back.contains(0));
        assert!(
            !back.contains(ping_identity("rid-0", "start")),
            "the oldest were forgotten"
        );
    }

    #[test]
    fn states_written_by_earlier_versions_are_read() {
        let legacy = r#"[{"rid":"a","event":"start"},{"rid":"a","event":"success"}]"#;
        let seen: SeenPings = serde_json::from_str(legacy).expect("legacy");
        assert!(seen.contains(ping_identity("a", "start")));
        assert!(seen.contains(ping_identity("a", "success")));
        assert!(!seen.contains(ping_identity("a", "fail")));
    }

    #[test]
    fn the_event_is_part_of_the_identity() {
        assert_ne!(ping_identity("ab", "c"), ping_identity("a", "bc"));
        assert_ne!(ping_identity("r1", "start"), ping_identity("r1", "success"));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(serde_json::from_str::<SeenPings>(r#""abc""#).is_err());
        assert!(serde_json::from_str::<SeenPings>(r#""!!!!!!!!""#).is_err());
    }
}
