//! The rule for `export --force`: it replaces a previous Keyloom output and nothing else.
//!
//! Something already at an export's path is replaced only when it is
//! - an output the vault's export history records at that very path, with the same fingerprint
//!   (a file's SHA-256, or a directory's listing: every sub-directory, every file's mode and
//!   SHA-256), or
//! - a directory bundle whose `manifest.sig` verifies with this vault's signing key and whose
//!   files are exactly the manifest's (same SHA-256 and mode) plus `manifest.json` and
//!   `manifest.sig`,
//!
//! and it is of the kind the export writes (a directory replaces only a directory, a file only a
//! file). A symbolic link, `/`, the current directory, the home directory, the vault directory and
//! any parent of them are never replaced, whatever they hold. Everything else is refused with the
//! path and the reason, and is left as it was.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use ed25519_dalek::VerifyingKey;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::export::bundle::BundleFile;
use crate::export::manifest::{signature_ok, Manifest};
pub use crate::model::export::{OutputKind, OutputRecord};

/// The largest `manifest.json` or `manifest.sig` read when judging a directory: a real one is a
/// few kilobytes, and a huge file is no bundle.
const MAX_MANIFEST_BYTES: u64 = 1 << 20;

/// Why something may not be replaced (said to the user after the path).
type Why = String;

/// What a directory holds, read without following links.
#[derive(Default)]
struct Listing {
    /// Regular files: path inside the directory (`/`-separated) -> (mode, SHA-256).
    files: BTreeMap<String, (u32, [u8; 32])>,
    /// Sub-directories, `/`-separated.
    dirs: BTreeSet<String>,
}

/// Every proper parent directory of a `/`-separated path (`a/b/c` -> `a`, `a/b`).
fn parents(path: &str) -> impl Iterator<Item = &str> {
    path.match_indices('/').map(move |(i, _)| &path[..i])
}

/// The directory fingerprint: SHA-256 over the sorted sub-directories, then the sorted files
/// with mode and SHA-256, each length-prefixed so no two listings encode alike.
fn listing_sha256(listing: &Listing) -> String {
    let mut h = Sha256::new();
    h.update(b"keyloom output listing v1\n");
    for d in &listing.dirs {
        h.update(b"d");
        h.update((d.len() as u64).to_le_bytes());
        h.update(d.as_bytes());
    }
    for (path, (mode, sha)) in &listing.files {
        h.update(b"f");
        h.update((path.len() as u64).to_le_bytes());
        h.update(path.as_bytes());
        h.update(mode.to_le_bytes());
        h.update(sha);
    }
    hex::encode(h.finalize())
}

/// Fingerprint (SHA-256 and entry count) of a directory output about to be written.
pub(crate) fn dir_fingerprint(files: &[BundleFile]) -> (String, u64) {
    let mut listing = Listing::default();
    for f in files {
        listing.dirs.extend(parents(&f.path).map(str::to_string));
        listing.files.insert(f.path.clone(), (f.mode, Sha256::digest(f.contents.as_slice()).into()));
    }
    let entries = (listing.dirs.len() + listing.files.len()) as u64;
    (listing_sha256(&listing), entries)
}

/// Fingerprint (SHA-256 and size) of a file output about to be written.
pub(crate) fn file_fingerprint(bytes: &[u8]) -> (String, u64) {
    (hex::encode(Sha256::digest(bytes)), bytes.len() as u64)
}

fn sha256_of_file(path: &Path) -> std::result::Result<[u8; 32], Why> {
    let mut f = fs::File::open(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let mut h = Sha256::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        let n = f.read(&mut buf).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        if n == 0 {
            return Ok(h.finalize().into());
        }
        h.update(&buf[..n]);
    }
}

/// How many entries beyond what Keyloom wrote a directory is still listed, so that a few files
/// added by hand are named in the refusal.
const SLACK_ENTRIES: u64 = 64;

