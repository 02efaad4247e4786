//! Where a vault lives when the user does not say.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The platform data directory's `keyloom/vault`, e.g. `~/.local/share/keyloom/vault` on Linux.
pub fn default_vault_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "keyloom")
        .map(|d| d.data_dir().join("vault"))
        .ok_or_else(|| Error::Invalid("no home directory found: name the vault folder explicitly".into()))
}

/// Where the desktop app keeps its "explore a demo" vault: `keyloom/demo` beside the default vault.
pub fn default_demo_dir() -> Result<PathBuf> {
    default_vault_dir().map(|v| v.with_file_name("demo"))
}

/// Where front ends keep their own settings, e.g. `~/.config/keyloom` on Linux.
pub fn config_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "keyloom")
        .map(|d| d.config_dir().to_path_buf())
        .ok_or_else(|| Error::Invalid("no home directory found for Keyloom's settings".into()))
}

/// Writes `bytes` to `path` as a private (0600) file, atomically and durably: a reader sees the
/// old file or the new one, and the new one survives a crash once this returns. Creates the
/// parent directory (0700) if needed.
pub fn write_private_file(path: &std::path::Path, bytes: &[u8]) -> Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        if !parent.exists() {
            crate::fs::create_private_dir(parent)?;
        }
    }
    crate::fs::write_atomic(path, bytes)
}
