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
pub mod dialogs;
pub mod error;
pub mod gate;
pub mod idle;
pub mod ipc;
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
    let handler = ipc::handler();
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
                invoke.resolver.reject(IpcError::from(&error::AppError::Locked));
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
