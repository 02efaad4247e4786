//! Creating, opening, unlocking and locking the vault; the demo; app settings.

use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;
use tauri::AppHandle;
use vault_data::{
    ExposeSecret, KdfCost, KeyFile, PassphrasePolicy, SecretString, SlotKind, Strength, Unlock, Vault, VaultStatus,
};
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult};
use crate::settings::Settings;
use crate::state::{blocking, lock, AppState};

/// The demo vault's passphrase. The demo holds generated data only, so its passphrase is shown
/// in the window rather than kept secret.
pub const DEMO_PASSPHRASE: &str = "keyloom-demo";

/// Services in the "explore a demo" estate.
const DEMO_SERVICES: usize = 300;

/// Everything the window needs to decide what to show.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppStatus {
    /// The open vault, if any.
    pub vault: Option<VaultStatus>,
    /// Whether it is unlocked.
    pub unlocked: bool,
    /// Whether a device slot exists ("remember on this device" is on).
    pub device_slot: bool,
    /// Whether the device key may unlock now: a device slot exists and the vault has not been
    /// locked since the app started.
    pub device_unlock: bool,
    /// Whether a two-factor slot (passphrase AND key file) exists.
    pub two_factor: bool,
    /// Whether the passphrase alone opens nothing: the key file is needed.
    pub needs_key_file: bool,
    /// Seconds before another unlock attempt is accepted.
    pub retry_after_secs: u32,
    /// The demo vault's (public) passphrase, when the open vault is the demo.
    pub demo_passphrase: Option<String>,
    /// Where a new vault goes when the user does not choose.
    pub default_vault_path: Option<String>,
    /// App settings.
    pub settings: Settings,
}

/// Builds the status from the state.
pub fn status(state: &AppState) -> AppResult<AppStatus> {
    let guard = lock(&state.vault);
    let vault = guard.as_ref().map(Vault::status).transpose()?;
    let has = |kind: SlotKind| vault.as_ref().is_some_and(|v| v.slots.iter().any(|s| s.kind == kind));
    let device_slot = has(SlotKind::Device);
    let two_factor = has(SlotKind::TwoFactor);
    let needs_key_file = two_factor && !has(SlotKind::Passphrase);
    // Only the app's own demo has the public passphrase; `keyloom demo` vaults keep the user's.
    let own_demo = vault_data::paths::default_demo_dir().ok();
    let demo_passphrase = vault
        .as_ref()
        .filter(|v| v.demo && own_demo.as_deref() == Some(v.path.as_path()))
        .map(|_| DEMO_PASSPHRASE.to_string());
    let unlocked = vault.as_ref().is_some_and(|v| !v.locked);
    drop(guard);
    let wait = lock(&state.throttle).wait(Instant::now());
    Ok(AppStatus {
        vault,
        unlocked,
        device_slot,
        device_unlock: device_slot && state.device_unlock_allowed(),
        two_factor,
        needs_key_file,
        retry_after_secs: wait.as_secs_f64().ceil() as u32,
        demo_passphrase,
        default_vault_path: vault_data::paths::default_vault_dir().ok().map(|p| p.display().to_string()),
        settings: lock(&state.settings).clone(),
    })
}

/// The app's state.
#[tauri::command]
pub async fn app_status(app: AppHandle) -> AppResult<AppStatus> {
    blocking(app, status).await
}

/// The passphrase policy's verdict on a passphrase being chosen: the meter shows its score and
/// the Create button reads `acceptable`, so the threshold lives only in vault_data.
#[tauri::command]
pub async fn passphrase_strength(passphrase: String) -> AppResult<Strength> {
    let passphrase = Zeroizing::new(passphrase);
    Ok(PassphrasePolicy::STANDARD.judge(&passphrase))
}

/// Arguments of [`vault_create`].
#[derive(Deserialize, ts_rs::TS)]
pub struct CreateVaultArgs {
    /// Vault folder; the default location when empty.
    pub path: Option<String>,
    /// The new passphrase.
    pub passphrase: String,
    /// The same, typed again.
    pub confirm: String,
    /// A key file: the vault then opens only with the passphrase AND this file (two-factor).
    pub key_file: Option<String>,
}

/// The key file the page names (a picked or typed path; blank is none), read now.
fn key_file_arg(key_file: Option<&str>) -> AppResult<Option<KeyFile>> {
    let path = key_file.map(str::trim).filter(|f| !f.is_empty());
    Ok(path.map(|f| KeyFile::read(std::path::Path::new(f))).transpose()?)
}

