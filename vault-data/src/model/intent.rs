//! Intents: a declared "A calls B", what the operators mean to allow.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;

/// A declared call from one service to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intent {
    /// Random id.
    pub id: RecordId,
    /// Calling service.
    pub from: RecordId,
    /// Called service.
    pub to: RecordId,
    /// Why this call exists.
    pub note: Option<String>,
    /// Declared at.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}
