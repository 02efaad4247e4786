//! Passphrase change and rekey, from Settings.

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tauri::AppHandle;
use vault_data::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use crate::commands::vault::{kdf_cost, passphrase_method};
use crate::error::{AppError, AppResult};
use crate::state::{blocking, lock};

/// A new passphrase typed twice: the two must match and the passphrase policy must accept it.
pub(crate) fn checked_new(passphrase: String, confirm: String) -> AppResult<SecretString> {
    let passphrase = SecretString::from(passphrase);
    let confirm = Zeroizing::new(confirm);
    if !bool::from(passphrase.expose_secret().as_bytes().ct_eq(confirm.as_bytes())) {
        return Err(AppError::Invalid("the two passphrases do not match".into()));
    }
    vault_data::PassphrasePolicy::STANDARD.check_new(passphrase.expose_secret())?;
    Ok(passphrase)
}

/// Replaces the passphrase slot after the current passphrase is proven; the vault key, data and
/// other slots stay.
#[tauri::command]
pub async fn passphrase_change(
    app: AppHandle,
    current: String,
    passphrase: String,
    confirm: String,
    key_file: Option<String>,
) -> AppResult<()> {
    let new = checked_new(passphrase, confirm)?;
    let proof = passphrase_method(SecretString::from(current), key_file.as_deref())?;
    blocking(app, move |s| {
        let cost = kdf_cost()?;
        s.with_vault(|v| v.keys_mut().change_passphrase(&proof, &new, cost))
    })
    .await
}

/// The outcome of a rekey.
#[derive(Serialize, ts_rs::TS)]
pub struct RekeyOutcome {
    /// Records sealed again under the new key.
    pub records_resealed: usize,
    /// The new recovery key: the one time it is shown (the old one no longer opens the vault).
    pub recovery_key: Option<String>,
}

/// Arguments of [`vault_rekey`].
#[derive(Deserialize, ts_rs::TS)]
pub struct RekeyArgs {
    /// The current passphrase: the proof, and the passphrase of the rewrapped slot.
    pub current: String,
    /// Also replace the recovery key.
    pub new_recovery_key: bool,
    /// The key file, for a vault with a two-factor slot.
    pub key_file: Option<String>,
}

/// A new vault key: every record resealed, slots rewrapped.
#[tauri::command]
pub async fn vault_rekey(app: AppHandle, args: RekeyArgs) -> AppResult<RekeyOutcome> {
    let proof = passphrase_method(SecretString::from(args.current), args.key_file.as_deref())?;
    blocking(app, move |s| {
        let cost = kdf_cost()?;
        let report = s.with_vault(|v| v.keys_mut().rekey(&proof, cost, args.new_recovery_key))?;
        let recovery_key = report.new_recovery_key.map(|k| Zeroizing::new(k.0.expose_secret().to_string()));
        *lock(&s.recovery_key) = recovery_key.clone();
        Ok(RekeyOutcome {
            records_resealed: report.records_resealed,
            recovery_key: recovery_key.map(|k| k.to_string()),
        })
    })
    .await
}
