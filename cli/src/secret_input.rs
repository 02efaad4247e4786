//! Where passphrases and secret values come from: files, environment variables, hidden prompts
//! on a terminal, or standard input.

use std::io::Read;
use std::path::Path;

use vault_data::SecretString;
use zeroize::Zeroizing;

use crate::error::{CliError, CliResult};

/// Reads a file holding one secret line (a passphrase or key); drops the line ending.
pub fn read_secret_file(path: &Path) -> CliResult<SecretString> {
    let raw = Zeroizing::new(std::fs::read(path).map_err(CliError::file("cannot read", path))?);
    let text =
        std::str::from_utf8(&raw).map_err(|_| CliError::Usage(format!("{} is not UTF-8 text", path.display())))?;
    let line = text.strip_suffix('\n').unwrap_or(text);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(CliError::Usage(format!("{} is empty", path.display())));
    }
    Ok(SecretString::from(line.to_string()))
}

fn from_env(var: &str) -> Option<SecretString> {
    crate::output::env_var(var).filter(|v| !v.is_empty()).map(SecretString::from)
}

fn prompt(label: &str) -> CliResult<SecretString> {
    rpassword::prompt_password(label)
        .map(SecretString::from)
        .map_err(|e| CliError::Usage(format!("cannot read from the terminal: {e}")))
}

fn interactive() -> bool {
    crate::output::interactive()
}

/// The current passphrase without prompting: `--passphrase-file`, then `KEYLOOM_PASSPHRASE`.
pub fn passphrase_non_interactive(file: Option<&Path>) -> CliResult<Option<SecretString>> {
    match file {
        Some(f) => read_secret_file(f).map(Some),
        None => Ok(from_env("KEYLOOM_PASSPHRASE")),
    }
}

/// The current passphrase: file, environment, or a hidden prompt on a terminal.
pub fn passphrase(file: Option<&Path>) -> CliResult<Option<SecretString>> {
    if let Some(p) = passphrase_non_interactive(file)? {
        return Ok(Some(p));
    }
    if interactive() {
        return prompt("Vault passphrase: ").map(Some);
    }
    Ok(None)
}

/// A new passphrase: file, `env_var`, or asked twice on a terminal.
pub fn new_passphrase(file: Option<&Path>, env_var: &str) -> CliResult<SecretString> {
    if let Some(f) = file {
        return read_secret_file(f);
    }
    if let Some(p) = from_env(env_var) {
        return Ok(p);
    }
    if !interactive() {
        return Err(CliError::Usage(format!(
            "no new passphrase: set {env_var}, pass a passphrase file, or run on a terminal"
        )));
    }
    let a = prompt("New passphrase: ")?;
    let b = prompt("Repeat it: ")?;
    use vault_data::ExposeSecret;
    if a.expose_secret() != b.expose_secret() {
        return Err(CliError::Usage("the two passphrases differ; nothing was changed".into()));
    }
    Ok(a)
}

/// Applies the passphrase policy to a new passphrase: refuses what the policy refuses (as the
/// desktop app does), and warns on stderr when it is accepted but weak.
pub fn check_new_passphrase(p: &SecretString) -> CliResult<()> {
    use vault_data::ExposeSecret;
    let s = vault_data::PassphrasePolicy::STANDARD.check_new(p.expose_secret())?;
    if s.weak {
        eprintln!(
            "warning: this passphrase is weak (strength {}/4){}",
            s.score,
            s.suggestion.map(|h| format!(": {h}")).unwrap_or_default()
        );
    }
    Ok(())
}

/// A secret value: a file, standard input, or a hidden prompt on a terminal.
pub fn secret_value(file: Option<&Path>, keep_newline: bool) -> CliResult<Zeroizing<Vec<u8>>> {
    let mut raw = Zeroizing::new(Vec::new());
    match file {
        Some(f) => *raw = std::fs::read(f).map_err(CliError::file("cannot read", f))?,
        None if crate::output::stdin_is_terminal() => {
            if crate::output::is_remote() {
                return Err(CliError::Usage("no value: pipe it in or pass --file".into()));
            }
            let v = prompt("Value (hidden): ")?;
            use vault_data::ExposeSecret;
            raw.extend_from_slice(v.expose_secret().as_bytes());
        }
        None => {
            crate::output::stdin()
                .read_to_end(&mut raw)
                .map_err(|e| CliError::Usage(format!("cannot read the value from stdin: {e}")))?;
        }
    }
    if !keep_newline {
        if raw.ends_with(b"\r\n") {
            let n = raw.len() - 2;
            raw.truncate(n);
        } else if raw.ends_with(b"\n") {
            let n = raw.len() - 1;
            raw.truncate(n);
        }
    }
    Ok(raw)
}
