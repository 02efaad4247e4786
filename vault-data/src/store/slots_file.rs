//! The unlock slots, in a small file of their own beside the database (`vault.slots`).
//!
//! Slots used to live in sled's `meta` tree. sled 0.34 keeps old versions of a value in its log
//! until it decides to compact, and cannot be asked to, so a replaced passphrase slot stayed on
//! disk and kept opening the vault. A file replaced atomically (temp file, fsync, rename, fsync of
//! the directory) holds exactly the current slots. It also lets the key derivation run before
//! the vault's process lock is taken: reading this file needs no lock.
//!
//! The file holds no secret (each slot is an age ciphertext of the vault key) and is not
//! authenticated by itself: a slot that unwraps a key other than this vault's fails the
//! signing-key check at unlock, and the snapshot header carries a MACed copy of the slots for
//! recovery (see `snapshot`).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::crypto::slots::SlotRecord;
use crate::error::{Error, Result};
use crate::fs as durable;

/// Name of the slots file inside the vault directory.
pub(crate) const SLOTS_FILE: &str = "vault.slots";

/// Format version of the slots file.
const SLOTS_FORMAT: u32 = 1;

#[derive(Serialize, Deserialize)]
struct SlotsFile {
    format: u32,
    /// The vault these slots belong to (hex), so a file copied from another vault is refused.
    vault_id: String,
    slots: Vec<SlotRecord>,
}

/// Path of the slots file of the vault at `dir`.
pub(crate) fn path(dir: &Path) -> PathBuf {
    dir.join(SLOTS_FILE)
}

/// Whether the vault at `dir` has a slots file.
pub(crate) fn exists(dir: &Path) -> bool {
    path(dir).is_file()
}

/// Encodes slots the way the file and the snapshot header hold them.
pub(crate) fn encode(vault_id_hex: &str, slots: &[SlotRecord]) -> Result<Vec<u8>> {
    let file = SlotsFile { format: SLOTS_FORMAT, vault_id: vault_id_hex.to_string(), slots: slots.to_vec() };
    serde_json::to_vec_pretty(&file).map_err(|e| Error::Storage(format!("cannot encode the unlock slots: {e}")))
}

/// Decodes slots written by [`encode`], checking they belong to `vault_id_hex`.
pub(crate) fn decode(bytes: &[u8], vault_id_hex: &str, origin: &Path) -> Result<Vec<SlotRecord>> {
    let damaged = |why: &str| {
        Error::Damaged(format!(
            "the unlock slots in {} are damaged ({why}); the snapshot holds a copy of them",
            origin.display()
        ))
    };
    let file: SlotsFile = serde_json::from_slice(bytes).map_err(|_| damaged("unreadable"))?;
    if file.format != SLOTS_FORMAT {
        return Err(damaged("unknown format"));
    }
    if file.vault_id != vault_id_hex {
        return Err(damaged("they belong to another vault"));
    }
    Ok(file.slots)
}

/// Whether two lists hold the same slots (same ids and wrapped keys, in order).
pub(crate) fn same(a: &[SlotRecord], b: &[SlotRecord]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.id == y.id && x.wrapped == y.wrapped)
}

/// Largest slots file read: a handful of slots is a few KiB; anything huge is not ours.
const MAX_SLOTS_FILE: u64 = 1 << 20;

/// Reads the file's bytes: a regular file (not a link to a device or a pipe), at most
/// [`MAX_SLOTS_FILE`] bytes. `Ok(None)` when it does not exist.
fn read_bytes(p: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { action: "cannot read", path: p.to_path_buf(), source: e }),
    };
    if !meta.is_file() || meta.len() > MAX_SLOTS_FILE {
        return Err(Error::Damaged(format!("{} is not a slots file (not a regular file, or too large)", p.display())));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(p)
        .and_then(|f| f.take(MAX_SLOTS_FILE).read_to_end(&mut bytes))
        .map_err(Error::io("cannot read", p))?;
    Ok(Some(bytes))
}

/// Reads the slots of the vault at `dir`. `Ok(None)` when the file does not exist.
pub(crate) fn read(dir: &Path, vault_id_hex: &str) -> Result<Option<Vec<SlotRecord>>> {
    let p = path(dir);
    match read_bytes(&p)? {
        Some(bytes) => decode(&bytes, vault_id_hex, &p).map(Some),
        None => Ok(None),
    }
}

/// Reads the slots and the vault id they claim, without a vault id to check against: for the
/// key derivation that runs before the vault is opened. The caller must compare the id with
/// the database's before trusting the result.
pub(crate) fn read_unchecked(dir: &Path) -> Result<Option<(String, Vec<SlotRecord>)>> {
    let p = path(dir);
    let Some(bytes) = read_bytes(&p)? else { return Ok(None) };
    let file: SlotsFile = serde_json::from_slice(&bytes)
        .map_err(|_| Error::Integrity(format!("the unlock slots in {} are damaged", p.display())))?;
    Ok(Some((file.vault_id, file.slots)))
}

/// Replaces the slots of the vault at `dir` atomically and durably.
pub(crate) fn write(dir: &Path, vault_id_hex: &str, slots: &[SlotRecord]) -> Result<()> {
    durable::write_atomic(&path(dir), &encode(vault_id_hex, slots)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::keys::VaultKey;
    use crate::crypto::passphrase::KdfCost;
    use crate::crypto::slots;

    #[test]
    fn round_trip_and_refusals() {
        let dir = tempfile::tempdir().unwrap();
        let vk = VaultKey::generate();
        let slot = slots::wrap_passphrase(&vk, &"pw".to_string().into(), KdfCost::LogN(4)).unwrap();
        assert!(read(dir.path(), "aa").unwrap().is_none());
        write(dir.path(), "aa", std::slice::from_ref(&slot)).unwrap();
        let back = read(dir.path(), "aa").unwrap().unwrap();
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].id, slot.id);
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(path(dir.path())).unwrap().permissions().mode() & 0o777, 0o600);
        // Another vault's file, and a damaged one, are integrity errors naming the file.
        assert!(matches!(read(dir.path(), "bb"), Err(Error::Damaged(m)) if m.contains("another vault")));
        std::fs::write(path(dir.path()), b"{not json").unwrap();
        assert!(matches!(read(dir.path(), "aa"), Err(Error::Damaged(m)) if m.contains("vault.slots")));
    }
}
