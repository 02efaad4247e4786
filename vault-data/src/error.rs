//! The one error type of `vault_data`, with messages a person can act on.
//!
//! Messages never contain secret material: no passphrase, key, credential value or plaintext
//! record content is ever formatted into an error.

use std::path::PathBuf;

/// A name that was not found, with the known names closest to it ("did you mean").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The name as given.
    pub name: String,
    /// Known names close to it, closest first (at most three).
    pub suggestions: Vec<String>,
}

impl Missing {
    /// `name`, with the known names among `known` that are close to it.
    pub fn among<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Missing {
        Missing { name: name.to_string(), suggestions: crate::model::names::closest(name, known) }
    }
}

impl From<&str> for Missing {
    fn from(name: &str) -> Missing {
        Missing { name: name.to_string(), suggestions: Vec::new() }
    }
}

impl From<String> for Missing {
    fn from(name: String) -> Missing {
        Missing { name, suggestions: Vec::new() }
    }
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.name)?;
        if !self.suggestions.is_empty() {
            let q: Vec<String> = self.suggestions.iter().map(|s| format!("{s:?}")).collect();
            write!(f, "; did you mean {}?", q.join(" or "))?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the vault library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The passphrase, recovery key or device key did not open any slot.
    #[error("wrong passphrase or key")]
    WrongKey,
    /// An operation needs the vault unlocked.
    #[error("the vault is locked: unlock it with the passphrase, the recovery key or the device key")]
    Locked,
    /// No unlock method was available (no passphrase given, no agent, no device key).
    #[error("no way to unlock the vault: {0}")]
    NoUnlockMethod(String),
    /// The operation changes how the vault is unlocked (or rolls it back), and the vault was
    /// unlocked by something that is not a real factor (the device key, an agent).
    #[error("{0} needs the passphrase or the recovery key, not a device or agent unlock")]
    NeedsRealFactor(String),
    /// The directory holds no vault.
    #[error("no vault at {}", .0.display())]
    NotFound(PathBuf),
    /// `create` was pointed at an existing vault.
    #[error("a vault already exists at {}", .0.display())]
    AlreadyExists(PathBuf),
    /// Another process holds the vault open.
    #[error("vault is in use by process {pid}")]
    InUse {
        /// The process id written by the holder, or "unknown".
        pid: String,
    },
    /// A service name that is not in the vault.
    #[error("unknown service {0}")]
    UnknownService(Missing),
    /// A secret reference (`service/NAME`) that is not in the vault.
    #[error("unknown secret {0}")]
    UnknownSecret(Missing),
    /// A CA name that is not in the vault.
    #[error("unknown CA {0}")]
    UnknownCa(Missing),
    /// An environment no service is in.
    #[error("unknown environment {0}")]
    UnknownEnvironment(Missing),
    /// A remote (secrets server) name that is not in the vault.
    #[error("unknown remote {0}")]
    UnknownRemote(Missing),
    /// A certificate id or service with no certificate.
    #[error("no certificate {0}")]
    UnknownCertificate(String),
    /// An intent that is not in the vault.
    #[error("no intent from {from:?} to {to:?}")]
    UnknownIntent {
        /// Calling service.
        from: String,
        /// Called service.
        to: String,
    },
    /// A name that must be unique is taken.
    #[error("{kind} {name:?} already exists")]
    Exists {
        /// What kind of object ("service", "intent", ...).
        kind: &'static str,
        /// The name that is taken.
        name: String,
    },
    /// A name that differs only in case from one in use (names are unique ignoring case).
    #[error("{kind} {name:?} differs only in case from the {kind} {existing:?} in use; use that spelling, or rename it first")]
    CaseClash {
        /// What kind of name ("environment", ...).
        kind: &'static str,
        /// The name given.
        name: String,
        /// The spelling in use.
        existing: String,
    },
    /// Removing something that other records still point at.
    #[error(
        "service {name:?} is still referenced by {references}; remove those first (removing it anyway also \
         removes its secrets and intents and revokes its active certificates)"
    )]
    StillReferenced {
        /// The service being removed.
        name: String,
        /// A readable list of what refers to it.
        references: String,
    },
    /// Something other than a service that others still depend on (a remote linked CAs sign
    /// through); nothing was changed.
    #[error("{subject} is used by {}; remove those first", .users.join(", "))]
    UsedBy {
        /// What was to be removed.
        subject: String,
        /// What depends on it.
        users: Vec<String>,
    },
    /// An export found something at its output path and was not asked to replace it; a previous
    /// Keyloom output there may be replaced on request. Nothing was written or removed.
    #[error("will not replace {}: it exists", .path.display())]
    OutputExists {
        /// The output path, resolved.
        path: PathBuf,
    },
    /// A bundle with TLS files was asked of a service without an active certificate.
    #[error("{service} has no active certificate: issue one, or take its secrets only")]
    NoActiveCertificate {
        /// The service.
        service: String,
    },
    /// A secret is named like a variable `run` sets to a TLS file path.
    #[error("{secret} has the name of a variable `run` sets to a TLS file path; rename the secret, or take its service's secrets only")]
    TlsVariableName {
        /// SERVICE/NAME of the secret.
        secret: String,
    },
    /// A refusal the user may override (the CLI's `--force`): `refusal` says what stands in the
    /// way, `anyway` what overriding it does.
    #[error("{refusal} ({anyway})")]
    NeedsForce {
        /// What stands in the way.
        refusal: String,
        /// What going ahead anyway does.
        anyway: String,
    },
    /// An export would replace something that is not a previous Keyloom output; nothing was
    /// written or removed.
    #[error("will not replace {}: {why}", .path.display())]
    WontReplace {
        /// The output path, resolved.
        path: PathBuf,
        /// Why not.
        why: String,
    },
    /// An export option that the chosen format needs but did not get (`needed`), or that does
    /// not go with it. Each shell names the option its own way (a flag, a field).
    #[error("{}", export_option_message(.option, .format, *.needed))]
    ExportOption {
        /// Which option.
        option: ExportField,
        /// The format chosen.
        format: String,
        /// True: the format needs it; false: it does not go with this format.
        needed: bool,
    },
    /// A word that is not one of the accepted choices (a key type, an export format, ...).
    #[error("unknown {what} {given:?}: use {}", one_of(.choices))]
    UnknownChoice {
        /// What was being chosen.
        what: Choice,
        /// The word given.
        given: String,
        /// The accepted words.
        choices: Vec<String>,
    },
    /// A number outside the range a rule allows.
    #[error("{what} {value} is outside {min}..={max}")]
    OutOfRange {
        /// What the number counts.
        what: Quantity,
        /// The number given.
        value: u64,
        /// The smallest allowed.
        min: u64,
        /// The largest allowed.
        max: u64,
    },
    /// An edit that would change nothing (a rename to the same name, the same policy again).
    #[error("{subject} already has that {what}")]
    Unchanged {
        /// What was being edited (a service, CA or secret, shown as the user names it).
        subject: String,
        /// Which property ("name", "policy").
        what: &'static str,
    },
    /// The agent's socket or conversation failed, or the other end was refused.
    #[error("{0}")]
    Agent(crate::agent::AgentFault),
    /// Talking to a remote secrets server failed; nothing changed here.
    #[error("{0}")]
    Remote(crate::remote::RemoteFault),
    /// A token key, JWKS or signing failed.
    #[error("{0}")]
    Token(crate::token::TokenFault),
    /// Input that breaks a rule of the vault; the message says which (in the vault's terms,
    /// never a command of one shell).
    #[error("{0}")]
    Invalid(String),
    /// A record, the audit chain or a snapshot failed authentication or is missing.
    #[error("integrity failure: {0}")]
    Integrity(String),
    /// The database (or the slots file) is damaged or not what its sealed head says, and the
    /// snapshot can rebuild it ([`ErrorHint::RestoreFromSnapshot`]).
    #[error("integrity failure: {0}")]
    Damaged(String),
    /// The vault is behind the head anchored outside its folder: an older copy of the folder
    /// was put back. Accepting it is an explicit, audited step that needs a real factor.
    #[error(
        "the vault was rolled back: its history ends at audit entry #{vault_seq}, but this machine last saw \
         entry #{anchor_seq} (anchored {anchored}); an older copy of the vault folder was put back"
    )]
    RolledBack {
        /// The vault's newest audit entry.
        vault_seq: u64,
        /// The newest entry anchored on this machine.
        anchor_seq: u64,
        /// When the anchor was written (RFC 3339).
        anchored: String,
    },
    /// The vault was written by a newer (or unknown) format.
    #[error("vault format version {found} is not supported (this build reads version {supported})")]
    UnsupportedFormat {
        /// Version found on disk.
        found: u32,
        /// Version this build understands.
        supported: u32,
    },
    /// The storage engine failed for a reason other than damage (disk full, permissions, ...).
    #[error("storage error: {0}")]
    Storage(String),
    /// A file system operation failed.
    #[error("{action} {}: {source}", .path.display())]
    Io {
        /// What was being done ("cannot write", "cannot read", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The operating system refused access to a file or directory, or the vault belongs to
    /// another user. Never reported as "no vault": that would send the user to `init`.
    #[error("{action} {}: permission denied{}", .path.display(), .reason.as_deref().map(|r| format!(" ({r})")).unwrap_or_default())]
    PermissionDenied {
        /// What was being done ("cannot open", "cannot read", ...).
        action: &'static str,
        /// The file or directory concerned.
        path: PathBuf,
        /// Why, when more is known than the operating system's refusal.
        reason: Option<String>,
    },
    /// The OS keyring (Secret Service, Keychain, Credential Manager) failed.
    #[error("OS keyring: {0}")]
    Keyring(String),
}

