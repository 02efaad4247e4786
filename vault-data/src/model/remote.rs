//! Remotes: the team's secrets server (OpenBao or HashiCorp Vault) a vault syncs credentials
//! with, what was last synced with it, and the conflicts a sync found. The server's token and
//! AppRole secret are payloads (sealed like credential values), never part of these records.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;

/// A secrets server the vault syncs with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Remote {
    /// Random id.
    pub id: RecordId,
    /// The name the user gave it (the name rule of services).
    pub name: String,
    /// Base address, e.g. `https://bao.corp.example:8200` (no trailing slash).
    pub addr: String,
    /// The KV v2 mount (`secret`).
    pub kv_mount: String,
    /// Path prefix inside the mount under which `<env>/<service>` secrets live.
    pub prefix: String,
    /// Vault Enterprise / OpenBao namespace, if any.
    pub namespace: Option<String>,
    /// Extra CA certificates (DER) to verify the server with, besides the system's.
    pub ca_der: Vec<Vec<u8>>,
    /// Plain `http://` was allowed explicitly (a local dev server).
    pub insecure_http: bool,
    /// How Keyloom logs in.
    pub auth: RemoteAuth,
    /// When it was added.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}

/// How Keyloom authenticates to a remote. The secret parts are payload ids.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum RemoteAuth {
    /// A token (`X-Vault-Token`), sealed as payload `token`.
    Token {
        /// The payload holding the token.
        token: RecordId,
    },
    /// AppRole: the role id (not secret) and the secret id, sealed as payload `secret_id`.
    AppRole {
        /// The AppRole mount (`approle`).
        mount: String,
        /// The role id.
        role_id: String,
        /// The payload holding the secret id.
        secret_id: RecordId,
    },
}

impl RemoteAuth {
    /// The payloads this auth keeps (deleted with the remote).
    pub fn payloads(&self) -> Vec<RecordId> {
        match self {
            RemoteAuth::Token { token } => vec![*token],
            RemoteAuth::AppRole { secret_id, .. } => vec![*secret_id],
        }
    }
}

/// What was last synced between one service and one remote: the base of the three-way merge.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// Random id.
    pub id: RecordId,
    /// The remote.
    pub remote: RecordId,
    /// The service.
    pub service: RecordId,
    /// The KV path (inside the mount) last written or read, so a renamed service or environment
    /// moves its secret on the next push.
    pub path: String,
    /// The newest KV version seen for `path`; an older one served later is a server rollback.
    pub remote_version: u64,
    /// Each synced field as it was at that version.
    pub fields: Vec<SyncedField>,
    /// When it was last synced.
    #[serde(with = "crate::model::timestamp")]
    pub synced: OffsetDateTime,
}

/// One field (credential) as last synced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncedField {
    /// The credential's name (the KV key).
    pub name: String,
    /// A keyed hash of the value (HMAC-SHA-256 under a vault subkey): changes are detected
    /// without keeping another copy of the value.
    pub digest: [u8; 32],
    /// The local credential version that held this value.
    pub local_version: u32,
}

/// A field changed both here and on the server since the last sync, to different values.
/// Both values are versions in the credential's history; the user picks one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncConflict {
    /// Random id.
    pub id: RecordId,
    /// The remote.
    pub remote: RecordId,
    /// The credential.
    pub credential: RecordId,
    /// The local version that holds this vault's value.
    pub local_version: u32,
    /// The local version that holds the server's value (kept in history).
    pub remote_value_version: u32,
    /// The KV version the server's value came from.
    pub remote_version: u64,
    /// When it was found.
    #[serde(with = "crate::model::timestamp")]
    pub found: OffsetDateTime,
}

/// This vault's keys for a sealed remote: values are age-encrypted to the members' recipients
/// and signed with this vault's Ed25519 key before they leave. The secret halves are payloads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SealedRemote {
    /// Random id.
    pub id: RecordId,
    /// The remote.
    pub remote: RecordId,
    /// The payload holding this vault's age identity (`AGE-SECRET-KEY-1…`).
    pub identity: RecordId,
    /// The payload holding this vault's Ed25519 signing key (32-byte seed).
    pub signing: RecordId,
    /// This vault's age recipient (`age1…`), the public half of `identity`.
    pub recipient: String,
    /// This vault's Ed25519 public key.
    pub verifying: [u8; 32],
    /// Certificates and their private keys are synced too (sealed like values).
    pub with_tls: bool,
    /// When sealing was set up.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}

/// A teammate of a sealed remote: values are encrypted to their recipient, and values signed by
/// their key are accepted. A member with only a recipient reads but cannot author.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteMember {
    /// Random id.
    pub id: RecordId,
    /// The remote.
    pub remote: RecordId,
    /// The name given here.
    pub name: String,
    /// Their age recipient.
    pub recipient: Option<String>,
    /// Their Ed25519 public key.
    pub verifying: Option<[u8; 32]>,
    /// When added.
    #[serde(with = "crate::model::timestamp")]
    pub added: OffsetDateTime,
}

/// A credential version a removed member could read: it should be rotated. The flag stands until
/// the credential has a newer version.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExposedSecret {
    /// Random id.
    pub id: RecordId,
    /// The remote it was shared through.
    pub remote: RecordId,
    /// The credential.
    pub credential: RecordId,
    /// Its version the member could read.
    pub version: u32,
    /// The member's name.
    pub member: String,
    /// When the member was removed.
    #[serde(with = "crate::model::timestamp")]
    pub found: OffsetDateTime,
}
