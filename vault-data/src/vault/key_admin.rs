//! Managing the key hierarchy: passphrase changes, the device slot, and rekey.
//!
//! Everything here that adds or changes a way in takes the proof of a real factor (the
//! passphrase or the recovery key) as an argument and checks it against the slots, whatever
//! unlocked this handle: an agent or a device unlock must never be enough to add a slot.

use age::secrecy::SecretString;
use secrecy::ExposeSecret;
use serde::Serialize;

use crate::audit::{AuditEvent, AuditObject};
use crate::crypto::device_keyring;
use crate::crypto::keys::{VaultKey, VaultKeys};
use crate::crypto::passphrase::KdfCost;
use crate::crypto::seal::{self, Location};
use crate::crypto::slots::{self, SlotKind, SlotRecord};
use crate::error::{Error, Result};
use crate::store::{slots_file, Op, TreeName};
use crate::vault::unlock::open_slots;
use crate::vault::{pending, seal_meta, RecoveryKey, Unlock, Vault, META_SIGNING_KEY};
use std::ops::{Deref, DerefMut};

/// What `rekey` did.
#[derive(Debug, Serialize)]
pub struct RekeyReport {
    /// Sealed records re-encrypted under the new key.
    pub records_resealed: usize,
    /// Slots rewrapped (passphrase, two-factor, recovery, device).
    pub slots_rewrapped: usize,
    /// A new recovery key, when one was asked for.
    #[serde(skip)]
    pub new_recovery_key: Option<RecoveryKey>,
}

feature_handle!(
    /// How the vault is unlocked: the passphrase, the device key, two-factor and recovery slots, rekeying.
    Keys, keys, keys_mut
);

impl<V: Deref<Target = Vault>> Keys<V> {
    /// Replaces the passphrase slot, after `current` (the passphrase or the recovery key) is
    /// proven. Only VK is rewrapped; no record changes. The old passphrase opens no file in the
    /// vault folder afterwards (the slots file and both snapshots are rewritten), but this is not
    /// revocation: anyone who copied the folder before still opens that copy with the old
    /// passphrase. After a suspected leak, `rekey`.
    pub fn change_passphrase(&mut self, current: &Unlock, new: &SecretString, cost: KdfCost) -> Result<()>
    where
        V: DerefMut<Target = Vault>,
    {
        self.vault.prove_real_factor(current, "changing the passphrase")?;
        if new.expose_secret().is_empty() {
            return Err(Error::Invalid("the new passphrase is empty".into()));
        }
        let vk = self.vault.vault_key()?;
        let now = self.vault.slots()?;
        let mut next: Vec<SlotRecord> =
            now.iter().filter(|s| !matches!(s.kind, SlotKind::Passphrase | SlotKind::TwoFactor)).cloned().collect();
        let mut made = Vec::new();
        if now.iter().any(|s| s.kind == SlotKind::Passphrase) {
            made.push(slots::wrap_passphrase(&vk, new, cost)?);
        }
        if now.iter().any(|s| s.kind == SlotKind::TwoFactor) {
            let Unlock::TwoFactor(_, file) = current else {
                return Err(Error::Invalid(
                    "the two-factor slot keeps its key file: prove the change with the passphrase and the key file"
                        .into(),
                ));
            };
            made.push(slots::wrap_two_factor(&vk, new, file, cost)?);
        }
        if made.is_empty() {
            made.push(slots::wrap_passphrase(&vk, new, cost)?);
        }
        let obj = AuditObject::new("slot", Some(made[0].id), "passphrase");
        let via = match current {
            Unlock::RecoveryKey(_) => "recovery key",
            Unlock::TwoFactor(..) => "passphrase and key file",
            _ => "passphrase",
        };
        next.extend(made);
        self.vault.replace_slots(
            next,
            AuditEvent::success("passphrase.change", vec![obj]).with_detail(format!("authorised by the {via}")),
        )
    }

