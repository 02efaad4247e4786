//! Trust stores: adding or removing a CA, as a finding's fix does.

use tauri::AppHandle;
use vault_data::{Direction, TrustView};

use crate::error::AppResult;
use crate::state::blocking;

/// Adds (`add`) or removes CA `ca` from `service`'s inbound (clients) or outbound (servers) trust.
#[tauri::command]
pub async fn trust_set(app: AppHandle, service: String, ca: String, inbound: bool, add: bool) -> AppResult<TrustView> {
    let direction = if inbound { Direction::Inbound } else { Direction::Outbound };
    blocking(app, move |s| s.with_vault(|v| v.set_trust(&service, &ca, direction, add))).await
}
