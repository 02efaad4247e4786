//! The vault key (VK) and the subkeys derived from it.
//!
//! VK is 32 random bytes made with the vault and never written in clear. Each purpose gets its own
//! subkey through HKDF-SHA256 (salt = vault id), so a key used for audit entries can never open an
//! object record and vice versa.

use std::sync::atomic::{AtomicUsize, Ordering};

use hkdf::Hkdf;
use rand::RngCore;
use sha2::Sha256;
use zeroize::{Zeroize, Zeroizing};

/// Key buffers (vault keys and subkeys) alive in this process. Every one is zeroized when it is
/// dropped, so a count back at its old value after `lock` shows every key the vault held was
/// wiped; tests/tests/memory.rs uses it.
static LIVE_KEY_BUFFERS: AtomicUsize = AtomicUsize::new(0);

/// How many vault-key and subkey buffers are alive (not yet zeroized and dropped) in this process.
pub fn live_key_buffers() -> usize {
    LIVE_KEY_BUFFERS.load(Ordering::SeqCst)
}

fn born() {
    LIVE_KEY_BUFFERS.fetch_add(1, Ordering::SeqCst);
}

fn wiped(bytes: &mut [u8; 32]) {
    bytes.zeroize();
    LIVE_KEY_BUFFERS.fetch_sub(1, Ordering::SeqCst);
}

/// Length of the vault id, in bytes.
pub const VAULT_ID_LEN: usize = 16;

/// A vault's random id: public, readable on disk, bound into every seal.
pub type VaultId = [u8; VAULT_ID_LEN];

/// The vault key. Zeroized on drop; `Debug` prints nothing of it.
pub struct VaultKey([u8; 32]);

impl Clone for VaultKey {
    fn clone(&self) -> Self {
        born();
        VaultKey(self.0)
    }
}

impl Drop for VaultKey {
    fn drop(&mut self) {
        wiped(&mut self.0);
    }
}

impl std::fmt::Debug for VaultKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKey(..)")
    }
}

impl VaultKey {
    /// A fresh key from the OS random source.
    pub fn generate() -> Self {
        let mut k = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut k);
        born();
        let key = VaultKey(k);
        k.zeroize();
        key
    }

    pub(crate) fn from_bytes(bytes: [u8; 32]) -> Self {
        born();
        VaultKey(bytes)
    }

    pub(crate) fn expose(&self) -> &[u8; 32] {
        &self.0
    }

    /// Derives the subkey for one purpose.
    pub(crate) fn derive(&self, vault_id: &VaultId, purpose: Purpose) -> SubKey {
        let hk = Hkdf::<Sha256>::new(Some(vault_id), &self.0);
        let mut out = Zeroizing::new([0u8; 32]);
        // HKDF-SHA256 can expand up to 8160 bytes; 32 can never fail.
        if hk.expand(purpose.info(), out.as_mut()).is_err() {
            unreachable!("HKDF-SHA256 expand of 32 bytes");
        }
        SubKey::new(*out)
    }
}

impl VaultKey {
    /// The check value kept beside the device identity in the OS keyring: one-way from VK, so it
    /// tells the real vault from a substitute without saying anything about the key.
    pub(crate) fn device_check(&self, vault_id: &VaultId) -> String {
        hex::encode(&self.derive(vault_id, Purpose::DeviceCheck).0[..16])
    }
}

/// What a subkey is for; each one is a distinct HKDF info string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Purpose {
    Objects,
    Payloads,
    Audit,
    Meta,
    Snapshot,
    RecordSet,
    Anchor,
    DeviceCheck,
    SyncDigest,
}

impl Purpose {
    fn info(self) -> &'static [u8] {
        match self {
            Purpose::Objects => b"keyloom v1 seal objects",
            Purpose::Payloads => b"keyloom v1 seal payloads",
            Purpose::Audit => b"keyloom v1 seal audit",
            Purpose::Meta => b"keyloom v1 seal meta",
            Purpose::Snapshot => b"keyloom v1 mac snapshot",
            Purpose::RecordSet => b"keyloom v1 mac record set",
            Purpose::Anchor => b"keyloom v1 mac anchor",
            Purpose::DeviceCheck => b"keyloom v1 device check value",
            Purpose::SyncDigest => b"keyloom v1 mac sync digest",
        }
    }
}

/// A 32-byte key derived from VK for one purpose. Zeroized on drop.
pub(crate) struct SubKey(pub(crate) [u8; 32]);

impl SubKey {
    pub(crate) fn new(bytes: [u8; 32]) -> Self {
        born();
        SubKey(bytes)
    }
}

impl Clone for SubKey {
    fn clone(&self) -> Self {
        SubKey::new(self.0)
    }
}

impl Drop for SubKey {
    fn drop(&mut self) {
        wiped(&mut self.0);
    }
}

/// Every subkey an unlocked vault needs, derived once at unlock and dropped (zeroized) at lock.
#[derive(Clone)]
pub(crate) struct VaultKeys {
    pub(crate) vault_key: VaultKey,
    pub(crate) objects: SubKey,
    pub(crate) payloads: SubKey,
    pub(crate) audit: SubKey,
    pub(crate) meta: SubKey,
    pub(crate) snapshot: SubKey,
    /// Keys the hash over the set of records (anti-rollback, see `store::record_set`).
    pub(crate) record_set: SubKey,
    /// MACs the head anchored outside the vault folder (see `vault::anchor`).
    pub(crate) anchor: SubKey,
}

impl VaultKeys {
    pub(crate) fn derive(vault_key: VaultKey, vault_id: &VaultId) -> Self {
        VaultKeys {
            objects: vault_key.derive(vault_id, Purpose::Objects),
            payloads: vault_key.derive(vault_id, Purpose::Payloads),
            audit: vault_key.derive(vault_id, Purpose::Audit),
            meta: vault_key.derive(vault_id, Purpose::Meta),
            snapshot: vault_key.derive(vault_id, Purpose::Snapshot),
            record_set: vault_key.derive(vault_id, Purpose::RecordSet),
            anchor: vault_key.derive(vault_id, Purpose::Anchor),
            vault_key,
        }
    }
}

impl std::fmt::Debug for VaultKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("VaultKeys(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subkeys_differ_by_purpose_and_vault() {
        let vk = VaultKey::generate();
        let a = vk.derive(&[1; 16], Purpose::Objects);
        let b = vk.derive(&[1; 16], Purpose::Payloads);
        let c = vk.derive(&[2; 16], Purpose::Objects);
        assert_ne!(a.0, b.0);
        assert_ne!(a.0, c.0);
        assert_eq!(a.0, vk.derive(&[1; 16], Purpose::Objects).0);
    }

    #[test]
    fn debug_prints_no_key_bytes() {
        let vk = VaultKey::from_bytes([0xab; 32]);
        assert!(!format!("{vk:?}").contains("ab"));
    }
}
