//! Remotes: the team's secrets server (OpenBao, HashiCorp Vault) as `keyloom remote`, `push`,
//! `pull`, `sync` and `conflicts` do. The token crosses IPC only inbound, once, when a remote is
//! added; it is sealed in the vault and never sent back.

use serde::Deserialize;
use tauri::ipc::Channel;
use tauri::AppHandle;
use vault_data::{
    ConflictView, MemberRemoval, MemberView, RemoteLogin, RemoteSpec, RemoteStatus, RemoteView, SealIdentity,
    SealedSpec, SecretRef, SecretString, SyncMode, SyncReport, Take,
};

use crate::commands::certificates::Progress;
use crate::error::{AppError, AppResult};
use crate::state::blocking;

/// The Add remote form.
#[derive(Deserialize, ts_rs::TS)]
pub struct RemoteAddArgs {
    /// A name for it here.
    pub name: String,
    /// `https://host:port`.
    pub addr: String,
    /// The KV v2 mount.
    pub kv_mount: String,
    /// The prefix under the mount.
    pub prefix: String,
    /// A namespace, if any.
    pub namespace: Option<String>,
    /// PEM text of the server's CA, if the system does not trust it.
    pub ca_pem: Option<String>,
    /// Allow plain http (a local dev server).
    pub insecure_http: bool,
    /// The token (or empty, with AppRole).
    pub token: Option<String>,
    /// AppRole role id.
    pub role_id: Option<String>,
    /// AppRole secret id.
    pub secret_id: Option<String>,
    /// Seal values before they leave (age to the members, signed by this vault).
    pub sealed: bool,
    /// Further age recipients, one per line (sealed only).
    pub recipients: String,
}

fn filled(s: Option<String>) -> Option<String> {
    s.filter(|v| !v.trim().is_empty())
}

/// Every remote.
#[tauri::command]
pub async fn remotes_list(app: AppHandle) -> AppResult<Vec<RemoteView>> {
    blocking(app, move |s| s.with_vault(|v| v.remotes().list())).await
}

/// Adds a remote; its token or secret id is sealed in the vault.
#[tauri::command]
pub async fn remote_add(app: AppHandle, args: RemoteAddArgs) -> AppResult<RemoteView> {
    let login = match (filled(args.role_id), filled(args.secret_id), filled(args.token)) {
        (Some(role_id), Some(secret), _) => RemoteLogin::AppRole {
            mount: "approle".into(),
            role_id: role_id.trim().to_string(),
            secret_id: SecretString::from(secret.trim().to_string()),
        },
        (None, None, Some(token)) => RemoteLogin::Token(SecretString::from(token.trim().to_string())),
        _ => return Err(AppError::Invalid("give the token, or both the AppRole role id and secret id".into())),
    };
    let recipients: Vec<String> =
        args.recipients.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    let sealed = SealedSpec::from_options(args.sealed, recipients, false)?;
    let spec = RemoteSpec {
        name: args.name.trim().to_string(),
        addr: args.addr,
        kv_mount: args.kv_mount,
        prefix: args.prefix,
        namespace: filled(args.namespace),
        ca_pem: filled(args.ca_pem).map(String::into_bytes),
        insecure_http: args.insecure_http,
        login,
        sealed,
    };
    blocking(app, move |s| s.with_vault(|v| v.remotes_mut().add(spec))).await
}

/// Asks the server how it is.
#[tauri::command]
pub async fn remote_status(app: AppHandle, name: String) -> AppResult<RemoteStatus> {
    blocking(app, move |s| s.with_vault(|v| v.remotes().status(&name))).await
}

/// Removes a remote here; the server is not touched.
#[tauri::command]
pub async fn remote_remove(app: AppHandle, name: String) -> AppResult<()> {
    blocking(app, move |s| s.with_vault(|v| v.remotes_mut().remove(&name))).await
}

/// Pushes, pulls or syncs, streaming progress (services done of total).
#[tauri::command]
pub async fn remote_sync(
    app: AppHandle,
    name: String,
    mode: SyncMode,
    environment: Option<String>,
    dry_run: bool,
    on_progress: Channel<Progress>,
) -> AppResult<SyncReport> {
    let environment = filled(environment);
    blocking(app, move |s| {
        let report = |done: usize, total: usize| {
            let _ = on_progress.send(Progress { done, total });
        };
        s.with_vault(|v| v.remotes_mut().sync(&name, mode, environment.as_deref(), dry_run, &report))
    })
    .await
}

/// Every open conflict.
#[tauri::command]
pub async fn conflicts_list(app: AppHandle) -> AppResult<Vec<ConflictView>> {
    blocking(app, move |s| s.with_vault(|v| v.remotes().conflicts())).await
}

/// Keeps one side of a conflict.
#[tauri::command]
pub async fn conflict_resolve(app: AppHandle, secret: String, remote: String, take: Take) -> AppResult<ConflictView> {
    blocking(app, move |s| {
        s.with_vault(|v| {
            let reference: SecretRef = secret.parse()?;
            v.remotes_mut().resolve(&reference, Some(&remote), take)
        })
    })
    .await
}

/// This vault's recipient and signing key for a sealed remote (public halves only).
#[tauri::command]
pub async fn remote_identity(app: AppHandle, name: String) -> AppResult<SealIdentity> {
    blocking(app, move |s| s.with_vault(|v| v.remotes().identity(&name))).await
}

/// The members of a sealed remote.
#[tauri::command]
pub async fn remote_members(app: AppHandle, name: String) -> AppResult<Vec<MemberView>> {
    blocking(app, move |s| s.with_vault(|v| v.remotes().members(&name))).await
}

/// Pins a teammate on a sealed remote.
#[tauri::command]
pub async fn remote_member_add(
    app: AppHandle,
    name: String,
    member: String,
    recipient: Option<String>,
    signing_key: Option<String>,
) -> AppResult<MemberView> {
    let (recipient, signing_key) = (filled(recipient), filled(signing_key));
    blocking(app, move |s| {
        s.with_vault(|v| v.remotes_mut().add_member(&name, member.trim(), recipient.as_deref(), signing_key.as_deref()))
    })
    .await
}

/// Removes a member: re-encrypts what was synced, flags what they could read.
#[tauri::command]
pub async fn remote_member_remove(app: AppHandle, name: String, member: String) -> AppResult<MemberRemoval> {
    blocking(app, move |s| s.with_vault(|v| v.remotes_mut().remove_member(&name, &member))).await
}
