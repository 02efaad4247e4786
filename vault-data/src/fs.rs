//! Making writes durable and files private: fsync of files and directories, 0700/0600 modes.
//! Below every layer that writes files (store, export, backups), so none of them needs another.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

use crate::error::{Error, Result};

/// Creates a directory (and parents) readable by the owner only.
pub(crate) fn create_private_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(Error::io("cannot create directory", dir))?;
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(Error::io("cannot set mode of", dir))
}

/// fsync of a directory, so renames and new files in it survive a crash.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir).and_then(|d| d.sync_all()).map_err(Error::io("cannot sync directory", dir))
}

/// Visits every file under `dir` (depth first), then `dir` itself. A file that vanishes while
/// we look (sled removes its old `snap.*` files concurrently) is skipped.
fn walk(
    dir: &Path,
    on_file: &dyn Fn(&Path) -> std::io::Result<()>,
    on_dir: &dyn Fn(&Path) -> Result<()>,
    action: &'static str,
) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(Error::io("cannot read directory", dir))?;
    for entry in entries {
        let entry = entry.map_err(Error::io("cannot read directory", dir))?;
        let path = entry.path();
        let ft = entry.file_type().map_err(Error::io("cannot stat", &path))?;
        if ft.is_dir() {
            walk(&path, on_file, on_dir, action)?;
        } else if ft.is_file() {
            match on_file(&path) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => return Err(Error::from_io(action, path, source)),
            }
        }
    }
    on_dir(dir)
}

/// fsync of every file under `dir`, then of each directory, bottom up.
pub(crate) fn sync_tree(dir: &Path) -> Result<()> {
    walk(dir, &|p| File::open(p)?.sync_all(), &sync_dir, "cannot sync")
}

/// Forces directories to 0700 and files to 0600 under the vault directory (sled creates 0644).
pub(crate) fn restrict_modes(dir: &Path) -> Result<()> {
    walk(
        dir,
        &|p| fs::set_permissions(p, fs::Permissions::from_mode(0o600)),
        &|d| fs::set_permissions(d, fs::Permissions::from_mode(0o700)).map_err(Error::io("cannot set mode of", d)),
        "cannot set mode of",
    )
}

/// Creates a new file with mode 0600 from the start (never wider, then narrowed).
pub(crate) fn create_private_file(path: &Path) -> Result<File> {
    OpenOptions::new().write(true).create_new(true).mode(0o600).open(path).map_err(Error::io("cannot create", path))
}

/// Makes `previous` name what `current` holds now (a hard link, put in place by rename), so a
/// file rewritten next keeps its former generation and a complete one exists at every instant.
pub(crate) fn keep_as_previous(current: &Path, previous: &Path) -> Result<()> {
    let mut tmp = previous.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    let _ = fs::remove_file(&tmp);
    fs::hard_link(current, &tmp).map_err(Error::io("cannot keep the previous generation", &tmp))?;
    fs::rename(&tmp, previous).map_err(Error::io("cannot keep the previous generation", previous))
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
