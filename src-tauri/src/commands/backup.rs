//! Backing the vault up to an age-encrypted file, and restoring one into a new folder.

use std::path::PathBuf;

use serde::Deserialize;
use tauri::AppHandle;
use vault_data::{SecretString, Unlock, Vault};

use crate::commands::keys::checked_new;
use crate::commands::vault::{kdf_cost, status, AppStatus};
use crate::error::{AppError, AppResult};
use crate::state::{blocking, lock};

/// Asks where to save (a dialog opened from Rust) and writes a backup encrypted to a backup
/// passphrase there, 0600. Returns the path, or None when the user cancelled.
#[tauri::command]
pub async fn vault_backup(app: AppHandle, passphrase: String, confirm: String) -> AppResult<Option<String>> {
    let backup_passphrase = checked_new(passphrase, confirm)?;
    let name = format!("keyloom-backup-{}.age", time::OffsetDateTime::now_utc().date());
    let picked = crate::dialogs::file_dialog(&app, "Save the backup").set_file_name(&name).blocking_save_file();
    let Some(path) = picked else { return Ok(None) };
    let path = path.into_path().map_err(|e| AppError::Invalid(format!("cannot save there: {e}")))?;
    blocking(app, move |s| {
        let cost = kdf_cost()?;
        let bytes = s.with_vault(|v| v.backup(&backup_passphrase, cost))?;
        vault_data::paths::write_private_file(&path, &bytes)?;
        Ok(Some(path.display().to_string()))
    })
    .await
}

/// The "restore a backup" form.
#[derive(Deserialize, ts_rs::TS)]
pub struct RestoreArgs {
    /// The backup file.
    pub backup: String,
    /// The passphrase the backup was encrypted to.
    pub backup_passphrase: String,
    /// The vault's own passphrase (at the time of the backup).
    pub vault_passphrase: String,
    /// A new or empty folder for the restored vault.
    pub folder: String,
}

/// Restores a backup into a new folder and opens it, unlocked.
#[tauri::command]
pub async fn vault_restore(app: AppHandle, args: RestoreArgs) -> AppResult<AppStatus> {
    blocking(app, move |s| {
        let bytes = std::fs::read(&args.backup)
            .map_err(|e| AppError::File { path: args.backup.clone(), reason: e.to_string() })?;
        let folder = PathBuf::from(args.folder.trim());
        if folder.as_os_str().is_empty() {
            return Err(AppError::Invalid("choose a new folder for the restored vault".into()));
        }
        let vault_passphrase = SecretString::from(args.vault_passphrase);
        vault_data::restore_backup(
            &bytes,
            &SecretString::from(args.backup_passphrase),
            &folder,
            Unlock::Passphrase(vault_passphrase.clone()),
        )?;
        s.close_vault()?;
        let mut vault = Vault::open(&folder)?;
        vault.unlock(Unlock::Passphrase(vault_passphrase))?;
        let mut guard = lock(&s.vault);
        *guard = Some(vault);
        s.sync_unlocked(&guard);
        drop(guard);
        status(s)
    })
    .await
}
