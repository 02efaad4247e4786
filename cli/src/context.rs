//! Opening the vault a command names, and unlocking it from whatever the user provided: an
//! agent holding it unlocked (`keyloom unlock`), the device slot when `device enable --cli`
//! allowed it, `--passphrase-file`, `KEYLOOM_PASSPHRASE`, or a prompt on a terminal.
//!
//! Inside the agent, the context holds the agent's unlocked vault and every command works on it.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::time::Duration;

use vault_data::{Error, SlotKind, Unlock, Vault};

use crate::error::{CliError, CliResult};
use crate::secret_input;

pub struct Context {
    pub vault_dir: PathBuf,
    pub passphrase_file: Option<PathBuf>,
    /// The key file of a two-factor slot (`--key-file`, KEYLOOM_KEY_FILE).
    pub key_file: Option<PathBuf>,
    pub json: bool,
    /// How long to wait for another process to close the vault.
    pub wait: Duration,
    /// The agent's unlocked vault, lent to the command it is running.
    held: RefCell<Option<Vault>>,
}

/// A vault a command works on: opened for this command, or the agent's, lent for its duration.
pub struct VaultHandle<'a> {
    vault: Option<Vault>,
    home: Option<&'a RefCell<Option<Vault>>>,
}

impl Deref for VaultHandle<'_> {
    type Target = Vault;
    fn deref(&self) -> &Vault {
        match &self.vault {
            Some(v) => v,
            None => unreachable!("a vault handle holds its vault until it is closed"),
        }
    }
}

impl DerefMut for VaultHandle<'_> {
    fn deref_mut(&mut self) -> &mut Vault {
        match &mut self.vault {
            Some(v) => v,
            None => unreachable!("a vault handle holds its vault until it is closed"),
        }
    }
}

impl VaultHandle<'_> {
    /// Closes a vault opened for this command (writing its snapshot); gives the agent's back.
    pub fn close(mut self) -> CliResult<()> {
        match (self.vault.take(), self.home) {
            (Some(v), Some(home)) => {
                *home.borrow_mut() = Some(v);
                Ok(())
            }
            (Some(v), None) => Ok(v.close()?),
            (None, _) => Ok(()),
        }
    }
}

impl Drop for VaultHandle<'_> {
    fn drop(&mut self) {
        if let (Some(v), Some(home)) = (self.vault.take(), self.home) {
            *home.borrow_mut() = Some(v);
        }
    }
}

impl Context {
    pub fn new(
        vault: Option<PathBuf>,
        passphrase_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
        json: bool,
        wait: Duration,
    ) -> CliResult<Context> {
        let vault_dir = match vault {
            Some(v) => v,
            None => vault_data::paths::default_vault_dir()?,
        };
        Ok(Context { vault_dir, passphrase_file, key_file, json, wait, held: RefCell::new(None) })
    }

    /// A context for one command run by the agent on its unlocked `vault`.
    pub fn for_agent(
        template: &Context,
        passphrase_file: Option<PathBuf>,
        key_file: Option<PathBuf>,
        json: bool,
        vault: Vault,
    ) -> Context {
        Context {
            vault_dir: template.vault_dir.clone(),
            passphrase_file,
            key_file,
            json,
            wait: Duration::ZERO,
            held: RefCell::new(Some(vault)),
        }
    }

    /// Takes the agent's vault back after the command.
    pub fn into_held(self) -> Option<Vault> {
        self.held.into_inner()
    }

    pub fn passphrase_file(&self) -> Option<&Path> {
        self.passphrase_file.as_deref()
    }