/// Lists `root` without following links. Gives up (with the reason) on a symbolic link or special
/// file, or once it has seen more than `max_entries` (+ a little) entries, so an unrelated large
/// tree is not walked to the end.
fn walk(root: &Path, max_entries: u64) -> std::result::Result<Listing, Why> {
    let max_entries = max_entries.saturating_add(SLACK_ENTRIES);
    let mut listing = Listing::default();
    let mut pending = vec![(root.to_path_buf(), String::new())];
    let mut seen = 0u64;
    while let Some((dir, rel)) = pending.pop() {
        let entries = fs::read_dir(&dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
        for entry in entries {
            let entry = entry.map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
            seen += 1;
            if seen > max_entries {
                return Err("it holds more files than Keyloom wrote there".into());
            }
            let name = entry.file_name();
            let name =
                name.to_str().ok_or_else(|| format!("it holds {:?}, which Keyloom never writes", entry.path()))?;
            let path = entry.path();
            let rel_path = if rel.is_empty() { name.to_string() } else { format!("{rel}/{name}") };
            let meta = fs::symlink_metadata(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            if meta.is_dir() {
                listing.dirs.insert(rel_path.clone());
                pending.push((path, rel_path));
            } else if meta.is_file() {
                let sha = sha256_of_file(&path)?;
                listing.files.insert(rel_path, (meta.permissions().mode() & 0o7777, sha));
            } else {
                return Err(format!(
                    "it holds {rel_path}, a symbolic link or special file, which Keyloom never writes"
                ));
            }
        }
    }
    Ok(listing)
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    let meta = fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_MANIFEST_BYTES {
        return None;
    }
    fs::read(path).ok()
}

/// The resolved form of an output path: absolute, its parent directory without symbolic links
/// or `..` (the last component is kept as is, so a link there is seen as a link, not followed).
/// A path ending in `..` is resolved whole. Parts that do not exist yet are appended as given,
/// but a `..` after a missing directory cannot be resolved and is refused.
pub fn resolve(out: &Path) -> Result<PathBuf> {
    let abs = if out.is_absolute() {
        out.to_path_buf()
    } else {
        std::env::current_dir().map_err(Error::io("cannot read the current directory", "."))?.join(out)
    };
    let unresolvable = || {
        Error::Invalid(format!(
            "cannot resolve {}: it goes up (..) from a directory that does not exist",
            out.display()
        ))
    };
    let mut existing = abs.as_path();
    let mut missing = Vec::new();
    loop {
        match fs::symlink_metadata(existing) {
            Ok(_) => break,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(unresolvable());
                };
                missing.push(name);
                existing = parent;
            }
            Err(e) => return Err(Error::io("cannot read", existing)(e)),
        }
    }
    let mut resolved = match (existing.parent(), existing.file_name()) {
        (Some(parent), Some(name)) => fs::canonicalize(parent).map_err(Error::io("cannot resolve", parent))?.join(name),
        // "/", or a path ending in "..": the directory it names.
        _ => fs::canonicalize(existing).map_err(Error::io("cannot resolve", existing))?,
    };
    for name in missing.iter().rev() {
        if Path::new(name).components().any(|c| !matches!(c, Component::Normal(_))) {
            return Err(unresolvable());
        }
        resolved.push(name);
    }
    Ok(resolved)
}

/// Decides whether `export --force` may replace what is at an output path.
pub struct ReplaceRule {
    key: VerifyingKey,
    outputs: Vec<OutputRecord>,
    /// Paths never replaced, with their parents: (resolved path, what it is).
    protected: Vec<(PathBuf, &'static str)>,
}

impl std::fmt::Debug for ReplaceRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplaceRule").field("outputs", &self.outputs.len()).finish_non_exhaustive()
    }
}

