//! Exporting bundles: preview, export with progress, the signing key, and verifying a bundle.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::AppHandle;
use vault_data::export::{verify_bundle, BundleCheck, Format};
use vault_data::{BundlePreview, Destination, ExportOptions, ExportTarget};

use crate::commands::certificates::Progress;
use crate::error::{AppError, AppResult};
use crate::state::{blocking, AppState};

/// What to export and how.
#[derive(Deserialize, ts_rs::TS)]
pub struct ExportArgs {
    /// Services by name (ignored when `environment` is set).
    pub services: Vec<String>,
    /// Every service of this environment.
    pub environment: Option<String>,
    /// dir, tar.gz, age, k8s, compose or env.
    pub format: String,
    /// age recipients (`age1…`, `ssh-ed25519 …`).
    pub recipients: Vec<String>,
    /// Kubernetes namespace.
    pub namespace: Option<String>,
    /// Secrets only: leave the certificate and key in the vault.
    pub secrets_only: bool,
}

struct Plan {
    services: Vec<String>,
    format: Format,
    options: ExportOptions,
}

fn plan(state: &AppState, args: ExportArgs) -> AppResult<Plan> {
    let format = Format::from_name(&args.format, args.recipients, args.namespace)?;
    let services = match args.environment.filter(|e| !e.is_empty()) {
        Some(env) => state.with_vault(|v| v.services_in(&env))?,
        None => args.services,
    };
    if services.is_empty() {
        return Err(AppError::Invalid("choose at least one service or an environment".into()));
    }
    let options = ExportOptions {
        secrets_only: args.secrets_only || format.secrets_only(),
        no_env: false,
        format: format.name().to_string(),
    };
    Ok(Plan { services, format, options })
}

/// What each bundle would hold (files with modes, secret names); nothing is written or recorded.
#[tauri::command]
pub async fn export_preview(app: AppHandle, args: ExportArgs) -> AppResult<Vec<BundlePreview>> {
    blocking(app, move |s| {
        let p = plan(s, args)?;
        s.with_vault(|v| v.preview_bundles(&p.services, &p.options))
    })
    .await
}

/// The result of an export.
#[derive(Serialize, ts_rs::TS)]
pub struct ExportSummary {
    /// Paths written, one per service.
    pub written: Vec<String>,
    /// The vault's bundle-signing public key, to verify them with.
    pub signing_key: String,
}

/// Exports into `destination` (created 0700 if missing; existing outputs are never replaced),
/// one audited commit for all services, streaming progress (building, then writing).
#[tauri::command]
pub async fn export_run(
    app: AppHandle,
    args: ExportArgs,
    destination: String,
    on_progress: Channel<Progress>,
) -> AppResult<ExportSummary> {
    let out = PathBuf::from(destination.trim());
    if out.as_os_str().is_empty() || !out.is_absolute() {
        return Err(AppError::Invalid("choose a destination folder (an absolute path)".into()));
    }
    blocking(app, move |s| {
        let p = plan(s, args)?;
        let report = |done: usize, total: usize| {
            let _ = on_progress.send(Progress { done, total });
        };
        let target = ExportTarget {
            format: p.format,
            destination: Destination::Into(out),
            force: false,
            mtime: time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64,
        };
        let (written, signing_key) = s.with_vault(|v| {
            let written = v.export_to(&p.services, &p.options, &target, &|_, done, total| report(done, total))?;
            Ok((written, v.signing_public_key()?))
        })?;
        Ok(ExportSummary { written: written.iter().map(|w| w.path.display().to_string()).collect(), signing_key })
    })
    .await
}

/// Checks a bundle (directory, tar.gz or manifest-bearing folder) against this vault's signing key.
#[tauri::command]
pub async fn bundle_verify(app: AppHandle, path: String) -> AppResult<BundleCheck> {
    blocking(app, move |s| {
        let key_text = s.with_vault(|v| v.signing_public_key())?;
        let key = vault_data::export::manifest::parse_public_key(&key_text)?;
        Ok(verify_bundle(std::path::Path::new(&path), &key)?)
    })
    .await
}