/// The stable code of each [`Error`] variant: what front ends branch on. Exported to TypeScript
/// so the page compares against a union, not free strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// `wrong_key`.
    WrongKey,
    /// `locked`.
    Locked,
    /// `no_unlock_method`.
    NoUnlockMethod,
    /// `needs_real_factor`.
    NeedsRealFactor,
    /// `not_found`.
    NotFound,
    /// `already_exists`.
    AlreadyExists,
    /// `in_use`.
    InUse,
    /// `unknown_service`.
    UnknownService,
    /// `unknown_secret`.
    UnknownSecret,
    /// `unknown_intent`.
    UnknownIntent,
    /// `unknown_ca`.
    UnknownCa,
    /// `unknown_environment`.
    UnknownEnvironment,
    /// `unknown_certificate`.
    UnknownCertificate,
    /// `unknown_remote`.
    UnknownRemote,
    /// `exists`.
    Exists,
    /// `still_referenced`.
    StillReferenced,
    /// `wont_replace`.
    WontReplace,
    /// `needs_force`.
    NeedsForce,
    /// `no_active_certificate`.
    NoActiveCertificate,
    /// `invalid`.
    Invalid,
    /// `unknown_choice`.
    UnknownChoice,
    /// `out_of_range`.
    OutOfRange,
    /// `unchanged`.
    Unchanged,
    /// `agent`.
    Agent,
    /// `remote`.
    Remote,
    /// `token`.
    Token,
    /// `integrity`.
    Integrity,
    /// `rolled_back`.
    RolledBack,
    /// `unsupported_format`.
    UnsupportedFormat,
    /// `storage`.
    Storage,
    /// `io`.
    Io,
    /// `permission_denied`.
    PermissionDenied,
    /// `keyring`.
    Keyring,
}

