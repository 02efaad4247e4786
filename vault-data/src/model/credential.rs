//! Credentials: named secrets a service holds, with their versions.
//! The values themselves live in the `payloads` tree, one sealed record per version.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::ids::RecordId;

/// A named secret of a service.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Credential {
    /// Random id.
    pub id: RecordId,
    /// The service holding it.
    pub service_id: RecordId,
    /// Name, unique within the service (e.g. `STRIPE_KEY`).
    pub name: String,
    /// Service this credential grants access to, if any (may be outside the vault).
    pub target: Option<String>,
    /// Rotation policy in days.
    pub rotate_days: Option<u32>,
    /// Every version, oldest first; the last is current.
    pub versions: Vec<CredentialVersion>,
    /// Creation time.
    #[serde(with = "crate::model::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created: OffsetDateTime,
}

/// One version of a credential's value (the value itself is in `payloads`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CredentialVersion {
    /// 1, 2, 3, ...
    pub version: u32,
    /// When this version was set.
    #[serde(with = "crate::model::timestamp")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created: OffsetDateTime,
    /// Length of the value in bytes.
    pub length: usize,
    /// Whether Keyloom generated it.
    pub generated: bool,
    /// Where the value is sealed.
    pub payload_id: RecordId,
}

impl Credential {
    /// The current version.
    pub fn current(&self) -> Option<&CredentialVersion> {
        self.versions.last()
    }

    /// When the current version is due for rotation, if there is a policy.
    pub fn rotation_due(&self) -> Option<OffsetDateTime> {
        let days = self.rotate_days?;
        Some(self.current()?.created + Duration::days(i64::from(days)))
    }
}

/// A `service/NAME` reference as users write it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretRef {
    /// Service name.
    pub service: String,
    /// Secret name.
    pub name: String,
}

impl FromStr for SecretRef {
    type Err = crate::Error;
    fn from_str(s: &str) -> crate::Result<Self> {
        match s.split_once('/') {
            Some((svc, name)) if !svc.is_empty() && !name.is_empty() && !name.contains('/') => {
                Ok(SecretRef { service: svc.to_string(), name: name.to_string() })
            }
            _ => Err(crate::Error::Invalid(format!("{s:?} is not a secret reference: write SERVICE/NAME"))),
        }
    }
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.service, self.name)
    }
}
