//! The failed-unlock counter: how many unlocks failed since the last one that worked, in a small
//! file beside the database (`vault.failures`), so it survives restarts of the app and spans every
//! front end. It is read without the vault lock and written atomically.
//!
//! It slows guessing through Keyloom (every front end waits [`delay`] before trying again) and
//! tells the user at the next unlock. It does not stop an offline attack on a copy of the folder:
//! whoever runs scrypt on the passphrase slot themselves never touches this file, and anyone who
//! can write the folder can reset it. The slot's scrypt cost is the real bound there.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::fs as durable;

/// Name of the counter file inside the vault directory.
pub(crate) const FAILURES_FILE: &str = "vault.failures";

/// Failed unlocks since the last successful one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct FailedUnlocks {
    /// How many.
    pub count: u64,
    /// When the last one happened.
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub last: Option<OffsetDateTime>,
}

fn path(dir: &Path) -> PathBuf {
    dir.join(FAILURES_FILE)
}

/// The counter of the vault at `dir` (zero when there is none or it cannot be read).
pub fn read(dir: &Path) -> FailedUnlocks {
    let p = path(dir);
    match std::fs::symlink_metadata(&p) {
        Ok(m) if m.is_file() && m.len() < 4096 => {}
        _ => return FailedUnlocks::default(),
    }
    std::fs::read(&p).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_default()
}

/// Counts one more failed unlock (best effort: a read-only disk must not change the error).
pub(crate) fn record(dir: &Path) {
    let now = read(dir);
    let next = FailedUnlocks { count: now.count.saturating_add(1), last: Some(OffsetDateTime::now_utc()) };
    if let Ok(bytes) = serde_json::to_vec(&next) {
        if let Err(e) = durable::write_atomic(&path(dir), &bytes) {
            tracing::warn!(error = %e, "could not count a failed unlock");
        }
    }
}

/// Clears the counter after a successful unlock.
pub(crate) fn reset(dir: &Path) {
    let p = path(dir);
    if p.exists() {
        if let Err(e) = std::fs::remove_file(&p) {
            tracing::warn!(error = %e, "could not clear the failed-unlock counter");
        }
    }
}

/// How long a front end must wait before trying an unlock of the vault at `dir`: nothing for
/// the first failure, then 1, 2, 4 … 60 s after the last one.
pub fn delay(dir: &Path) -> Duration {
    let f = read(dir);
    let Some(last) = f.last else { return Duration::ZERO };
    if f.count < 2 {
        return Duration::ZERO;
    }
    let wait = Duration::from_secs(1u64 << (f.count - 2).min(6)).min(Duration::from_secs(60));
    let since = (OffsetDateTime::now_utc() - last).try_into().unwrap_or(Duration::ZERO);
    wait.saturating_sub(since)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_grow_the_delay_and_reset_clears_it() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(read(d.path()).count, 0);
        record(d.path());
        assert_eq!(delay(d.path()), Duration::ZERO, "one typo costs nothing");
        record(d.path());
        record(d.path());
        assert_eq!(read(d.path()).count, 3);
        assert!(delay(d.path()) > Duration::ZERO && delay(d.path()) <= Duration::from_secs(2));
        reset(d.path());
        assert_eq!(read(d.path()), FailedUnlocks::default());
        std::fs::write(path(d.path()), b"garbage").unwrap();
        assert_eq!(read(d.path()).count, 0, "a damaged counter reads as zero, never an error");
    }
}
