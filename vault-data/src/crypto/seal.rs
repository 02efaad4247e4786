//! Record sealing: XChaCha20-Poly1305 with a random 24-byte nonce per write and
//! AAD = vault id ‖ tree ‖ record key ‖ format version, so a sealed value cannot be moved to
//! another record, another tree, another vault or another format version without failing.

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;
use zeroize::Zeroizing;

use crate::crypto::keys::{SubKey, VaultId};
use crate::error::{Error, Result};
use crate::FORMAT_VERSION;

/// Version byte in front of every sealed value, so the layout can change later.
const SEAL_LAYOUT: u8 = 1;
pub(crate) const NONCE_LEN: usize = 24;
pub(crate) const TAG_LEN: usize = 16;

/// Where a sealed value lives; part of its AAD.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Location<'a> {
    pub tree: &'static str,
    pub key: &'a [u8],
}

fn aad(vault_id: &VaultId, loc: Location<'_>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(16 + 2 + loc.tree.len() + 2 + loc.key.len() + 4);
    aad.extend_from_slice(vault_id);
    // Length prefixes keep (tree, key) pairs unambiguous.
    aad.extend_from_slice(&(loc.tree.len() as u16).to_be_bytes());
    aad.extend_from_slice(loc.tree.as_bytes());
    aad.extend_from_slice(&(loc.key.len() as u16).to_be_bytes());
    aad.extend_from_slice(loc.key);
    aad.extend_from_slice(&FORMAT_VERSION.to_be_bytes());
    aad
}

/// Seals `plaintext` for `loc` under `key`.
pub(crate) fn seal(key: &SubKey, vault_id: &VaultId, loc: Location<'_>, plaintext: &[u8]) -> Vec<u8> {
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let mut nonce = [0u8; NONCE_LEN];
    rand::rngs::OsRng.fill_bytes(&mut nonce);
    let aad = aad(vault_id, loc);
    // Encryption with XChaCha20-Poly1305 fails only for plaintexts over 256 GiB; values here are
    // bounded far below that by the callers.
    let ct = match cipher.encrypt(XNonce::from_slice(&nonce), Payload { msg: plaintext, aad: &aad }) {
        Ok(ct) => ct,
        Err(_) => unreachable!("XChaCha20-Poly1305 encryption of a bounded value"),
    };
    let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
    out.push(SEAL_LAYOUT);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&ct);
    out
}

/// Opens a sealed value; any change to it, or to where it is stored, is an integrity error.
pub(crate) fn open(key: &SubKey, vault_id: &VaultId, loc: Location<'_>, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
    let damaged = || Error::Integrity(describe(loc));
    if sealed.len() < 1 + NONCE_LEN + TAG_LEN || sealed[0] != SEAL_LAYOUT {
        return Err(damaged());
    }
    let cipher = XChaCha20Poly1305::new((&key.0).into());
    let nonce = XNonce::from_slice(&sealed[1..1 + NONCE_LEN]);
    let aad = aad(vault_id, loc);
    cipher
        .decrypt(nonce, Payload { msg: &sealed[1 + NONCE_LEN..], aad: &aad })
        .map(Zeroizing::new)
        .map_err(|_| damaged())
}

/// Names a damaged record for an error message: tree and id, never content.
pub(crate) fn describe(loc: Location<'_>) -> String {
    let key = match std::str::from_utf8(loc.key) {
        Ok(s) if s.chars().all(|c| c.is_ascii_graphic()) => s.to_string(),
        _ => hex::encode(loc.key),
    };
    format!("record {key} in tree '{}' is damaged or was tampered with (authentication failed)", loc.tree)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SubKey {
        SubKey::new([b; 32])
    }

    #[test]
    fn round_trip_and_binding() {
        let loc = Location { tree: "objects", key: b"abc" };
        let sealed = seal(&key(1), &[7; 16], loc, b"hello");
        assert_eq!(open(&key(1), &[7; 16], loc, &sealed).unwrap().as_slice(), b"hello");
        // Wrong key, vault, tree or record id all fail.
        assert!(open(&key(2), &[7; 16], loc, &sealed).is_err());
        assert!(open(&key(1), &[8; 16], loc, &sealed).is_err());
        assert!(open(&key(1), &[7; 16], Location { tree: "payloads", key: b"abc" }, &sealed).is_err());
        assert!(open(&key(1), &[7; 16], Location { tree: "objects", key: b"abd" }, &sealed).is_err());
        // Every flipped bit fails, and truncation fails.
        for i in 0..sealed.len() {
            let mut t = sealed.clone();
            t[i] ^= 1;
            assert!(open(&key(1), &[7; 16], loc, &t).is_err(), "flip at {i}");
        }
        assert!(open(&key(1), &[7; 16], loc, &sealed[..10]).is_err());
    }

    #[test]
    fn fresh_nonce_per_seal() {
        let loc = Location { tree: "objects", key: b"k" };
        assert_ne!(seal(&key(1), &[0; 16], loc, b"x"), seal(&key(1), &[0; 16], loc, b"x"));
    }
}
