//! Managing the key hierarchy: sessions, passphrase changes, the device slot, and rekey.

use age::secrecy::SecretString;
use secrecy::ExposeSecret;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditEvent, AuditObject, Outcome};
use crate::crypto::device_keyring;
use crate::crypto::keys::{VaultKey, VaultKeys};
use crate::crypto::passphrase::KdfCost;
use crate::crypto::seal::{self, Location};
use crate::crypto::slots::{self, SlotKind, SlotSecret};
use crate::error::{Error, Result};
use crate::store::{Op, TreeName};
use crate::vault::unlock::SESSION_PREFIX;
use crate::vault::{pending, seal_meta, slot_key, slot_op, RecoveryKey, Vault, META_SIGNING_KEY};

/// Longest session `create_session` grants.
pub const MAX_SESSION: Duration = Duration::days(7);

/// A session: a token that unlocks this vault until it expires or `end_sessions` runs.
/// Without the vault directory the token reveals nothing.
pub struct SessionToken {
    /// The token (`keyloom-session:v1:…`), for `KEYLOOM_SESSION`.
    pub token: SecretString,
    /// When it stops working.
    pub expires: OffsetDateTime,
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionToken").field("expires", &self.expires).finish_non_exhaustive()
    }
}

/// What `rekey` did.
#[derive(Debug, Serialize)]
pub struct RekeyReport {
    /// Sealed records re-encrypted under the new key.
    pub records_resealed: usize,
    /// Slots rewrapped (passphrase, recovery, device).
    pub slots_rewrapped: usize,
    /// Sessions ended.
    pub sessions_ended: usize,
    /// A new recovery key, when one was asked for.
    #[serde(skip)]
    pub new_recovery_key: Option<RecoveryKey>,
}