    /// "Remember on this device": stores a new identity in the OS keyring and adds a slot for it,
    /// after `proof` (the passphrase or the recovery key) is checked. If the keyring cannot be
    /// reached, nothing changes.
    ///
    /// With `for_cli`, the `keyloom` CLI may use the slot too; otherwise only the desktop app
    /// does (it asks at start), so a same-user script gets no silent unlock by default.
    pub fn enable_device(&mut self, proof: &Unlock, for_cli: bool) -> Result<()>
    where
        V: DerefMut<Target = Vault>,
    {
        self.vault.prove_real_factor(proof, "remembering this device")?;
        let vk = self.vault.vault_key()?;
        let (identity, recipient) = slots::new_identity();
        let mut slot = slots::wrap_recipient(&vk, SlotKind::Device, &recipient, None)?;
        slot.cli = for_cli;
        device_keyring::store(&self.vault.vault_id(), &identity, &vk.device_check(&self.vault.vault_id))?;
        let obj = AuditObject::new("slot", Some(slot.id), "device");
        let mut next: Vec<SlotRecord> =
            self.vault.slots()?.into_iter().filter(|s| s.kind != SlotKind::Device).collect();
        next.push(slot);
        if let Err(e) = self.vault.replace_slots(next, AuditEvent::success("device.enable", vec![obj])) {
            let _ = device_keyring::delete(&self.vault.vault_id());
            return Err(e);
        }
        Ok(())
    }

    /// Removes the device slot and the keyring entry. Returns false if it was not enabled.
    /// Needs no proof: it only takes a way in away.
    pub fn disable_device(&mut self) -> Result<bool>
    where
        V: DerefMut<Target = Vault>,
    {
        let slots = self.vault.slots()?;
        if !slots.iter().any(|s| s.kind == SlotKind::Device) {
            return Ok(false);
        }
        let next: Vec<SlotRecord> = slots.into_iter().filter(|s| s.kind != SlotKind::Device).collect();
        let obj = AuditObject::new("slot", None, "device");
        self.vault.replace_slots(next, AuditEvent::success("device.disable", vec![obj]))?;
        if let Err(e) = device_keyring::delete(&self.vault.vault_id()) {
            tracing::warn!(error = %e, "the device slot is gone but the keyring entry could not be deleted");
        }
        Ok(true)
    }

    /// Replaces the vault key: every record is resealed, every slot rewrapped under the new key
    /// (the passphrase ones with the passphrase in `proof`, and its key file for a two-factor slot),
    /// and both snapshot
    /// generations are rewritten, so nothing in the folder opens with the old key.
    ///
    /// Crash safety: the slots file first holds the old and the new slots together, then the
    /// records are resealed in one commit, then the old slots are dropped. Unlock tries every slot
    /// a secret opens and keeps the key that opens the records, so the vault opens at every step.
    pub fn rekey(&mut self, proof: &Unlock, cost: KdfCost, new_recovery_key: bool) -> Result<RekeyReport>
    where
        V: DerefMut<Target = Vault>,
    {
        let Some(passphrase) = proof.passphrase() else {
            return Err(Error::NeedsRealFactor("rekeying (it needs the passphrase to rewrap its slot)".into()));
        };
        self.vault.prove_real_factor(proof, "rekeying")?;
        let slots_now = self.vault.slots()?;

        let new_vk = VaultKey::generate();
        let new_keys = VaultKeys::derive(new_vk.clone(), &self.vault.vault_id);
        let old_keys = self.vault.unlocked()?.keys.clone();
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
            for (key, sealed) in self.vault.store.scan(tree)? {
                let loc = Location { tree: name, key: &key };
                let pt = seal::open(old_k, &self.vault.vault_id, loc, &sealed)?;
                ops.push(Op::Put(tree, key.clone(), seal::seal(new_k, &self.vault.vault_id, loc, &pt)));
                resealed += 1;
            }
        }
        let signing = self
            .vault
            .store
            .get(TreeName::Meta, META_SIGNING_KEY)?
            .ok_or_else(|| Error::Integrity("the vault's signing key record is missing".into()))?;
        let signing = seal::open(
            &old_keys.meta,
            &self.vault.vault_id,
            Location { tree: "meta", key: META_SIGNING_KEY },
            &signing,
        )?;
        ops.push(seal_meta(&new_keys, &self.vault.vault_id, META_SIGNING_KEY, &signing));
        if let Some(inbox) = self.vault.store.get(TreeName::Meta, pending::identity_key())? {
            ops.push(pending::reseal_ops(&old_keys, &new_keys, &self.vault.vault_id, &inbox)?);
        }

