//! The CLI's error type and its exit codes: 0 ok, 1 user error, 2 locked/auth failure,
//! 3 integrity failure.

use std::path::PathBuf;

use vault_data::ErrorCategory;

#[derive(Debug, thiserror::Error)]
pub enum CliError {
    #[error(transparent)]
    Vault(#[from] vault_data::Error),
    #[error("{action} {}: {source}", .path.display())]
    File { action: &'static str, path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Usage(String),
    /// A check that ran and found problems (already printed); exit 3.
    #[error("{0}")]
    CheckFailed(String),
    /// Some services could not be synced (listed already); the rest were. Exit 1.
    #[error("{0} service(s) could not be synced; run it again to finish")]
    SyncIncomplete(usize),
    /// A sync left conflicts (listed already); exit 1.
    #[error("{0} conflict(s) remain: keep one side of each with `keyloom conflicts resolve`")]
    Conflicts(usize),
    /// An error reported by another keyloom process (the agent), with its exit code.
    #[error("{message}")]
    Exit { code: i32, message: String },
}

impl CliError {
    pub fn exit_code(&self) -> i32 {
        match self {
            CliError::Vault(e) => match e.category() {
                ErrorCategory::User => 1,
                ErrorCategory::Auth => 2,
                ErrorCategory::Integrity => 3,
            },
            CliError::File { .. } | CliError::Usage(_) | CliError::Conflicts(_) | CliError::SyncIncomplete(_) => 1,
            CliError::CheckFailed(_) => 3,
            CliError::Exit { code, .. } => *code,
        }
    }

    /// A stable machine-readable code, for `--json` output.
    pub fn code(&self) -> &'static str {
        match self {
            CliError::Vault(e) => e.code(),
            CliError::File { .. } => "io",
            CliError::Usage(_) => "usage",
            CliError::CheckFailed(_) => "check_failed",
            CliError::Conflicts(_) => "conflicts",
            CliError::SyncIncomplete(_) => "sync_incomplete",
            CliError::Exit { .. } => "agent",
        }
    }

    /// What to do next, where the error alone does not say (printed as `hint:` under it): the
    /// core's typed hint, rendered as the commands that do it.
    pub fn hint(&self) -> Option<&'static str> {
        use vault_data::ErrorHint;
        let CliError::Vault(e) = self else { return None };
        Some(match e.hint()? {
            ErrorHint::CreateVault => "create one with `keyloom init` (or pass --vault PATH)",
            ErrorHint::RestoreFromSnapshot => {
                "`keyloom doctor` says what is damaged; `keyloom doctor --restore` rebuilds the vault from its snapshot"
            }
            ErrorHint::AcceptRollback => {
                "`keyloom doctor` says more; if you put this copy back on purpose, accept it with \
                 `keyloom doctor --accept-rollback` (needs the passphrase or recovery key; recorded in the audit log)"
            }
            ErrorHint::ForceAnyway => "pass --force to go ahead anyway",
            ErrorHint::SecretsOnly => "pass --secrets-only to take the service's secrets without its certificate and key",
            ErrorHint::ForceReplace => {
                "pass --force to replace it: only a previous Keyloom export is ever replaced (its recorded hash or signed manifest)"
            }
        })
    }

    pub fn file(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> CliError {
        let path = path.into();
        move |source| CliError::File { action, path, source }
    }
}

pub type CliResult<T = ()> = Result<T, CliError>;
