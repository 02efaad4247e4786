//! Keyloom's desktop app: a Tauri 2 shell over `vault_data`.
//!
//! The commands in [`commands`] are thin wrappers; [`gate`] refuses everything but status,
//! unlock and create while the vault is locked; [`idle`] locks after the configured idle time;
//! [`clipboard`] copies secrets from Rust and takes them back.

#![forbid(unsafe_code)]

pub mod bindings;
pub mod cli_server;
pub mod clipboard;
pub mod commands;
pub mod error;
pub mod gate;
pub mod idle;
pub mod settings;
pub mod state;
pub mod throttle;

use tauri::Manager;

use crate::error::IpcError;
use crate::state::AppState;

/// Builds and runs the app until its window closes.
pub fn run() {
    if let Err(e) = vault_data::process::harden() {
        eprintln!("keyloom-desktop: warning: {e}");
    }
    let settings_path = match vault_data::paths::config_dir() {
        Ok(dir) => dir.join("desktop.json"),
        Err(e) => {
            eprintln!("keyloom-desktop: {e}");
            std::process::exit(1);
        }
    };
    let handler = command_handler();
    let result = tauri::Builder::default()
        // First, so a second start hands over to the running one before doing anything else.
        .plugin(tauri_plugin_single_instance::init(|app, _argv, _cwd| {
            if let Some(window) = app.get_webview_window("main") {
                let _ = window.unminimize();
                let _ = window.show();
                let _ = window.set_focus();
            }
        }))
        .plugin(tauri_plugin_dialog::init())
        .manage(AppState::new(settings_path))
        .setup(|app| {
            commands::vault::open_last(&app.state::<AppState>());
            idle::spawn_watcher(app.handle().clone());
            cli_server::spawn(app.handle().clone());
            Ok(())
        })
        .invoke_handler(move |invoke| {
            let command = invoke.message.command().to_string();
            let state = invoke.message.webview_ref().state::<AppState>();
            if !gate::allowed(&command, state.is_unlocked()) {
                invoke
                    .resolver
                    .reject(IpcError { code: "locked".into(), message: "the vault is locked: unlock it first".into() });
                return true;
            }
            if gate::is_activity(&command) {
                state.touch();
            }
            handler(invoke)
        })
        .on_window_event(|window, event| {
            if let tauri::WindowEvent::Destroyed = event {
                let _ = window.state::<AppState>().close_vault();
            }
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        eprintln!("keyloom-desktop: {e}");
        std::process::exit(1);
    }
}

/// Every app command (each also needs its entry in build.rs to get a permission).
fn command_handler() -> impl Fn(tauri::ipc::Invoke<tauri::Wry>) -> bool + Send + Sync + 'static {
    tauri::generate_handler![
        commands::vault::app_status,
        commands::vault::passphrase_strength,
        commands::vault::vault_create,
        commands::vault::vault_create_demo,
        commands::vault::vault_open,
        commands::vault::vault_unlock,
        commands::vault::vault_lock,
        commands::vault::recovery_key_save,
        commands::vault::recovery_key_done,
        commands::vault::key_file_pick,
        commands::vault::device_remember,
        commands::vault::settings_update,
        commands::vault::activity,
        commands::services::services_list,
        commands::services::service_detail,
        commands::services::service_create,
        commands::services::service_update,
        commands::services::service_delete,
        commands::credentials::credentials_list,
        commands::credentials::credential_history,
        commands::credentials::credential_set,
        commands::credentials::credential_generate,
        commands::credentials::credential_reveal,
        commands::credentials::credential_copy,
        commands::credentials::credential_remove,
        commands::authorities::cas_list,
        commands::authorities::ca_create,
        commands::authorities::ca_import,
        commands::certificates::certs_list,
        commands::certificates::cert_detail,
        commands::certificates::cert_issue,
        commands::certificates::cert_renew,
        commands::certificates::cert_revoke,
        commands::certificates::cert_import,
        commands::certificates::certs_renew_expiring,
        commands::graph::graph_view,
        commands::graph::findings_list,
        commands::graph::graph_explain,
        commands::graph::graph_blast_radius,
        commands::graph::graph_image_save,
        commands::trust::trust_set,
        commands::backup::vault_backup,
        commands::backup::vault_restore,
        commands::export::export_preview,
        commands::export::export_run,
        commands::export::bundle_verify,
        commands::audit::audit_list,
        commands::audit::audit_verify,
        commands::audit::audit_export,
        commands::keys::passphrase_change,
        commands::keys::vault_rekey,
    ]
}
