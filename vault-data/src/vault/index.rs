//! The in-memory index of decrypted metadata, built at unlock and dropped at lock: loading the
//! model-level [`Estate`] from the store, and the lookups that need certificate parsing.
//! Payloads (secret values) are never part of it.

use crate::crypto::keys::{VaultId, VaultKeys};
use crate::crypto::seal::{self, Location};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{Ca, ObjectRecord};
use crate::store::{Store, TreeName};

pub use crate::model::estate::Counts;
/// The vault layer's name for the estate it holds while unlocked.
pub(crate) use crate::model::estate::Estate as Index;
use crate::model::estate::Estate;

impl Estate {
    /// Decrypts every object record (in parallel, while sled is still iterating) and indexes it.
    pub(crate) fn load(keys: &VaultKeys, vault_id: &VaultId, store: &Store) -> Result<Estate> {
        let decoded = store.par_map(TreeName::Objects, |key, sealed| {
            let loc = Location { tree: "objects", key };
            let pt = seal::open(&keys.objects, vault_id, loc, sealed)?;
            let id = RecordId::from_slice(key)?;
            let rec = ObjectRecord::decode(&pt)
                .ok_or_else(|| Error::Integrity(format!("record {id} in tree 'objects' cannot be decoded")))?;
            Ok((id, rec))
        })?;
        let mut index = Estate::default();
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
            ObjectRecord::Ca(mut c) => {
                // The IP ranges live in the certificate, not the record.
                if !c.cert_der.is_empty() {
                    if let Ok(info) = crate::pki::inspect::inspect(&c.cert_der) {
                        c.constraints.ip = info.permitted_ip;
                    }
                }
                self.put_ca(c)
            }
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
            ObjectRecord::Remote(r) => {
                self.remotes.insert(id, r);
            }
            ObjectRecord::SyncState(st) => {
                self.sync_states.insert((st.remote, st.service), st);
            }
            ObjectRecord::SyncConflict(c) => {
                self.conflicts.insert(id, c);
            }
            ObjectRecord::LinkedCa(l) => {
                self.linked_cas.insert(l.ca, l);
            }
            ObjectRecord::SealedRemote(s) => {
                self.sealed.insert(s.remote, s);
            }
            ObjectRecord::RemoteMember(m) => {
                self.members.insert(id, m);
            }
            ObjectRecord::ExposedSecret(x) => {
                self.exposed.insert(id, x);
            }
            ObjectRecord::TokenKey(k) => {
                self.token_keys.insert(id, k);
            }
            ObjectRecord::ExternalIssuer(i) => {
                self.issuers.insert(id, i);
            }
            ObjectRecord::TokenGrant(g) => {
                self.grants.insert(id, g);
            }
            ObjectRecord::NextKey(k) => {
                self.next_keys.insert(k.service, k);
            }
            ObjectRecord::ExportedTrust(t) => {
                self.exported_trust.insert(t.export_id, t);
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

    /// Whether certificates can be issued from `ca`: its key is here, or in a linked PKI mount.
    pub(crate) fn ca_signs(&self, ca: &Ca) -> bool {
        ca.can_sign() || self.linked_cas.contains_key(&ca.id)
    }

    /// The vault CA whose subject DN is `dn` (the issuer of a certificate made elsewhere).
    pub(crate) fn ca_with_subject(&self, dn: &str) -> Option<&Ca> {
        self.cas.values().find(|c| crate::pki::inspect::inspect(&c.cert_der).is_ok_and(|i| i.subject == dn))
    }
}
