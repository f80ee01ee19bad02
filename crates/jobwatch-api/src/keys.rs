//! Secrets: the ping key, the API key and job UUIDs are only ever held as SHA-256 digests
//! (plus, for the keys, the plain text when the operator supplied it, to print ping URLs).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A secret known by its SHA-256 digest.
#[derive(Clone)]
pub struct Secret {
    digest: [u8; 32],
    /// The plain value when known, used only to render URLs for the operator.
    plain: Option<String>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl Secret {
    pub fn from_plain(plain: &str) -> Secret {
        Secret {
            digest: Sha256::digest(plain.as_bytes()).into(),
            plain: Some(plain.to_string()),
        }
    }

    /// From a stored hex digest; `None` if it is not one.
    pub fn from_hex_digest(hex_digest: &str) -> Option<Secret> {
        let bytes = hex::decode(hex_digest).ok()?;
        Some(Secret {
            digest: bytes.try_into().ok()?,
            plain: None,
        })
    }

    pub fn hex_digest(&self) -> String {
        hex::encode(self.digest)
    }

    pub fn plain(&self) -> Option<&str> {
        self.plain.as_deref()
    }

    /// Constant-time comparison of `candidate` with the secret.
    pub fn matches(&self, candidate: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(candidate.as_bytes()).into();
        digest.ct_eq(&self.digest).into()
    }
}

pub fn sha256_hex(value: &str) -> String {
    hex::encode(Sha256::digest(value.as_bytes()))
}

/// A new random key: 32 characters of URL-safe hex (128 bits).
pub fn generate_key() -> Result<String, getrandom::Error> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)?;
    Ok(hex::encode(bytes))
}
