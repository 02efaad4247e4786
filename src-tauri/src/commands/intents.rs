//! Intents: declaring and withdrawing that one service calls another, as `keyloom intent` does.

use serde::Serialize;
use tauri::AppHandle;
use vault_data::IntentView;

use crate::error::AppResult;
use crate::state::blocking;

/// An intent and whether this call declared it (false: it was already there, so there is nothing
/// to undo).
#[derive(Serialize, ts_rs::TS)]
pub struct IntentAdded {
    /// The intent.
    pub intent: IntentView,
    /// Whether it is new.
    pub created: bool,
}

/// Declares that `from` calls `to` (idempotent: an existing intent is returned as it is).
#[tauri::command]
pub async fn intent_add(app: AppHandle, from: String, to: String, note: Option<String>) -> AppResult<IntentAdded> {
    let note = note.filter(|n| !n.trim().is_empty());
    blocking(app, move |s| {
        s.with_vault(|v| {
            v.intents_mut().ensure(&from, &to, note).map(|(intent, created)| IntentAdded { intent, created })
        })
    })
    .await
}

/// Withdraws the intent that `from` calls `to`.
#[tauri::command]
pub async fn intent_remove(app: AppHandle, from: String, to: String) -> AppResult<()> {
    blocking(app, move |s| s.with_vault(|v| v.intents_mut().remove(&from, &to))).await
}
