//! Certificate authorities: list, create (root or intermediate), import trust-only.

use serde::Deserialize;
use tauri::AppHandle;
use vault_data::pki::{CaSpec, KeyType, NameConstraintsSpec};
use vault_data::CaView;

use crate::error::AppResult;
use crate::state::blocking;

/// Every CA.
#[tauri::command]
pub async fn cas_list(app: AppHandle) -> AppResult<Vec<CaView>> {
    blocking(app, |s| s.with_vault(|v| v.cas().list())).await
}

/// The "new authority" form.
#[derive(Deserialize, ts_rs::TS)]
pub struct CaCreateArgs {
    /// Name, also the subject CN.
    pub name: String,
    /// Parent CA for an intermediate; absent for a root.
    pub parent: Option<String>,
    /// Key algorithm.
    pub key_type: KeyType,
    /// Validity in days.
    pub validity_days: u32,
    /// Maximum intermediates below it.
    pub path_len: Option<u8>,
    /// Permitted DNS suffixes and URI prefixes.
    pub constraints: NameConstraintsSpec,
}

/// Creates a root or intermediate CA.
#[tauri::command]
pub async fn ca_create(app: AppHandle, args: CaCreateArgs) -> AppResult<CaView> {
    let spec = CaSpec {
        name: args.name,
        key_type: args.key_type,
        validity_days: args.validity_days,
        path_len: args.path_len,
        constraints: args.constraints,
    };
    let parent = args.parent.filter(|p| !p.is_empty());
    blocking(app, move |s| s.with_vault(|v| v.cas_mut().create(spec, parent.as_deref()))).await
}

/// A file the user picked or dropped: its name (for messages) and bytes.
#[derive(Deserialize, ts_rs::TS)]
pub struct FileArg {
    /// File name as the user saw it.
    pub name: String,
    /// Contents.
    pub bytes: Vec<u8>,
}

/// Imports every CA certificate in a PEM bundle or DER file as trust-only.
#[tauri::command]
pub async fn ca_import(app: AppHandle, file: FileArg) -> AppResult<Vec<CaView>> {
    blocking(app, move |s| s.with_vault(|v| v.cas_mut().import(&file.bytes, &file.name))).await
}
