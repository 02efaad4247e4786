//! The device slot's identity in the OS keyring (Secret Service, Keychain, Credential Manager).

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

pub(crate) fn store(vault_id_hex: &str, identity: &SecretString) -> Result<()> {
    entry(vault_id_hex)?.set_password(identity.expose_secret()).map_err(map_err)
}

pub(crate) fn load(vault_id_hex: &str) -> Result<SecretString> {
    entry(vault_id_hex)?.get_password().map(SecretString::from).map_err(map_err)
}

pub(crate) fn delete(vault_id_hex: &str) -> Result<()> {
    match entry(vault_id_hex)?.delete_credential() {
        Ok(()) | Err(keyring::Error::NoEntry) => Ok(()),
        Err(e) => Err(map_err(e)),
    }
}
