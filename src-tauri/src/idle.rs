//! Auto-lock: a watcher that locks the vault after the configured idle time.

use std::sync::Arc;
use std::time::Duration;

use tauri::{AppHandle, Emitter, Manager};

use crate::state::{lock, AppState};

/// Event sent to the window when the vault locks without being asked to from the UI.
pub const LOCKED_EVENT: &str = "vault-locked";

/// Starts the watcher thread; it checks once a second.
pub fn spawn_watcher(app: AppHandle) {
    let app = Arc::new(app);
    std::thread::spawn(move || loop {
        std::thread::sleep(Duration::from_secs(1));
        let state = app.state::<AppState>();
        let minutes = lock(&state.settings).auto_lock_minutes;
        if minutes == 0 || !state.is_unlocked() {
            continue;
        }
        let idle = lock(&state.last_activity).elapsed();
        if idle >= Duration::from_secs(u64::from(minutes) * 60) {
            if let Err(e) = state.lock_vault() {
                tracing::warn!(code = e.code(), "auto-lock could not write the snapshot");
            }
            let _ = app.emit(LOCKED_EVENT, "idle");
        }
    });
}
