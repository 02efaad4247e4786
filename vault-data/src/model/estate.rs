//! The estate in memory: every decrypted metadata record of an unlocked vault, indexed by id
//! and name. The vault layer fills it at unlock (vault/index.rs) and drops it at lock; the graph
//! and the lookups read it. It knows nothing of storage or cryptography, so the graph can depend
//! on it without depending on the vault. Payloads (secret values) are never part of it.

use std::collections::HashMap;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::folded;
use crate::model::{Ca, Certificate, Credential, Intent, Service};

/// How many records of each kind a vault holds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Counts {
    /// Services.
    pub services: usize,
    /// Credentials.
    pub credentials: usize,
    /// Credential versions (each a sealed payload).
    pub credential_versions: usize,
    /// Intents.
    pub intents: usize,
    /// Certificate authorities.
    pub cas: usize,
    /// Certificates (all statuses).
    pub certificates: usize,
}

/// Every record of an unlocked vault, by id, with name indexes.
#[derive(Default)]
pub(crate) struct Estate {
    pub services: HashMap<RecordId, Service>,
    pub service_by_name: HashMap<String, RecordId>,
    pub credentials: HashMap<RecordId, Credential>,
    pub credential_by_name: HashMap<(RecordId, String), RecordId>,
    pub intents: HashMap<RecordId, Intent>,
    pub cas: HashMap<RecordId, Ca>,
    pub ca_by_name: HashMap<String, RecordId>,
    pub certs: HashMap<RecordId, Certificate>,
    pub exports: HashMap<RecordId, crate::model::export::ExportRecord>,
    pub outputs: HashMap<RecordId, crate::model::export::OutputRecord>,
    /// `ca import --anchor` marks, by the CA they mark.
    pub anchors: HashMap<RecordId, crate::model::TrustAnchor>,
    /// Secrets servers the vault syncs with.
    pub remotes: HashMap<RecordId, crate::model::remote::Remote>,
    /// What was last synced, by (remote, service).
    pub sync_states: HashMap<(RecordId, RecordId), crate::model::remote::SyncState>,
    /// Open sync conflicts.
    pub conflicts: HashMap<RecordId, crate::model::remote::SyncConflict>,
    /// CAs whose key is in a remote's PKI mount, by the CA they link.
    pub linked_cas: HashMap<RecordId, crate::model::LinkedCa>,
    /// This vault's sealing keys, by the remote they seal for.
    pub sealed: HashMap<RecordId, crate::model::remote::SealedRemote>,
    /// Members of sealed remotes.
    pub members: HashMap<RecordId, crate::model::remote::RemoteMember>,
    /// Credential versions removed members could read.
    pub exposed: HashMap<RecordId, crate::model::remote::ExposedSecret>,
    /// Token signing keys of issuing services.
    pub token_keys: HashMap<RecordId, crate::model::token::TokenKey>,
    /// Issuers imported from their JWKS.
    pub issuers: HashMap<RecordId, crate::model::token::ExternalIssuer>,
    /// Who gets and who accepts tokens.
    pub grants: HashMap<RecordId, crate::model::token::TokenGrant>,
    /// Each service's next TLS key, by service.
    pub next_keys: HashMap<RecordId, crate::model::certificate::NextKey>,
    /// What each export gave its service to trust (JWKS key ids, pins), by export.
    pub exported_trust: HashMap<RecordId, crate::model::export::ExportedTrust>,
}

impl Estate {
    pub(crate) fn put_ca(&mut self, c: Ca) {
        if let Some(old) = self.cas.get(&c.id) {
            self.ca_by_name.remove(&old.name);
        }
        self.ca_by_name.insert(c.name.clone(), c.id);
        self.cas.insert(c.id, c);
    }

    /// The CA called `name`: the exact name first (vaults made before the name rule may hold
    /// names that differ only in case), else the one CA whose name matches ignoring case.
    pub(crate) fn ca_named(&self, name: &str) -> Result<&Ca> {
        let id = self.ca_by_name.get(name).copied().or_else(|| only_match(&self.ca_by_name, name));
        id.and_then(|id| self.cas.get(&id)).ok_or_else(|| {
            Error::UnknownCa(crate::error::Missing::among(name, self.ca_by_name.keys().map(String::as_str)))
        })
    }

