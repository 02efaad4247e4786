//! `vault_data`: Keyloom's core library.
//!
//! An encrypted local vault of services, credentials and intents (and, later, certificates),
//! kept in sled. The vault key is wrapped by age in unlock slots; every record is sealed with
//! XChaCha20-Poly1305 under a subkey of it; every mutation commits atomically with a hash-chained
//! audit entry and is durable before it is reported. See docs/ARCHITECTURE.md.
//!
//! Front ends (the `keyloom` CLI, the desktop app) hold no business logic: they parse input,
//! call [`Vault`], and map [`Error`] to exit codes or UI messages.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod agent;
pub mod audit;
pub mod crypto;
pub mod demo;
pub mod error;
pub mod export;
#[cfg(feature = "forge")]
pub mod forge;
pub(crate) mod fs;
pub mod graph;
pub mod ids;
#[cfg(test)]
mod layer_rules;
pub mod model;
pub mod paths;
pub mod pki;
pub mod process;
pub mod remote;
pub mod store;
pub mod token;
pub mod vault;

pub use crypto::generate::Charset;
pub use crypto::key_text::{looks_like_private_key, ordinal};
pub use crypto::passphrase::{KdfCost, PassphrasePolicy, Strength, MIN_SCRYPT_LOG_N};
pub use crypto::slots::{KeyFile, SlotInfo, SlotKind};
pub use error::{Error, ErrorCategory, ErrorCode, ErrorHint, ExportField, Result};
pub use ids::RecordId;
pub use model::names::NameKind;
pub use model::service::{parse_tag, ServiceUpdate};
pub use model::{Credential, CredentialVersion, Intent, SecretRef, Service, ServiceSpec};
pub use store::failures::{delay as unlock_delay, FailedUnlocks};
pub use vault::doctor_restore as restore;
pub use vault::restore_backup;
pub use vault::restore_wait;
pub use vault::{destination_for, ExportPlan, ExportRequest};
pub use vault::{parse_alg, GrantView, IssuerView, MintRequest, MintedToken, TokenKeyView, MAX_MINT_TTL};
pub use vault::{
    to_pem, BundlePreview, CaLink, CaRemoval, CaView, CertRemoval, CertView, Destination, Direction, ExportOptions,
    ExportStage, ExportTarget, ExportView, Exported, IssueRequest, PreviewFile, ServiceIdentity, TrustView,
    VerifyReport, DEFAULT_LEAF_DAYS,
};
pub use vault::{
    Authorities, Certificates, Exports, Intents, Keys, Secrets, Services, Tokens, TrustGraph, TrustStores,
};
pub use vault::{
    ConflictView, RemoteLogin, RemoteSpec, RemoteStatus, RemoteView, Remotes, ServiceSync, SyncFailure, SyncItem,
    SyncMode, SyncReport, Take,
};
pub use vault::{
    CreateOptions, DoctorReport, IntentView, IssueDefaults, NewSecret, RecoveryKey, RestoreReport, RevokedCert,
    SecretOptions, SecretPolicy, SecretSummary, ServiceRemoval, Unlock, Vault, VaultStatus,
};
pub use vault::{MemberRemoval, MemberView, PinFormat, PinSet, SealIdentity, SealedSpec, TlsSynced};
pub use vault::{NameFix, NameProblem};

/// Re-exported so front ends build secrets with the same types.
pub use age::secrecy::SecretString;
pub use secrecy::{ExposeSecret, SecretSlice};

/// Whether the vault at `dir` has a device slot the CLI may use (`device enable --cli`). Read
/// without unlocking; it only decides whether to try the keyring.
pub fn device_cli_allowed(dir: &std::path::Path) -> bool {
    matches!(store::slots_file::read_unchecked(dir), Ok(Some((_, slots)))
        if slots.iter().any(|s| s.kind == SlotKind::Device && s.cli))
}

/// The on-disk format version this build reads and writes.
pub const FORMAT_VERSION: u32 = 1;