impl ErrorCode {
    /// Every code, for tests that check the wire names.
    pub const ALL: &'static [ErrorCode] = &[
        ErrorCode::WrongKey,
        ErrorCode::Locked,
        ErrorCode::NoUnlockMethod,
        ErrorCode::NeedsRealFactor,
        ErrorCode::NotFound,
        ErrorCode::AlreadyExists,
        ErrorCode::InUse,
        ErrorCode::UnknownService,
        ErrorCode::UnknownSecret,
        ErrorCode::UnknownIntent,
        ErrorCode::UnknownCa,
        ErrorCode::UnknownEnvironment,
        ErrorCode::UnknownCertificate,
        ErrorCode::UnknownRemote,
        ErrorCode::Exists,
        ErrorCode::StillReferenced,
        ErrorCode::WontReplace,
        ErrorCode::NeedsForce,
        ErrorCode::NoActiveCertificate,
        ErrorCode::Invalid,
        ErrorCode::UnknownChoice,
        ErrorCode::OutOfRange,
        ErrorCode::Unchanged,
        ErrorCode::Agent,
        ErrorCode::Remote,
        ErrorCode::Token,
        ErrorCode::Integrity,
        ErrorCode::RolledBack,
        ErrorCode::UnsupportedFormat,
        ErrorCode::Storage,
        ErrorCode::Io,
        ErrorCode::PermissionDenied,
        ErrorCode::Keyring,
    ];

    /// The code on the wire, e.g. `wrong_key`.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::WrongKey => "wrong_key",
            ErrorCode::Locked => "locked",
            ErrorCode::NoUnlockMethod => "no_unlock_method",
            ErrorCode::NeedsRealFactor => "needs_real_factor",
            ErrorCode::NotFound => "not_found",
            ErrorCode::AlreadyExists => "already_exists",
            ErrorCode::InUse => "in_use",
            ErrorCode::UnknownService => "unknown_service",
            ErrorCode::UnknownSecret => "unknown_secret",
            ErrorCode::UnknownIntent => "unknown_intent",
            ErrorCode::UnknownCa => "unknown_ca",
            ErrorCode::UnknownEnvironment => "unknown_environment",
            ErrorCode::UnknownCertificate => "unknown_certificate",
            ErrorCode::UnknownRemote => "unknown_remote",
            ErrorCode::Exists => "exists",
            ErrorCode::StillReferenced => "still_referenced",
            ErrorCode::WontReplace => "wont_replace",
            ErrorCode::NeedsForce => "needs_force",
            ErrorCode::NoActiveCertificate => "no_active_certificate",
            ErrorCode::Invalid => "invalid",
            ErrorCode::UnknownChoice => "unknown_choice",
            ErrorCode::OutOfRange => "out_of_range",
            ErrorCode::Unchanged => "unchanged",
            ErrorCode::Agent => "agent",
            ErrorCode::Remote => "remote",
            ErrorCode::Token => "token",
            ErrorCode::Integrity => "integrity",
            ErrorCode::RolledBack => "rolled_back",
            ErrorCode::UnsupportedFormat => "unsupported_format",
            ErrorCode::Storage => "storage",
            ErrorCode::Io => "io",
            ErrorCode::PermissionDenied => "permission_denied",
            ErrorCode::Keyring => "keyring",
        }
    }
}

