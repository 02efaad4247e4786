//! Exporting bundles: preview, export with progress, the signing key, and verifying a bundle.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use tauri::ipc::Channel;
use tauri::AppHandle;
use vault_data::export::{verify_bundle, BundleCheck};
use vault_data::{BundlePreview, Destination, ExportRequest, SecretString};

use crate::commands::certificates::Progress;
use crate::error::{AppError, AppResult};
use crate::state::blocking;

/// What to export and how.
#[derive(Deserialize, ts_rs::TS)]
pub struct ExportArgs {
    /// Services by name (ignored when `environment` is set).
    pub services: Vec<String>,
    /// Every service of this environment.
    pub environment: Option<String>,
    /// dir, tar.gz, age, k8s, compose, env or p12.
    pub format: String,
    /// age recipients (`age1…`, `ssh-ed25519 …`).
    pub recipients: Vec<String>,
    /// Kubernetes namespace.
    pub namespace: Option<String>,
    /// The PKCS#12 file's password (p12 only).
    pub p12_password: Option<String>,
    /// Secrets only: leave the certificate and key in the vault.
    pub secrets_only: bool,
}

impl ExportArgs {
    fn request(self) -> ExportRequest {
        ExportRequest {
            services: self.services,
            environment: self.environment,
            format: self.format,
            recipients: self.recipients,
            namespace: self.namespace.filter(|n| !n.trim().is_empty()),
            p12_password: self.p12_password.filter(|p| !p.is_empty()).map(SecretString::from),
            secrets_only: self.secrets_only,
            ..Default::default()
        }
    }
}

/// What each bundle would hold (files with modes, secret names); nothing is written or recorded.
#[tauri::command]
pub async fn export_preview(app: AppHandle, args: ExportArgs) -> AppResult<Vec<BundlePreview>> {
    blocking(app, move |s| {
        s.with_vault(|v| {
            let plan = v.exports().plan(args.request())?;
            v.exports().preview_plan(&plan)
        })
    })
    .await
}

/// The result of an export.
#[derive(Serialize, ts_rs::TS)]
pub struct ExportSummary {
    /// Paths written, one per service.
    pub written: Vec<String>,
    /// Whether the format carries the signed manifest (dir, tar.gz, age).
    pub signed: bool,
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
        let report = |done: usize, total: usize| {
            let _ = on_progress.send(Progress { done, total });
        };
        // The window always names a folder: one output per service inside it.
        let (written, signed, signing_key) = s.with_vault(|v| {
            let plan = v.exports().plan(args.request())?;
            let signed = plan.signed();
            let written =
                v.exports_mut().run(plan, Destination::Into(out), false, &|_, done, total| report(done, total))?;
            Ok((written, signed, v.exports().signing_public_key()?))
        })?;
        Ok(ExportSummary {
            written: written.iter().map(|w| w.path.display().to_string()).collect(),
            signed,
            signing_key,
        })
    })
    .await
}

/// Checks a bundle (directory, tar.gz or manifest-bearing folder) against this vault's signing key.
#[tauri::command]
pub async fn bundle_verify(app: AppHandle, path: String) -> AppResult<BundleCheck> {
    blocking(app, move |s| {
        let key_text = s.with_vault(|v| v.exports().signing_public_key())?;
        let key = vault_data::export::manifest::parse_public_key(&key_text)?;
        Ok(verify_bundle(std::path::Path::new(&path), &key)?)
    })
    .await
}
