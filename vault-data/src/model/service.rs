//! Services: the things that hold certificates and credentials.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;

/// A service in the estate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Service {
    /// Random id.
    pub id: RecordId,
    /// Unique name.
    pub name: String,
    /// Environment, e.g. `prod` or `staging`.
    pub environment: String,
    /// Owning team or person.
    pub owner: Option<String>,
    /// Free-form `key=value` tags.
    pub tags: BTreeMap<String, String>,
    /// SPIFFE ID, e.g. `spiffe://corp.example/payments`.
    pub spiffe_id: Option<String>,
    /// CAs it accepts client certificates from (inbound trust store).
    pub trust_inbound: Vec<RecordId>,
    /// CAs it verifies servers with (outbound trust store).
    pub trust_outbound: Vec<RecordId>,
    /// Creation time.
    #[serde(with = "crate::model::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created: OffsetDateTime,
    /// Last change.
    #[serde(with = "crate::model::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub updated: OffsetDateTime,
}

/// The editable fields of a service.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(default)]
pub struct ServiceSpec {
    /// Unique name.
    pub name: String,
    /// Environment.
    pub environment: String,
    /// Owning team or person.
    pub owner: Option<String>,
    /// Tags.
    pub tags: BTreeMap<String, String>,
    /// SPIFFE ID.
    pub spiffe_id: Option<String>,
}

/// A partial update; `None` leaves a field as it is.
#[derive(Debug, Clone, Default)]
pub struct ServiceUpdate {
    /// New environment.
    pub environment: Option<String>,
    /// New owner (`Some(None)` clears it).
    pub owner: Option<Option<String>>,
    /// Tags to set.
    pub set_tags: BTreeMap<String, String>,
    /// Tags to remove.
    pub remove_tags: Vec<String>,
    /// New SPIFFE ID (`Some(None)` clears it).
    pub spiffe_id: Option<Option<String>>,
}

pub(crate) fn validate_spiffe_id(id: &str) -> crate::Result<()> {
    let rest = id
        .strip_prefix("spiffe://")
        .ok_or_else(|| crate::Error::Invalid(format!("SPIFFE ID {id:?} must start with spiffe://")))?;
    let domain = rest.split('/').next().unwrap_or("");
    let domain_ok =
        !domain.is_empty() && domain.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "-._".contains(c));
    if !domain_ok || rest.ends_with('/') || rest.contains("//") {
        return Err(crate::Error::Invalid(format!(
            "SPIFFE ID {id:?} is not valid: expected spiffe://trust-domain/path with a lowercase trust domain"
        )));
    }
    Ok(())
}

/// Parses `key=value` tags as the CLI takes them.
pub fn parse_tag(s: &str) -> crate::Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_string(), v.trim().to_string())),
        _ => Err(crate::Error::Invalid(format!("tag {s:?} must look like key=value"))),
    }
}
