//! Listing, adding and removing unlock slots: the two-factor slot (passphrase AND key file), and
//! dropping the plain passphrase slot once a two-factor one exists.

use age::secrecy::SecretString;

use crate::audit::{AuditEvent, AuditObject};
use crate::crypto::passphrase::KdfCost;
use crate::crypto::slots::{self, KeyFile, SlotInfo, SlotKind, SlotRecord};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::vault::Keys;
use crate::vault::{Unlock, Vault};
use std::ops::{Deref, DerefMut};

impl<V: Deref<Target = Vault>> Keys<V> {
    /// Every unlock slot (public facts only). Readable while locked.
    pub fn slots(&self) -> Result<Vec<SlotInfo>> {
        Ok(self.vault.slots()?.iter().map(SlotInfo::from).collect())
    }

    /// Adds (or replaces) the two-factor slot: the passphrase in `proof` AND `key_file`. `proof`
    /// must open a slot (passphrase, or passphrase and the current key file). The plain
    /// passphrase slot stays until [`Keys::remove_slot`] drops it.
    pub fn add_two_factor(&mut self, proof: &Unlock, key_file: &KeyFile, cost: KdfCost) -> Result<SlotInfo>
    where
        V: DerefMut<Target = Vault>,
    {
        self.vault.prove_real_factor(proof, "adding a two-factor slot")?;
        let passphrase: &SecretString = proof.passphrase().ok_or_else(|| {
            Error::NeedsRealFactor("adding a two-factor slot (it needs the passphrase it pairs with the file)".into())
        })?;
        let slot = slots::wrap_two_factor(&self.vault.vault_key()?, passphrase, key_file, cost)?;
        let info = SlotInfo::from(&slot);
        let obj = AuditObject::new("slot", Some(slot.id), "two_factor");
        let mut next: Vec<SlotRecord> =
            self.vault.slots()?.into_iter().filter(|s| s.kind != SlotKind::TwoFactor).collect();
        next.push(slot);
        self.vault
            .replace_slots(next, AuditEvent::success("slot.add", vec![obj]).with_detail("passphrase and key file"))?;
        Ok(info)
    }

    /// Removes slot `id`, after `proof` (a real factor) is checked. Refused when it would leave no
    /// slot to unlock with day to day (passphrase or two-factor), or for the recovery slot (the
    /// way back: `rekey --new-recovery-key` replaces it). A device slot goes with its keyring
    /// entry through `device disable`.
    pub fn remove_slot(&mut self, proof: &Unlock, id: RecordId) -> Result<SlotInfo>
    where
        V: DerefMut<Target = Vault>,
    {
        self.vault.prove_real_factor(proof, "removing an unlock slot")?;
        let slots = self.vault.slots()?;
        let slot = slots
            .iter()
            .find(|s| s.id == id)
            .cloned()
            .ok_or_else(|| Error::Invalid(format!("this vault has no unlock slot {id}")))?;
        match slot.kind {
            SlotKind::Recovery => {
                return Err(Error::Invalid(
                    "the recovery slot is the way back when the passphrase is lost; it cannot be removed (rekey \
                     with a new recovery key replaces it)"
                        .into(),
                ))
            }
            SlotKind::Device => {
                return Err(Error::Invalid(
                    "the device slot is removed by turning \"remember on this device\" off".into(),
                ))
            }
            SlotKind::Passphrase | SlotKind::TwoFactor => {}
        }
        let daily = |s: &&SlotRecord| matches!(s.kind, SlotKind::Passphrase | SlotKind::TwoFactor) && s.id != id;
        if !slots.iter().any(|s| daily(&s)) {
            return Err(Error::Invalid(
                "this is the last passphrase slot; add a two-factor slot (or keep this one) before removing it".into(),
            ));
        }
        let info = SlotInfo::from(&slot);
        let kind = format!("{:?}", slot.kind).to_lowercase();
        let next: Vec<SlotRecord> = slots.into_iter().filter(|s| s.id != id).collect();
        let obj = AuditObject::new("slot", Some(id), kind);
        self.vault.replace_slots(next, AuditEvent::success("slot.remove", vec![obj]))?;
        Ok(info)
    }
}
