//! Backups: the vault's sealed snapshot (already encrypted under the vault key) wrapped once more
//! with age to a backup passphrase, and restoring one into a new folder.
//!
//! The snapshot holds every tree and, in its authenticated header, the unlock slots of the moment,
//! so a restored vault opens with the passphrase, recovery key or device key that opened the
//! original at backup time (backups keep their own slots on purpose). The extra age layer means
//! a stolen backup file also needs the backup passphrase before anyone can even try those.

use std::path::Path;

use age::secrecy::SecretString;

use super::{RestoreReport, Unlock, Vault};
use crate::audit::AuditEvent;
use crate::crypto::passphrase::{KdfCost, MAX_SCRYPT_LOG_N};
use crate::error::{Error, Result};
use crate::fs as durable;
use crate::store::snapshot;

impl Vault {
    /// A backup of the whole vault, encrypted with age to `passphrase` (scrypt at `cost`). The
    /// backup is audited first, so the copy includes its own audit entry.
    pub fn backup(&mut self, passphrase: &SecretString, cost: KdfCost) -> Result<Vec<u8>> {
        let obj = self.vault_object();
        self.commit(vec![], vec![AuditEvent::success("vault.backup", vec![obj])])?;
        self.write_snapshot()?;
        let path = self.path().join(snapshot::CURRENT);
        let sealed = std::fs::read(&path).map_err(Error::io("cannot read", &path))?;
        let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
        if let KdfCost::LogN(n) = cost {
            recipient.set_work_factor(n);
        }
        age::encrypt(&recipient, &sealed).map_err(|e| Error::Storage(format!("cannot encrypt the backup: {e}")))
    }
}

/// Restores a backup made by [`Vault::backup`] into `dir`, which must be new or empty: decrypts it
/// with the backup passphrase, then rebuilds the database from the snapshot inside, checked with
/// `method` (the vault's own passphrase, recovery key or device key).
pub fn restore_backup(backup: &[u8], passphrase: &SecretString, dir: &Path, method: Unlock) -> Result<RestoreReport> {
    if dir.exists() {
        let mut entries = std::fs::read_dir(dir).map_err(Error::io("cannot read", dir))?;
        if entries.next().is_some() {
            return Err(Error::Invalid(format!("{} is not empty: restore into a new or empty folder", dir.display())));
        }
    }
    let mut identity = age::scrypt::Identity::new(passphrase.clone());
    identity.set_max_work_factor(MAX_SCRYPT_LOG_N);
    let sealed = age::decrypt(&identity, backup).map_err(|e| match e {
        age::DecryptError::DecryptionFailed | age::DecryptError::NoMatchingKeys => Error::WrongKey,
        _ => Error::Invalid("this is not a Keyloom backup, or it is damaged".into()),
    })?;
    let existed = dir.exists();
    durable::create_private_dir(dir)?;
    let result = durable::write_atomic(&dir.join(snapshot::CURRENT), &sealed)
        .and_then(|_| crate::vault::doctor_restore(dir, method, false));
    if result.is_err() {
        // Nothing was restored: leave the folder as it was found.
        if existed {
            let _ = std::fs::remove_file(dir.join(snapshot::CURRENT));
        } else {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
    result
}
