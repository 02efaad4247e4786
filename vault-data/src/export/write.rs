//! Writing a bundle: a directory (0700, each file created with its final mode), a tar.gz, a
//! tar.gz encrypted with age to X25519 or SSH recipients, or a platform shape. Output appears
//! atomically (written beside the target, synced, renamed or swapped in), replaces only what
//! [`ReplaceRule`] judges a previous Keyloom output, and a failed export leaves nothing behind.

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::str::FromStr;

use crate::error::{Error, Result};
use crate::export::bundle::{Bundle, BundleFile};
use crate::export::platform;
use crate::export::replace::{self, OutputKind, ReplaceRule};
use crate::fs as durable;

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
    /// A directory with the files and a compose secrets fragment referencing them; the secret
    /// files (and the key) owned as asked, so a container's user can read them.
    Compose(FileOwner),
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
            Format::Compose(_) => "compose",
            Format::Env => "env",
            Format::P12(_) => "p12",
        }
    }

    /// What follows the service name in a multi-service export (`""` for directories).
    pub fn extension(&self) -> &'static str {
        match self {
            Format::Dir | Format::Compose(_) => "",
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
            "compose" => Format::Compose(FileOwner::default()),
            "env" => Format::Env,
            "age" => Format::age(recipients)?,
            other => {
                let known = ["dir", "tar.gz", "age", "k8s", "compose", "env", "p12"];
                return Err(Error::unknown_choice(crate::error::Choice::ExportFormat, other, known));
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

    /// Whether the output carries the signed manifest (`bundle verify` checks it): dir, tar.gz
    /// and age. The platform shapes (k8s, compose, env, p12) are rendered from a signed bundle but
    /// carry no signature of their own.
    pub fn signed(&self) -> bool {
        matches!(self, Format::Dir | Format::TarGz | Format::Age(_))
    }

    /// Whether the output carries only secrets (an env file never takes the private key along).
    pub fn secrets_only(&self) -> bool {
        matches!(self, Format::Env)
    }
}

impl Format {
    /// Whether this format writes a directory or a single file.
    pub fn kind(&self) -> OutputKind {
        match self {
            Format::Dir | Format::Compose(_) => OutputKind::Dir,
            _ => OutputKind::File,
        }
    }
}

/// Where one service's output goes in a multi-service export into `out_dir`. Refused when the
/// service's name cannot name a file there (`.`, `..`, a hidden name, one with `/`): joined
/// as is, such a name would point at the output directory's parent or another place.
pub fn target_in(out_dir: &Path, service: &str, format: &Format) -> Result<PathBuf> {
    let name = format!("{service}{}", format.extension());
    let mut parts = Path::new(&name).components();
    match (parts.next(), parts.next()) {
        (Some(Component::Normal(n)), None) if n == name.as_str() && !name.starts_with('.') => Ok(out_dir.join(name)),
        _ => Err(Error::Invalid(format!(
            "service {service:?} cannot be exported into a directory: its name cannot be a file name \
             ('.', '..', a leading dot or a '/'); rename the service"
        ))),
    }
}

/// Who owns the secret files (mode 0600, and the key) of a compose directory. Docker bind-mounts
/// each file into the container as it is on the host, owner and mode included, so a container
/// that runs as another user needs them owned by its uid (they stay 0600), or by its group (they
/// become 0640). Changing the owner needs root, or a group the exporting user belongs to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileOwner {
    /// The owner's uid.
    pub uid: Option<u32>,
    /// The group's gid.
    pub gid: Option<u32>,
}

impl FileOwner {
    /// The mode of a secret file under this owner: group-readable when only a group is given.
    pub fn secret_mode(&self) -> u32 {
        if self.uid.is_none() && self.gid.is_some() {
            0o640
        } else {
            crate::export::bundle::SECRET_MODE
        }
    }
}

/// A bundle rendered in one output format, in memory, ready to be written.
pub enum Rendered {
    /// A directory tree (dir, compose), with the owner of its non-public files.
    Dir(Vec<BundleFile>, FileOwner),
    /// One file (tar.gz, age, k8s, env, p12).
    File(zeroize::Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for Rendered {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rendered::Dir(files, owner) => f.debug_tuple("Dir").field(files).field(owner).finish(),
            Rendered::File(bytes) => write!(f, "File({} bytes)", bytes.len()),
        }
    }
}

