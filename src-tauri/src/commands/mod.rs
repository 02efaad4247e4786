//! Tauri commands: each parses its arguments, calls `vault_data`, and maps the error. No
//! business logic lives here.

pub mod audit;
pub mod authorities;
pub mod backup;
pub mod certificates;
pub mod credentials;
pub mod export;
pub mod graph;
pub mod intents;
pub mod keys;
pub mod remotes;
pub mod services;
pub mod tokens;
pub mod trust;
pub mod vault;