impl Vault {
    /// Ops deleting every slot of `kind`.
    fn delete_slots(&self, kind: SlotKind) -> Result<Vec<Op>> {
        Ok(self
            .slots()?
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| Op::Delete(TreeName::Meta, slot_key(s.id)))
            .collect())
    }

    fn vault_key(&self) -> Result<VaultKey> {
        Ok(self.unlocked()?.keys.vault_key.clone())
    }

    /// Adds a session slot valid for `ttl` and returns its token. Expired sessions are removed.
    pub fn create_session(&mut self, ttl: Duration) -> Result<SessionToken> {
        if ttl < Duration::minutes(1) || ttl > MAX_SESSION {
            return Err(Error::Invalid("a session lasts between 1 minute and 7 days".into()));
        }
        let vk = self.vault_key()?;
        let now = OffsetDateTime::now_utc();
        let expires = now + ttl;
        let (identity, recipient) = slots::new_identity();
        let slot = slots::wrap_recipient(&vk, SlotKind::Session, &recipient, Some(expires))?;
        let mut ops: Vec<Op> = self
            .slots()?
            .iter()
            .filter(|s| s.kind == SlotKind::Session && s.expires.is_some_and(|e| e <= now))
            .map(|s| Op::Delete(TreeName::Meta, slot_key(s.id)))
            .collect();
        ops.push(slot_op(&slot)?);
        let obj = AuditObject::new("slot", Some(slot.id), "session");
        let ttl_text =
            format!("expires {}", expires.format(&time::format_description::well_known::Rfc3339).unwrap_or_default());
        self.commit(ops, vec![AuditEvent::success("session.create", vec![obj]).with_detail(ttl_text)])?;
        let token = SecretString::from(format!("{SESSION_PREFIX}{}:{}", slot.id, identity.expose_secret()));
        Ok(SessionToken { token, expires })
    }

    /// Removes every session slot. Works locked too (it only takes access away); then the
    /// audit entry is queued until the next unlock.
    pub fn end_sessions(&mut self) -> Result<usize> {
        let ops: Vec<Op> = self.delete_slots(SlotKind::Session)?;
        let n = ops.len();
        let detail = format!("{n} session(s) ended");
        if self.is_unlocked() {
            let obj = self.vault_object();
            self.commit(ops, vec![AuditEvent::success("session.end_all", vec![obj]).with_detail(detail)])?;
        } else if n > 0 {
            self.store.commit(&ops)?;
            self.record_locked_event("session.end_all", Outcome::Success, detail);
        }
        Ok(n)
    }

    fn require_passphrase_or_recovery(&self, what: &str) -> Result<()> {
        match self.unlocked_by() {
            Some(SlotKind::Passphrase) | Some(SlotKind::Recovery) => Ok(()),
            Some(_) => Err(Error::Invalid(format!(
                "{what} needs the current passphrase or the recovery key, not a session or device unlock"
            ))),
            None => Err(Error::Locked),
        }
    }

    /// Replaces the passphrase slot. Only VK is rewrapped; no record changes.
    pub fn change_passphrase(&mut self, new: &SecretString, cost: KdfCost) -> Result<()> {
        self.require_passphrase_or_recovery("changing the passphrase")?;
        if new.expose_secret().is_empty() {
            return Err(Error::Invalid("the new passphrase is empty".into()));
        }
        let vk = self.vault_key()?;
        let slot = slots::wrap_passphrase(&vk, new, cost)?;
        let mut ops: Vec<Op> = self.delete_slots(SlotKind::Passphrase)?;
        ops.push(slot_op(&slot)?);
        let via = if self.unlocked_by() == Some(SlotKind::Recovery) { "recovery key" } else { "passphrase" };
        let obj = AuditObject::new("slot", Some(slot.id), "passphrase");
        self.commit(
            ops,
            vec![AuditEvent::success("passphrase.change", vec![obj]).with_detail(format!("authorised by the {via}"))],
        )
    }

    /// "Remember on this device": stores a new identity in the OS keyring and adds a slot for it.
    /// If the keyring cannot be reached, nothing changes.
    pub fn enable_device(&mut self) -> Result<()> {
        let vk = self.vault_key()?;
        let (identity, recipient) = slots::new_identity();
        let slot = slots::wrap_recipient(&vk, SlotKind::Device, &recipient, None)?;
        device_keyring::store(&self.vault_id(), &identity)?;
        let mut ops: Vec<Op> = self.delete_slots(SlotKind::Device)?;
        ops.push(slot_op(&slot)?);
        let obj = AuditObject::new("slot", Some(slot.id), "device");
        if let Err(e) = self.commit(ops, vec![AuditEvent::success("device.enable", vec![obj])]) {
            let _ = device_keyring::delete(&self.vault_id());
            return Err(e);
        }
        Ok(())
    }

    /// Removes the device slot and the keyring entry. Returns false if it was not enabled.
    pub fn disable_device(&mut self) -> Result<bool> {
        let ops: Vec<Op> = self.delete_slots(SlotKind::Device)?;
        if ops.is_empty() {
            return Ok(false);
        }
        let obj = AuditObject::new("slot", None, "device");
        self.commit(ops, vec![AuditEvent::success("device.disable", vec![obj])])?;
        if let Err(e) = device_keyring::delete(&self.vault_id()) {
            tracing::warn!(error = %e, "the device slot is gone but the keyring entry could not be deleted");
        }
        Ok(true)
    }

    /// Replaces the vault key: every record is resealed, every slot rewrapped under the new key
    /// (the passphrase one with `passphrase`, which must be the current one), sessions end, and
    /// both snapshot generations are rewritten. One commit.
    pub fn rekey(&mut self, passphrase: &SecretString, cost: KdfCost, new_recovery_key: bool) -> Result<RekeyReport> {
        let old_vk = self.vault_key()?;
        let slots_now = self.slots()?;
        let now = OffsetDateTime::now_utc();
        let opened = slots_now
            .iter()
            .filter(|s| s.kind == SlotKind::Passphrase)
            .map(|s| slots::unwrap(s, &SlotSecret::Passphrase(passphrase), now))
            .collect::<Result<Vec<_>>>()?;
        let matches = opened
            .into_iter()
            .flatten()
            .any(|k| bool::from(subtle::ConstantTimeEq::ct_eq(&k.expose()[..], &old_vk.expose()[..])));
        if !matches {
            return Err(Error::WrongKey);
        }

        let new_vk = VaultKey::generate();
        let new_keys = VaultKeys::derive(new_vk.clone(), &self.vault_id);
        let old_keys = self.unlocked()?.keys.clone();
        let mut ops = Vec::new();
        let mut resealed = 0usize;
        for (tree, name) in
            [(TreeName::Objects, "objects"), (TreeName::Payloads, "payloads"), (TreeName::Audit, "audit")]
        {
            let (old_k, new_k) = match tree {
                TreeName::Objects => (&old_keys.objects, &new_keys.objects),
                TreeName::Payloads => (&old_keys.payloads, &new_keys.payloads),
                _ => (&old_keys.audit, &new_keys.audit),
            };
            for (key, sealed) in self.store.scan(tree)? {
                let loc = Location { tree: name, key: &key };
                let pt = seal::open(old_k, &self.vault_id, loc, &sealed)?;
                ops.push(Op::Put(tree, key.clone(), seal::seal(new_k, &self.vault_id, loc, &pt)));
                resealed += 1;
            }
        }
        let signing = self
            .store
            .get(TreeName::Meta, META_SIGNING_KEY)?
            .ok_or_else(|| Error::Integrity("the vault's signing key record is missing".into()))?;
        let signing =
            seal::open(&old_keys.meta, &self.vault_id, Location { tree: "meta", key: META_SIGNING_KEY }, &signing)?;
        ops.push(seal_meta(&new_keys, &self.vault_id, META_SIGNING_KEY, &signing));
        if let Some(inbox) = self.store.get(TreeName::Meta, pending::identity_key())? {
            ops.push(pending::reseal_ops(&old_keys, &new_keys, &self.vault_id, &inbox)?);
        }

        let mut recovery = None;
        let mut rewrapped = 0;
        let mut sessions = 0;
        for s in &slots_now {
            ops.push(Op::Delete(TreeName::Meta, slot_key(s.id)));
            let slot = match (s.kind, &s.recipient) {
                (SlotKind::Passphrase, _) => slots::wrap_passphrase(&new_vk, passphrase, cost)?,
                (SlotKind::Recovery, _) if new_recovery_key => {
                    let (identity, recipient) = slots::new_identity();
                    recovery = Some(RecoveryKey(identity));
                    slots::wrap_recipient(&new_vk, SlotKind::Recovery, &recipient, None)?
                }
                (SlotKind::Recovery | SlotKind::Device, Some(r)) => slots::wrap_recipient(&new_vk, s.kind, r, None)?,
                (SlotKind::Session, _) => {
                    sessions += 1;
                    continue;
                }
                (kind, None) => {
                    return Err(Error::Integrity(format!("the {kind:?} slot {} has no recipient to rewrap to", s.id)))
                }
            };
            rewrapped += 1;
            ops.push(slot_op(&slot)?);
        }

        let detail = format!(
            "{resealed} records resealed, {rewrapped} slots rewrapped, {sessions} sessions ended{}",
            if recovery.is_some() { ", new recovery key" } else { "" }
        );
        let obj = self.vault_object();
        let u = self.unlocked_mut()?;
        u.keys = new_keys;
        if let Err(e) = self.commit(ops, vec![AuditEvent::success("vault.rekey", vec![obj]).with_detail(detail)]) {
            self.unlocked_mut()?.keys = old_keys;
            return Err(e);
        }
        // Both generations under the new key: the old key must open nothing kept on disk.
        self.write_snapshot()?;
        self.write_snapshot()?;
        Ok(RekeyReport {
            records_resealed: resealed,
            slots_rewrapped: rewrapped,
            sessions_ended: sessions,
            new_recovery_key: recovery,
        })
    }
}
