//! Certificates held for services: issued here or imported, with status and history.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;
use crate::model::types::{KeyType, Reason};

/// Where a certificate is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum CertStatus {
    /// In use.
    Active,
    /// Replaced by a renewal.
    Superseded,
    /// Revoked; listed in its CA's CRL.
    Revoked,
}

/// When and why a certificate was revoked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Revocation {
    /// Revocation time.
    #[serde(with = "crate::model::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub time: OffsetDateTime,
    /// Reason.
    pub reason: Reason,
}

/// A certificate in the vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Certificate {
    /// Random id.
    pub id: RecordId,
    /// The service it identifies (`None` for certificates signed from a CSR).
    pub service_id: Option<RecordId>,
    /// The vault CA that issued it, when known.
    pub issuer: Option<RecordId>,
    /// The certificate.
    #[serde(with = "serde_bytes")]
    pub cert_der: Vec<u8>,
    /// Where its private key is sealed, if Keyloom holds it.
    pub key_payload: Option<RecordId>,
    /// Key algorithm.
    pub key_type: Option<KeyType>,
    /// Status.
    pub status: CertStatus,
    /// Set when revoked.
    pub revocation: Option<Revocation>,
    /// The certificate this one renewed.
    pub renews: Option<RecordId>,
    /// Serial number (hex).
    pub serial: String,
    /// serverAuth EKU (kept so the trust graph never parses DER).
    pub server_auth: bool,
    /// clientAuth EKU.
    pub client_auth: bool,
    /// End of validity (kept for fast expiry queries).
    #[serde(with = "crate::model::timestamp")]
    pub not_after: OffsetDateTime,
    /// When it was added.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}

/// A service's next TLS key, made before it is used: its public key is pinned by clients next to
/// the current one, so `cert renew --rotate-key` (which takes it) does not break them. A record
/// of its own, so certificate records keep their encoding.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct NextKey {
    /// Random id.
    pub id: crate::ids::RecordId,
    /// The service.
    pub service: crate::ids::RecordId,
    /// Its key type.
    pub key_type: crate::model::KeyType,
    /// The payload holding the PKCS#8 private key.
    pub key_payload: crate::ids::RecordId,
    /// SHA-256 of its SubjectPublicKeyInfo, base64 (the pin).
    pub pin: String,
    /// When it was made.
    #[serde(with = "crate::model::timestamp")]
    pub created: time::OffsetDateTime,
}