/// What an [`Error::UnknownChoice`] was choosing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Choice {
    /// A private key type (`ecdsa-p256`, ...).
    KeyType,
    /// A revocation reason (`key-compromise`, ...).
    RevocationReason,
    /// A finding severity.
    Severity,
    /// A kind of finding.
    FindingKind,
    /// An `inject` template filter.
    TemplateFilter,
    /// An export format.
    ExportFormat,
    /// The characters a generated secret is drawn from.
    Charset,
    /// A JWS algorithm for token keys.
    TokenAlgorithm,
    /// The form pins are printed in.
    PinFormat,
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Choice::KeyType => "key type",
            Choice::RevocationReason => "revocation reason",
            Choice::Severity => "severity",
            Choice::FindingKind => "finding kind",
            Choice::TemplateFilter => "filter",
            Choice::ExportFormat => "export format",
            Choice::Charset => "charset",
            Choice::TokenAlgorithm => "token algorithm",
            Choice::PinFormat => "pin format",
        })
    }
}

/// What an [`Error::OutOfRange`] number counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Quantity {
    /// A certificate's validity, in days.
    ValidityDays,
    /// scrypt's work factor (log2 N).
    ScryptWorkFactor,
    /// The length of a generated secret, in characters.
    GeneratedLength,
    /// A rotation policy, in days.
    RotationDays,
    /// A minted token's lifetime, in seconds.
    TokenTtlSeconds,
}

impl std::fmt::Display for Quantity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Quantity::ValidityDays => "validity (days)",
            Quantity::ScryptWorkFactor => "scrypt work factor",
            Quantity::GeneratedLength => "length",
            Quantity::RotationDays => "rotation policy (days)",
            Quantity::TokenTtlSeconds => "token lifetime (seconds)",
        })
    }
}

fn one_of(choices: &[String]) -> String {
    match choices {
        [] => String::new(),
        [one] => one.clone(),
        [rest @ .., last] => format!("{} or {last}", rest.join(", ")),
    }
}

impl Error {
    /// `given` is not one of `choices` for `what`.
    pub(crate) fn unknown_choice<S: ToString>(
        what: Choice,
        given: &str,
        choices: impl IntoIterator<Item = S>,
    ) -> Error {
        Error::UnknownChoice {
            what,
            given: given.to_string(),
            choices: choices.into_iter().map(|c| c.to_string()).collect(),
        }
    }

    /// Checks that `value` lies in `range`.
    pub(crate) fn check_range(what: Quantity, value: u64, range: std::ops::RangeInclusive<u64>) -> Result<()> {
        if range.contains(&value) {
            return Ok(());
        }
        Err(Error::OutOfRange { what, value, min: *range.start(), max: *range.end() })
    }
}

/// An option of an export (see [`Error::ExportOption`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ExportField {
    /// age recipients.
    Recipients,
    /// The Kubernetes namespace.
    Namespace,
    /// The owner of compose secret files.
    Owner,
    /// The PKCS#12 file's password.
    P12Password,
}

