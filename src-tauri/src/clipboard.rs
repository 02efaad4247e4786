//! Copying a secret to the system clipboard from Rust, and taking it back after a timeout.
//!
//! The value never travels to the web view: Rust reveals it and hands it to the clipboard
//! directly. After the configured time (30 s by default) the clipboard is cleared, but only if it still holds what we
//! put there (the user may have copied something else since). Locking clears it at once.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use arboard::SetExtLinux;
use serde::Serialize;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{AppError, AppResult};

/// What the UI needs for its countdown.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct CopyReceipt {
    /// Seconds until the clipboard is cleared.
    pub clears_in_secs: u32,
}

struct Owned {
    value: Zeroizing<String>,
    generation: u64,
}

#[derive(Default)]
struct Inner {
    // Kept for the life of the app: on X11 the clipboard's content is served by the owner, so
    // dropping the handle would take the copied value with it.
    clipboard: Option<arboard::Clipboard>,
    owned: Option<Owned>,
    generation: u64,
}

/// The app's handle on the system clipboard.
#[derive(Clone, Default)]
pub struct SecretClipboard {
    inner: Arc<Mutex<Inner>>,
}

impl SecretClipboard {
    fn inner(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Puts `value` on the clipboard, marked as a password where the platform has such a hint,
    /// and schedules its removal after `clear_after`.
    pub fn copy(&self, value: Zeroizing<String>, clear_after: Duration) -> AppResult<CopyReceipt> {
        let generation = {
            let mut inner = self.inner();
            if inner.clipboard.is_none() {
                inner.clipboard = Some(arboard::Clipboard::new().map_err(|e| AppError::Clipboard(e.to_string()))?);
            }
            let clipboard = inner.clipboard.as_mut().ok_or_else(|| AppError::Clipboard("no clipboard".into()))?;
            clipboard
                .set()
                .exclude_from_history()
                .text(value.as_str())
                .map_err(|e| AppError::Clipboard(e.to_string()))?;
            inner.generation += 1;
            let generation = inner.generation;
            inner.owned = Some(Owned { value, generation });
            generation
        };
        let this = self.clone();
        std::thread::spawn(move || {
            std::thread::sleep(clear_after);
            this.clear_if_ours(Some(generation));
        });
        Ok(CopyReceipt { clears_in_secs: clear_after.as_secs() as u32 })
    }

    /// Clears the clipboard if it still holds the value we put there (of `generation`, or of any
    /// copy when `None`), and forgets the value either way.
    pub fn clear_if_ours(&self, generation: Option<u64>) {
        let mut inner = self.inner();
        let Some(owned) = inner.owned.take() else { return };
        if generation.is_some_and(|g| g != owned.generation) {
            inner.owned = Some(owned); // a newer copy has its own timer
            return;
        }
        if let Some(clipboard) = inner.clipboard.as_mut() {
            let current = Zeroizing::new(clipboard.get_text().unwrap_or_default());
            if bool::from(current.as_bytes().ct_eq(owned.value.as_bytes())) {
                let _ = clipboard.clear();
            }
        }
    }
}
