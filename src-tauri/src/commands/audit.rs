//! The audit log: entries, chain verification, export as JSON lines.

use tauri::AppHandle;
use vault_data::audit::{AuditEntry, AuditReport};

use crate::error::{AppError, AppResult};
use crate::state::blocking;

/// Every entry, newest first.
#[tauri::command]
pub async fn audit_list(app: AppHandle) -> AppResult<Vec<AuditEntry>> {
    blocking(app, |s| {
        s.with_vault(|v| {
            let mut entries = v.audit_entries()?;
            entries.reverse();
            Ok(entries)
        })
    })
    .await
}

/// Checks every entry's seal and the hash chain up to the head.
#[tauri::command]
pub async fn audit_verify(app: AppHandle) -> AppResult<AuditReport> {
    blocking(app, |s| s.with_vault(|v| v.verify_audit())).await
}

/// Asks where to save (a dialog opened from Rust) and writes the log there as JSON lines,
/// oldest first. Returns the path, or None when the user cancelled.
#[tauri::command]
pub async fn audit_export(app: AppHandle) -> AppResult<Option<String>> {
    let picked = crate::dialogs::file_dialog(&app, "Export the audit log")
        .set_file_name("keyloom-audit.jsonl")
        .blocking_save_file();
    let Some(path) = picked else { return Ok(None) };
    let path = path.into_path().map_err(|e| AppError::Invalid(format!("cannot save there: {e}")))?;
    blocking(app, move |s| {
        let entries = s.with_vault(|v| v.audit_entries())?;
        let mut out = Vec::new();
        for e in &entries {
            serde_json::to_writer(&mut out, e).map_err(|e| AppError::Internal(e.to_string()))?;
            out.push(b'\n');
        }
        vault_data::paths::write_private_file(&path, &out)?;
        Ok(Some(path.display().to_string()))
    })
    .await
}