/// The passphrase as an unlock method: with the key file at `key_file` when one is given.
pub(crate) fn passphrase_method(passphrase: SecretString, key_file: Option<&str>) -> AppResult<Unlock> {
    Ok(match key_file_arg(key_file)? {
        Some(file) => Unlock::TwoFactor(passphrase, file),
        None => Unlock::Passphrase(passphrase),
    })
}

/// A new vault and its recovery key, shown once.
#[derive(Serialize, ts_rs::TS)]
pub struct CreatedVault {
    /// The app's state, now with the new vault unlocked.
    pub status: AppStatus,
    /// The recovery key (`AGE-SECRET-KEY-1…`): the one time it is shown.
    pub recovery_key: String,
}

/// The scrypt cost of new passphrase slots: age's calibrated default, unless
/// `KEYLOOM_SCRYPT_LOG_N` asks for another (never below the safe floor), as tests do.
pub(crate) fn kdf_cost() -> AppResult<KdfCost> {
    match std::env::var("KEYLOOM_SCRYPT_LOG_N") {
        Ok(v) => {
            let n: u8 =
                v.parse().map_err(|_| AppError::Invalid(format!("KEYLOOM_SCRYPT_LOG_N={v} is not a number")))?;
            Ok(KdfCost::checked(n)?)
        }
        Err(_) => Ok(KdfCost::Calibrated),
    }
}

fn vault_dir(path: Option<String>) -> AppResult<PathBuf> {
    match path.map(|p| p.trim().to_string()).filter(|p| !p.is_empty()) {
        Some(p) => Ok(PathBuf::from(p)),
        None => Ok(vault_data::paths::default_vault_dir()?),
    }
}

/// Creates a vault, unlocked, and remembers it as the one to open next time.
#[tauri::command]
pub async fn vault_create(app: AppHandle, args: CreateVaultArgs) -> AppResult<CreatedVault> {
    blocking(app, move |state| create(state, args)).await
}

fn create(state: &AppState, args: CreateVaultArgs) -> AppResult<CreatedVault> {
    let passphrase = SecretString::from(args.passphrase);
    let confirm = Zeroizing::new(args.confirm);
    if !bool::from(passphrase.expose_secret().as_bytes().ct_eq(confirm.as_bytes())) {
        return Err(AppError::Invalid("the two passphrases do not match".into()));
    }
    PassphrasePolicy::STANDARD.check_new(passphrase.expose_secret())?;
    let dir = vault_dir(args.path)?;
    let key_file = key_file_arg(args.key_file.as_deref())?;
    state.close_vault()?;
    let (vault, recovery) = Vault::create(&dir, &passphrase, vault_data::CreateOptions { kdf: kdf_cost()?, key_file })?;
    let recovery_key = Zeroizing::new(recovery.0.expose_secret().to_string());
    *lock(&state.recovery_key) = Some(recovery_key.clone());
    set_open(state, vault, dir);
    Ok(CreatedVault { status: status(state)?, recovery_key: recovery_key.to_string() })
}

/// Makes `vault` the open one and remembers it for next time. Remembering is best-effort: once
/// the vault is open, failing to write desktop.json must not turn success into an error.
fn set_open(state: &AppState, vault: Vault, dir: PathBuf) {
    let mut guard = lock(&state.vault);
    *guard = Some(vault);
    state.sync_unlocked(&guard);
    drop(guard);
    let mut settings = lock(&state.settings);
    settings.last_vault = Some(dir);
    if let Err(e) = settings.save(&state.settings_path) {
        tracing::warn!(code = e.code(), "could not remember the vault in desktop.json");
    }
}

/// Opens the vault in `path`, locked.
#[tauri::command]
pub async fn vault_open(app: AppHandle, path: String) -> AppResult<AppStatus> {
    blocking(app, move |state| {
        let dir = vault_dir(Some(path))?;
        state.close_vault()?;
        let vault = Vault::open(&dir)?;
        set_open(state, vault, dir);
        status(state)
    })
    .await
}

/// Opens the vault remembered from last time (or at the default place), locked, if there is one.
pub fn open_last(state: &AppState) {
    let remembered = lock(&state.settings).last_vault.clone();
    let candidates = remembered.into_iter().chain(vault_data::paths::default_vault_dir().ok());
    for dir in candidates {
        if let Ok(vault) = Vault::open(&dir) {
            let mut guard = lock(&state.vault);
            *guard = Some(vault);
            state.sync_unlocked(&guard);
            return;
        }
    }
}

