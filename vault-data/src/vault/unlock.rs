//! Unlocking: find the slot the given secret opens, check the key, load the index.

use std::path::Path;

use age::secrecy::SecretString;
use time::OffsetDateTime;

use crate::audit::Outcome;
use crate::crypto::device_keyring;
use crate::crypto::keys::{VaultKey, VaultKeys};
use crate::crypto::seal::{self, Location};
use crate::crypto::slots::{self, KeyFile, SlotKind, SlotRecord, SlotSecret};
use crate::error::{Error, Result};
use crate::store::{failures, journal, slots_file, snapshot, TreeName};
use crate::vault::index::Index;
use crate::vault::{Unlocked, Vault, META_SIGNING_KEY};

/// A secret that may open one of the vault's slots.
#[derive(Clone)]
pub enum Unlock {
    /// The vault passphrase.
    Passphrase(SecretString),
    /// The passphrase and a key file, for a two-factor slot.
    TwoFactor(SecretString, KeyFile),
    /// The recovery key (`AGE-SECRET-KEY-1…`).
    RecoveryKey(SecretString),
    /// The identity kept in this device's OS keyring.
    Device,
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unlock::Passphrase(_) => "Unlock::Passphrase(..)",
            Unlock::TwoFactor(..) => "Unlock::TwoFactor(..)",
            Unlock::RecoveryKey(_) => "Unlock::RecoveryKey(..)",
            Unlock::Device => "Unlock::Device",
        })
    }
}

impl Unlock {
    /// Whether this is a real factor (something the user knows or holds): the passphrase (with
    /// its key file where the vault needs one) or the recovery key. Adding or changing slots,
    /// restoring and starting an agent need one; a device unlock only proves access to this
    /// user account.
    pub fn is_real_factor(&self) -> bool {
        !matches!(self, Unlock::Device)
    }

    /// The passphrase in it, if any.
    pub fn passphrase(&self) -> Option<&SecretString> {
        match self {
            Unlock::Passphrase(p) | Unlock::TwoFactor(p, _) => Some(p),
            _ => None,
        }
    }
}

impl Vault {
    /// Unlocks with `method`. A secret that opens no slot is recorded (once the vault next opens)
    /// and reported as "wrong passphrase or key"; nothing else changes.
    pub fn unlock(&mut self, method: Unlock) -> Result<()> {
        if self.unlocked.is_some() {
            return Ok(());
        }
        let opened = match open_slots(&self.slots()?, &method, &self.vault_id()) {
            Ok(opened) => opened,
            Err(e @ (Error::Integrity(_) | Error::Damaged(_))) => {
                return Err(self.slots_file_damage(&method).unwrap_or(e))
            }
            Err(e) => return Err(e),
        };
        if opened.is_empty() {
            if let Some(e) = self.slots_file_damage(&method) {
                return Err(e);
            }
        }
        self.unlock_with(kind_of(&method), opened)
    }

    /// When nothing in `vault.slots` opens, tells a damaged slots file from a wrong secret: if
    /// the snapshot's copy of the slots differs and opens this vault's key with the same secret,
    /// the file is damaged (an integrity error pointing to `doctor --restore`). Costs a second
    /// key derivation only when the two copies differ.
    fn slots_file_damage(&self, method: &Unlock) -> Option<Error> {
        let header = snapshot::read_header(self.store.dir()).ok().flatten()?.header;
        let theirs = header.slots?;
        let ours = self.slots().unwrap_or_default();
        if slots_file::same(&theirs, &ours) {
            return None;
        }
        let sealed = self.store.get(TreeName::Meta, META_SIGNING_KEY).ok().flatten()?;
        let opens = open_slots(&theirs, method, &self.vault_id()).ok()?.into_iter().any(|vk| {
            let keys = VaultKeys::derive(vk, &self.vault_id);
            seal::open(&keys.meta, &self.vault_id, Location { tree: "meta", key: META_SIGNING_KEY }, &sealed).is_ok()
        });
        opens.then(|| {
            Error::Damaged(format!(
                "the unlock slots file {} is damaged; the snapshot holds a copy of the slots",
                slots_file::path(self.store.dir()).display()
            ))
        })
    }

