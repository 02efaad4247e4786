//! Opening the vault a command names, and unlocking it from whatever the user provided:
//! a session (`KEYLOOM_SESSION`), the device slot, `--passphrase-file`, `KEYLOOM_PASSPHRASE`,
//! or a prompt on a terminal, in that order.

use std::path::{Path, PathBuf};

use vault_data::{Error, SecretString, SlotKind, Unlock, Vault};

use crate::error::{CliError, CliResult};
use crate::secret_input;

pub struct Context {
    pub vault_dir: PathBuf,
    pub passphrase_file: Option<PathBuf>,
    pub json: bool,
}

impl Context {
    pub fn new(vault: Option<PathBuf>, passphrase_file: Option<PathBuf>, json: bool) -> CliResult<Context> {
        let vault_dir = match vault {
            Some(v) => v,
            None => vault_data::paths::default_vault_dir()?,
        };
        Ok(Context { vault_dir, passphrase_file, json })
    }

    pub fn passphrase_file(&self) -> Option<&Path> {
        self.passphrase_file.as_deref()
    }

    /// Opens the vault, locked.
    pub fn open(&self) -> CliResult<Vault> {
        Ok(Vault::open(&self.vault_dir)?)
    }

    /// Opens and unlocks by any available method, prompting on a terminal as a last resort.
    pub fn open_unlocked(&self) -> CliResult<Vault> {
        let mut vault = self.open()?;
        self.unlock(&mut vault, true)?;
        Ok(vault)
    }

    /// Opens and unlocks with the passphrase only (for passwd and rekey, which must prove it).
    pub fn open_with_passphrase(&self) -> CliResult<(Vault, SecretString)> {
        let mut vault = self.open()?;
        let p = secret_input::passphrase(self.passphrase_file())?.ok_or_else(|| {
            Error::NoUnlockMethod("this needs the current passphrase: set KEYLOOM_PASSPHRASE, pass --passphrase-file, or run on a terminal".into())
        })?;
        vault.unlock(Unlock::Passphrase(p.clone()))?;
        Ok((vault, p))
    }

    /// Unlocks with the first method that works. `prompt` allows asking on a terminal.
    pub fn unlock(&self, vault: &mut Vault, prompt: bool) -> CliResult<()> {
        let mut tried = Vec::new();
        if let Some(token) = std::env::var("KEYLOOM_SESSION").ok().filter(|t| !t.is_empty()) {
            match vault.unlock(Unlock::Session(SecretString::from(token))) {
                Ok(()) => return Ok(()),
                Err(e @ (Error::SessionExpired(_) | Error::SessionEnded | Error::WrongKey | Error::Invalid(_))) => {
                    tried.push(format!("session: {e}"))
                }
                Err(e) => return Err(e.into()),
            }
        }
        if vault.status()?.slots.iter().any(|s| s.kind == SlotKind::Device) {
            match vault.unlock(Unlock::Device) {
                Ok(()) => return Ok(()),
                Err(e @ (Error::Keyring(_) | Error::WrongKey | Error::Invalid(_))) => {
                    tried.push(format!("device: {e}"))
                }
                Err(e) => return Err(e.into()),
            }
        }
        let passphrase = if prompt {
            secret_input::passphrase(self.passphrase_file())?
        } else {
            secret_input::passphrase_non_interactive(self.passphrase_file())?
        };
        match passphrase {
            Some(p) => Ok(vault.unlock(Unlock::Passphrase(p))?),
            None => {
                for t in &tried {
                    eprintln!("note: {t}");
                }
                Err(Error::NoUnlockMethod(
                    "set KEYLOOM_PASSPHRASE, pass --passphrase-file, start a session with `keyloom unlock`, or run on a terminal".into(),
                )
                .into())
            }
        }
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json<T: serde::Serialize>(&self, value: &T) -> CliResult<()> {
        let s = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(format!("cannot encode JSON: {e}")))?;
        println!("{s}");
        Ok(())
    }
}

/// Formats a timestamp for people: RFC 3339 to the second, UTC.
pub fn when(t: time::OffsetDateTime) -> String {
    let t = t.replace_nanosecond(0).unwrap_or(t);
    t.format(&time::format_description::well_known::Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// A plain table for terminal output.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut t = comfy_table::Table::new();
    t.load_preset(comfy_table::presets::NOTHING);
    t.set_header(header.iter().map(|h| h.to_uppercase()));
    for r in rows {
        t.add_row(r);
    }
    t.to_string().lines().map(|l| l.trim_end()).collect::<Vec<_>>().join("\n")
}

/// Writes a new file (refusing to replace an existing one) with `mode`, synced before returning.
pub fn write_new_file(path: &Path, bytes: &[u8], mode: u32) -> CliResult<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                CliError::Usage(format!("{} exists; refusing to overwrite it", path.display()))
            }
            _ => CliError::File { action: "cannot create", path: path.to_path_buf(), source: e },
        })?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(CliError::file("cannot write", path))
}

/// A progress bar on stderr for `total` steps (hidden when stderr is not a terminal).
pub fn progress(total: usize, what: &str) -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
