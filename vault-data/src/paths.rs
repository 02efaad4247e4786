//! Where a vault lives when the user does not say.

use std::path::PathBuf;

use crate::error::{Error, Result};

/// The platform data directory's `keyloom/vault`, e.g. `~/.local/share/keyloom/vault` on Linux.
pub fn default_vault_dir() -> Result<PathBuf> {
    directories::ProjectDirs::from("", "", "keyloom")
        .map(|d| d.data_dir().join("vault"))
        .ok_or_else(|| Error::Invalid("no home directory found: pass --vault PATH or set KEYLOOM_VAULT".into()))
}
