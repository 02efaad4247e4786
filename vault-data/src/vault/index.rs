//! The in-memory index of decrypted metadata, built at unlock and dropped at lock.
//! Payloads (secret values) are never part of it.

use std::collections::HashMap;

use serde::Serialize;

use crate::crypto::keys::{VaultId, VaultKeys};
use crate::crypto::seal::{self, Location};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::folded;
use crate::model::{Ca, Certificate, Credential, Intent, ObjectRecord, Service};
use crate::store::{Store, TreeName};

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

#[derive(Default)]
pub(crate) struct Index {
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
}

impl Index {
    /// Decrypts every object record (in parallel, while sled is still iterating) and indexes it.
    pub(crate) fn load(keys: &VaultKeys, vault_id: &VaultId, store: &Store) -> Result<Index> {
        let decoded = store.par_map(TreeName::Objects, |key, sealed| {
            let loc = Location { tree: "objects", key };
            let pt = seal::open(&keys.objects, vault_id, loc, sealed)?;
            let id = RecordId::from_slice(key)?;
            let rec = ObjectRecord::decode(&pt)
                .ok_or_else(|| Error::Integrity(format!("record {id} in tree 'objects' cannot be decoded")))?;
            Ok((id, rec))
        })?;
        let mut index = Index::default();
        let services = decoded.iter().filter(|(_, r)| matches!(r, ObjectRecord::Service(_))).count();
        let credentials = decoded.iter().filter(|(_, r)| matches!(r, ObjectRecord::Credential(_))).count();
        index.services.reserve(services);
        index.service_by_name.reserve(services);
        index.credentials.reserve(credentials);
        index.credential_by_name.reserve(credentials);
        for (id, rec) in decoded {
            index.insert(id, rec)?;
        }
        Ok(index)
    }

    fn insert(&mut self, id: RecordId, rec: ObjectRecord) -> Result<()> {
        // AAD already binds the sealed bytes to their key; this catches a record that was sealed
        // under one id but claims another inside.
        if rec.id() != id {
            return Err(Error::Integrity(format!("record {id} in tree 'objects' is stored under the wrong id")));
        }
        match rec {
            ObjectRecord::Service(s) => self.put_service(s),
            ObjectRecord::Credential(c) => self.put_credential(c),
            ObjectRecord::Intent(i) => {
                self.intents.insert(id, i);
            }
            ObjectRecord::Ca(c) => self.put_ca(c),
            ObjectRecord::Certificate(c) => {
                self.certs.insert(id, c);
            }
            ObjectRecord::Export(e) => {
                self.exports.insert(id, e);
            }
            ObjectRecord::Output(o) => {
                self.outputs.insert(id, o);
            }
            ObjectRecord::TrustAnchor(a) => {
                self.anchors.insert(a.ca, a);
            }
        }
        Ok(())
    }

    /// Whether chains may end at `ca`: a self-signed root (no parent in the vault), or a CA
    /// imported with `--anchor`.
    pub(crate) fn is_anchor(&self, ca: &Ca) -> bool {
        self.anchors.contains_key(&ca.id)
            || (ca.parent.is_none() && crate::pki::inspect::inspect(&ca.cert_der).is_ok_and(|i| i.self_issued))
    }

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

    /// The vault CA whose subject DN is `dn` (the issuer of a certificate made elsewhere).
    pub(crate) fn ca_with_subject(&self, dn: &str) -> Option<&Ca> {
        self.cas.values().find(|c| crate::pki::inspect::inspect(&c.cert_der).is_ok_and(|i| i.subject == dn))
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
