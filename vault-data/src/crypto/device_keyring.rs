//! The device slot's identity in the OS keyring (Secret Service, Keychain, Credential Manager).
//!
//! The entry is `v2 <check> <identity>`: the age identity that opens the device slot, and a check
//! value derived from the vault key it opened when the entry was made. The identity's recipient
//! is public (it is in `vault.slots`), so anyone can make a vault with the same (public) id and a
//! device slot wrapped to it; only the real vault's key gives the check value, so such a
//! substitute is refused instead of unlocking silently and taking new secrets under its key.
//! On Linux, any process of the same user can read the entry (Secret Service has no per-app
//! access control): "remember on this device" trades that away by design (docs/SECURITY.md).

use age::secrecy::SecretString;
use secrecy::ExposeSecret;

use crate::error::{Error, Result};

const SERVICE: &str = "keyloom";

fn entry(vault_id_hex: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(SERVICE, &format!("vault-{vault_id_hex}")).map_err(map_err)
}

fn map_err(e: keyring::Error) -> Error {
    match e {
        keyring::Error::NoStorageAccess(_) | keyring::Error::PlatformFailure(_) => Error::Keyring(format!(
            "no usable OS keyring ({e}); on Linux, remember-on-this-device needs a running, unlocked Secret \
             Service such as GNOME Keyring or KWallet"
        )),
        keyring::Error::NoEntry => Error::Keyring("this device holds no key for this vault".into()),
        other => Error::Keyring(other.to_string()),
    }
}

const VERSION: &str = "v2";

/// What the keyring holds for a vault.
pub(crate) struct DeviceEntry {
    /// The identity that opens the device slot.
    pub identity: SecretString,
    /// The check value of the vault key it belongs to (see [`crate::crypto::keys::VaultKey::device_check`]).
    pub check: String,
}

pub(crate) fn store(vault_id_hex: &str, identity: &SecretString, check: &str) -> Result<()> {
    let value = zeroize::Zeroizing::new(format!("{VERSION} {check} {}", identity.expose_secret()));
    entry(vault_id_hex)?.set_password(&value).map_err(map_err)
}

pub(crate) fn load(vault_id_hex: &str) -> Result<DeviceEntry> {
    let value = zeroize::Zeroizing::new(entry(vault_id_hex)?.get_password().map_err(map_err)?);
    let mut parts = value.split(' ');
    match (parts.next(), parts.next(), parts.next(), parts.next()) {
        (Some(VERSION), Some(check), Some(identity), None) => {
            Ok(DeviceEntry { identity: SecretString::from(identity.to_string()), check: check.to_string() })
        }
        // An entry from before check values: it cannot tell this vault from a substitute.
        _ => Err(Error::NoUnlockMethod(
            "this device's keyring entry predates check values; turn \"remember on this device\" on again".into(),
        )),
    }
}

pub(crate) fn delete(vault_id_hex: &str) -> Result<()> {
    match entry(vault_id_hex)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
}
