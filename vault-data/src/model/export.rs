//! The record of one export: which certificate version and which secrets left the vault, when.
//! The trust graph's "revoked but still deployed" check reads these.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;

/// One export of a service's bundle.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportRecord {
    /// Random id.
    pub id: RecordId,
    /// The service exported.
    pub service_id: RecordId,
    /// The certificate inside, if any.
    pub certificate: Option<RecordId>,
    /// Its serial.
    pub serial: Option<String>,
    /// Format (dir, tar.gz, age, ...).
    pub format: String,
    /// Files written.
    pub files: Vec<String>,
    /// Secret names included.
    pub secrets: Vec<String>,
    /// When.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}

/// Whether an output is a directory tree or a single file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OutputKind {
    /// A directory (the dir and compose formats).
    Dir,
    /// One file (tar.gz, age, k8s, env, p12).
    File,
}

/// Where an export was written and a fingerprint of exactly what was written there, so that
/// `export --force` can later tell a previous Keyloom output from anything else at that path.
/// Kept as its own record (not a field of [`ExportRecord`]) so export records sealed before it
/// existed still decode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutputRecord {
    /// Random id.
    pub id: RecordId,
    /// The [`ExportRecord`] this output carries.
    pub export_id: RecordId,
    /// Absolute path, its parent directory resolved (no symbolic links, no `..`).
    pub path: String,
    /// Directory or file.
    pub kind: OutputKind,
    /// For a file: SHA-256 of its bytes. For a directory: SHA-256 of its listing (every
    /// sub-directory, and every file with its mode and SHA-256; see `export::replace`).
    pub sha256: String,
    /// For a file: its size in bytes. For a directory: how many files and sub-directories.
    pub size: u64,
    /// When.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}

/// What an exported bundle gave its service to trust: the key ids of each issuer's JWKS and the
/// pins of each peer. Read back from the bundle's own files when it is recorded, so findings can
/// tell when what was deployed falls behind a rotation. A record of its own, so export records
/// keep their encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExportedTrust {
    /// Random id.
    pub id: RecordId,
    /// The export it describes.
    pub export_id: RecordId,
    /// The service exported.
    pub service_id: RecordId,
    /// Issuer name → key ids in `trusted-jwks/<issuer>.json`.
    pub jwks: Vec<(String, Vec<String>)>,
    /// Peer service name → pins in `pins.json`.
    pub pins: Vec<(String, Vec<String>)>,
    /// When exported.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}