/// Replaces whatever is open with a freshly generated demo estate, clearly marked as a demo.
#[tauri::command]
pub async fn vault_create_demo(app: AppHandle) -> AppResult<AppStatus> {
    blocking(app, create_demo).await
}

fn create_demo(state: &AppState) -> AppResult<AppStatus> {
    let dir = vault_data::paths::default_demo_dir()?;
    state.close_vault()?;
    if Vault::exists(&dir) {
        // Only ever replace a vault that is itself a demo.
        let old = Vault::open(&dir)?;
        if !old.status()?.demo {
            return Err(AppError::Invalid(format!(
                "{} holds a vault that is not a demo; it was left alone",
                dir.display()
            )));
        }
        old.close()?;
        std::fs::remove_dir_all(&dir)
            .map_err(|e| AppError::File { path: dir.display().to_string(), reason: e.to_string() })?;
    }
    let passphrase = SecretString::from(DEMO_PASSPHRASE.to_string());
    let cost = KdfCost::LogN(vault_data::MIN_SCRYPT_LOG_N);
    let (mut vault, _recovery) =
        Vault::create(&dir, &passphrase, vault_data::CreateOptions { kdf: cost, ..Default::default() })?;
    let seed = rand::random::<u64>();
    vault.populate_demo(DEMO_SERVICES, seed)?;
    set_open(state, vault, dir);
    status(state)
}

/// Arguments of [`vault_unlock`].
#[derive(Deserialize, ts_rs::TS)]
pub struct UnlockArgs {
    /// The passphrase; absent to use the device key.
    pub passphrase: Option<String>,
    /// After a passphrase unlock, remember the vault on this device (OS keyring).
    pub remember: bool,
    /// The key file, for a vault with a two-factor slot.
    pub key_file: Option<String>,
}

/// The state after unlocking, with a note when "remember" could not be honoured.
#[derive(Serialize, ts_rs::TS)]
pub struct UnlockOutcome {
    /// The app's state.
    pub status: AppStatus,
    /// Something the user should know, e.g. that the keyring was unavailable.
    pub notice: Option<String>,
}

/// Unlocks with the passphrase or the device key. Wrong passphrases are throttled.
#[tauri::command]
pub async fn vault_unlock(app: AppHandle, args: UnlockArgs) -> AppResult<UnlockOutcome> {
    blocking(app, move |state| unlock(state, args)).await
}

fn unlock(state: &AppState, args: UnlockArgs) -> AppResult<UnlockOutcome> {
    let method = match args.passphrase {
        Some(p) => passphrase_method(SecretString::from(p), args.key_file.as_deref())?,
        None if state.device_unlock_allowed() => Unlock::Device,
        None => {
            return Err(AppError::Invalid(
                "after a lock the passphrase is needed (the device key unlocks only when the app starts)".into(),
            ))
        }
    };
    let by_passphrase = method.is_real_factor();
    // Kept as the proof "remember on this device" needs (a real factor, checked again there).
    let method_copy = method.clone();
    // The wait is checked and a failure recorded while holding the vault, so parallel attempts
    // queue behind each other and each one sees the delay the previous one earned.
    let mut guard = lock(&state.vault);
    // The app's own back-off, and the vault's persistent one (failed unlocks through any front
    // end, surviving restarts): the longer wins.
    let persisted = guard.as_ref().map_or(std::time::Duration::ZERO, |v| vault_data::unlock_delay(v.path()));
    let wait = lock(&state.throttle).wait(Instant::now()).max(persisted);
    if !wait.is_zero() {
        return Err(AppError::Throttled(wait.as_secs_f64().ceil() as u64));
    }
    let vault = guard.as_mut().ok_or(AppError::NoVault)?;
    let result = vault.unlock(method);
    state.sync_unlocked(&guard);
    match result {
        Err(e @ vault_data::Error::WrongKey) => {
            if by_passphrase {
                lock(&state.throttle).failed(Instant::now());
            }
            return Err(e.into());
        }
        Err(e) => return Err(e.into()),
        Ok(()) => lock(&state.throttle).succeeded(),
    }
    let mut notice = guard
        .as_ref()
        .map(Vault::failed_unlocks_before)
        .filter(|f| f.count > 0)
        .map(|f| format!("{} failed unlock attempt(s) since the last successful unlock.", f.count));
    // What the unlock noticed (an anchor adopted on this machine, say), after that.
    let noticed: Vec<String> = guard.as_ref().map(|v| v.notices().to_vec()).unwrap_or_default();
    if !noticed.is_empty() {
        let mut all: Vec<String> = notice.into_iter().collect();
        all.extend(noticed.into_iter().map(|n| format!("Note: {n}.")));
        notice = Some(all.join(" "));
    }
    if args.remember && by_passphrase {
        if let Some(vault) = guard.as_mut() {
            if let Err(e) = vault.keys_mut().enable_device(&method_copy, false) {
                notice = Some(format!("Unlocked, but this device could not remember the vault: {e}"));
            }
        }
    }
    drop(guard);
    state.touch();
    Ok(UnlockOutcome { status: status(state)?, notice })
}