    /// A CA other than `except` whose name equals `name` ignoring case.
    pub(crate) fn ca_name_taken(&self, name: &str, except: Option<RecordId>) -> Option<&Ca> {
        let key = folded(name);
        self.cas.values().find(|c| Some(c.id) != except && folded(&c.name) == key)
    }

    pub(crate) fn ca_name(&self, id: RecordId) -> String {
        self.cas.get(&id).map_or_else(|| format!("<missing CA {}>", id.short()), |c| c.name.clone())
    }

    pub(crate) fn put_service(&mut self, s: Service) {
        if let Some(old) = self.services.get(&s.id) {
            self.service_by_name.remove(&old.name);
        }
        self.service_by_name.insert(s.name.clone(), s.id);
        self.services.insert(s.id, s);
    }

    pub(crate) fn put_credential(&mut self, c: Credential) {
        self.credential_by_name.insert((c.service_id, c.name.clone()), c.id);
        self.credentials.insert(c.id, c);
    }

    pub(crate) fn remove_credential(&mut self, id: RecordId) {
        if let Some(c) = self.credentials.remove(&id) {
            self.credential_by_name.remove(&(c.service_id, c.name));
        }
    }

    pub(crate) fn remove_service(&mut self, id: RecordId) {
        if let Some(s) = self.services.remove(&id) {
            self.service_by_name.remove(&s.name);
        }
    }

    /// The service called `name`: the exact name first (vaults made before the name rule may
    /// hold names that differ only in case), else the one service whose name matches ignoring
    /// case. Two or more such matches find nothing: guessing could touch the wrong service.
    pub(crate) fn service_named(&self, name: &str) -> Result<&Service> {
        let id = self.service_by_name.get(name).copied().or_else(|| only_match(&self.service_by_name, name));
        id.and_then(|id| self.services.get(&id)).ok_or_else(|| {
            Error::UnknownService(crate::error::Missing::among(name, self.service_by_name.keys().map(String::as_str)))
        })
    }

    /// Refuses an environment no service is in (a typo would otherwise select nothing, silently),
    /// suggesting the close ones.
    pub(crate) fn environment_known(&self, environment: &str) -> Result<()> {
        if self.services.values().any(|s| s.environment == environment) {
            return Ok(());
        }
        let mut envs: Vec<&str> = self.services.values().map(|s| s.environment.as_str()).collect();
        envs.sort_unstable();
        envs.dedup();
        Err(Error::UnknownEnvironment(crate::error::Missing::among(environment, envs)))
    }

    /// A service other than `except` whose name equals `name` ignoring case.
    pub(crate) fn service_name_taken(&self, name: &str, except: Option<RecordId>) -> Option<&Service> {
        let key = folded(name);
        self.services.values().find(|s| Some(s.id) != except && folded(&s.name) == key)
    }

    pub(crate) fn service_name(&self, id: RecordId) -> String {
        self.services.get(&id).map_or_else(|| format!("<missing service {}>", id.short()), |s| s.name.clone())
    }

    /// The token keys of `service`: current, then next, then previous.
    pub(crate) fn token_keys_of(&self, service: RecordId) -> Vec<&crate::model::token::TokenKey> {
        use crate::model::token::KeyRole;
        let mut keys: Vec<&crate::model::token::TokenKey> =
            self.token_keys.values().filter(|k| k.service == service).collect();
        keys.sort_by_key(|k| {
            let rank = match k.role {
                KeyRole::Current => 0,
                KeyRole::Next => 1,
                KeyRole::Previous => 2,
            };
            (rank, k.created)
        });
        keys
    }

    /// A token issuer's name: its service's, or the imported issuer's.
    pub(crate) fn issuer_name(&self, r: crate::model::token::IssuerRef) -> String {
        match r {
            crate::model::token::IssuerRef::Service(id) => self.service_name(id),
            crate::model::token::IssuerRef::External(id) => {
                self.issuers.get(&id).map_or_else(|| id.short(), |i| i.name.clone())
            }
        }
    }

