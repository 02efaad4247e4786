//! The audit head, signed, for an anchor outside the vault folder.
//!
//! Anyone who can unlock the vault can rewrite its history, and anyone holding an old copy of the
//! folder can put it back: only a copy of the head kept elsewhere (a ticket, a SIEM, a colleague)
//! shows that. `keyloom audit head` prints the newest (sequence, chain hash) signed with the vault's
//! Ed25519 key; `keyloom audit head --check FILE` later proves the vault still contains that
//! entry with that hash, so the history up to it was neither cut nor rewritten.
//!
//! The signature covers a context label first, so these bytes are never what a bundle signature
//! (over `manifest.json`, a JSON object) covers, and vice versa.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// Domain separation for head signatures.
const CONTEXT: &[u8] = b"keyloom audit head v1\0";

/// A signed audit head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedHead {
    /// The vault (hex id).
    pub vault_id: String,
    /// Sequence number of the newest entry.
    pub seq: u64,
    /// Its chain hash (hex SHA-256 of the entry's sealed plaintext).
    pub hash: String,
    /// When the head was signed.
    #[serde(with = "time::serde::rfc3339")]
    pub signed_at: OffsetDateTime,
    /// Ed25519 signature (base64) over the context label and the fields above.
    pub signature: String,
}

fn message(vault_id: &str, seq: u64, hash: &str, signed_at: OffsetDateTime) -> Vec<u8> {
    let mut m = CONTEXT.to_vec();
    m.extend_from_slice(vault_id.as_bytes());
    m.push(0);
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(hash.as_bytes());
    m.push(0);
    m.extend_from_slice(&signed_at.unix_timestamp().to_be_bytes());
    m
}

/// Signs a head.
pub(crate) fn sign(key: &SigningKey, vault_id: &str, seq: u64, hash: &str) -> SignedHead {
    let signed_at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    let signature = STANDARD.encode(key.sign(&message(vault_id, seq, hash, signed_at)).to_bytes());
    SignedHead { vault_id: vault_id.to_string(), seq, hash: hash.to_string(), signed_at, signature }
}

impl SignedHead {
    /// Whether the signature verifies with `key` (a vault's bundle signing public key).
    pub fn verifies_with(&self, key: &VerifyingKey) -> bool {
        let Ok(bytes) = STANDARD.decode(self.signature.trim()) else { return false };
        let Ok(arr) = <[u8; 64]>::try_from(bytes.as_slice()) else { return false };
        key.verify(&message(&self.vault_id, self.seq, &self.hash, self.signed_at), &Signature::from_bytes(&arr)).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_field_or_another_key_fails() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let head = sign(&key, "ab", 7, "ff");
        assert!(head.verifies_with(&key.verifying_key()));
        let mut later = head.clone();
        later.seq = 8;
        assert!(!later.verifies_with(&key.verifying_key()));
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(!head.verifies_with(&other.verifying_key()));
        // A bundle signature over the same bytes without the label is not a head signature.
        let raw = STANDARD.encode(key.sign(&message("ab", 7, "ff", head.signed_at)[CONTEXT.len()..]).to_bytes());
        assert!(!SignedHead { signature: raw, ..head }.verifies_with(&key.verifying_key()));
    }
}