impl Rendered {
    /// Directory or file.
    pub fn kind(&self) -> OutputKind {
        match self {
            Rendered::Dir(..) => OutputKind::Dir,
            Rendered::File(_) => OutputKind::File,
        }
    }

    /// What the export history records of it: (SHA-256, entries or size).
    pub(crate) fn fingerprint(&self) -> (String, u64) {
        match self {
            Rendered::Dir(files, _) => replace::dir_fingerprint(files),
            Rendered::File(bytes) => replace::file_fingerprint(bytes),
        }
    }
}

/// Renders `bundle` in `format` (tar entries get `mtime`).
pub fn render(bundle: &Bundle, format: &Format, mtime: u64) -> Result<Rendered> {
    Ok(match format {
        Format::Dir => Rendered::Dir(
            bundle
                .files
                .iter()
                .map(|f| BundleFile { path: f.path.clone(), mode: f.mode, contents: f.contents.clone() })
                .collect(),
            FileOwner::default(),
        ),
        Format::Compose(owner) => Rendered::Dir(platform::compose(bundle, owner.secret_mode())?, *owner),
        Format::Age(recipients) => {
            Rendered::File(zeroize::Zeroizing::new(age_encrypt(&tar_gz(bundle, mtime)?, recipients)?))
        }
        Format::K8s(namespace) => Rendered::File(platform::kubernetes(bundle, namespace.as_deref())?),
        Format::Env => Rendered::File(platform::env(bundle)?),
        Format::P12(password) => {
            Rendered::File(platform::pkcs12(bundle, secrecy::ExposeSecret::expose_secret(password))?)
        }
        Format::TarGz => Rendered::File(tar_gz(bundle, mtime)?),
    })
}

/// Writes `bundle` to `out` in `format`; `out` must not exist. (Replacing a previous output is
/// `Exports::export_to`'s, which knows the vault's export history.)
pub fn write_bundle(bundle: &Bundle, format: &Format, out: &Path, mtime: u64) -> Result<()> {
    let target = replace::resolve(out)?;
    if fs::symlink_metadata(&target).is_ok() {
        return Err(Error::OutputExists { path: target });
    }
    write_output(&render(bundle, format, mtime)?, &target, None)
}

/// Writes `rendered` at the resolved path `target`. With no `replacing`, `target` must not exist
/// (and is not replaced if it appears meanwhile). With `replacing`, what is at `target` was judged
/// a previous output by that rule: the new output is written beside it, swapped in atomically,
/// and what was swapped out is judged again (it may have changed since) before it is removed,
/// or swapped back.
pub(crate) fn write_output(rendered: &Rendered, target: &Path, replacing: Option<&ReplaceRule>) -> Result<()> {
    let tmp = temp_beside(target, "new");
    let written = match rendered {
        Rendered::Dir(files, owner) => write_dir(files, *owner, &tmp),
        Rendered::File(bytes) => write_file(bytes, &tmp),
    };
    if let Err(e) = written {
        remove(&tmp, rendered.kind());
        return Err(e);
    }
    match replacing {
        None => place_new(&tmp, target, rendered.kind()),
        Some(rule) => swap_in(&tmp, target, rendered.kind(), rule),
    }
}

fn parent_of(p: &Path) -> &Path {
    p.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// A hidden name in the same directory as `out` (so renames between them are atomic).
fn temp_beside(out: &Path, what: &str) -> PathBuf {
    let name = out.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "bundle".into());
    out.with_file_name(format!(".{name}.keyloom-{what}-{}", crate::ids::RecordId::random().short()))
}

/// Removes one of our own temporary outputs (best effort: it is hidden and named as ours).
fn remove(path: &Path, kind: OutputKind) {
    let _ = match kind {
        OutputKind::Dir => fs::remove_dir_all(path),
        OutputKind::File => fs::remove_file(path),
    };
}

fn write_file(bytes: &[u8], path: &Path) -> Result<()> {
    fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .and_then(|mut f| f.write_all(bytes).and_then(|_| f.sync_all()))
        .map_err(Error::io("cannot write", path))
}

/// Renames `from` to `to` only if `to` does not exist (renameat2 RENAME_NOREPLACE where the
/// kernel and file system have it). `Ok(false)`: not supported here.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn rename_with(from: &Path, to: &Path, flags: rustix::fs::RenameFlags) -> std::io::Result<bool> {
    match rustix::fs::renameat_with(rustix::fs::CWD, from, rustix::fs::CWD, to, flags) {
        Ok(()) => Ok(true),
        Err(e)
            if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::OPNOTSUPP =>
        {
            Ok(false)
        }
        Err(e) => Err(e.into()),
    }
}