    /// The key ids an issuer publishes: an issuing service's current, next and previous keys
    /// (in that order), or an imported issuer's.
    pub(crate) fn issuer_kids(&self, r: crate::model::token::IssuerRef) -> Vec<String> {
        match r {
            crate::model::token::IssuerRef::Service(id) => {
                self.token_keys_of(id).into_iter().map(|k| k.kid.clone()).collect()
            }
            crate::model::token::IssuerRef::External(id) => {
                self.issuers.get(&id).map(|i| i.keys.iter().map(|k| k.kid.clone()).collect()).unwrap_or_default()
            }
        }
    }

    pub(crate) fn counts(&self) -> Counts {
        Counts {
            services: self.services.len(),
            credentials: self.credentials.len(),
            credential_versions: self.credentials.values().map(|c| c.versions.len()).sum(),
            intents: self.intents.len(),
            cas: self.cas.len(),
            certificates: self.certs.len(),
        }
    }
}

/// The id of the one key of `by_name` equal to `name` ignoring case, if exactly one is.
fn only_match(by_name: &HashMap<String, RecordId>, name: &str) -> Option<RecordId> {
    let key = folded(name);
    let mut found = by_name.iter().filter(|(n, _)| folded(n) == key).map(|(_, id)| *id);
    match (found.next(), found.next()) {
        (Some(id), None) => Some(id),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn with_services(names: &[&str]) -> Estate {
        let mut e = Estate::default();
        let t = time::OffsetDateTime::UNIX_EPOCH;
        for n in names {
            e.put_service(Service {
                id: RecordId::random(),
                name: n.to_string(),
                environment: "prod".into(),
                owner: None,
                tags: BTreeMap::new(),
                spiffe_id: None,
                trust_inbound: Vec::new(),
                trust_outbound: Vec::new(),
                created: t,
                updated: t,
            });
        }
        e
    }

    #[test]
    fn lookups_take_the_exact_name_then_the_one_case_insensitive_match() {
        let e = with_services(&["payments", "Ledger"]);
        assert_eq!(e.service_named("payments").unwrap().name, "payments");
        assert_eq!(e.service_named("PAYMENTS").unwrap().name, "payments");
        assert_eq!(e.service_named("ledger").unwrap().name, "Ledger");
        // Taken ignoring case, except by the service itself (a rename to its own lowercase form).
        let ledger = e.service_named("Ledger").unwrap().id;
        assert!(e.service_name_taken("LEDGER", None).is_some());
        assert!(e.service_name_taken("ledger", Some(ledger)).is_none());
    }

    #[test]
    fn two_case_insensitive_matches_find_nothing_rather_than_guess() {
        // Vaults from before the name rule may hold both.
        let e = with_services(&["Payments", "PAYMENTS"]);
        assert_eq!(e.service_named("Payments").unwrap().name, "Payments", "the exact name still wins");
        let err = e.service_named("payments").unwrap_err();
        assert_eq!(err.code(), "unknown_service");
    }

    #[test]
    fn an_unknown_name_suggests_close_ones() {
        let e = with_services(&["payments", "ledger"]);
        let err = e.service_named("paymnets").unwrap_err();
        assert_eq!(err.code(), "unknown_service");
        assert!(err.to_string().contains("\"payments\""), "{err}");
        assert!(!err.to_string().contains("ledger"), "only close names: {err}");
        assert_eq!(e.environment_known("prod").map_err(|e| e.code()), Ok(()));
        assert_eq!(e.environment_known("prd").unwrap_err().code(), "unknown_environment");
    }

    #[test]
    fn renames_move_the_name_index_with_the_record() {
        let mut e = with_services(&["payments"]);
        let mut s = e.service_named("payments").unwrap().clone();
        s.name = "billing".into();
        e.put_service(s);
        assert!(e.service_named("payments").is_err());
        assert_eq!(e.service_named("billing").unwrap().name, "billing");
        assert_eq!(e.counts().services, 1);
    }
}
