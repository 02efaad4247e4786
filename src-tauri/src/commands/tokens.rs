//! Tokens: what the findings' fixes do to token issuers and token trust.

use tauri::AppHandle;
use vault_data::model::token::GrantSide;
use vault_data::{GrantView, TokenKeyView};

use crate::error::AppResult;
use crate::state::blocking;

/// Rotates an issuing service's token keys (the finding's fix).
#[tauri::command]
pub async fn token_rotate(app: AppHandle, service: String) -> AppResult<Vec<TokenKeyView>> {
    blocking(app, move |s| s.with_vault(|v| v.tokens_mut().rotate(&service))).await
}

/// Stops a service accepting an issuer's tokens for an audience (the finding's fix).
#[tauri::command]
pub async fn token_untrust(app: AppHandle, service: String, issuer: String, audience: String) -> AppResult<GrantView> {
    blocking(app, move |s| s.with_vault(|v| v.tokens_mut().ungrant(&service, GrantSide::Accepts, &issuer, &audience)))
        .await
}