/// Locks now: keys, index, pending recovery key and a copied secret are all cleared.
#[tauri::command]
pub async fn vault_lock(app: AppHandle) -> AppResult<AppStatus> {
    blocking(app, |state| {
        state.lock_vault()?;
        status(state)
    })
    .await
}

/// Ctrl+Q: closes the vault (keys wiped, the clipboard cleared if it holds our value), then exits.
#[tauri::command]
pub async fn app_quit(app: AppHandle) -> AppResult<()> {
    let handle = app.clone();
    blocking(app, |state| state.close_vault()).await?;
    handle.exit(0);
    Ok(())
}

/// Turns "remember on this device" on (which needs the current passphrase: an unlocked screen
/// alone must not add a way in) or off.
#[tauri::command]
pub async fn device_remember(
    app: AppHandle,
    enabled: bool,
    current: Option<String>,
    key_file: Option<String>,
) -> AppResult<AppStatus> {
    blocking(app, move |state| {
        if enabled {
            let proof = passphrase_method(SecretString::from(current.unwrap_or_default()), key_file.as_deref())?;
            state.with_vault(|v| v.keys_mut().enable_device(&proof, false))?;
        } else {
            state.with_vault(|v| v.keys_mut().disable_device().map(|_| ()))?;
        }
        status(state)
    })
    .await
}

/// Asks where to save the just-created vault's recovery key (a native dialog opened from Rust, so
/// the page never names a path to write) and writes it there, 0600. Returns the path, or None
/// when the user cancelled.
#[tauri::command]
pub async fn recovery_key_save(app: AppHandle) -> AppResult<Option<String>> {
    let picked = crate::dialogs::file_dialog(&app, "Save the recovery key")
        .set_file_name("keyloom-recovery-key.txt")
        .blocking_save_file();
    let Some(path) = picked else { return Ok(None) };
    let path = path.into_path().map_err(|e| AppError::Invalid(format!("cannot save there: {e}")))?;
    blocking(app, move |state| {
        let key = lock(&state.recovery_key).clone().ok_or_else(|| {
            AppError::Invalid("the recovery key is no longer held: it is shown only right after creating a vault".into())
        })?;
        let vault_id = state.with_vault(|v| Ok(v.vault_id()))?;
        let text = Zeroizing::new(format!(
            "# Keyloom recovery key for vault {vault_id}\n# Keep it offline. It opens the vault without the passphrase:\n#   keyloom recover --recovery-key-file <this file>\n{}\n",
            key.as_str()
        ));
        vault_data::paths::write_private_file(&path, text.as_bytes())?;
        Ok(Some(path.display().to_string()))
    })
    .await
}

/// Asks for a key file with a native dialog and returns its path (None when cancelled). Only the
/// file's SHA-256 is ever used, at unlock or create.
#[tauri::command]
pub async fn key_file_pick(app: AppHandle) -> AppResult<Option<String>> {
    let picked = crate::dialogs::file_dialog(&app, "Choose the key file").blocking_pick_file();
    let Some(path) = picked else { return Ok(None) };
    let path = path.into_path().map_err(|e| AppError::Invalid(format!("cannot use that file: {e}")))?;
    Ok(Some(path.display().to_string()))
}

/// The user confirmed they saved the recovery key: forget it.
#[tauri::command]
pub async fn recovery_key_done(app: AppHandle) -> AppResult<()> {
    blocking(app, |state| {
        *lock(&state.recovery_key) = None;
        Ok(())
    })
    .await
}

/// Saves new app settings.
#[tauri::command]
pub async fn settings_update(app: AppHandle, settings: Settings) -> AppResult<Settings> {
    settings.validate()?;
    blocking(app, move |state| {
        let mut current = lock(&state.settings);
        let new = Settings { last_vault: current.last_vault.clone(), ..settings };
        new.save(&state.settings_path)?;
        *current = new.clone();
        Ok(new)
    })
    .await
}

/// The user is active (keys, clicks): postpones auto-lock. The gate does the work.
#[tauri::command]
pub async fn activity() -> AppResult<()> {
    Ok(())
}
