//! Service operations.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::{self, folded, NameKind};
use crate::model::service::{validate_spiffe_id, ServiceUpdate};
use crate::model::{CertStatus, Certificate, ObjectRecord, Revocation, Service, ServiceSpec};
use crate::pki::crl::Reason;
use crate::vault::index::Index;
use crate::vault::Vault;
use std::ops::{Deref, DerefMut};

/// Environments in use: each spelling, and one spelling per folded name, so a new `Prod` is not
/// added beside `prod` (one folded name has several spellings only in vaults made before the
/// name rule).
#[derive(Default)]
struct Environments {
    exact: HashSet<String>,
    folded: HashMap<String, String>,
}

impl Environments {
    fn of(index: &Index) -> Environments {
        let mut envs = Environments::default();
        for s in index.services.values() {
            envs.insert(&s.environment);
        }
        envs
    }

    fn insert(&mut self, env: &str) {
        self.exact.insert(env.to_string());
        self.folded.insert(folded(env), env.to_string());
    }

    /// A new environment value must follow the name rule and must not differ from one in use
    /// only in case.
    fn check(&self, env: &str) -> Result<()> {
        names::check(NameKind::Environment, env)?;
        if self.exact.contains(env) {
            return Ok(());
        }
        match self.folded.get(&folded(env)) {
            Some(existing) => {
                Err(Error::CaseClash { kind: "environment", name: env.to_string(), existing: existing.clone() })
            }
            None => Ok(()),
        }
    }
}

feature_handle!(
    /// The services of an unlocked vault: add, list, update, rename, remove.
    Services, services, services_mut
);

impl<V: Deref<Target = Vault>> Services<V> {
    /// Adds a service; its name must be new.
    pub fn add(&mut self, spec: ServiceSpec) -> Result<Service>
    where
        V: DerefMut<Target = Vault>,
    {
        let mut added = self.add_many(vec![spec])?;
        added.pop().ok_or_else(|| Error::Storage("service was not stored".into()))
    }

