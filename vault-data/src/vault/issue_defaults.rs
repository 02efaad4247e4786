//! What a new certificate for a service should most likely look like, for a form to start from:
//! the CA that already issues that environment's identities, and the service's SPIFFE ID.

use std::collections::HashMap;

use serde::Serialize;
use time::OffsetDateTime;

use crate::error::Result;
use crate::ids::RecordId;
use crate::model::CertStatus;
use crate::vault::Certificates;
use crate::vault::Vault;
use std::ops::Deref;

/// Starting values for issuing `service` a certificate; the person may change any of them.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IssueDefaults {
    /// The CA to issue from: the signing CA with the most active certificates in the service's
    /// environment, else one named after the environment, else an intermediate, else any.
    pub ca: Option<String>,
    /// URI SANs: the service's SPIFFE ID, when it has one.
    pub uris: Vec<String>,
}

impl<V: Deref<Target = Vault>> Certificates<V> {
    /// Defaults for issuing `service` a certificate (see [`IssueDefaults`]).
    pub fn defaults(&self, service: &str) -> Result<IssueDefaults> {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?;
        let now = OffsetDateTime::now_utc();
        let signing: Vec<_> = index.cas.values().filter(|c| index.ca_signs(c) && c.not_after > now).collect();
        let mut issued_here: HashMap<RecordId, usize> = HashMap::new();
        for c in index.certs.values().filter(|c| c.status == CertStatus::Active && c.not_after > now) {
            let same_env =
                c.service_id.and_then(|s| index.services.get(&s)).is_some_and(|s| s.environment == svc.environment);
            if let (true, Some(issuer)) = (same_env, c.issuer) {
                *issued_here.entry(issuer).or_default() += 1;
            }
        }
        // Ties break by name, so the same vault always suggests the same CA.
        let by_use = signing
            .iter()
            .filter_map(|c| issued_here.get(&c.id).map(|n| (*n, c)))
            .max_by(|(a, x), (b, y)| a.cmp(b).then_with(|| y.name.cmp(&x.name)))
            .map(|(_, c)| c);
        let mut sorted = signing.clone();
        sorted.sort_by(|a, b| a.name.cmp(&b.name));
        let named = sorted.iter().find(|c| c.name.split('-').any(|part| part == svc.environment));
        let intermediate = sorted.iter().find(|c| c.parent.is_some());
        let ca = by_use.or(named).or(intermediate).or(sorted.first()).map(|c| c.name.clone());
        Ok(IssueDefaults { ca, uris: svc.spiffe_id.clone().into_iter().collect() })
    }
}
