//! `bundle verify`: the signature over `manifest.json`, then every file's presence, SHA-256 and
//! mode, and no file the manifest does not list. Works on a directory or a tar.gz.

use std::collections::BTreeMap;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use ed25519_dalek::VerifyingKey;
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::export::manifest::{signature_ok, Manifest};

/// The outcome of a check.
#[derive(Debug, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct BundleCheck {
    /// True when the signature and every file check out.
    pub ok: bool,
    /// The service the manifest names (when it could be read).
    pub service: Option<String>,
    /// Files compared.
    pub files_checked: usize,
    /// Everything wrong, one line each, naming the file.
    pub problems: Vec<String>,
}

/// (contents, mode) of every file, by bundle path.
type Files = BTreeMap<String, (Vec<u8>, u32)>;

fn read_dir(root: &Path, dir: &Path, out: &mut Files) -> Result<()> {
    for e in std::fs::read_dir(dir).map_err(Error::io("cannot read", dir))? {
        let e = e.map_err(Error::io("cannot read", dir))?;
        let p = e.path();
        let meta = std::fs::symlink_metadata(&p).map_err(Error::io("cannot stat", &p))?;
        if meta.is_dir() {
            read_dir(root, &p, out)?;
        } else {
            let rel = p.strip_prefix(root).unwrap_or(&p).to_string_lossy().replace('\\', "/");
            let contents =
                if meta.is_file() { std::fs::read(&p).map_err(Error::io("cannot read", &p))? } else { Vec::new() };
            out.insert(rel, (contents, meta.permissions().mode() & 0o7777));
        }
    }
    Ok(())
}

fn read_tar_gz(bytes: &[u8]) -> Result<Files> {
    let mut out = Files::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let entries = archive.entries().map_err(|e| Error::Invalid(format!("not a readable tar.gz: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| Error::Invalid(format!("damaged tar.gz: {e}")))?;
        if entry.header().entry_type().is_dir() {
            continue;
        }
        let path =
            entry.path().map_err(|e| Error::Invalid(format!("damaged tar.gz: {e}")))?.to_string_lossy().to_string();
        let mode = entry.header().mode().unwrap_or(0) & 0o7777;
        let mut contents = Vec::new();
        entry.read_to_end(&mut contents).map_err(|e| Error::Invalid(format!("damaged tar.gz: {e}")))?;
        out.insert(path, (contents, mode));
    }
    Ok(out)
}

/// Whether `path` holds a regular file (not a link, not a directory).
fn regular_file(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => Ok(m.is_file()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io("cannot read", path)(e)),
    }
}

/// Refuses a directory that is not a bundle before anything under it is read: a bundle has
/// `manifest.json` and `manifest.sig` at its top. Only a Keyloom manifest without its signature
/// counts as a (damaged) bundle, so the check can report it; a web project's `manifest.json`
/// does not.
fn refuse_unless_bundle_dir(dir: &Path) -> Result<()> {
    let manifest = dir.join("manifest.json");
    let (has_manifest, has_sig) = (regular_file(&manifest)?, regular_file(&dir.join("manifest.sig"))?);
    let is_keyloom_manifest = || {
        // A manifest is small; a huge file of that name is not one, and is not read whole.
        let small = std::fs::symlink_metadata(&manifest).is_ok_and(|m| m.len() <= MAX_MANIFEST_BYTES);
        small && std::fs::read(&manifest).ok().is_some_and(|b| serde_json::from_slice::<Manifest>(&b).is_ok())
    };
    if has_sig || (has_manifest && is_keyloom_manifest()) {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "{} is not a Keyloom bundle: it has no manifest.json and manifest.sig at its top (nothing under it was read)",
        dir.display()
    )))
}

/// Manifests list a bundle's files; far below this.
const MAX_MANIFEST_BYTES: u64 = 16 << 20;

/// Refuses a file that is neither a tar.gz nor an age-encrypted bundle, from its first bytes.
fn refuse_unless_bundle_file(path: &Path) -> Result<()> {
    let mut head = Vec::with_capacity(32);
    std::fs::File::open(path)
        .and_then(|f| f.take(32).read_to_end(&mut head))
        .map_err(Error::io("cannot read", path))?;
    if head.starts_with(b"age-encryption.org/") {
        return Err(Error::Invalid("this bundle is age-encrypted: decrypt it (age -d) and verify the tar.gz".into()));
    }
    if !head.starts_with(&[0x1f, 0x8b]) {
        return Err(Error::Invalid(format!(
            "{} is not a Keyloom bundle: neither a bundle directory nor a tar.gz",
            path.display()
        )));
    }
    Ok(())
}

/// Verifies the bundle at `path` (directory or tar.gz) against the signing public key. A path
/// that is not a bundle at all is refused at once, before its contents are read.
pub fn verify_bundle(path: &Path, key: &VerifyingKey) -> Result<BundleCheck> {
    let meta = std::fs::metadata(path).map_err(Error::io("cannot read", path))?;
    let mut files = if meta.is_dir() {
        refuse_unless_bundle_dir(path)?;
        let mut f = Files::new();
        read_dir(path, path, &mut f)?;
        f
    } else {
        refuse_unless_bundle_file(path)?;
        let bytes = std::fs::read(path).map_err(Error::io("cannot read", path))?;
        read_tar_gz(&bytes)?
    };
    let mut problems = Vec::new();
    let (Some((manifest_bytes, _)), Some((sig, _))) = (files.remove("manifest.json"), files.remove("manifest.sig"))
    else {
        return Ok(BundleCheck {
            ok: false,
            service: None,
            files_checked: 0,
            problems: vec!["manifest.json or manifest.sig is missing".into()],
        });
    };
    if !signature_ok(key, &manifest_bytes, &sig) {
        problems.push("manifest.sig: the signature does not match manifest.json and this signing key".into());
    }
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!("manifest.json cannot be read: {e}"));
            return Ok(BundleCheck { ok: false, service: None, files_checked: 0, problems });
        }
    };
    for f in &manifest.files {
        match files.remove(&f.path) {
            None => problems.push(format!("{}: missing", f.path)),
            Some((contents, mode)) => {
                if hex::encode(Sha256::digest(&contents)) != f.sha256 {
                    problems.push(format!("{}: contents changed (SHA-256 differs)", f.path));
                }
                if format!("{mode:04o}") != f.mode {
                    problems.push(format!("{}: mode is {mode:04o}, the manifest says {}", f.path, f.mode));
                }
            }
        }
    }
    for extra in files.keys() {
        problems.push(format!("{extra}: not listed in the manifest (added)"));
    }
    Ok(BundleCheck {
        ok: problems.is_empty(),
        service: Some(manifest.service.clone()),
        files_checked: manifest.files.len(),
        problems,
    })
}
