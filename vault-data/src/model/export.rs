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
