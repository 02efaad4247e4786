//! The newest head, anchored outside the vault folder (anti-rollback).
//!
//! After every durable commit the vault writes `(vault id, audit sequence, audit hash)` to a small
//! file in the user's config dir (`~/.config/keyloom/anchors/<vault id>-<path hash>.json`), MACed
//! under a subkey of the vault key. The file is per vault *folder*: a backup restored into a new
//! folder to look at it is a copy with its own history, and must not make the original look
//! forked; putting an older copy back where the vault lives is what this catches. At unlock, a vault whose head is behind its anchor, or whose chain
//! does not hold the anchored entry (a fork), is refused: someone put back an older copy of the
//! folder (a synced or backed-up copy, a disk image). A missing anchor (a new machine) is adopted
//! with a notice. This does not stop a same-user attacker, who can roll the anchor back too; see
//! docs/SECURITY.md.
//!
//! The file is replaced by rename but not fsynced: the commit it follows is already durable, and
//! a crash that loses the newest anchor leaves an older one (a weaker check, never a false alarm);
//! a torn or empty file reads as missing. A keyring write per commit would cost more than an
//! agent command's whole budget.

use std::io::Write;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::crypto::keys::SubKey;
use crate::error::{Error, Result};

/// One anchored head, as written in the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Anchor {
    pub vault_id: String,
    pub seq: u64,
    pub hash: String,
    #[serde(with = "time::serde::rfc3339")]
    pub written: OffsetDateTime,
    mac: String,
}

/// What the anchor file holds for a vault.
#[derive(Debug)]
pub(crate) enum Read {
    /// No file (a new machine, or anchoring was never possible).
    Missing,
    /// A file that cannot be parsed (torn by a crash, or not ours): treated as missing.
    Unreadable(String),
    /// A well-formed anchor; its MAC is checked by [`Anchor::verifies`].
    Found(Anchor),
}

fn mac_of(k: &SubKey, vault_id: &str, seq: u64, hash: &str, written: &OffsetDateTime) -> Hmac<Sha256> {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&k.0) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC-SHA256 takes a key of any length"),
    };
    mac.update(b"keyloom anchor v1\0");
    mac.update(vault_id.as_bytes());
    mac.update(&[0]);
    mac.update(&seq.to_be_bytes());
    mac.update(hash.as_bytes());
    mac.update(&[0]);
    mac.update(&written.unix_timestamp().to_be_bytes());
    mac
}

impl Anchor {
    /// Whether this anchor was written under `k` (this vault's current key).
    pub(crate) fn verifies(&self, k: &SubKey) -> bool {
        let Ok(tag) = hex::decode(&self.mac) else { return false };
        let expected = mac_of(k, &self.vault_id, self.seq, &self.hash, &self.written).finalize().into_bytes();
        tag.len() == expected.len() && bool::from(tag.ct_eq(&expected))
    }
}

/// The anchor file for the vault `vault_id` in the folder `vault_dir`, in the user's config dir
/// (None when there is no home to put it in).
pub(crate) fn file_for(vault_id: &str, vault_dir: &Path) -> Option<PathBuf> {
    let dir = crate::paths::config_dir().ok()?.join("anchors");
    let folder = std::fs::canonicalize(vault_dir).unwrap_or_else(|_| vault_dir.to_path_buf());
    let folder_hash = hex::encode(&Sha256::digest(folder.as_os_str().as_encoded_bytes())[..8]);
    Some(dir.join(format!("{vault_id}-{folder_hash}.json")))
}

/// Reads the anchor of `vault_id` from `path`.
pub(crate) fn read(path: &Path, vault_id: &str) -> Read {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Read::Missing,
        Err(e) => return Read::Unreadable(format!("{}: {e}", path.display())),
    };
    match serde_json::from_slice::<Anchor>(&bytes) {
        Ok(a) if a.vault_id == vault_id => Read::Found(a),
        Ok(_) => Read::Unreadable(format!("{} names another vault", path.display())),
        Err(e) => Read::Unreadable(format!("{}: {e}", path.display())),
    }
}

/// Writes the anchor (0600, directory 0700), replacing the old one by rename.
pub(crate) fn write(path: &Path, k: &SubKey, vault_id: &str, seq: u64, hash: &str) -> Result<()> {
    let written = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap_or_else(|_| OffsetDateTime::now_utc());
    let mac = hex::encode(mac_of(k, vault_id, seq, hash, &written).finalize().into_bytes());
    let anchor = Anchor { vault_id: vault_id.into(), seq, hash: hash.into(), written, mac };
    let json = serde_json::to_vec_pretty(&anchor).map_err(|e| Error::Storage(e.to_string()))?;
    let dir = path.parent().ok_or_else(|| Error::Invalid(format!("{} has no folder", path.display())))?;
    if !dir.exists() {
        crate::fs::create_private_dir(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = {
        use std::os::unix::fs::OpenOptionsExt;
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(Error::io("cannot write the anchor", &tmp))?
    };
    f.write_all(&json).map_err(Error::io("cannot write the anchor", &tmp))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(Error::io("cannot write the anchor", path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_anchor_verifies_only_under_its_key_and_unedited() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("anchors").join("ab-1.json");
        let k = SubKey::new([3; 32]);
        write(&file, &k, "ab", 7, "cafe").unwrap();
        let Read::Found(a) = read(&file, "ab") else { panic!("anchor not found") };
        assert_eq!((a.seq, a.hash.as_str()), (7, "cafe"));
        assert!(a.verifies(&k));
        assert!(!a.verifies(&SubKey::new([4; 32])), "another vault key");
        let mut edited = a.clone();
        edited.seq = 3;
        assert!(!edited.verifies(&k), "an edited sequence number");
        assert!(matches!(read(&file, "cd"), Read::Unreadable(_)), "another vault's anchor");
        assert!(matches!(read(&dir.path().join("none.json"), "ab"), Read::Missing));
        std::fs::write(&file, b"").unwrap();
        assert!(matches!(read(&file, "ab"), Read::Unreadable(_)), "a torn file reads as unreadable");
        use std::os::unix::fs::PermissionsExt;
        write(&file, &k, "ab", 8, "cafe").unwrap();
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let mode = std::fs::metadata(file.parent().unwrap()).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
    }
}
