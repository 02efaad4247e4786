//! Certificate authorities: ones made here (with their key in `payloads`) and ones imported for
//! trust only (no key).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;
use crate::model::types::{KeyType, NameConstraintsSpec};

/// A CA known to the vault.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ca {
    /// Random id.
    pub id: RecordId,
    /// Unique name.
    pub name: String,
    /// The CA that signed it, when that CA is in the vault.
    pub parent: Option<RecordId>,
    /// Key algorithm, for CAs whose key Keyloom holds.
    pub key_type: Option<KeyType>,
    /// Where the private key is sealed; `None` for trust-only CAs.
    pub key_payload: Option<RecordId>,
    /// The CA certificate.
    #[serde(with = "serde_bytes")]
    pub cert_der: Vec<u8>,
    /// Permitted names below it.
    #[serde(with = "crate::model::types::stored_constraints")]
    pub constraints: NameConstraintsSpec,
    /// Path length constraint.
    pub path_len: Option<u8>,
    /// Start of validity.
    #[serde(with = "crate::model::timestamp")]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "crate::model::timestamp")]
    pub not_after: OffsetDateTime,
    /// Number for its next CRL.
    pub next_crl_number: u64,
    /// When it was added.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}

impl Ca {
    /// Whether Keyloom can sign with it.
    pub fn can_sign(&self) -> bool {
        self.key_payload.is_some()
    }
}

/// A CA marked as a trust anchor by `ca import --anchor`: chains may end at it though it is not
/// self-signed (what `openssl verify -partial_chain` and rustls-webpki accept). A self-signed root
/// is an anchor without one. A record of its own, so CA records keep their encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrustAnchor {
    /// Random id of this record.
    pub id: RecordId,
    /// The CA it makes an anchor.
    pub ca: RecordId,
    /// When.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}

/// A CA whose key stays in a remote's PKI mount (`ca link`): the [`Ca`] record holds the mount's
/// issuing certificate with no key, and this record says where it signs. A record of its own, so
/// CA records keep their encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkedCa {
    /// Random id of this record.
    pub id: RecordId,
    /// The CA it links.
    pub ca: RecordId,
    /// The remote holding the key.
    pub remote: RecordId,
    /// The PKI mount (`pki_int`).
    pub pki_mount: String,
    /// The role certificates are signed under (`sign/<role>`).
    pub role: String,
    /// When it was linked.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}
