//! The sled database under a vault directory: its trees, atomic multi-tree commits with a
//! durable flush, the process lock, file modes, and the sealed snapshot.
//!
//! sled 0.34.7 is used with care (see docs/ARCHITECTURE.md): its `flush()` relies on
//! `sync_file_range`, which does not make metadata durable, so every commit is followed by an
//! `fsync` of the database files and their directories; it creates files 0644, so the vault
//! directory is 0700 and every file is forced to 0600; and it may panic on damaged files, so
//! every call into it is guarded and a panic becomes an integrity error.

pub mod failures;
pub(crate) mod inbox;
pub(crate) mod journal;
pub mod lockfile;
pub(crate) mod record_set;
pub(crate) mod slots_file;
pub mod snapshot;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use sled::transaction::{ConflictableTransactionError, TransactionError, Transactional};

use crate::error::{Error, Result};
use crate::fs as durable;

/// The trees of a vault database.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub enum TreeName {
    /// Format version, vault id, unlock slots, audit head, sealed settings.
    Meta,
    /// Sealed metadata records.
    Objects,
    /// Sealed secret material.
    Payloads,
    /// Sealed, hash-chained audit entries keyed by big-endian sequence number.
    Audit,
}

impl TreeName {
    /// Every tree, in a fixed order.
    pub const ALL: [TreeName; 4] = [TreeName::Meta, TreeName::Objects, TreeName::Payloads, TreeName::Audit];

    /// The tree's name on disk and in seal AAD.
    pub fn name(self) -> &'static str {
        match self {
            TreeName::Meta => "meta",
            TreeName::Objects => "objects",
            TreeName::Payloads => "payloads",
            TreeName::Audit => "audit",
        }
    }
}

/// One change inside an atomic commit.
#[derive(Debug, Clone)]
pub(crate) enum Op {
    Put(TreeName, Vec<u8>, Vec<u8>),
    Delete(TreeName, Vec<u8>),
}

/// The subdirectory holding sled's own files.
pub(crate) const DB_DIR: &str = "db";
/// A database being rebuilt from scratch (see [`Store::rebuild`]).
const REBUILD_DIR: &str = "db.rebuild";
/// Written once the rebuilt database is complete and durable, before it is swapped in; holds the
/// new database's token.
const REBUILD_DONE: &str = "db.rebuild.done";
/// Inside a rebuilt database directory: the token naming it (sled ignores files it does not know).
const GENERATION_FILE: &str = "keyloom.generation";

/// An open vault database, holding the vault's process lock.
pub(crate) struct Store {
    dir: PathBuf,
    db: sled::Db,
    trees: [sled::Tree; 4],
    _lock: lockfile::LockFile,
}

/// Runs a sled call, turning a panic in the storage engine into an integrity error.
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(_) => {
            Err(Error::Damaged(format!("the storage engine failed while {what}: the database files are damaged")))
        }
    }
}

pub(crate) fn sled_err(e: sled::Error) -> Error {
    let damaged = |detail: String| Error::Damaged(format!("the database files are damaged ({detail})"));
    match e {
        sled::Error::Corruption { .. } => damaged("corrupt pages".into()),
        // A config or segment sled cannot parse is damage too, not a usage error: the random
        // tamper harness (tests/tests/tamper_random.rs) found both.
        sled::Error::Unsupported(what) | sled::Error::ReportableBug(what) => damaged(what),
        sled::Error::Io(io)
            if matches!(io.kind(), std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::InvalidData) =>
        {
            damaged(io.to_string())
        }
        sled::Error::Io(io) => Error::Storage(io.to_string()),
        other => Error::Storage(other.to_string()),
    }
}

impl Store {
    /// Whether `dir` may hold a vault: true when it has a database directory, and also when that
    /// cannot be told (opening it then says why, see [`Store::check`]).
    pub(crate) fn exists(dir: &Path) -> bool {
        Store::check(dir).unwrap_or(true)
    }