impl ExportField {
    /// The option in plain words, and the format it belongs to.
    pub fn describe(self) -> (&'static str, &'static str) {
        match self {
            ExportField::Recipients => ("at least one recipient (age1… or an SSH public key)", "age"),
            ExportField::Namespace => ("a namespace", "k8s"),
            ExportField::Owner => ("a file owner (uid, gid)", "compose"),
            ExportField::P12Password => ("a password for the file", "p12"),
        }
    }
}

fn export_option_message(option: &ExportField, format: &str, needed: bool) -> String {
    let (what, belongs) = option.describe();
    if needed {
        format!("the {format} format needs {what}")
    } else {
        format!("{what} goes with the {belongs} format only, not {format}")
    }
}

/// A known way out of an error (see [`Error::hint`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorHint {
    /// There is no vault there yet: create one (or open another folder).
    CreateVault,
    /// Damaged files: the doctor says what, and a restore rebuilds them from the snapshot.
    RestoreFromSnapshot,
    /// An older copy of the vault: accept it on purpose (a real factor, audited) or restore.
    AcceptRollback,
    /// Refused, but the user may go ahead anyway; the message says what that does.
    ForceAnyway,
    /// An output exists where an export was to write: replacing a previous Keyloom output is
    /// possible on request, anything else never.
    ForceReplace,
    /// The request can be met with the service's secrets alone (no certificate or key).
    SecretsOnly,
}

/// How a front end should treat an error: which exit code, which UI state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCategory {
    /// Bad input or a request that cannot be met; nothing changed (exit code 1).
    User,
    /// The vault stays locked, or the key used is not enough: wrong or missing key, a device
    /// unlock where a real factor is needed (exit code 2).
    Auth,
    /// Data failed authentication or is missing (exit code 3).
    Integrity,
}

impl Error {
    /// The category front ends map to exit codes or UI states.
    pub fn category(&self) -> ErrorCategory {
        match self {
            Error::WrongKey | Error::Locked | Error::NoUnlockMethod(_) | Error::NeedsRealFactor(_) => {
                ErrorCategory::Auth
            }
            Error::Integrity(_) | Error::Damaged(_) | Error::RolledBack { .. } => ErrorCategory::Integrity,
            _ => ErrorCategory::User,
        }
    }

