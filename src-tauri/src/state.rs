//! What the app holds between commands: the open vault and the state around unlocking.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

use tauri::{AppHandle, Manager};
use vault_data::Vault;
use zeroize::Zeroizing;

use crate::clipboard::SecretClipboard;
use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::throttle::Throttle;

/// Locks a mutex, carrying on after a panic elsewhere (the data behind it stays consistent:
/// every vault operation commits or changes nothing).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Runs `f` with the app's state on a blocking thread. Commands do key derivations, fsyncs and
/// keyring calls; on the async runtime's few worker threads those would stall every other call
/// (this machine has two cores), so each command body runs here instead.
pub async fn blocking<T: Send + 'static>(
    app: AppHandle,
    f: impl FnOnce(&AppState) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    tauri::async_runtime::spawn_blocking(move || f(&app.state::<AppState>()))
        .await
        .map_err(|e| AppError::Internal(format!("a background task failed: {e}")))?
}

/// Tauri-managed state of the one window.
pub struct AppState {
    /// The vault opened in this window, locked or unlocked.
    pub vault: Mutex<Option<Vault>>,
    /// Mirrors "a vault is open and unlocked" without taking the vault's mutex, so the command
    /// gate never waits behind a long operation.
    unlocked: AtomicBool,
    /// Wrong-passphrase back-off.
    pub throttle: Mutex<Throttle>,
    /// The recovery key of a just-created vault, until the user confirms they saved it.
    pub recovery_key: Mutex<Option<Zeroizing<String>>>,
    /// Last time the user did something (for auto-lock).
    pub last_activity: Mutex<Instant>,
    /// The app's settings and where they live.
    pub settings: Mutex<Settings>,
    /// `desktop.json`.
    pub settings_path: PathBuf,
    /// The system clipboard, for copying secrets.
    pub clipboard: SecretClipboard,
    /// Whether the device key may still unlock: only until the first lock of this run. After
    /// any lock (the button, Ctrl+L, idle, the CLI) the passphrase is needed until the app
    /// restarts; enforced here, not in the page.
    device_unlock_allowed: AtomicBool,
}

impl AppState {
    /// Fresh state with settings read from `settings_path`.
    pub fn new(settings_path: PathBuf) -> AppState {
        AppState {
            vault: Mutex::new(None),
            unlocked: AtomicBool::new(false),
            throttle: Mutex::new(Throttle::default()),
            recovery_key: Mutex::new(None),
            last_activity: Mutex::new(Instant::now()),
            settings: Mutex::new(Settings::load(&settings_path)),
            settings_path,
            clipboard: SecretClipboard::default(),
            device_unlock_allowed: AtomicBool::new(true),
        }
    }

    /// Whether an unlock with the device key is still allowed in this run.
    pub fn device_unlock_allowed(&self) -> bool {
        self.device_unlock_allowed.load(Ordering::SeqCst)
    }

    /// Whether a vault is open and unlocked.
    pub fn is_unlocked(&self) -> bool {
        self.unlocked.load(Ordering::SeqCst)
    }

    /// Re-reads the unlocked flag from the vault after anything that may change it.
    pub fn sync_unlocked(&self, vault: &Option<Vault>) {
        self.unlocked.store(vault.as_ref().is_some_and(Vault::is_unlocked), Ordering::SeqCst);
    }

    /// Notes user activity, postponing auto-lock.
    pub fn touch(&self) {
        *lock(&self.last_activity) = Instant::now();
    }

    /// Runs `f` on the open vault.
    pub fn with_vault<T>(&self, f: impl FnOnce(&mut Vault) -> vault_data::Result<T>) -> AppResult<T> {
        let mut guard = lock(&self.vault);
        let vault = guard.as_mut().ok_or(AppError::NoVault)?;
        Ok(f(vault)?)
    }

    /// Locks the vault (zeroizing its keys and index), forgets a pending recovery key, and takes
    /// a copied secret back off the clipboard.
    pub fn lock_vault(&self) -> AppResult<()> {
        self.device_unlock_allowed.store(false, Ordering::SeqCst);
        let mut guard = lock(&self.vault);
        let result = guard.as_mut().map_or(Ok(()), Vault::lock);
        self.sync_unlocked(&guard);
        drop(guard);
        *lock(&self.recovery_key) = None;
        self.clipboard.clear_if_ours(None);
        Ok(result?)
    }

    /// Locks and closes the open vault, if any.
    pub fn close_vault(&self) -> AppResult<()> {
        self.lock_vault()?;
        let mut guard = lock(&self.vault);
        let result = guard.take().map_or(Ok(()), Vault::close);
        self.sync_unlocked(&guard);
        Ok(result?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn after_any_lock_the_device_key_no_longer_unlocks() {
        let dir = tempfile::tempdir().unwrap();
        let state = AppState::new(dir.path().join("desktop.json"));
        assert!(state.device_unlock_allowed(), "the first unlock screen of a run may use it");
        state.lock_vault().unwrap();
        assert!(!state.device_unlock_allowed());
    }
}