    /// Adds many services in one commit (one durable flush). All names must be new and distinct;
    /// if any is not, nothing is added.
    pub fn add_many(&mut self, specs: Vec<ServiceSpec>) -> Result<Vec<Service>>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let mut taken: HashMap<String, String> =
            index.services.values().map(|s| (folded(&s.name), s.name.clone())).collect();
        let mut envs = Environments::of(index);
        for spec in &specs {
            // Taken is checked first, so `Payments` beside `payments` names the existing one.
            if let Some(existing) = taken.get(&folded(&spec.name)) {
                return Err(Error::Exists { kind: "service", name: existing.clone() });
            }
            if let Some(i) = index.issuers.values().find(|i| folded(&i.name) == folded(&spec.name)) {
                return Err(Error::Exists {
                    kind: "token issuer (issuers and services share names)",
                    name: i.name.clone(),
                });
            }
            names::check(NameKind::Service, &spec.name)?;
            envs.check(&spec.environment)?;
            if let Some(id) = &spec.spiffe_id {
                validate_spiffe_id(id)?;
            }
            taken.insert(folded(&spec.name), spec.name.clone());
            envs.insert(&spec.environment);
        }
        let now = OffsetDateTime::now_utc();
        let services: Vec<Service> = specs
            .into_iter()
            .map(|spec| Service {
                id: RecordId::random(),
                name: spec.name,
                environment: spec.environment,
                owner: spec.owner,
                tags: spec.tags,
                spiffe_id: spec.spiffe_id,
                trust_inbound: Vec::new(),
                trust_outbound: Vec::new(),
                created: now,
                updated: now,
            })
            .collect();
        let mut ops = Vec::with_capacity(services.len());
        let mut events = Vec::with_capacity(services.len());
        for svc in &services {
            ops.push(self.vault.seal_object(svc.id, &ObjectRecord::Service(svc.clone()))?);
            let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
            events.push(AuditEvent::success("service.add", vec![obj]));
        }
        self.vault.commit(ops, events)?;
        let index = &mut self.vault.unlocked_mut()?.index;
        for svc in &services {
            index.put_service(svc.clone());
        }
        Ok(services)
    }

    /// Every service, sorted by name.
    pub fn list(&self) -> Result<Vec<Service>> {
        let mut v: Vec<Service> = self.vault.unlocked()?.index.services.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    /// One service by name.
    pub fn get(&self, name: &str) -> Result<Service> {
        self.vault.unlocked()?.index.service_named(name).cloned()
    }

    /// Changes a service's environment, owner, tags or SPIFFE ID. A new environment must follow
    /// the name rule; values that do not change are not re-checked, so a service from a vault
    /// made before the rule can still be edited.
    pub fn update(&mut self, name: &str, update: ServiceUpdate) -> Result<Service>
    where
        V: DerefMut<Target = Vault>,
    {
        let mut svc = self.get(name)?;
        if let Some(env) = update.environment {
            if env != svc.environment && folded(&env) == folded(&svc.environment) {
                // Moving from a legacy spelling (`Prod`) to the valid one is how it gets fixed.
                names::check(NameKind::Environment, &env)?;
            } else if env != svc.environment {
                Environments::of(&self.vault.unlocked()?.index).check(&env)?;
            }
            svc.environment = env;
        }
        if let Some(owner) = update.owner {
            svc.owner = owner;
        }
        for k in &update.remove_tags {
            svc.tags.remove(k);
        }
        svc.tags.extend(update.set_tags);
        if let Some(sid) = update.spiffe_id {
            if let Some(id) = &sid {
                validate_spiffe_id(id)?;
            }
            svc.spiffe_id = sid;
        }
        svc.updated = OffsetDateTime::now_utc();
        let op = self.vault.seal_object(svc.id, &ObjectRecord::Service(svc.clone()))?;
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        self.vault.commit(vec![op], vec![AuditEvent::success("service.update", vec![obj])])?;
        self.vault.unlocked_mut()?.index.put_service(svc.clone());
        Ok(svc)
    }

    /// Renames a service. The record keeps its id, so its secrets, certificates, intents, trust
    /// stores, bundle history and audit trail (all kept by id) follow it; credentials that name
    /// it as their target are updated in the same commit. The new name must follow the name rule
    /// and be unused (ignoring case).
    pub fn rename(&mut self, name: &str, new_name: &str) -> Result<Service>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let mut svc = index.service_named(name)?.clone();
        if svc.name == new_name {
            return Err(Error::Unchanged { subject: format!("service {}", names::shown(&svc.name)), what: "name" });
        }
        if let Some(other) = index.service_name_taken(new_name, Some(svc.id)) {
            return Err(Error::Exists { kind: "service", name: other.name.clone() });
        }
        if let Some(i) = index.issuers.values().find(|i| folded(&i.name) == folded(new_name)) {
            return Err(Error::Exists {
                kind: "token issuer (issuers and services share names)",
                name: i.name.clone(),
            });
        }
        names::check(NameKind::Service, new_name)?;
        let old = std::mem::replace(&mut svc.name, new_name.to_string());
        svc.updated = OffsetDateTime::now_utc();
        // A credential's target is a service name (it may be outside the vault), not an id.
        let mut retargeted: Vec<_> =
            index.credentials.values().filter(|c| c.target.as_deref() == Some(old.as_str())).cloned().collect();
        retargeted.sort_by_key(|c| c.id);
        let mut ops = vec![self.vault.seal_object(svc.id, &ObjectRecord::Service(svc.clone()))?];
        let mut objects = vec![AuditObject::new("service", Some(svc.id), svc.name.clone())];
        for c in &mut retargeted {
            c.target = Some(svc.name.clone());
            ops.push(self.vault.seal_object(c.id, &ObjectRecord::Credential(c.clone()))?);
            let holder = if c.service_id == svc.id { svc.name.clone() } else { index.service_name(c.service_id) };
            objects.push(AuditObject::new("secret", Some(c.id), format!("{holder}/{}", c.name)));
        }
        let mut detail = format!("renamed from {old:?} to {:?}", svc.name);
        if !retargeted.is_empty() {
            detail.push_str(&format!("; target of {} secret(s) updated", retargeted.len()));
        }
        self.vault.commit(ops, vec![AuditEvent::success("service.rename", objects).with_detail(detail)])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.put_service(svc.clone());
        for c in retargeted {
            index.put_credential(c);
        }
        Ok(svc)
    }

    /// Removes a service. Refused while secrets, intents or active certificates refer to it,
    /// naming them, unless `force`, which removes the secrets and intents too and revokes the
    /// active certificates (reason cessationOfOperation, so their CAs' next CRLs list them), all
    /// in the same commit and audited. Says what went with it.
    pub fn remove(&mut self, name: &str, force: bool) -> Result<ServiceRemoval>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(name)?.clone();
        let mut creds: Vec<_> = index.credentials.values().filter(|c| c.service_id == svc.id).cloned().collect();
        creds.sort_by(|a, b| a.name.cmp(&b.name));
        let mut intents: Vec<_> =
            index.intents.values().filter(|i| i.from == svc.id || i.to == svc.id).cloned().collect();
        intents.sort_by_key(|i| (index.service_name(i.from), index.service_name(i.to)));
        let mut certs: Vec<Certificate> = index
            .certs
            .values()
            .filter(|c| c.service_id == Some(svc.id) && c.status == CertStatus::Active)
            .cloned()
            .collect();
        certs.sort_by_key(|c| c.created);
        let intent_names: Vec<String> =
            intents.iter().map(|i| format!("{} -> {}", index.service_name(i.from), index.service_name(i.to))).collect();
        if !force && (!creds.is_empty() || !intents.is_empty() || !certs.is_empty()) {
            let mut refs: Vec<String> = creds.iter().map(|c| format!("secret {}/{}", svc.name, c.name)).collect();
            refs.extend(intent_names.iter().map(|i| format!("intent {i}")));
            refs.extend(certs.iter().map(|c| format!("active certificate {} (serial {})", c.id.short(), c.serial)));
            return Err(Error::StillReferenced { name: svc.name, references: refs.join(", ") });
        }
        let now = OffsetDateTime::now_utc();
        let mut ops = vec![Vault::delete_object(svc.id)];
        let mut objects = vec![AuditObject::new("service", Some(svc.id), svc.name.clone())];
        for c in &creds {
            ops.push(Vault::delete_object(c.id));
            ops.extend(c.versions.iter().map(|v| Vault::delete_payload(v.payload_id)));
            objects.push(AuditObject::new("secret", Some(c.id), format!("{}/{}", svc.name, c.name)));
        }
        for (i, label) in intents.iter().zip(&intent_names) {
            ops.push(Vault::delete_object(i.id));
            objects.push(AuditObject::new("intent", Some(i.id), label.clone()));
        }
        // Its token keys and next TLS key (private keys: nothing may outlive the service) and
        // every grant it is in, as client, acceptor or issuer.
        let index = &self.vault.unlocked()?.index;
        let token_keys: Vec<crate::model::token::TokenKey> =
            index.token_keys.values().filter(|k| k.service == svc.id).cloned().collect();
        let next_key = index.next_keys.get(&svc.id).cloned();
        let issuer = crate::model::token::IssuerRef::Service(svc.id);
        let grants: Vec<RecordId> =
            index.grants.values().filter(|g| g.service == svc.id || g.issuer == issuer).map(|g| g.id).collect();
        for k in &token_keys {
            ops.push(Vault::delete_object(k.id));
            ops.push(Vault::delete_payload(k.key_payload));
        }
        if let Some(n) = &next_key {
            ops.push(Vault::delete_object(n.id));
            ops.push(Vault::delete_payload(n.key_payload));
        }
        ops.extend(grants.iter().copied().map(Vault::delete_object));
        // A certificate outliving its service would stay valid, unrevoked, for a name nobody
        // manages any more: revoke it with the service.
        let reason = Reason::CessationOfOperation;
        let mut events = Vec::with_capacity(certs.len() + 1);
        for c in &mut certs {
            c.status = CertStatus::Revoked;
            c.revocation = Some(Revocation { time: now, reason });
            ops.push(self.vault.seal_object(c.id, &ObjectRecord::Certificate(c.clone()))?);
            events.push(
                AuditEvent::success("cert.revoke", vec![AuditObject::new("certificate", Some(c.id), svc.name.clone())])
                    .with_detail(format!("serial {}, reason {reason:?}: service {} removed", c.serial, svc.name)),
            );
        }
        let mut event = AuditEvent::success("service.remove", objects);
        if force && (!creds.is_empty() || !intents.is_empty() || !certs.is_empty()) {
            let mut went = Vec::new();
            if !creds.is_empty() || !intents.is_empty() {
                went.push("removed its secrets and intents too".to_string());
            }
            if !certs.is_empty() {
                let serials: Vec<&str> = certs.iter().map(|c| c.serial.as_str()).collect();
                went.push(format!("revoked its active certificates (serial {})", serials.join(", ")));
            }
            event = event.with_detail(format!("forced: {}", went.join("; ")));
        }
        events.insert(0, event);
        self.vault.commit(ops, events)?;
        let removal = ServiceRemoval {
            service: svc.name.clone(),
            secrets: creds.iter().map(|c| c.name.clone()).collect(),
            intents: intent_names,
            revoked: certs.iter().map(|c| RevokedCert { id: c.id.to_string(), serial: c.serial.clone() }).collect(),
        };
        let index = &mut self.vault.unlocked_mut()?.index;
        for c in creds {
            index.remove_credential(c.id);
        }
        for i in intents {
            index.intents.remove(&i.id);
        }
        for c in certs {
            index.certs.insert(c.id, c);
        }
        for k in token_keys {
            index.token_keys.remove(&k.id);
        }
        index.next_keys.remove(&svc.id);
        for g in grants {
            index.grants.remove(&g);
        }
        index.remove_service(svc.id);
        Ok(removal)
    }
}

/// What [`Services::remove`] removed and revoked with the service.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ServiceRemoval {
    /// The service removed.
    pub service: String,
    /// Names of its secrets, removed with it.
    pub secrets: Vec<String>,
    /// Intents to or from it, removed with it (`from -> to`).
    pub intents: Vec<String>,
    /// Its active certificates, revoked (cessationOfOperation).
    pub revoked: Vec<RevokedCert>,
}

/// A certificate revoked because its service was removed.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RevokedCert {
    /// Vault certificate id.
    pub id: String,
    /// Serial (hex).
    pub serial: String,
}