impl ReplaceRule {
    /// The rule for a vault: its bundle signing key, the outputs its export history records, and
    /// its directory (never replaced, nor the current directory, the home directory or `/`).
    pub fn new(key: VerifyingKey, outputs: Vec<OutputRecord>, vault_dir: &Path) -> ReplaceRule {
        let mut protected = Vec::new();
        let mut protect = |p: Option<PathBuf>, what: &'static str| {
            if let Some(p) = p.and_then(|p| fs::canonicalize(&p).ok().or(Some(p))) {
                protected.push((p, what));
            }
        };
        protect(std::env::current_dir().ok(), "the current directory");
        protect(std::env::var_os("HOME").map(PathBuf::from), "the home directory");
        protect(directories::BaseDirs::new().map(|d| d.home_dir().to_path_buf()), "the home directory");
        protect(Some(vault_dir.to_path_buf()), "the vault directory");
        ReplaceRule { key, outputs, protected }
    }

    /// Checks the resolved path `target` (see [`resolve`]) before an export of `kind` is written
    /// there. `Ok(false)`: nothing is there. `Ok(true)`: a previous Keyloom output is there and
    /// `force` allows replacing it. Anything else is refused, naming the path and the reason.
    pub fn check(&self, target: &Path, kind: OutputKind, force: bool) -> Result<bool> {
        let refuse = |why: String| Error::WontReplace { path: target.to_path_buf(), why };
        if let Some(why) = self.protected_reason(target) {
            return Err(refuse(why));
        }
        match fs::symlink_metadata(target) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(Error::io("cannot read", target)(e)),
            Ok(_) => {}
        }
        if !force {
            return Err(Error::OutputExists { path: target.to_path_buf() });
        }
        self.judge(target, target, kind).map_err(refuse)?;
        Ok(true)
    }

    fn protected_reason(&self, target: &Path) -> Option<Why> {
        if target.parent().is_none() {
            return Some("it is the root directory".into());
        }
        self.protected.iter().find(|(p, _)| p.starts_with(target)).map(|(p, what)| {
            if p == target {
                format!("it is {what}")
            } else {
                format!("it is a parent of {what}")
            }
        })
    }

    /// Judges what is at `at` (the output path itself, or the name it was just moved aside to)
    /// as the previous output at `target`. Ok when it may be replaced by an output of `kind`.
    pub(crate) fn judge(&self, at: &Path, target: &Path, kind: OutputKind) -> std::result::Result<(), Why> {
        let meta = fs::symlink_metadata(at).map_err(|e| format!("cannot read it: {e}"))?;
        if meta.file_type().is_symlink() {
            return Err("it is a symbolic link".into());
        }
        let recorded = |k: OutputKind| {
            self.outputs.iter().filter(move |o| o.kind == k && Path::new(&o.path) == target).collect::<Vec<_>>()
        };
        match kind {
            OutputKind::Dir => {
                if !meta.is_dir() {
                    return Err("it is a file, and this export writes a directory".into());
                }
                let recorded = recorded(OutputKind::Dir);
                if let Some(max) = recorded.iter().map(|o| o.size).max() {
                    if let Ok(listing) = walk(at, max) {
                        let sha = listing_sha256(&listing);
                        if recorded.iter().any(|o| o.sha256 == sha) {
                            return Ok(());
                        }
                    }
                }
                self.signed_bundle(at).map_err(|why| {
                    if recorded.is_empty() {
                        why
                    } else {
                        format!("it changed since Keyloom wrote it ({why})")
                    }
                })
            }
            OutputKind::File => {
                if !meta.is_file() {
                    return Err(if meta.is_dir() {
                        "it is a directory, and this export writes a file".into()
                    } else {
                        "it is a special file".into()
                    });
                }
                let recorded = recorded(OutputKind::File);
                if recorded.is_empty() {
                    return Err("this vault's export history records no output written at this path".into());
                }
                let same_size: Vec<_> = recorded.iter().filter(|o| o.size == meta.len()).collect();
                if !same_size.is_empty() {
                    let sha = hex::encode(sha256_of_file(at)?);
                    if same_size.iter().any(|o| o.sha256 == sha) {
                        return Ok(());
                    }
                }
                Err("its contents differ from what Keyloom wrote there (SHA-256 in the export history)".into())
            }
        }
    }

    /// A directory bundle signed with this vault's key, holding exactly the manifest's files.
    fn signed_bundle(&self, dir: &Path) -> std::result::Result<(), Why> {
        let (Some(manifest_bytes), Some(sig)) =
            (read_small(&dir.join("manifest.json")), read_small(&dir.join("manifest.sig")))
        else {
            return Err("it is not a Keyloom bundle (no manifest.json and manifest.sig), and this vault's export \
                        history records no output written at this path"
                .into());
        };
        if !signature_ok(&self.key, &manifest_bytes, &sig) {
            return Err("its manifest.sig does not verify with this vault's signing key".into());
        }
        let manifest: Manifest =
            serde_json::from_slice(&manifest_bytes).map_err(|_| "its manifest.json cannot be read".to_string())?;
        let dirs: BTreeSet<&str> = manifest.files.iter().flat_map(|f| parents(&f.path)).collect();
        let max = (manifest.files.len() + 2 + dirs.len()) as u64;
        let mut listing = walk(dir, max)?;
        for f in &manifest.files {
            match listing.files.remove(&f.path) {
                None => return Err(format!("{} is missing", f.path)),
                Some((mode, sha)) => {
                    if hex::encode(sha) != f.sha256 || format!("{mode:04o}") != f.mode {
                        return Err(format!("{} changed since the export", f.path));
                    }
                }
            }
        }
        listing.files.remove("manifest.json");
        listing.files.remove("manifest.sig");
        if let Some(extra) = listing.files.keys().next() {
            return Err(format!("{extra} is not in its manifest"));
        }
        if let Some(extra) = listing.dirs.iter().find(|d| !dirs.contains(d.as_str())) {
            return Err(format!("{extra}/ is not in its manifest"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_ending_in_dot_dot_resolves_to_the_directory_it_names() {
        let tmp = tempfile::tempdir().unwrap();
        let root = fs::canonicalize(tmp.path()).unwrap();
        fs::create_dir_all(root.join("a/b")).unwrap();
        assert_eq!(resolve(&root.join("a/b/..")).unwrap(), root.join("a"));
        assert_eq!(resolve(&root.join("a/b/../new/x")).unwrap(), root.join("a/new/x"));
        assert!(resolve(&root.join("a/missing/../x")).is_err(), "cannot tell where .. leads from a missing dir");
        assert_eq!(resolve(Path::new("/")).unwrap(), PathBuf::from("/"));
    }

    #[test]
    fn the_listing_fingerprint_sees_modes_contents_and_stray_directories() {
        let file = |path: &str, mode: u32, c: &[u8]| BundleFile {
            path: path.into(),
            mode,
            contents: zeroize::Zeroizing::new(c.to_vec()),
        };
        let a = vec![file("tls/key.pem", 0o600, b"k"), file("manifest.json", 0o644, b"m")];
        let (sha, entries) = dir_fingerprint(&a);
        assert_eq!(entries, 3, "two files and tls/");
        let b = vec![file("tls/key.pem", 0o644, b"k"), file("manifest.json", 0o644, b"m")];
        assert_ne!(dir_fingerprint(&b).0, sha);
        let c = vec![file("tls/key.pem", 0o600, b"K"), file("manifest.json", 0o644, b"m")];
        assert_ne!(dir_fingerprint(&c).0, sha);
        let d = vec![file("tls/key.pem", 0o600, b"k"), file("manifest.json", 0o644, b"m"), file("x/y", 0o600, b"")];
        assert_ne!(dir_fingerprint(&d).0, sha);
    }
}
