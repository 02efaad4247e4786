//! The desktop app's own settings (not vault data): which vault to open and when to auto-lock.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{AppError, AppResult};

/// Idle minutes before the vault locks itself, when the user has not chosen.
pub const DEFAULT_AUTO_LOCK_MINUTES: u32 = 5;
/// Seconds a copied secret stays on the clipboard, when the user has not chosen.
pub const DEFAULT_CLIPBOARD_CLEAR_SECS: u32 = 30;
/// Days ahead that expiring certificates are flagged, when the user has not chosen.
pub const DEFAULT_EXPIRY_WARNING_DAYS: u32 = vault_data::pki::expiry::DEFAULT_WINDOW_DAYS;

/// Settings kept in `desktop.json` in Keyloom's config directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Settings {
    /// The vault opened last, offered at the next start.
    #[ts(type = "string | null")]
    pub last_vault: Option<PathBuf>,
    /// Idle minutes before auto-lock; 0 turns auto-lock off.
    pub auto_lock_minutes: u32,
    /// Seconds before a copied secret is taken off the clipboard.
    pub clipboard_clear_secs: u32,
    /// Days ahead that certificates count as expiring soon.
    pub expiry_warning_days: u32,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            last_vault: None,
            auto_lock_minutes: DEFAULT_AUTO_LOCK_MINUTES,
            clipboard_clear_secs: DEFAULT_CLIPBOARD_CLEAR_SECS,
            expiry_warning_days: DEFAULT_EXPIRY_WARNING_DAYS,
        }
    }
}

impl Settings {
    /// Refuses values outside what makes sense (auto-lock up to a day, clipboard 5 s to 10 min,
    /// expiry warnings 1 day to a year).
    pub fn validate(&self) -> AppResult<()> {
        if self.auto_lock_minutes > 24 * 60 {
            return Err(AppError::Invalid("auto-lock can wait at most 1440 minutes (a day)".into()));
        }
        if !(5..=600).contains(&self.clipboard_clear_secs) {
            return Err(AppError::Invalid("the clipboard is cleared after 5 to 600 seconds".into()));
        }
        if !(1..=365).contains(&self.expiry_warning_days) {
            return Err(AppError::Invalid("expiry warnings look 1 to 365 days ahead".into()));
        }
        Ok(())
    }

    /// Reads the settings file; a missing or unreadable file gives the defaults (settings are a
    /// convenience, never a reason not to start).
    pub fn load(path: &Path) -> Settings {
        std::fs::read(path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
    }

    /// Writes the settings durably, 0600.
    pub fn save(&self, path: &Path) -> AppResult<()> {
        let json = serde_json::to_vec_pretty(self).map_err(|e| AppError::Invalid(e.to_string()))?;
        vault_data::paths::write_private_file(path, &json).map_err(AppError::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("desktop.json");
        assert_eq!(Settings::load(&path), Settings::default());
        let s = Settings { last_vault: Some("/v".into()), auto_lock_minutes: 9, ..Settings::default() };
        assert!(s.validate().is_ok());
        assert!(Settings { clipboard_clear_secs: 1, ..Settings::default() }.validate().is_err());
        s.save(&path).unwrap();
        assert_eq!(Settings::load(&path), s);
        std::fs::write(&path, b"{not json").unwrap();
        assert_eq!(Settings::load(&path), Settings::default());
    }
}