    /// Whether `dir` holds a vault (has a database directory). A directory that cannot be looked
    /// into, or a vault that belongs to another user, is a permission error naming the path, not
    /// "no vault": that would send the user to `init`, and opening another user's vault (as root)
    /// would leave files in it its owner cannot open.
    pub(crate) fn check(dir: &Path) -> Result<bool> {
        use std::os::unix::fs::MetadataExt;
        let db = dir.join(DB_DIR);
        match std::fs::metadata(&db) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Err(Error::PermissionDenied {
                    action: "cannot open the vault at",
                    path: dir.to_path_buf(),
                    reason: Some("this user cannot look inside it".into()),
                })
            }
            Err(_) => return Ok(false),
        }
        let owner = std::fs::metadata(dir).map_err(Error::io("cannot open the vault at", dir))?.uid();
        let me = rustix::process::geteuid().as_raw();
        if owner != me {
            return Err(Error::PermissionDenied {
                action: "cannot open the vault at",
                path: dir.to_path_buf(),
                reason: Some(format!("it belongs to user id {owner}, and this is user id {me}; open it as its owner")),
            });
        }
        Ok(true)
    }

    /// Opens (or, with `create`, creates) the database. Takes the process lock first, so a
    /// second process gets "in use by process N" at once instead of blocking.
    pub(crate) fn open(dir: &Path, create: bool) -> Result<Store> {
        Store::open_wait(dir, create, std::time::Duration::ZERO)
    }

    /// Like [`Store::open`], waiting up to `wait` for another process to close the vault.
    pub(crate) fn open_wait(dir: &Path, create: bool, wait: std::time::Duration) -> Result<Store> {
        if create {
            if Store::check(dir)? {
                return Err(Error::AlreadyExists(dir.to_path_buf()));
            }
            durable::create_private_dir(dir)?;
        } else if !Store::check(dir)? && !dir.join(REBUILD_DONE).exists() {
            return Err(Error::NotFound(dir.to_path_buf()));
        }
        let lock = lockfile::LockFile::acquire_wait(dir, wait)?;
        finish_interrupted_rebuild(dir)?;
        Store::open_locked(dir, lock)
    }

    /// Replaces the database with a new one holding exactly `entries`, so nothing else survives
    /// in the folder: sled keeps old versions of values in its log and cannot be told to compact
    /// it, so a rebuild is the only way to make a removed record really gone. The new database is
    /// made complete and durable beside the old one, then swapped in (`RENAME_EXCHANGE` where
    /// the file system has it); a crash at any point leaves one complete database.
    pub(crate) fn rebuild(self, entries: &[snapshot::Entry]) -> Result<Store> {
        let Store { dir, db, trees, _lock: lock } = self;
        drop(trees);
        guard("closing the database", || db.flush().map(|_| ()).map_err(sled_err))?;
        drop(db);
        let fresh = dir.join(REBUILD_DIR);
        let done = dir.join(REBUILD_DONE);
        let _ = std::fs::remove_file(&done);
        if fresh.exists() {
            // A rebuild that never completed: ours, and never swapped in.
            std::fs::remove_dir_all(&fresh).map_err(Error::io("cannot remove", &fresh))?;
        }
        {
            let store = Store::open_at(&dir, &fresh)?;
            store.load(entries)?;
        }
        // The new database carries a random token, and so does the marker: after a crash, the
        // directory holding the token is the new one, whichever name it has by then.
        let token = crate::ids::RecordId::random().to_string();
        durable::write_atomic(&fresh.join(GENERATION_FILE), token.as_bytes())?;
        durable::sync_tree(&fresh)?;
        durable::write_atomic(&done, token.as_bytes())?;
        swap_in_rebuilt(&dir, &token)?;
        Store::open_locked(&dir, lock)
    }

    /// Opens (creating if missing) the database of a vault whose lock is already held.
    pub(crate) fn open_locked(dir: &Path, lock: lockfile::LockFile) -> Result<Store> {
        let mut store = Store::open_at(dir, &dir.join(DB_DIR))?;
        store._lock = lock;
        Ok(store)
    }

    /// Opens the sled database at `db_path` for the vault at `dir`, with a lock that is the
    /// caller's business (a placeholder here; [`Store::open_locked`] puts the real one in).
    fn open_at(dir: &Path, db_path: &Path) -> Result<Store> {
        let db = guard("opening the database", || {
            sled::Config::new().path(db_path).mode(sled::Mode::HighThroughput).open().map_err(|e| match e {
                sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::WouldBlock => {
                    Error::InUse { pid: "unknown".into() }
                }
                sled::Error::Io(ref io) if io.kind() == std::io::ErrorKind::PermissionDenied => {
                    Error::PermissionDenied {
                        action: "cannot open the database in",
                        path: db_path.to_path_buf(),
                        reason: None,
                    }
                }
                other => sled_err(other),
            })
        })?;
        let open_tree = |t: TreeName| guard("opening a tree", || db.open_tree(t.name()).map_err(sled_err));
        let trees = [
            open_tree(TreeName::Meta)?,
            open_tree(TreeName::Objects)?,
            open_tree(TreeName::Payloads)?,
            open_tree(TreeName::Audit)?,
        ];
        let store = Store { dir: dir.to_path_buf(), db, trees, _lock: lockfile::LockFile::none() };
        durable::restrict_modes(dir)?;
        Ok(store)
    }

    /// Closes the database, keeping the vault's process lock.
    pub(crate) fn into_lock(self) -> lockfile::LockFile {
        let Store { db, trees, _lock: lock, .. } = self;
        drop(trees);
        let _ = guard("closing the database", || db.flush().map(|_| ()).map_err(sled_err));
        drop(db);
        lock
    }

    /// The vault directory.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    fn tree(&self, t: TreeName) -> &sled::Tree {
        &self.trees[t as usize]
    }

    pub(crate) fn get(&self, t: TreeName, key: &[u8]) -> Result<Option<Vec<u8>>> {
        guard("reading a record", || self.tree(t).get(key).map(|v| v.map(|v| v.to_vec())).map_err(sled_err))
    }

    /// Every (key, value) of a tree, in key order.
    pub(crate) fn scan(&self, t: TreeName) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        guard("reading a tree", || {
            self.tree(t).iter().map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(sled_err)).collect()
        })
    }

    /// Folds every (key, value) of a tree in key order, reading values in place (no copies).
    pub(crate) fn fold<T>(&self, t: TreeName, init: T, mut f: impl FnMut(T, &[u8], &[u8]) -> T) -> Result<T> {
        guard("reading a tree", || {
            let mut acc = init;
            for kv in self.tree(t).iter() {
                let (k, v) = kv.map_err(sled_err)?;
                acc = f(acc, &k, &v);
            }
            Ok(acc)
        })
    }

    /// Applies `f` to every (key, value) of a tree on all cores. sled's values are read without
    /// copying them, then decoded in parallel.
    pub(crate) fn par_map<T: Send>(
        &self,
        t: TreeName,
        f: impl Fn(&[u8], &[u8]) -> Result<T> + Sync + Send,
    ) -> Result<Vec<T>> {
        use rayon::prelude::*;
        guard("reading a tree", || {
            let raw: Vec<(sled::IVec, sled::IVec)> =
                self.tree(t).iter().collect::<std::result::Result<_, _>>().map_err(sled_err)?;
            raw.par_iter().map(|(k, v)| f(k, v)).collect()
        })
    }

    /// Every (key, value) of a tree whose key starts with `prefix`.
    pub(crate) fn scan_prefix(&self, t: TreeName, prefix: &[u8]) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
        guard("reading a tree", || {
            self.tree(t)
                .scan_prefix(prefix)
                .map(|kv| kv.map(|(k, v)| (k.to_vec(), v.to_vec())).map_err(sled_err))
                .collect()
        })
    }

    /// Applies every op in one sled transaction across all trees, then flushes durably.
    /// Nothing is visible on disk as acknowledged unless this returns `Ok`.
    pub(crate) fn commit(&self, ops: &[Op]) -> Result<()> {
        guard("committing", || {
            let [meta, objects, payloads, audit] = &self.trees;
            let result: std::result::Result<(), TransactionError<()>> =
                (meta, objects, payloads, audit).transaction(|(m, o, p, a)| {
                    for op in ops {
                        let (tree, key) = match op {
                            Op::Put(t, k, _) | Op::Delete(t, k) => (*t, k),
                        };
                        let tx = match tree {
                            TreeName::Meta => m,
                            TreeName::Objects => o,
                            TreeName::Payloads => p,
                            TreeName::Audit => a,
                        };
                        match op {
                            Op::Put(_, _, v) => {
                                tx.insert(key.as_slice(), v.as_slice())?;
                            }
                            Op::Delete(..) => {
                                tx.remove(key.as_slice())?;
                            }
                        }
                    }
                    Ok::<(), ConflictableTransactionError<()>>(())
                });
            result.map_err(|e| match e {
                TransactionError::Storage(e) => sled_err(e),
                TransactionError::Abort(()) => Error::Storage("transaction aborted".into()),
            })
        })?;
        self.flush_durable()
    }

    /// sled flush, then fsync of the database files and directories.
    pub(crate) fn flush_durable(&self) -> Result<()> {
        guard("flushing", || self.db.flush().map(|_| ()).map_err(sled_err))?;
        durable::sync_tree(&self.dir.join(DB_DIR))?;
        durable::sync_dir(&self.dir)
    }

    /// Every record of every tree, raw (still sealed), for snapshots and comparisons.
    pub(crate) fn dump(&self) -> Result<Vec<snapshot::Entry>> {
        let mut out = Vec::new();
        for t in TreeName::ALL {
            for (key, value) in self.scan(t)? {
                out.push(snapshot::Entry { tree: t, key, value });
            }
        }
        Ok(out)
    }

    /// Loads raw entries into an empty database (restore from snapshot), then flushes durably.
    pub(crate) fn load(&self, entries: &[snapshot::Entry]) -> Result<()> {
        guard("restoring", || {
            for t in TreeName::ALL {
                let mut batch = sled::Batch::default();
                for e in entries.iter().filter(|e| e.tree == t) {
                    batch.insert(e.key.as_slice(), e.value.as_slice());
                }
                self.tree(t).apply_batch(batch).map_err(sled_err)?;
            }
            Ok(())
        })?;
        self.flush_durable()?;
        durable::restrict_modes(&self.dir)
    }
}