    fn lent(&self) -> Option<VaultHandle<'_>> {
        self.held.borrow_mut().take().map(|v| VaultHandle { vault: Some(v), home: Some(&self.held) })
    }

    /// Opens the vault, locked (the agent's is already unlocked).
    pub fn open(&self) -> CliResult<VaultHandle<'_>> {
        if let Some(h) = self.lent() {
            return Ok(h);
        }
        let vault = Vault::open_wait(&self.vault_dir, self.wait).map_err(in_use_hint)?;
        Ok(VaultHandle { vault: Some(vault), home: None })
    }

    /// Opens and unlocks by any available method, prompting on a terminal as a last resort. The
    /// key derivation runs before the vault's lock is taken.
    pub fn open_unlocked(&self) -> CliResult<VaultHandle<'_>> {
        if let Some(h) = self.lent() {
            return Ok(h);
        }
        if self.device_allowed_for_cli() {
            match Vault::open_unlocked(&self.vault_dir, Unlock::Device, self.wait) {
                Ok(v) => return Ok(VaultHandle { vault: Some(v), home: None }),
                Err(e @ (Error::Keyring(_) | Error::WrongKey | Error::Invalid(_) | Error::NoUnlockMethod(_))) => {
                    eprintln!("note: device unlock: {e}")
                }
                Err(e) => return Err(in_use_hint(e)),
            }
        }
        let method = self.real_factor()?;
        self.wait_out_failed_unlocks();
        let vault = Vault::open_unlocked(&self.vault_dir, method, self.wait).map_err(in_use_hint)?;
        report_failed_unlocks(&vault);
        report_notices(&vault);
        Ok(VaultHandle { vault: Some(vault), home: None })
    }

    /// After failed unlocks, every front end waits (1, 2, 4 … 60 s) before trying again; the
    /// count lives beside the vault, so a new process does not start afresh.
    fn wait_out_failed_unlocks(&self) {
        let delay = vault_data::unlock_delay(&self.vault_dir);
        if !delay.is_zero() {
            let n = vault_data::store::failures::read(&self.vault_dir).count;
            eprintln!("{n} failed unlock attempts: waiting {} s before trying again", delay.as_secs_f64().ceil());
            std::thread::sleep(delay);
        }
    }

    /// Opens and unlocks with `method` (a real factor the command also uses as proof); inside
    /// the agent, the agent's vault (the operation checks the proof itself).
    pub fn open_unlocked_with(&self, method: &Unlock) -> CliResult<VaultHandle<'_>> {
        if let Some(h) = self.lent() {
            return Ok(h);
        }
        self.wait_out_failed_unlocks();
        let vault = Vault::open_unlocked(&self.vault_dir, method.clone(), self.wait).map_err(in_use_hint)?;
        report_failed_unlocks(&vault);
        report_notices(&vault);
        Ok(VaultHandle { vault: Some(vault), home: None })
    }

    /// The passphrase (file, environment, prompt): a real factor, for commands that change how
    /// the vault is unlocked and for starting an agent.
    pub fn real_factor(&self) -> CliResult<Unlock> {
        match secret_input::passphrase(self.passphrase_file())? {
            Some(p) => self.with_key_file(p),
            None => Err(Error::NoUnlockMethod(
                "set KEYLOOM_PASSPHRASE, pass --passphrase-file, start an agent with `keyloom unlock`, or run on a terminal"
                    .into(),
            )
            .into()),
        }
    }

    /// The passphrase as an unlock method: with the key file when one was given (two-factor).
    pub fn with_key_file(&self, passphrase: vault_data::SecretString) -> CliResult<Unlock> {
        match &self.key_file {
            Some(f) => Ok(Unlock::TwoFactor(passphrase, vault_data::KeyFile::read(f)?)),
            None => Ok(Unlock::Passphrase(passphrase)),
        }
    }

    /// Whether the CLI may use the device slot (`device enable --cli` said so; a marker beside
    /// the vault, so no unlock is needed to read it).
    fn device_allowed_for_cli(&self) -> bool {
        vault_data::device_cli_allowed(&self.vault_dir)
    }

    /// Unlocks an open vault without prompting (for commands that work locked too).
    pub fn unlock_quietly(&self, vault: &mut Vault) -> CliResult<()> {
        if vault.is_unlocked() {
            return Ok(());
        }
        if self.device_allowed_for_cli()
            && vault.status()?.slots.iter().any(|s| s.kind == SlotKind::Device)
            && vault.unlock(Unlock::Device).is_ok()
        {
            return Ok(());
        }
        match secret_input::passphrase_non_interactive(self.passphrase_file())? {
            Some(p) => Ok(vault.unlock(self.with_key_file(p)?)?),
            None => Err(Error::NoUnlockMethod("no passphrase was given".into()).into()),
        }
    }

    /// Prints `value` as pretty JSON.
    pub fn print_json<T: serde::Serialize>(&self, value: &T) -> CliResult<()> {
        let s = serde_json::to_string_pretty(value).map_err(|e| CliError::Usage(format!("cannot encode JSON: {e}")))?;
        println!("{s}");
        Ok(())
    }
}

/// Tells the user about failed unlocks since their last one (the counter is cleared now).
/// Tells the user what the unlock noticed (an adopted anchor, an accepted rollback).
pub fn report_notices(vault: &Vault) {
    for n in vault.notices() {
        eprintln!("note: {n}");
    }
}

pub fn report_failed_unlocks(vault: &Vault) {
    let f = vault.failed_unlocks_before();
    if f.count > 0 {
        let last = f.last.map(|t| format!(", the last at {}", when(t))).unwrap_or_default();
        eprintln!("warning: {} failed unlock attempt(s) since the last successful unlock{last}", f.count);
    }
}

/// "In use" says how to share the vault instead of waiting for it.
fn in_use_hint(e: Error) -> CliError {
    match e {
        Error::InUse { .. } => CliError::Usage(format!(
            "{e} (waited for it to close); to run commands side by side, start an agent: `keyloom unlock`"
        )),
        other => other.into(),
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
    // Keyloom runs with umask 077 (vault_data::process), which made public files (certificates,
    // CRLs, the signing public key) 0600; set exactly the mode asked for.
    f.set_permissions(std::os::unix::fs::PermissionsExt::from_mode(mode))
        .map_err(CliError::file("cannot set mode of", path))?;
    f.write_all(bytes).and_then(|_| f.sync_all()).map_err(CliError::file("cannot write", path))
}

/// A progress bar on stderr for `total` steps (hidden when stderr is not a terminal).
pub fn progress(total: usize, what: &str) -> indicatif::ProgressBar {
    if crate::output::is_remote() {
        // The agent has no terminal of its own to draw on.
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::with_draw_target(Some(total as u64), indicatif::ProgressDrawTarget::stderr());
    if let Ok(style) = indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({per_sec})") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}
