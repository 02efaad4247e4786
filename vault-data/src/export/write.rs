//! Writing a bundle: a directory (0700, each file created with its final mode), a tar.gz, or a
//! tar.gz encrypted with age to X25519 or SSH recipients. Output appears atomically (written
//! beside the target, synced, renamed), is never replaced without `force`, and a failed export
//! leaves nothing behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::export::bundle::{Bundle, BundleFile};
use crate::export::platform;
use crate::store::durable;

/// Output formats that write files.
#[derive(Clone)]
pub enum Format {
    /// A directory tree.
    Dir,
    /// A gzip-compressed tar archive.
    TarGz,
    /// The tar.gz, encrypted with age to these recipients (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`).
    Age(Vec<String>),
    /// Kubernetes Secrets (YAML), in this namespace if given.
    K8s(Option<String>),
    /// A directory with the files and a compose secrets fragment referencing them.
    Compose,
    /// Just the env file.
    Env,
    /// PKCS#12 protected by this password.
    P12(age::secrecy::SecretString),
}

impl Format {
    /// The name the CLI uses.
    pub fn name(&self) -> &'static str {
        match self {
            Format::Dir => "dir",
            Format::TarGz => "tar.gz",
            Format::Age(_) => "age",
            Format::K8s(_) => "k8s",
            Format::Compose => "compose",
            Format::Env => "env",
            Format::P12(_) => "p12",
        }
    }

    /// What follows the service name in a multi-service export (`""` for directories).
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Dir | Format::Compose => "",
            Format::TarGz => ".tar.gz",
            Format::Age(_) => ".tar.gz.age",
            Format::K8s(_) => ".yaml",
            Format::Env => ".env",
            Format::P12(_) => ".p12",
        }
    }

    /// A format by name, for front ends that offer every format but PKCS#12 (which needs a
    /// password of its own). Age needs at least one recipient.
    pub fn from_name(name: &str, recipients: Vec<String>, namespace: Option<String>) -> Result<Format> {
        let format = match name {
            "dir" => Format::Dir,
            "tar.gz" => Format::TarGz,
            "k8s" => Format::K8s(namespace.filter(|n| !n.trim().is_empty())),
            "compose" => Format::Compose,
            "env" => Format::Env,
            "age" => Format::age(recipients)?,
            other => {
                return Err(Error::Invalid(format!(
                    "unknown export format {other:?}: use dir, tar.gz, age, k8s, compose or env"
                )))
            }
        };
        Ok(format)
    }

    /// The age format, its recipients checked now, before anything is exported: at least one,
    /// each an age or SSH public key. A private key is refused by position and never quoted.
    pub fn age(recipients: Vec<String>) -> Result<Format> {
        parse_recipients(&recipients)?;
        Ok(Format::Age(recipients))
    }

    /// Whether the output carries only secrets (an env file never takes the private key along).
    pub fn secrets_only(&self) -> bool {
        matches!(self, Format::Env)
    }
}

/// Where one service's output goes in a multi-service export into `out_dir`.
pub fn target_in(out_dir: &Path, service: &str, format: &Format) -> PathBuf {
    out_dir.join(format!("{service}{}", format.extension()))
}

/// Writes many bundles into `out_dir` (created 0700), one output per service named by
/// [`target_in`]. Checks every target first, so an existing one stops the export before anything
/// is written. `progress` gets (written, total); returns the paths written.
pub fn write_bundles(
    bundles: &[(String, Bundle)],
    format: &Format,
    out_dir: &Path,
    force: bool,
    mtime: u64,
    progress: &dyn Fn(usize, usize),
) -> Result<Vec<PathBuf>> {
    let targets: Vec<PathBuf> = bundles.iter().map(|(s, _)| target_in(out_dir, s, format)).collect();
    for t in &targets {
        check_target(t, force)?;
    }
    if !out_dir.exists() {
        durable::create_private_dir(out_dir)?;
    }
    for (i, ((_, bundle), target)) in bundles.iter().zip(&targets).enumerate() {
        write_bundle(bundle, format, target, force, mtime)?;
        progress(i + 1, bundles.len());
    }
    Ok(targets)
}

fn temp_beside(out: &Path) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "bundle".into());
    out.with_file_name(format!(".{name}.keyloom-tmp-{}", crate::ids::RecordId::random().short()))
}

fn check_target(out: &Path, force: bool) -> Result<()> {
    if out.exists() && !force {
        return Err(Error::Invalid(format!("{} exists; pass --force to replace it", out.display())));
    }
    Ok(())
}

fn write_dir(files: &[BundleFile], dir: &Path) -> Result<()> {
    durable::create_private_dir(dir)?;
    for f in files {
        let path = dir.join(&f.path);
        if let Some(parent) = path.parent() {
            durable::create_private_dir(parent)?;
        }
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(f.mode)
            .open(&path)
            .map_err(Error::io("cannot create", &path))?;
        file.write_all(&f.contents).and_then(|_| file.sync_all()).map_err(Error::io("cannot write", &path))?;
        // The process umask may have narrowed a public file's mode; set exactly what the manifest
        // says (secret files were created 0600 and stay so).
        fs::set_permissions(&path, fs::Permissions::from_mode(f.mode))
            .map_err(Error::io("cannot set mode of", &path))?;
    }
    durable::sync_tree(dir)
}