    /// A stable machine-readable code (the desktop app branches on it, `--json` prints it).
    pub fn code(&self) -> &'static str {
        self.error_code().as_str()
    }

    /// The way out a front end can offer, if there is a known one: each shell renders it its own
    /// way (a command in the CLI, a sentence or a button in the app).
    pub fn hint(&self) -> Option<ErrorHint> {
        match self {
            Error::NotFound(_) => Some(ErrorHint::CreateVault),
            Error::Damaged(_) => Some(ErrorHint::RestoreFromSnapshot),
            Error::RolledBack { .. } => Some(ErrorHint::AcceptRollback),
            Error::StillReferenced { .. } | Error::NeedsForce { .. } => Some(ErrorHint::ForceAnyway),
            Error::OutputExists { .. } => Some(ErrorHint::ForceReplace),
            Error::NoActiveCertificate { .. } | Error::TlsVariableName { .. } => Some(ErrorHint::SecretsOnly),
            _ => None,
        }
    }

    /// The stable code as a type (exported to TypeScript).
    pub fn error_code(&self) -> ErrorCode {
        match self {
            Error::WrongKey => ErrorCode::WrongKey,
            Error::Locked => ErrorCode::Locked,
            Error::NoUnlockMethod(_) => ErrorCode::NoUnlockMethod,
            Error::NeedsRealFactor(_) => ErrorCode::NeedsRealFactor,
            Error::NotFound(_) => ErrorCode::NotFound,
            Error::AlreadyExists(_) => ErrorCode::AlreadyExists,
            Error::InUse { .. } => ErrorCode::InUse,
            Error::UnknownService(_) => ErrorCode::UnknownService,
            Error::UnknownSecret(_) => ErrorCode::UnknownSecret,
            Error::UnknownIntent { .. } => ErrorCode::UnknownIntent,
            Error::UnknownCa(_) => ErrorCode::UnknownCa,
            Error::UnknownEnvironment(_) => ErrorCode::UnknownEnvironment,
            Error::UnknownCertificate(_) => ErrorCode::UnknownCertificate,
            Error::UnknownRemote(_) => ErrorCode::UnknownRemote,
            Error::Exists { .. } | Error::CaseClash { .. } => ErrorCode::Exists,
            Error::StillReferenced { .. } | Error::UsedBy { .. } => ErrorCode::StillReferenced,
            Error::WontReplace { .. } | Error::OutputExists { .. } => ErrorCode::WontReplace,
            Error::NeedsForce { .. } => ErrorCode::NeedsForce,
            Error::NoActiveCertificate { .. } => ErrorCode::NoActiveCertificate,
            Error::TlsVariableName { .. } => ErrorCode::Invalid,
            Error::Invalid(_) | Error::ExportOption { .. } => ErrorCode::Invalid,
            Error::UnknownChoice { .. } => ErrorCode::UnknownChoice,
            Error::OutOfRange { .. } => ErrorCode::OutOfRange,
            Error::Unchanged { .. } => ErrorCode::Unchanged,
            Error::Agent(_) => ErrorCode::Agent,
            Error::Remote(_) => ErrorCode::Remote,
            Error::Token(_) => ErrorCode::Token,
            Error::Integrity(_) | Error::Damaged(_) => ErrorCode::Integrity,
            Error::RolledBack { .. } => ErrorCode::RolledBack,
            Error::UnsupportedFormat { .. } => ErrorCode::UnsupportedFormat,
            Error::Storage(_) => ErrorCode::Storage,
            Error::Io { .. } => ErrorCode::Io,
            Error::PermissionDenied { .. } => ErrorCode::PermissionDenied,
            Error::Keyring(_) => ErrorCode::Keyring,
        }
    }

    pub(crate) fn io(action: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::from_io(action, path, source)
    }

    /// A file system error; a refused access becomes [`Error::PermissionDenied`], worded the same
    /// everywhere.
    pub(crate) fn from_io(action: &'static str, path: PathBuf, source: std::io::Error) -> Error {
        if source.kind() == std::io::ErrorKind::PermissionDenied {
            Error::PermissionDenied { action, path, reason: None }
        } else {
            Error::Io { action, path, source }
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod code_tests {
    use super::{Choice, Error, ErrorCode, Quantity};
    use crate::model::types::{KeyType, Reason};

    #[test]
    fn an_unknown_choice_carries_the_word_and_every_accepted_one() {
        let err = KeyType::parse("dsa").unwrap_err();
        let Error::UnknownChoice { what, given, choices } = &err else { panic!("{err:?}") };
        assert_eq!((*what, given.as_str()), (Choice::KeyType, "dsa"));
        assert_eq!(choices.len(), KeyType::ALL.len());
        assert!(err.to_string().starts_with("unknown key type \"dsa\": use "), "{err}");
        assert!(err.to_string().ends_with(&format!("or {}", KeyType::ALL[KeyType::ALL.len() - 1].name())));
        // Every listed reason parses: the list and the parser cannot drift apart.
        for name in Reason::NAMES {
            assert!(Reason::parse(name).is_ok(), "{name}");
        }
        assert_eq!(Reason::parse("stolen").unwrap_err().error_code(), ErrorCode::UnknownChoice);
    }

    #[test]
    fn every_finding_kind_is_listed_and_parses_back() {
        let err = crate::graph::FindingKind::parse("overtrust").unwrap_err();
        let Error::UnknownChoice { choices, .. } = &err else { panic!("{err:?}") };
        assert_eq!(choices.len(), crate::graph::FindingKind::ALL.len());
        for c in choices {
            assert!(crate::graph::FindingKind::parse(c).is_ok(), "{c}");
        }
    }

    #[test]
    fn a_range_check_reports_the_bounds_and_accepts_both_ends() {
        assert!(Error::check_range(Quantity::ValidityDays, 1, 1..=36_500).is_ok());
        assert!(Error::check_range(Quantity::ValidityDays, 36_500, 1..=36_500).is_ok());
        let err = Error::check_range(Quantity::ValidityDays, 0, 1..=36_500).unwrap_err();
        assert!(matches!(err, Error::OutOfRange { value: 0, min: 1, max: 36_500, .. }));
        assert_eq!(err.to_string(), "validity (days) 0 is outside 1..=36500");
        assert_eq!(err.error_code(), ErrorCode::OutOfRange);
    }

    #[test]
    fn wire_names_match_serde() {
        for c in ErrorCode::ALL {
            assert_eq!(serde_json::to_value(c).unwrap(), serde_json::json!(c.as_str()));
        }
    }
}
