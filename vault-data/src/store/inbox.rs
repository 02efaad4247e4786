//! The meta keys of the locked-time inbox (vault/pending.rs). They are written without the vault
//! key, so the anti-rollback record set (record_set.rs) leaves them out; naming them here lets the
//! store decide that without importing the vault layer.

/// Prefix of the sealed-to-the-inbox events recorded while the vault is locked.
pub(crate) const PENDING_PREFIX: &[u8] = b"pending/";
/// Events dropped because the inbox was full (a clear big-endian u64).
pub(crate) const OVERFLOW_KEY: &[u8] = b"pending_overflow";

/// Whether a meta key belongs to the locked-time inbox.
pub(crate) fn is_inbox_key(key: &[u8]) -> bool {
    key.starts_with(PENDING_PREFIX) || key == OVERFLOW_KEY
}
