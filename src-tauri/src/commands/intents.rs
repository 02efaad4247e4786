//! Intents: declaring and withdrawing that one service calls another, as `keyloom intent` does.

use tauri::AppHandle;
use vault_data::IntentView;

use crate::error::AppResult;
use crate::state::blocking;

/// Declares that `from` calls `to` (idempotent: an existing intent is returned as it is).
#[tauri::command]
pub async fn intent_add(app: AppHandle, from: String, to: String, note: Option<String>) -> AppResult<IntentView> {
    let note = note.filter(|n| !n.trim().is_empty());
    blocking(app, move |s| s.with_vault(|v| v.ensure_intent(&from, &to, note).map(|(i, _)| i))).await
}

/// Withdraws the intent that `from` calls `to`.
#[tauri::command]
pub async fn intent_remove(app: AppHandle, from: String, to: String) -> AppResult<()> {
    blocking(app, move |s| s.with_vault(|v| v.remove_intent(&from, &to))).await
}
