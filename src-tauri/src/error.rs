//! The desktop app's one error type, and the `{code, message}` shape errors take over IPC.

use serde::Serialize;

/// What a command can fail with. Messages come from `vault_data` or are written here; neither
/// ever contains a secret.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Anything the vault library refused or failed at.
    #[error(transparent)]
    Vault(#[from] vault_data::Error),
    /// No vault has been created or opened in this window yet.
    #[error("no vault is open: create one, open a vault folder or explore the demo")]
    NoVault,
    /// Too many wrong passphrases in a row.
    #[error("too many wrong attempts: try again in {0} s")]
    Throttled(u64),
    /// A command that needs the vault unlocked was called while it is locked.
    #[error("the vault is locked: unlock it first")]
    Locked,
    /// Input the UI sent that cannot be used.
    #[error("{0}")]
    Invalid(String),
    /// The system clipboard could not be used.
    #[error("the clipboard is not available: {0}")]
    Clipboard(String),
    /// A background task died (a bug, reported rather than hidden).
    #[error("internal error: {0}")]
    Internal(String),
    /// A file of the app's own (settings, the recovery key file) could not be written.
    #[error("cannot write {path}: {reason}")]
    File {
        /// The file.
        path: String,
        /// The OS's reason.
        reason: String,
    },
}

/// The codes only the app has; every other code is a [`vault_data::ErrorCode`]. Together they
/// are the `IpcErrorCode` union the page compares against (generated into bindings.ts).
pub const APP_ONLY_CODES: &[&str] = &["no_vault", "throttled", "clipboard", "internal"];

impl AppError {
    /// A stable, machine-readable code for the UI to branch on.
    pub fn code(&self) -> &'static str {
        use vault_data::ErrorCode;
        match self {
            AppError::Vault(e) => e.code(),
            AppError::NoVault => APP_ONLY_CODES[0],
            AppError::Throttled(_) => APP_ONLY_CODES[1],
            AppError::Locked => ErrorCode::Locked.as_str(),
            AppError::Invalid(_) => ErrorCode::Invalid.as_str(),
            AppError::Clipboard(_) => APP_ONLY_CODES[2],
            AppError::File { .. } => ErrorCode::Io.as_str(),
            AppError::Internal(_) => APP_ONLY_CODES[3],
        }
    }
}

/// The TypeScript declaration of the codes an [`IpcError`] carries.
pub fn ipc_error_code_decl() -> String {
    let app: Vec<String> = APP_ONLY_CODES.iter().map(|c| format!("\"{c}\"")).collect();
    format!("export type IpcErrorCode = ErrorCode | {};", app.join(" | "))
}

/// An error as the UI receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct IpcError {
    /// Stable code, e.g. `wrong_key`, `locked`, `unknown_service`.
    #[ts(type = "IpcErrorCode")]
    pub code: String,
    /// A sentence a person can act on.
    pub message: String,
    /// A known way out, which the page renders in its own words.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub hint: Option<vault_data::ErrorHint>,
}

impl From<&AppError> for IpcError {
    fn from(e: &AppError) -> Self {
        let hint = match e {
            AppError::Vault(v) => v.hint(),
            _ => None,
        };
        IpcError { code: e.code().to_string(), message: e.to_string(), hint }
    }
}

impl Serialize for AppError {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        IpcError::from(self).serialize(s)
    }
}

/// Result of every command.
pub type AppResult<T> = Result<T, AppError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_cross_ipc_as_code_and_message() {
        let e = AppError::from(vault_data::Error::UnknownService("billing".into()));
        let json = serde_json::to_value(&e).unwrap();
        assert_eq!(json, serde_json::json!({"code": "unknown_service", "message": "unknown service \"billing\""}));
        let json = serde_json::to_value(AppError::Throttled(4)).unwrap();
        assert_eq!(json["code"], "throttled");
        assert!(json["message"].as_str().unwrap().contains("4 s"));
    }
}
