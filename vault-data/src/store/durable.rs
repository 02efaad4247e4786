//! Making writes durable and files private: fsync of files and directories, 0700/0600 modes.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Creates a directory (and parents) readable by the owner only.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(Error::io("cannot create directory", dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(Error::io("cannot set mode of", dir))
}

/// fsync of a directory, so renames and new files in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(Error::io("cannot sync directory", dir))
}

/// fsync of every file under `dir`, then of each directory, bottom up.
pub(crate) fn sync_tree(dir: &Path) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(Error::io("cannot read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io("cannot read directory", dir))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(Error::io("cannot stat", &path))?;
        if ft.is_dir() {
            sync_tree(&path)?;
        } else if ft.is_file() {
            match File::open(&path) {
                Ok(f) => f.sync_all().map_err(Error::io("cannot sync", &path))?,
                // sled removes old snapshot files concurrently; a vanished file needs no sync.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        action: "cannot open",
                        path,
                        source: e,
                    })
                }
            }
        }
    }
    sync_dir(dir)
}

/// Forces directories to 0700 and files to 0600 under the vault directory (sled creates 0644).
pub(crate) fn restrict_modes(dir: &Path) -> Result<()> {
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(Error::io("cannot set mode of", dir))?;
    let entries = fs::read_dir(dir).map_err(Error::io("cannot read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io("cannot read directory", dir))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(Error::io("cannot stat", &path))?;
        if ft.is_dir() {
            restrict_modes(&path)?;
        } else if ft.is_file() {
            match fs::set_permissions(&path, fs::Permissions::from_mode(0o600)) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(Error::Io {
                        action: "cannot set mode of",
                        path,
                        source: e,
                    })
                }
            }
        }
    }
    Ok(())
}

/// Creates a new file with mode 0600 from the start (never wider, then narrowed).
pub(crate) fn create_private_file(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(Error::io("cannot create", path))
}

/// Writes `bytes` to `path` atomically: a 0600 temp file beside it, fsync, rename, fsync dir.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    let _ = fs::remove_file(&tmp);
    let mut f = create_private_file(&tmp)?;
    let res = f
        .write_all(bytes)
        .and_then(|_| f.sync_all())
        .map_err(Error::io("cannot write", &tmp))
        .and_then(|_| fs::rename(&tmp, path).map_err(Error::io("cannot replace", path)));
    if res.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    res?;
    sync_dir(dir)
}
