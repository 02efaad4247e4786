//! The domain records kept (sealed) in the `objects` tree.

pub mod credential;
pub mod intent;
pub mod service;

use serde::{Deserialize, Serialize};

pub use credential::{Credential, CredentialVersion, SecretRef};
pub use intent::Intent;
pub use service::{Service, ServiceSpec};

/// Everything the `objects` tree holds, tagged by kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum ObjectRecord {
    Service(Service),
    Credential(Credential),
    Intent(Intent),
}

/// Names of services, secrets and environments: printable, no slash, no surrounding space.
pub(crate) fn validate_name(kind: &str, name: &str) -> crate::Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 128
        && name.trim() == name
        && !name.contains('/')
        && name.chars().all(|c| !c.is_control());
    if ok {
        Ok(())
    } else {
        Err(crate::Error::Invalid(format!(
            "{kind} name {name:?} is not valid: use 1–128 printable characters without '/' or surrounding spaces"
        )))
    }
}