    /// Opens the vault at `dir` and unlocks it with `method`, running the key derivation
    /// before the vault's process lock is taken (the slots file needs no lock), so parallel
    /// commands queue only for the short part. Waits up to `wait` for another process.
    pub fn open_unlocked(dir: &Path, method: Unlock, wait: std::time::Duration) -> Result<Vault> {
        let early = match slots_file::read_unchecked(dir) {
            Ok(Some((vault_id, slots))) => Some((open_slots(&slots, &method, &vault_id)?, vault_id, slots)),
            _ => None,
        };
        let mut vault = Vault::open_wait(dir, wait)?;
        // The slots may have changed between the derivation and the lock (a `passwd` in
        // between): then the derivation is redone against the slots as they are now.
        let early = early.filter(|(_, _, slots)| vault.slots().is_ok_and(|now| slots_file::same(&now, slots)));
        match early {
            Some((opened, id, _)) if id == vault.vault_id() => {
                if opened.is_empty() {
                    if let Some(e) = vault.slots_file_damage(&method) {
                        return Err(e);
                    }
                }
                vault.unlock_with(kind_of(&method), opened)?
            }
            _ => vault.unlock(method)?,
        }
        Ok(vault)
    }

    /// Finishes an unlock with the keys the slots gave (usually one).
    fn unlock_with(&mut self, kind: SlotKind, opened: Vec<VaultKey>) -> Result<()> {
        if opened.is_empty() {
            return Err(self.failed_unlock(kind, "no slot opened"));
        }
        // Make sure a key is this vault's current key: a slot copied from before a rekey, or
        // left by a rekey interrupted before it tidied the slots, holds a dead key.
        let sealed = self
            .store
            .get(TreeName::Meta, META_SIGNING_KEY)?
            .ok_or_else(|| Error::Integrity("the vault's signing key record is missing".into()))?;
        let live = opened.into_iter().map(|vk| VaultKeys::derive(vk, &self.vault_id)).find(|keys| {
            seal::open(&keys.meta, &self.vault_id, Location { tree: "meta", key: META_SIGNING_KEY }, &sealed).is_ok()
        });
        let Some(keys) = live else {
            return Err(self.failed_unlock(kind, "the slot holds a stale key"));
        };
        let mut head = self.load_head(&keys)?;
        self.notices.clear();
        // A database behind its own snapshot has a precise remedy (`doctor --restore`), so that
        // is said first; an accepted rollback takes the database as it is instead.
        if !self.accept_rollback {
            self.check_snapshot_freshness(&keys, head.seq, &head.hash)?;
        }
        // The record set is read while the index loads: each reads other trees, on other cores.
        let (records, index) =
            rayon::join(|| self.check_record_set(&keys, &head), || Index::load(&keys, &self.vault_id, &self.store));
        let accepted = self.check_freshness(&keys, &head, records?)?;
        if self.accept_rollback {
            // The snapshot follows at the next checkpoint, in full.
            self.journal = None;
            self.dirty = true;
        }
        if !accepted.is_empty() {
            // The records as they are become the set: the next commit recomputes it in full
            // rather than updating the sealed one they no longer match.
            head.set = None;
        }
        let index = index?;
        self.unlocked = Some(Unlocked { keys, index, head, unlocked_by: kind });
        if let Err(e) = self.record_accepted_rollback(&accepted) {
            self.unlocked = None;
            return Err(e);
        }
        self.failed_before = failures::read(self.store.dir());
        if self.failed_before.count > 0 {
            failures::reset(self.store.dir());
        }
        // Housekeeping after the unlock itself: a failure here (a full disk, say) must neither
        // fail the unlock nor leave a half-unlocked handle reporting an error.
        if let Err(e) = self.drain_pending() {
            tracing::warn!(error = %e, "could not move locked-time events into the audit chain");
        }
        if let Err(e) = self.refresh_snapshot_slots() {
            tracing::warn!(error = %e, "could not rewrite the snapshots with the current slots");
        }
        tracing::debug!(slot = ?kind, "vault unlocked");
        Ok(())
    }

    fn failed_unlock(&self, kind: SlotKind, why: &str) -> Error {
        failures::record(self.store.dir());
        self.record_locked_event(
            "vault.unlock",
            Outcome::Failure,
            format!("{kind:?} unlock refused: {why}").to_lowercase(),
        );
        Error::WrongKey
    }

    /// A database older than its own authentic snapshot (and journal) has lost acknowledged
    /// writes. Also picks up the snapshot's journal, so later commits append to it.
    fn check_snapshot_freshness(&mut self, keys: &VaultKeys, seq: u64, hash: &str) -> Result<()> {
        let Some(signed) = snapshot::read_header(self.store.dir()).ok().flatten() else {
            return Ok(());
        };
        if !signed.is_authentic(&keys.snapshot) {
            tracing::warn!("the vault snapshot failed authentication; `keyloom doctor` will say more");
            return Ok(());
        }
        let header = &signed.header;
        let mut newest = (header.audit_seq, header.audit_hash.clone());
        if let Some(id) = header.journal_id() {
            match journal::Writer::resume(self.store.dir(), &id, &keys.snapshot) {
                Ok(Some((writer, head))) => {
                    self.journal = Some(writer);
                    if let Some(head) = head {
                        newest = head;
                    }
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "the snapshot journal cannot be continued"),
            }
        }
        self.snapshot_len = std::fs::metadata(self.store.dir().join(snapshot::CURRENT)).map(|m| m.len()).unwrap_or(0);
        let (snap_seq, snap_hash) = newest;
        if snap_seq < seq {
            // Commits reached the database but not the journal (a crash between the two, or
            // before the journal was synced): appending now would leave a hole. The next
            // checkpoint writes a full snapshot instead.
            self.journal = None;
            self.dirty = true;
        }
        if snap_seq > seq || (snap_seq == seq && snap_hash != hash) {
            self.journal = None;
            return Err(Error::Damaged(format!(
                "the database is behind its snapshot (audit entry #{seq} in the database, #{snap_seq} in the snapshot): \
                 acknowledged writes are missing"
            )));
        }
        Ok(())
    }
}

