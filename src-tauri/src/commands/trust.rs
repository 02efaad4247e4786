//! Trust stores: adding or removing a CA, as a finding's fix does.

use tauri::AppHandle;
use vault_data::graph::TrustImpact;
use vault_data::{Direction, TrustView};

use crate::error::AppResult;
use crate::state::blocking;

/// Adds (`add`) or removes CA `ca` from `service`'s inbound (clients) or outbound (servers) trust.
#[tauri::command]
pub async fn trust_set(app: AppHandle, service: String, ca: String, inbound: bool, add: bool) -> AppResult<TrustView> {
    let direction = if inbound { Direction::Inbound } else { Direction::Outbound };
    blocking(app, move |s| s.with_vault(|v| v.trust_mut().set(&service, &ca, direction, add))).await
}

/// What adding or removing CA `ca` from `service`'s trust would change (nothing is written): the
/// confirmation names the services that gain or lose access.
#[tauri::command]
pub async fn trust_impact(
    app: AppHandle,
    service: String,
    ca: String,
    inbound: bool,
    add: bool,
) -> AppResult<TrustImpact> {
    let direction = if inbound { Direction::Inbound } else { Direction::Outbound };
    blocking(app, move |s| s.with_vault(|v| v.graph().trust_impact(&service, &ca, direction, add))).await
}