/// Swaps the rebuilt database (the directory holding `token`) in for the old one, then removes
/// the old one and the marker. Safe to run again after a crash at any point.
fn swap_in_rebuilt(dir: &Path, token: &str) -> Result<()> {
    let fresh = dir.join(REBUILD_DIR);
    let live = dir.join(DB_DIR);
    let aside = dir.join(format!("{REBUILD_DIR}.old"));
    let holds = |d: &Path| std::fs::read_to_string(d.join(GENERATION_FILE)).is_ok_and(|t| t == token);
    if !holds(&live) {
        if !holds(&fresh) {
            return Err(Error::Integrity(format!(
                "an interrupted database rebuild in {} cannot be finished: neither copy is the new one",
                dir.display()
            )));
        }
        let exchanged = live.exists()
            && rustix::fs::renameat_with(
                rustix::fs::CWD,
                &fresh,
                rustix::fs::CWD,
                &live,
                rustix::fs::RenameFlags::EXCHANGE,
            )
            .is_ok();
        if !exchanged {
            // No RENAME_EXCHANGE here (or no old database): the old one aside, the new one in.
            if live.exists() {
                let _ = std::fs::remove_dir_all(&aside);
                std::fs::rename(&live, &aside).map_err(Error::io("cannot move aside", &live))?;
                durable::sync_dir(dir)?;
            }
            std::fs::rename(&fresh, &live).map_err(Error::io("cannot move into place", &fresh))?;
        }
        durable::sync_dir(dir)?;
    }
    // The new database is live: what remains under the other names is the old one.
    for old in [&fresh, &aside] {
        if old.exists() {
            std::fs::remove_dir_all(old).map_err(Error::io("cannot remove", old))?;
        }
    }
    let done = dir.join(REBUILD_DONE);
    std::fs::remove_file(&done).map_err(Error::io("cannot remove", &done))?;
    durable::sync_dir(dir)
}