/// The bundle as a gzip-compressed tar (modes kept, fixed owner and time so equal bundles give
/// equal archives).
pub fn tar_gz(bundle: &Bundle, mtime: u64) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    let mut dirs = std::collections::BTreeSet::new();
    for f in &bundle.files {
        if let Some((d, _)) = f.path.rsplit_once('/') {
            if dirs.insert(d.to_string()) {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o700);
                h.set_mtime(mtime);
                h.set_size(0);
                tar.append_data(&mut h, format!("{d}/"), std::io::empty())
                    .map_err(|e| Error::Storage(e.to_string()))?;
            }
        }
        let mut h = tar::Header::new_gnu();
        h.set_mode(f.mode);
        h.set_mtime(mtime);
        h.set_size(f.contents.len() as u64);
        tar.append_data(&mut h, &f.path, f.contents.as_slice()).map_err(|e| Error::Storage(e.to_string()))?;
    }
    let gz = tar.into_inner().map_err(|e| Error::Storage(e.to_string()))?;
    gz.finish().map(zeroize::Zeroizing::new).map_err(|e| Error::Storage(e.to_string()))
}

/// Reads age recipients (`age1…`, `ssh-ed25519 …`, `ssh-rsa …`). One that is not a recipient is
/// named by its position, never quoted: it may be a private key pasted by mistake, and an error
/// quoting it would print the key to a terminal or a CI log.
pub fn parse_recipients(recipients: &[String]) -> Result<Vec<Box<dyn age::Recipient + Send>>> {
    if recipients.is_empty() {
        return Err(Error::Invalid("the age format needs at least one recipient (age1… or an SSH public key)".into()));
    }
    let mut parsed: Vec<Box<dyn age::Recipient + Send>> = Vec::new();
    for (i, r) in recipients.iter().enumerate() {
        let nth = crate::crypto::key_text::ordinal(i + 1);
        if crate::crypto::key_text::looks_like_private_key(r) {
            return Err(Error::Invalid(format!(
                "the {nth} recipient is a private key; pass its public key (age1… or ssh-…) and keep the private key off command lines"
            )));
        }
        let r = r.trim();
        if let Ok(x) = age::x25519::Recipient::from_str(r) {
            parsed.push(Box::new(x));
        } else if let Ok(s) = age::ssh::Recipient::from_str(r) {
            parsed.push(Box::new(s));
        } else {
            return Err(Error::Invalid(format!(
                "the {nth} recipient is not an age recipient (age1…) or a supported SSH public key (ssh-ed25519 or ssh-rsa)"
            )));
        }
    }
    Ok(parsed)
}

fn age_encrypt(plain: &[u8], recipients: &[String]) -> Result<Vec<u8>> {
    let parsed = parse_recipients(recipients)?;
    let enc = age::Encryptor::with_recipients(parsed.iter().map(|r| r.as_ref() as &dyn age::Recipient))
        .map_err(|e| Error::Invalid(format!("cannot encrypt to these recipients: {e}")))?;
    let mut out = Vec::new();
    let mut w = enc.wrap_output(&mut out).map_err(|e| Error::Storage(e.to_string()))?;
    w.write_all(plain).and_then(|_| w.finish().map(|_| ())).map_err(|e| Error::Storage(e.to_string()))?;
    Ok(out)
}

/// Writes `bundle` to `out` in `format`.
pub fn write_bundle(bundle: &Bundle, format: &Format, out: &Path, force: bool, mtime: u64) -> Result<()> {
    check_target(out, force)?;
    let tmp = temp_beside(out);
    let result = match format {
        Format::Dir => write_dir(&bundle.files, &tmp),
        Format::Compose => platform::compose(bundle).and_then(|files| write_dir(&files, &tmp)),
        Format::TarGz | Format::Age(_) | Format::K8s(_) | Format::Env | Format::P12(_) => {
            let bytes = match format {
                Format::Age(recipients) => zeroize::Zeroizing::new(age_encrypt(&tar_gz(bundle, mtime)?, recipients)?),
                Format::K8s(namespace) => platform::kubernetes(bundle, namespace.as_deref())?,
                Format::Env => platform::env(bundle)?,
                Format::P12(password) => platform::pkcs12(bundle, secrecy::ExposeSecret::expose_secret(password))?,
                _ => tar_gz(bundle, mtime)?,
            };
            fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
                .and_then(|mut f| f.write_all(&bytes).and_then(|_| f.sync_all()))
                .map_err(Error::io("cannot write", &tmp))
        }
    };
    let finish = result.and_then(|_| {
        if out.exists() {
            // Only reached with force: the old output goes only once the new one is complete.
            if out.is_dir() { fs::remove_dir_all(out) } else { fs::remove_file(out) }
                .map_err(Error::io("cannot replace", out))?;
        }
        fs::rename(&tmp, out).map_err(Error::io("cannot move into place", out))?;
        durable::sync_dir(out.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")))
    });
    if finish.is_err() {
        let _ = fs::remove_dir_all(&tmp);
        let _ = fs::remove_file(&tmp);
    }
    finish
}