/// The slot kind a method can open.
pub(crate) fn kind_of(method: &Unlock) -> SlotKind {
    match method {
        Unlock::Passphrase(_) => SlotKind::Passphrase,
        Unlock::TwoFactor(..) => SlotKind::TwoFactor,
        Unlock::RecoveryKey(_) => SlotKind::Recovery,
        Unlock::Device => SlotKind::Device,
    }
}

/// Unwraps VK from every one of `slots` that `method` opens (usually one; an interrupted rekey
/// can leave an old and a new slot of one kind, and the caller picks the live key).
pub(crate) fn open_slots(slots: &[SlotRecord], method: &Unlock, vault_id_hex: &str) -> Result<Vec<VaultKey>> {
    let now = OffsetDateTime::now_utc();
    let kind = kind_of(method);
    let candidates: Vec<&SlotRecord> = slots.iter().filter(|s| s.kind == kind).collect();
    let identity = match method {
        Unlock::Passphrase(_) if candidates.is_empty() && slots.iter().any(|s| s.kind == SlotKind::TwoFactor) => {
            return Err(Error::NoUnlockMethod(
                "this vault needs its key file as well as the passphrase (two-factor unlock)".into(),
            ))
        }
        Unlock::Passphrase(p) => return try_slots(&candidates, &SlotSecret::Passphrase(p), now),
        Unlock::TwoFactor(p, file) => {
            if candidates.is_empty() {
                // No two-factor slot: the file asks for nothing more (a KEYLOOM_KEY_FILE set for
                // another vault, say), so the passphrase slot decides.
                let plain: Vec<&SlotRecord> = slots.iter().filter(|s| s.kind == SlotKind::Passphrase).collect();
                return try_slots(&plain, &SlotSecret::Passphrase(p), now);
            }
            return try_slots(&candidates, &SlotSecret::Passphrase(&file.combine(p)), now);
        }
        Unlock::RecoveryKey(k) => slots::parse_identity(k)?,
        Unlock::Device => {
            if candidates.is_empty() {
                return Err(Error::NoUnlockMethod("remember-on-this-device is not enabled for this vault".into()));
            }
            let entry = device_keyring::load(vault_id_hex)?;
            let identity = slots::parse_identity(&entry.identity)?;
            let opened = try_slots(&candidates, &SlotSecret::Identity(&identity), now)?;
            return device_checked(opened, &entry.check, vault_id_hex);
        }
    };
    try_slots(&candidates, &SlotSecret::Identity(&identity), now)
}

/// Keeps the keys whose check value is the one this device stored: a device slot that opens but
/// holds another key is a substitute vault with the same (public) id, and is refused.
fn device_checked(opened: Vec<VaultKey>, check: &str, vault_id_hex: &str) -> Result<Vec<VaultKey>> {
    let id = hex::decode(vault_id_hex)
        .ok()
        .and_then(|b| <crate::crypto::keys::VaultId>::try_from(b).ok())
        .ok_or_else(|| Error::Integrity("the vault id cannot be decoded".into()))?;
    let any = !opened.is_empty();
    let matching: Vec<VaultKey> = opened
        .into_iter()
        .filter(|vk| bool::from(subtle::ConstantTimeEq::ct_eq(vk.device_check(&id).as_bytes(), check.as_bytes())))
        .collect();
    if any && matching.is_empty() {
        return Err(Error::Integrity(
            "this is not the vault this device remembers: its key does not match the check value in the keyring \
             (a vault with the same id was put in its place); unlock with the passphrase only if you trust this copy"
                .into(),
        ));
    }
    Ok(matching)
}

fn try_slots(slots: &[&SlotRecord], secret: &SlotSecret<'_>, now: OffsetDateTime) -> Result<Vec<VaultKey>> {
    let mut out = Vec::new();
    for slot in slots {
        if let Some(vk) = slots::unwrap(slot, secret, now)? {
            out.push(vk);
        }
    }
    Ok(out)
}
