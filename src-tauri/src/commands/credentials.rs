//! Credentials: list, history, set, generate, reveal, copy, remove. Values cross IPC only in
//! `credential_reveal`'s answer and, inbound, in `credential_set`.

use base64::Engine;
use serde::{Deserialize, Serialize};
use tauri::AppHandle;
use vault_data::{
    Charset, Credential, ExposeSecret, SecretOptions, SecretPolicy, SecretRef, SecretSlice, SecretSummary,
};
use zeroize::Zeroizing;

use crate::clipboard::CopyReceipt;
use crate::error::{AppError, AppResult};
use crate::state::{blocking, lock};

fn reference(service: &str, name: &str) -> AppResult<SecretRef> {
    format!("{service}/{name}").parse().map_err(AppError::from)
}

/// Every credential (metadata only).
#[tauri::command]
pub async fn credentials_list(app: AppHandle) -> AppResult<Vec<SecretSummary>> {
    blocking(app, |s| s.with_vault(|v| v.secrets().list(None))).await
}

/// A credential's versions (metadata only).
#[tauri::command]
pub async fn credential_history(app: AppHandle, service: String, name: String) -> AppResult<Credential> {
    let r = reference(&service, &name)?;
    blocking(app, move |s| s.with_vault(|v| v.secrets().history(&r))).await
}

/// Where a credential goes and its policy, shared by set and generate.
#[derive(Deserialize, ts_rs::TS)]
pub struct CredentialTarget {
    /// Owning service.
    pub service: String,
    /// Credential name, e.g. `STRIPE_KEY`.
    pub name: String,
    /// What it grants access to.
    pub target: Option<String>,
    /// Rotation policy in days.
    pub rotate_days: Option<u32>,
}

impl CredentialTarget {
    fn split(self) -> AppResult<(SecretRef, SecretOptions)> {
        let r = reference(&self.service, &self.name)?;
        Ok((r, SecretOptions { target: self.target.filter(|t| !t.trim().is_empty()), rotate_days: self.rotate_days }))
    }
}

/// Stores a typed value as the credential's next version.
#[tauri::command]
pub async fn credential_set(app: AppHandle, credential: CredentialTarget, value: String) -> AppResult<SecretSummary> {
    let value = Zeroizing::new(value);
    if value.is_empty() {
        return Err(AppError::Invalid("the value is empty".into()));
    }
    let (r, options) = credential.split()?;
    let secret = SecretSlice::from(value.as_bytes().to_vec());
    blocking(app, move |s| s.with_vault(|v| v.secrets_mut().set(&r, &secret, options))).await
}

/// Generates a value as the credential's next version.
#[tauri::command]
pub async fn credential_generate(
    app: AppHandle,
    credential: CredentialTarget,
    length: usize,
    charset: Charset,
) -> AppResult<SecretSummary> {
    let (r, options) = credential.split()?;
    blocking(app, move |s| s.with_vault(|v| v.secrets_mut().generate(&r, length, charset, options))).await
}

/// A revealed value.
#[derive(Serialize, ts_rs::TS)]
pub struct RevealedSecret {
    /// The value: UTF-8 text, or base64 when `binary`.
    pub value: String,
    /// Whether the value is not text and `value` is base64.
    pub binary: bool,
}

/// Reveals a version (the current one by default). Audited by the vault before it returns.
#[tauri::command]
pub async fn credential_reveal(
    app: AppHandle,
    service: String,
    name: String,
    version: Option<u32>,
) -> AppResult<RevealedSecret> {
    let r = reference(&service, &name)?;
    let secret = blocking(app, move |s| s.with_vault(|v| v.secrets_mut().reveal(&r, version))).await?;
    Ok(match std::str::from_utf8(secret.expose_secret()) {
        Ok(text) => RevealedSecret { value: text.to_string(), binary: false },
        Err(_) => RevealedSecret {
            value: base64::engine::general_purpose::STANDARD.encode(secret.expose_secret()),
            binary: true,
        },
    })
}

/// Copies a version to the clipboard from Rust (the value never reaches the window); it is
/// cleared after 30 s if still there.
#[tauri::command]
pub async fn credential_copy(
    app: AppHandle,
    service: String,
    name: String,
    version: Option<u32>,
) -> AppResult<CopyReceipt> {
    let r = reference(&service, &name)?;
    blocking(app, move |s| {
        // Hold the vault while copying, so a lock cannot slip in between the reveal and the copy
        // and leave the value on the clipboard after it cleared it.
        let mut guard = lock(&s.vault);
        let vault = guard.as_mut().ok_or(AppError::NoVault)?;
        let secret = vault.secrets_mut().copy(&r, version)?;
        let text = std::str::from_utf8(secret.expose_secret()).map_err(|_| {
            AppError::Invalid("this value is binary and cannot be copied as text; reveal it instead".into())
        })?;
        let clear_after = std::time::Duration::from_secs(u64::from(lock(&s.settings).clipboard_clear_secs));
        s.clipboard.copy(Zeroizing::new(text.to_string()), clear_after)
    })
    .await
}

/// Removes a credential and all its versions.
#[tauri::command]
pub async fn credential_remove(app: AppHandle, service: String, name: String) -> AppResult<()> {
    let r = reference(&service, &name)?;
    blocking(app, move |s| s.with_vault(|v| v.secrets_mut().remove(&r))).await
}

/// Renames a credential within its service; every version and its history follow.
#[tauri::command]
pub async fn credential_rename(
    app: AppHandle,
    service: String,
    name: String,
    new_name: String,
) -> AppResult<SecretSummary> {
    let r = reference(&service, &name)?;
    blocking(app, move |s| s.with_vault(|v| v.secrets_mut().rename(&r, &new_name))).await
}

/// Replaces a credential's target and rotation policy (no new value; `null` clears a field).
#[tauri::command]
pub async fn credential_policy(
    app: AppHandle,
    service: String,
    name: String,
    target: Option<String>,
    rotate_days: Option<u32>,
) -> AppResult<SecretSummary> {
    let r = reference(&service, &name)?;
    let policy = SecretPolicy { target: target.filter(|t| !t.trim().is_empty()), rotate_days };
    blocking(app, move |s| s.with_vault(|v| v.secrets_mut().set_policy(&r, policy))).await
}
