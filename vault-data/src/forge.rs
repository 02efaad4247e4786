//! Attack tooling for the tests (feature `forge`, never in a release build): what someone holding
//! only public facts can make. Each function is the attack a test shows is refused.

use std::path::Path;

use age::secrecy::SecretString;

use crate::crypto::keys::VaultId;
use crate::crypto::slots::{self, SlotKind};
use crate::error::{Error, Result};
use crate::store::slots_file;
use crate::vault::Vault;

/// Makes, at `dir`, a vault of the attacker's with the (public) id `vault_id_hex`, opened by
/// `passphrase`, with a device slot wrapped to `device_recipient` (public: it is in the real
/// vault's `vault.slots`) and open to the CLI. If the device unlocked it, secrets written
/// afterwards would land under the attacker's key.
pub fn impostor(dir: &Path, vault_id_hex: &str, passphrase: &SecretString, device_recipient: &str) -> Result<()> {
    let id: VaultId = hex::decode(vault_id_hex)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(|| Error::Invalid("not a vault id".into()))?;
    let vault = Vault::create_with_id(dir, id, passphrase)?;
    let vk = vault.vault_key()?;
    let mut slot = slots::wrap_recipient(&vk, SlotKind::Device, device_recipient, None)?;
    slot.cli = true;
    let mut all = slots_file::read(dir, vault_id_hex)?.unwrap_or_default();
    all.push(slot);
    slots_file::write(dir, vault_id_hex, &all)?;
    vault.close()
}