fn place_new(tmp: &Path, target: &Path, kind: OutputKind) -> Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let placed = rename_with(tmp, target, rustix::fs::RenameFlags::NOREPLACE);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let placed = Ok(false);
    let placed = placed.and_then(|done| {
        if done {
            return Ok(());
        }
        if fs::symlink_metadata(target).is_ok() {
            return Err(std::io::ErrorKind::AlreadyExists.into());
        }
        fs::rename(tmp, target)
    });
    if let Err(e) = placed {
        remove(tmp, kind);
        return Err(if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::WontReplace { path: target.to_path_buf(), why: "it appeared while the export was written".into() }
        } else {
            Error::io("cannot move into place", target)(e)
        });
    }
    durable::sync_dir(parent_of(target))
}

/// Swaps the new output at `tmp` with the previous one at `target`, then removes the previous one
/// (judged again first: the rule decided on what was there before the export started).
fn swap_in(tmp: &Path, target: &Path, kind: OutputKind, rule: &ReplaceRule) -> Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    let exchanged = rename_with(tmp, target, rustix::fs::RenameFlags::EXCHANGE);
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    let exchanged: std::io::Result<bool> = Ok(false);
    let old = match exchanged {
        Ok(true) => judge_exchanged(tmp, target, kind, rule)?,
        // No atomic exchange on this system or file system.
        Ok(false) => swap_by_renames(tmp, target, kind, rule)?,
        Err(e) => {
            remove(tmp, kind);
            return Err(Error::io("cannot swap the new output into place", target)(e));
        }
    };
    remove_previous(&old, target, kind)
}

/// After the exchange the previous output is at `tmp`: judged again, it is returned for removal,
/// or (changed meanwhile) exchanged back and the new output dropped.
fn judge_exchanged(tmp: &Path, target: &Path, kind: OutputKind, rule: &ReplaceRule) -> Result<PathBuf> {
    let Err(why) = rule.judge(tmp, target, kind) else { return Ok(tmp.to_path_buf()) };
    let refuse = |why: String| Error::WontReplace { path: target.to_path_buf(), why };
    #[cfg(any(target_os = "linux", target_os = "android"))]
    rename_with(tmp, target, rustix::fs::RenameFlags::EXCHANGE)
        .and_then(|done| if done { Ok(()) } else { Err(std::io::ErrorKind::Unsupported.into()) })
        .map_err(|e| refuse(format!("{why}; it was moved to {} and could not be put back: {e}", tmp.display())))?;
    remove(tmp, kind);
    Err(refuse(format!("{why} (it changed while the export was written)")))
}

/// Without an atomic exchange: the previous output is renamed aside, judged again, and the new one
/// renamed in; on any failure the previous one goes back. Returns where the previous one is.
fn swap_by_renames(tmp: &Path, target: &Path, kind: OutputKind, rule: &ReplaceRule) -> Result<PathBuf> {
    let refuse = |why: String| Error::WontReplace { path: target.to_path_buf(), why };
    let aside = temp_beside(target, "old");
    if let Err(e) = fs::rename(target, &aside) {
        remove(tmp, kind);
        return Err(Error::io("cannot move aside", target)(e));
    }
    let put_back = |why: String| {
        remove(tmp, kind);
        match fs::rename(&aside, target) {
            Ok(()) => refuse(why),
            Err(e) => refuse(format!("{why}; it was moved to {} and could not be put back: {e}", aside.display())),
        }
    };
    if let Err(why) = rule.judge(&aside, target, kind) {
        return Err(put_back(format!("{why} (it changed while the export was written)")));
    }
    if let Err(e) = fs::rename(tmp, target) {
        return Err(put_back(format!("cannot move the new output into place: {e}")));
    }
    Ok(aside)
}

/// Removes the previous output, now at `old`, once the new one is durably in place.
fn remove_previous(old: &Path, target: &Path, kind: OutputKind) -> Result<()> {
    durable::sync_dir(parent_of(target))?;
    match kind {
        OutputKind::Dir => fs::remove_dir_all(old),
        OutputKind::File => fs::remove_file(old),
    }
    .map_err(Error::io("the new output is in place, but the previous one could not be removed from", old))?;
    durable::sync_dir(parent_of(target))
}

