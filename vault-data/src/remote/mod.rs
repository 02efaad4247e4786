//! Sync with the secrets server a team already runs (OpenBao or HashiCorp Vault, same HTTP API):
//! the HTTP client (client.rs) and the three-way field merge (merge.rs). What is synced and how it
//! is recorded lives with the vault (vault/remotes.rs); this layer knows the server, not the vault.

pub mod client;
pub mod merge;
pub mod pki;
pub mod sealed;

use serde::Serialize;

/// What the server says about itself (`sys/health`), no token needed.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServerStatus {
    /// Initialized.
    pub initialized: bool,
    /// Sealed: nothing can be read or written until it is unsealed.
    pub sealed: bool,
    /// A standby node (it forwards to the active one).
    pub standby: bool,
    /// The server's version.
    pub version: String,
}

/// Why talking to a remote failed. Never holds the token or a secret value.
#[derive(Debug, Clone, thiserror::Error, Serialize, PartialEq, Eq)]
#[serde(tag = "fault", rename_all = "snake_case")]
#[non_exhaustive]
pub enum RemoteFault {
    /// No connection (refused, DNS, reset).
    #[error("cannot reach {addr}: {detail}")]
    Unreachable {
        /// The server address.
        addr: String,
        /// The system's words.
        detail: String,
    },
    /// The server did not answer in time.
    #[error("{addr} did not answer in time")]
    Timeout {
        /// The server address.
        addr: String,
    },
    /// TLS failed: most often a certificate the system does not trust (give its CA).
    #[error("TLS with {addr} failed: {detail}")]
    Tls {
        /// The server address.
        addr: String,
        /// What rustls said.
        detail: String,
    },
    /// A plain `http://` address without the explicit allowance for a local dev server.
    #[error(
        "{addr} is plain http: secrets go to a server over https only (a local dev server may be allowed explicitly)"
    )]
    PlainHttp {
        /// The server address.
        addr: String,
    },
    /// The server is sealed.
    #[error("the server is sealed: nothing can be read or written until it is unsealed")]
    Sealed,
    /// The token (or AppRole) may not do this.
    #[error("permission denied on {path}: the token is wrong, expired, or its policies do not allow this")]
    Forbidden {
        /// The API path refused.
        path: String,
    },
    /// No such route: the KV mount (or auth mount) does not exist.
    #[error("the server has nothing at {path}: check the KV v2 mount name (and the namespace)")]
    NoRoute {
        /// The API path.
        path: String,
    },
    /// Any other error status.
    #[error("the server answered {status}: {}", .errors.join("; "))]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's error strings (shortened).
        errors: Vec<String>,
    },
    /// The answer was not the API's.
    #[error("{addr} does not answer like OpenBao or Vault")]
    NotAServer {
        /// The server address.
        addr: String,
    },
    /// The server served a version older than one already seen: it was rolled back (restored
    /// from an old backup, or someone in the middle). Nothing was taken from it.
    #[error("{path}: the server serves version {served}, older than version {seen} already synced; refusing it (a server rollback)")]
    RolledBack {
        /// The KV path.
        path: String,
        /// The newest version seen before.
        seen: u64,
        /// The version served now.
        served: u64,
    },
    /// The CA certificates given for the server are not PEM certificates.
    #[error("the CA file given for the server holds no PEM certificate")]
    BadCa,
    /// The server's secret cannot be taken as it is (a field name the name rule refuses, a value
    /// too large, a deleted current version); nothing of it was taken or written.
    #[error("{path}: {why}")]
    Unusable {
        /// The KV path.
        path: String,
        /// Why.
        why: String,
    },
    /// A field of a sealed remote that cannot be trusted or read; nothing of that secret was
    /// taken or written.
    #[error("{path}: field {field} is refused: {why}")]
    Refused {
        /// The KV path.
        path: String,
        /// The field.
        field: String,
        /// Why.
        why: sealed::SealRefusal,
    },
    /// A PKI mount's answer lacks what the API promises (a certificate, a serial).
    #[error("{path}: the PKI mount's answer has no {missing}")]
    PkiAnswer {
        /// The API path.
        path: String,
        /// What was missing.
        missing: String,
    },
    /// A secret kept changing under a check-and-set write.
    #[error("{path} kept changing on the server while it was written; run the sync again")]
    Busy {
        /// The KV path.
        path: String,
    },
}
