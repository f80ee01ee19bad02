//! Keyed signatures for the web view: links that open one page without logging in (an
//! alert's link to its run), and the tokens the pages' sessions and forms carry. One server
//! secret signs them all, each use under its own label, so a token made for one use is
//! never accepted for another.

use hmac::{Hmac, Mac};
use jiff::Timestamp;
use sha2::Sha256;

/// How long an alert's signed link opens its page: long enough for an incident and its
/// follow-up, short enough that an old Slack message stops granting access.
pub const DEFAULT_LINK_LIFETIME: crate::Duration = crate::Duration::from_secs(7 * 24 * 3600);

/// Hex characters of a signature in a link: 128 bits, plenty for a MAC that cannot be tried
/// offline, and short enough for a URL on a phone.
const LINK_SIG_CHARS: usize = 32;

/// Why a signed link was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    #[error("this link has expired")]
    Expired,
    #[error("this link's signature does not match its address")]
    BadSignature,
}

/// The server secret behind signed links, sessions and form tokens.
#[derive(Clone)]
pub struct Signer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(<redacted>)")
    }
}

impl Signer {
    /// A signer over `secret` (any length; a generated secret has 256 bits or more).
    pub fn new(secret: &[u8]) -> Signer {
        Signer {
            key: secret.to_vec(),
        }
    }

    /// HMAC-SHA256 of `data` under `label` (the use it is made for), in hex.
    pub fn mac_hex(&self, label: &str, data: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(&self.key).expect("HMAC takes any key");
        mac.update(label.as_bytes());
        mac.update(b"\n");
        mac.update(data.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// Whether `candidate` is `mac_hex(label, data)`, or its first `candidate.len()` (at least
    /// 32) characters, compared in constant time.
    pub fn verify_hex(&self, label: &str, data: &str, candidate: &str) -> bool {
        let expected = self.mac_hex(label, data);
        candidate.len() >= LINK_SIG_CHARS
            && candidate.len() <= expected.len()
            && constant_time_eq(
                &expected.as_bytes()[..candidate.len()],
                candidate.as_bytes(),
            )
    }

    /// The UUID of `slug`'s ping URL (`/ping/<uuid>`): derived rather than random, so the
    /// admin API can show it again (`jobwatch jobs show`) while stores keep only its hash.
    /// Formatted as a version 4 UUID, which is what Healthchecks clients expect.
    pub fn ping_uuid(&self, slug: &str) -> String {
        let mac = self.mac_hex("ping-uuid", slug);
        let mut hex: Vec<u8> = mac.as_bytes()[..32].to_vec();
        // The version nibble is 4; the variant's two high bits are 10.
        hex[12] = b'4';
        hex[16] = b"89ab"[usize::from(hex[16]) % 4];
        let hex = String::from_utf8_lossy(&hex).into_owned();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }

    /// `path` (absolute, e.g. `/jobs/backup/runs/r12`) with the query that opens it until
    /// `expires`: `?exp=<unix seconds>&sig=<hex>`.
    pub fn sign_path(&self, path: &str, expires: Timestamp) -> String {
        let exp = expires.as_second();
        let sig = self.mac_hex("link", &format!("{path}\n{exp}"));
        format!("{path}?exp={exp}&sig={}", &sig[..LINK_SIG_CHARS])
    }

    /// Checks a link's `exp` and `sig` for `path` at `now`.
    pub fn verify_path(
        &self,
        path: &str,
        exp: &str,
        sig: &str,
        now: Timestamp,
    ) -> Result<(), LinkError> {
        let Ok(expires) = exp.parse::<i64>() else {
            return Err(LinkError::BadSignature);
        };
        if !self.verify_hex("link", &format!("{path}\n{expires}"), sig) {
            return Err(LinkError::BadSignature);
        }
        if now.as_second() >= expires {
            return Err(LinkError::Expired);
        }
        Ok(())
    }
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_uuid_is_a_stable_version_4_uuid_per_slug_and_secret() {
        let signer = Signer::new(b"secret");
        let uuid = signer.ping_uuid("backup");
        assert_eq!(uuid, signer.ping_uuid("backup"), "stable");
        assert_ne!(uuid, signer.ping_uuid("backup2"));
        assert_ne!(uuid, Signer::new(b"other").ping_uuid("backup"));
        let groups: Vec<usize> = uuid.split('-').map(str::len).collect();
        assert_eq!(groups, [8, 4, 4, 4, 12], "{uuid}");
        assert!(uuid.bytes().all(|b| b == b'-' || b.is_ascii_hexdigit()));
        assert_eq!(&uuid[14..15], "4", "version 4: {uuid}");
        assert!("89ab".contains(&uuid[19..20]), "RFC 4122 variant: {uuid}");
    }

    fn at(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn hmac_matches_rfc_4231_test_case_2() {
        // Key "Jefe", data "what do ya want for nothing?": our label and newline are the
        // first bytes of the message, so sign with an empty label split accordingly.
        let mut mac = Hmac::<Sha256>::new_from_slice(b"Jefe").expect("key");
        mac.update(b"what do ya want for nothing?");
        assert_eq!(
            hex(&mac.finalize().into_bytes()),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn a_signed_link_opens_its_page_until_it_expires() {
        let signer = Signer::new(b"server secret");
        let link = signer.sign_path("/jobs/backup/runs/r1", at("2026-01-08T00:00:00Z"));
        let (path, query) = link.split_once('?').expect("query");
        let params: Vec<(&str, &str)> = query
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let (exp, sig) = (params[0].1, params[1].1);
        assert_eq!(
            signer.verify_path(path, exp, sig, at("2026-01-07T23:59:59Z")),
            Ok(())
        );
        assert_eq!(
            signer.verify_path(path, exp, sig, at("2026-01-08T00:00:00Z")),
            Err(LinkError::Expired)
        );
        assert_eq!(
            signer.verify_path("/jobs/backup/runs/r2", exp, sig, at("2026-01-01T00:00:00Z")),
            Err(LinkError::BadSignature),
            "another page"
        );
        let later = (exp.parse::<i64>().expect("exp") + 1).to_string();
        assert_eq!(
            signer.verify_path(path, &later, sig, at("2026-01-01T00:00:00Z")),
            Err(LinkError::BadSignature),
            "a longer life"
        );
        assert_eq!(
            Signer::new(b"other").verify_path(path, exp, sig, at("2026-01-01T00:00:00Z")),
            Err(LinkError::BadSignature),
            "another server"
        );
        assert!(!signer.verify_hex("link", &format!("{path}\n{exp}"), &sig[..16]));
    }

    #[test]
    fn a_token_made_for_one_use_is_refused_for_another() {
        let signer = Signer::new(b"k");
        let session = signer.mac_hex("session", "123.abc");
        assert!(signer.verify_hex("session", "123.abc", &session));
        assert!(!signer.verify_hex("csrf", "123.abc", &session));
    }
}