fn write_dir(files: &[BundleFile], owner: FileOwner, dir: &Path) -> Result<()> {
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
        if f.mode != crate::export::bundle::PUBLIC_MODE && (owner.uid.is_some() || owner.gid.is_some()) {
            std::os::unix::fs::fchown(&file, owner.uid, owner.gid).map_err(|e| {
                let who = match (owner.uid, owner.gid) {
                    (Some(u), Some(g)) => format!("{u}:{g}"),
                    (Some(u), None) => format!("uid {u}"),
                    (None, g) => format!("gid {}", g.unwrap_or_default()),
                };
                Error::Invalid(format!(
                    "cannot give {} to {who}: {e} (changing a file's owner needs root; its group, a group you belong to)",
                    path.display()
                ))
            })?;
        }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::export::replace::OutputRecord;

    fn rule_for(target: &Path, recorded: &[u8]) -> ReplaceRule {
        let (sha256, size) = replace::file_fingerprint(recorded);
        let record = OutputRecord {
            id: crate::ids::RecordId::random(),
            export_id: crate::ids::RecordId::random(),
            path: target.to_string_lossy().into_owned(),
            kind: OutputKind::File,
            sha256,
            size,
            created: time::OffsetDateTime::now_utc(),
        };
        let key = ed25519_dalek::SigningKey::from_bytes(&[7; 32]).verifying_key();
        ReplaceRule::new(key, vec![record], Path::new("/nonexistent-vault"))
    }

    fn names(dir: &Path) -> Vec<String> {
        let mut v: Vec<_> =
            fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into()).collect();
        v.sort();
        v
    }

    #[test]
    fn service_names_that_are_not_file_names_get_no_output_path() {
        let out = Path::new("/srv/bundles");
        assert_eq!(target_in(out, "payments", &Format::TarGz).unwrap(), out.join("payments.tar.gz"));
        for bad in ["..", ".", "", "a/b", ".hidden", "../x"] {
            assert!(target_in(out, bad, &Format::Dir).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_recorded_file_is_replaced_by_exchange_and_by_renames() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let target = dir.join("p.tar.gz");
        fs::write(&target, b"old output").unwrap();
        let rule = rule_for(&target, b"old output");
        assert!(rule.check(&target, OutputKind::File, true).unwrap());
        write_output(&Rendered::File(zeroize::Zeroizing::new(b"new".to_vec())), &target, Some(&rule)).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"new");
        assert_eq!(names(&dir), ["p.tar.gz"]);

        // The same through the fallback for systems without RENAME_EXCHANGE.
        let rule = rule_for(&target, b"new");
        let new = dir.join(".p.tar.gz.keyloom-new-test");
        fs::write(&new, b"newer").unwrap();
        let old = swap_by_renames(&new, &target, OutputKind::File, &rule).unwrap();
        remove_previous(&old, &target, OutputKind::File).unwrap();
        assert_eq!(fs::read(&target).unwrap(), b"newer");
        assert_eq!(names(&dir), ["p.tar.gz"]);
    }

    #[test]
    fn what_changed_after_the_check_is_put_back_not_removed() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = fs::canonicalize(tmp.path()).unwrap();
        let target = dir.join("p.env");
        fs::write(&target, b"A=1\n").unwrap();
        let rule = rule_for(&target, b"A=1\n");
        assert!(rule.check(&target, OutputKind::File, true).unwrap());
        // Someone puts their own file there between the check and the swap.
        fs::write(&target, b"theirs").unwrap();
        let err = write_output(&Rendered::File(zeroize::Zeroizing::new(b"B=2\n".to_vec())), &target, Some(&rule))
            .unwrap_err();
        assert!(matches!(err, Error::WontReplace { .. } | Error::OutputExists { .. }), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"theirs");
        assert_eq!(names(&dir), ["p.env"]);

        let new = dir.join(".p.env.keyloom-new-test");
        fs::write(&new, b"B=2\n").unwrap();
        let err = swap_by_renames(&new, &target, OutputKind::File, &rule).unwrap_err();
        assert!(err.to_string().contains("changed while the export was written"), "{err}");
        assert_eq!(fs::read(&target).unwrap(), b"theirs");
        assert_eq!(names(&dir), ["p.env"]);
    }
}