/// Completes a rebuild that was interrupted after the new database became durable, or drops one
/// that never got that far.
fn finish_interrupted_rebuild(dir: &Path) -> Result<()> {
    match std::fs::read_to_string(dir.join(REBUILD_DONE)) {
        Ok(token) => swap_in_rebuilt(dir, token.trim()),
        Err(_) => {
            let fresh = dir.join(REBUILD_DIR);
            if fresh.exists() {
                // Never completed: the live database is untouched.
                std::fs::remove_dir_all(&fresh).map_err(Error::io("cannot remove", &fresh))?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod rebuild_tests {
    use super::*;

    fn db_with(dir: &Path, name: &str, token: Option<&str>) {
        std::fs::create_dir_all(dir.join(name)).unwrap();
        std::fs::write(dir.join(name).join("db"), name).unwrap();
        if let Some(t) = token {
            std::fs::write(dir.join(name).join(GENERATION_FILE), t).unwrap();
        }
    }

    fn live_is_new(dir: &Path) -> bool {
        std::fs::read_to_string(dir.join(DB_DIR).join(GENERATION_FILE)).is_ok_and(|t| t == "T")
            && !dir.join(REBUILD_DIR).exists()
            && !dir.join(format!("{REBUILD_DIR}.old")).exists()
            && !dir.join(REBUILD_DONE).exists()
    }

    /// Every state a crash can leave a rebuild in ends with the new database live and nothing
    /// else left; a rebuild that never completed leaves the old one alone.
    #[test]
    fn an_interrupted_rebuild_finishes_from_every_state() {
        // Before the swap.
        let d = tempfile::tempdir().unwrap();
        db_with(d.path(), DB_DIR, None);
        db_with(d.path(), REBUILD_DIR, Some("T"));
        std::fs::write(d.path().join(REBUILD_DONE), "T").unwrap();
        finish_interrupted_rebuild(d.path()).unwrap();
        assert!(live_is_new(d.path()));
        // After RENAME_EXCHANGE, before the clean-up: must not swap back.
        let d = tempfile::tempdir().unwrap();
        db_with(d.path(), DB_DIR, Some("T"));
        db_with(d.path(), REBUILD_DIR, None);
        std::fs::write(d.path().join(REBUILD_DONE), "T").unwrap();
        finish_interrupted_rebuild(d.path()).unwrap();
        assert!(live_is_new(d.path()));
        // Without RENAME_EXCHANGE: the old one aside, the new one not yet in.
        let d = tempfile::tempdir().unwrap();
        db_with(d.path(), &format!("{REBUILD_DIR}.old"), None);
        db_with(d.path(), REBUILD_DIR, Some("T"));
        std::fs::write(d.path().join(REBUILD_DONE), "T").unwrap();
        finish_interrupted_rebuild(d.path()).unwrap();
        assert!(live_is_new(d.path()));
        // Never completed (no marker): the half-made one goes, the live one stays.
        let d = tempfile::tempdir().unwrap();
        db_with(d.path(), DB_DIR, None);
        db_with(d.path(), REBUILD_DIR, Some("T"));
        finish_interrupted_rebuild(d.path()).unwrap();
        assert!(!d.path().join(REBUILD_DIR).exists());
        assert_eq!(std::fs::read_to_string(d.path().join(DB_DIR).join("db")).unwrap(), DB_DIR);
    }
}
