//! One process per vault: an exclusive `flock` on `vault.lock`, which records the holder's pid
//! so the second opener can say who has it.

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use rustix::fs::{flock, FlockOperation};

use crate::error::{Error, Result};

/// Name of the lock file inside the vault directory.
pub(crate) const LOCK_FILE: &str = "vault.lock";

/// Held for as long as the vault is open; the kernel releases the lock when the process ends.
pub(crate) struct LockFile {
    _file: Option<File>,
}

impl LockFile {
    /// No lock: a placeholder for a database whose lock its owner holds elsewhere.
    pub(crate) fn none() -> LockFile {
        LockFile { _file: None }
    }

    /// Takes the lock, waiting up to `wait` for another process to let go of it.
    pub(crate) fn acquire_wait(dir: &Path, wait: std::time::Duration) -> Result<LockFile> {
        let deadline = std::time::Instant::now() + wait;
        loop {
            match LockFile::acquire(dir) {
                Err(Error::InUse { .. }) if std::time::Instant::now() < deadline => {
                    std::thread::sleep(std::time::Duration::from_millis(25));
                }
                other => return other,
            }
        }
    }

    /// Takes the lock or fails at once with "in use by process N".
    pub(crate) fn acquire(dir: &Path) -> Result<LockFile> {
        let path = dir.join(LOCK_FILE);
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(Error::io("cannot open", &path))?;
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_err() {
            let mut holder = String::new();
            let _ = file.read_to_string(&mut holder);
            let pid = holder.trim();
            let pid = if pid.is_empty() || !pid.chars().all(|c| c.is_ascii_digit()) {
                "unknown".to_string()
            } else {
                pid.to_string()
            };
            return Err(Error::InUse { pid });
        }
        file.set_len(0)
            .and_then(|_| file.seek(SeekFrom::Start(0)))
            .and_then(|_| writeln!(file, "{}", std::process::id()))
            .and_then(|_| file.sync_all())
            .map_err(Error::io("cannot write", &path))?;
        Ok(LockFile { _file: Some(file) })
    }
}