        let mut recovery = None;
        let mut new_slots = Vec::new();
        for s in &slots_now {
            let slot = match (s.kind, &s.recipient) {
                (SlotKind::Passphrase, _) => slots::wrap_passphrase(&new_vk, passphrase, cost)?,
                (SlotKind::TwoFactor, _) => match proof {
                    Unlock::TwoFactor(_, file) => slots::wrap_two_factor(&new_vk, passphrase, file, cost)?,
                    _ => {
                        return Err(Error::Invalid(
                            "this vault has a two-factor slot: rekey with the passphrase and the key file".into(),
                        ))
                    }
                },
                (SlotKind::Recovery, _) if new_recovery_key => {
                    let (identity, recipient) = slots::new_identity();
                    recovery = Some(RecoveryKey(identity));
                    slots::wrap_recipient(&new_vk, SlotKind::Recovery, &recipient, None)?
                }
                (SlotKind::Recovery | SlotKind::Device, Some(r)) => {
                    let mut slot = slots::wrap_recipient(&new_vk, s.kind, r, None)?;
                    slot.cli = s.cli;
                    slot
                }
                (kind, None) => {
                    return Err(Error::Integrity(format!("the {kind:?} slot {} has no recipient to rewrap to", s.id)))
                }
            };
            new_slots.push(slot);
        }
        let rewrapped = new_slots.len();

        // Step 1: old and new slots side by side.
        let both: Vec<SlotRecord> = slots_now.iter().cloned().chain(new_slots.iter().cloned()).collect();
        slots_file::write(self.vault.store.dir(), &self.vault.vault_id(), &both)?;

        let detail = format!(
            "{resealed} records resealed, {rewrapped} slots rewrapped{}",
            if recovery.is_some() { ", new recovery key" } else { "" }
        );
        let obj = self.vault.vault_object();
        // Step 2: every record under the new key, in one commit.
        // The record set is keyed by VK too: dropping it makes the commit recompute it, in full,
        // under the new key.
        let old_set = self.vault.unlocked()?.head.set.clone();
        let u = self.vault.unlocked_mut()?;
        u.keys = new_keys;
        u.head.set = None;
        if let Err(e) = self.vault.commit(ops, vec![AuditEvent::success("vault.rekey", vec![obj]).with_detail(detail)])
        {
            let u = self.vault.unlocked_mut()?;
            u.keys = old_keys;
            u.head.set = old_set;
            slots_file::write(self.vault.store.dir(), &self.vault.vault_id(), &slots_now)?;
            return Err(e);
        }
        // Step 3: only the new slots, and both snapshot generations under the new key.
        self.vault.write_slots(&new_slots)?;
        if new_slots.iter().any(|s| s.kind == SlotKind::Device) {
            // The device's check value follows the key; without it the device slot is refused.
            let id = self.vault.vault_id();
            let stored = device_keyring::load(&id)
                .and_then(|e| device_keyring::store(&id, &e.identity, &new_vk.device_check(&self.vault.vault_id)));
            if let Err(e) = stored {
                tracing::warn!(error = %e, "the device slot needs \"remember on this device\" turned on again");
            }
        }
        Ok(RekeyReport { records_resealed: resealed, slots_rewrapped: rewrapped, new_recovery_key: recovery })
    }
}

impl Vault {
    pub(crate) fn vault_key(&self) -> Result<VaultKey> {
        Ok(self.unlocked()?.keys.vault_key.clone())
    }

    /// Checks that `proof` is a real factor (passphrase or recovery key) that opens a slot
    /// holding this vault's current key. `what` names the operation in the error.
    pub(crate) fn prove_real_factor(&self, proof: &Unlock, what: &str) -> Result<()> {
        if !proof.is_real_factor() {
            return Err(Error::NeedsRealFactor(what.to_string()));
        }
        let vk = self.vault_key()?;
        let opened = open_slots(&self.slots()?, proof, &self.vault_id())?;
        if opened.iter().any(|k| bool::from(subtle::ConstantTimeEq::ct_eq(&k.expose()[..], &vk.expose()[..]))) {
            Ok(())
        } else {
            Err(Error::WrongKey)
        }
    }

    /// Replaces the slots and audits it; if the audit entry cannot be written the old slots
    /// are put back (fail closed).
    pub(crate) fn replace_slots(&mut self, slots: Vec<SlotRecord>, event: AuditEvent) -> Result<()> {
        let before = self.slots()?;
        self.write_slots(&slots)?;
        if let Err(e) = self.commit(vec![], vec![event]) {
            if let Err(undo) = self.write_slots(&before) {
                tracing::warn!(error = %undo, "could not put the previous unlock slots back");
            }
            return Err(e);
        }
        Ok(())
    }
}
