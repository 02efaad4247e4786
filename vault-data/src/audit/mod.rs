//! The hash-chained audit log.
//!
//! Each entry is sealed in the `audit` tree under its big-endian sequence number and carries the
//! SHA-256 of the previous entry's plaintext; the sealed head in `meta` names the newest entry
//! and its hash. A deleted, reordered or altered entry breaks the chain at a point `verify` names.

pub mod chain;
pub mod signed_head;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;

pub use chain::{AuditProblem, AuditReport};

/// Whether the audited action succeeded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was attempted and refused (e.g. a failed unlock).
    Failure,
}

/// An object an audit entry is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditObject {
    /// "service", "secret", "intent", "slot", "vault", ...
    pub kind: String,
    /// Its record id, if it has one.
    pub id: Option<RecordId>,
    /// Its name at the time (e.g. `payments/STRIPE_KEY`).
    pub name: String,
}

impl AuditObject {
    pub(crate) fn new(kind: &str, id: Option<RecordId>, name: impl Into<String>) -> Self {
        AuditObject { kind: kind.to_string(), id, name: name.into() }
    }
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditEntry {
    /// 1, 2, 3, ... without gaps.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// When it happened (UTC).
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub time: OffsetDateTime,
    /// The OS user who did it.
    pub user: String,
    /// What was done, e.g. `secret.reveal`.
    pub action: String,
    /// What it was done to.
    pub objects: Vec<AuditObject>,
    /// Whether it succeeded.
    pub outcome: Outcome,
    /// Extra facts (never secret values).
    pub detail: Option<String>,
    /// SHA-256 (hex) of the previous entry's sealed plaintext; zeros for the first.
    pub prev_hash: String,
}

/// What a caller wants recorded; the log fills in sequence, time, user and chain.
#[derive(Debug, Clone)]
pub(crate) struct AuditEvent {
    pub action: String,
    pub objects: Vec<AuditObject>,
    pub outcome: Outcome,
    pub detail: Option<String>,
    /// When it happened, if not now (events recorded while locked).
    pub time: Option<OffsetDateTime>,
    /// Who did it, if not this process's user.
    pub user: Option<String>,
}

impl AuditEvent {
    pub(crate) fn success(action: &str, objects: Vec<AuditObject>) -> Self {
        AuditEvent {
            action: action.to_string(),
            objects,
            outcome: Outcome::Success,
            detail: None,
            time: None,
            user: None,
        }
    }

    /// An operation that was attempted and failed: the log says so instead of staying silent.
    pub(crate) fn failure(action: &str, objects: Vec<AuditObject>) -> Self {
        AuditEvent { outcome: Outcome::Failure, ..AuditEvent::success(action, objects) }
    }

    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// The vault's sealed head in `meta`: the newest audit entry's sequence number and hash (every
/// commit appends at least one entry, so this is also the commit sequence), and the keyed hash
/// over every record (`store::record_set`), so a deleted, added or older record is seen at unlock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct AuditHead {
    pub seq: u64,
    pub hash: String,
    /// Hex record-set hash; None in vaults written before it existed (computed at the next unlock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub set: Option<String>,
}

impl AuditHead {
    pub(crate) fn genesis() -> Self {
        AuditHead { seq: 0, hash: "0".repeat(64), set: None }
    }
}
