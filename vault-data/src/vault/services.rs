//! Service operations.

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::service::{validate_spiffe_id, ServiceUpdate};
use crate::model::{validate_name, CertStatus, Certificate, ObjectRecord, Revocation, Service, ServiceSpec};
use crate::pki::crl::Reason;
use crate::store::{Op, TreeName};
use crate::vault::Vault;

fn validate_spec(spec: &ServiceSpec) -> Result<()> {
    validate_name("service", &spec.name)?;
    validate_name("environment", &spec.environment)?;
    if let Some(id) = &spec.spiffe_id {
        validate_spiffe_id(id)?;
    }
    Ok(())
}

impl Vault {
    /// Adds a service; its name must be new.
    pub fn add_service(&mut self, spec: ServiceSpec) -> Result<Service> {
        let mut added = self.add_services(vec![spec])?;
        added.pop().ok_or_else(|| Error::Storage("service was not stored".into()))
    }

    /// Adds many services in one commit (one durable flush). All names must be new and distinct;
    /// if any is not, nothing is added.
    pub fn add_services(&mut self, specs: Vec<ServiceSpec>) -> Result<Vec<Service>> {
        let index = &self.unlocked()?.index;
        let mut seen = std::collections::HashSet::new();
        for spec in &specs {
            validate_spec(spec)?;
            if index.service_by_name.contains_key(&spec.name) || !seen.insert(spec.name.as_str()) {
                return Err(Error::Exists { kind: "service", name: spec.name.clone() });
            }
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
            ops.push(self.seal_object(svc.id, &ObjectRecord::Service(svc.clone()))?);
            let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
            events.push(AuditEvent::success("service.add", vec![obj]));
        }
        self.commit(ops, events)?;
        let index = &mut self.unlocked_mut()?.index;
        for svc in &services {
            index.put_service(svc.clone());
        }
        Ok(services)
    }

    /// Every service, sorted by name.
    pub fn list_services(&self) -> Result<Vec<Service>> {
        let mut v: Vec<Service> = self.unlocked()?.index.services.values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(v)
    }

    /// One service by name.
    pub fn service(&self, name: &str) -> Result<Service> {
        self.unlocked()?.index.service_named(name).cloned()
    }

    /// Changes a service's environment, owner, tags or SPIFFE ID.
    pub fn update_service(&mut self, name: &str, update: ServiceUpdate) -> Result<Service> {
        let mut svc = self.service(name)?;
        if let Some(env) = update.environment {
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
            svc.spiffe_id = sid;
        }
        validate_spec(&ServiceSpec {
            name: svc.name.clone(),
            environment: svc.environment.clone(),
            owner: svc.owner.clone(),
            tags: svc.tags.clone(),
            spiffe_id: svc.spiffe_id.clone(),
        })?;
        svc.updated = OffsetDateTime::now_utc();
        let op = self.seal_object(svc.id, &ObjectRecord::Service(svc.clone()))?;
        let obj = AuditObject::new("service", Some(svc.id), svc.name.clone());
        self.commit(vec![op], vec![AuditEvent::success("service.update", vec![obj])])?;
        self.unlocked_mut()?.index.put_service(svc.clone());
        Ok(svc)
    }

    /// Removes a service. Refused while secrets, intents or active certificates refer to it,
    /// naming them, unless `force`, which removes the secrets and intents too and revokes the
    /// active certificates (reason cessationOfOperation, so their CAs' next CRLs list them), all
    /// in the same commit and audited. Says what went with it.
    pub fn remove_service(&mut self, name: &str, force: bool) -> Result<ServiceRemoval> {
        let index = &self.unlocked()?.index;
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
        let mut ops = vec![Op::Delete(TreeName::Objects, svc.id.as_bytes().to_vec())];
        let mut objects = vec![AuditObject::new("service", Some(svc.id), svc.name.clone())];
        for c in &creds {
            ops.push(Op::Delete(TreeName::Objects, c.id.as_bytes().to_vec()));
            ops.extend(c.versions.iter().map(|v| Op::Delete(TreeName::Payloads, v.payload_id.as_bytes().to_vec())));
            objects.push(AuditObject::new("secret", Some(c.id), format!("{}/{}", svc.name, c.name)));
        }
        for (i, label) in intents.iter().zip(&intent_names) {
            ops.push(Op::Delete(TreeName::Objects, i.id.as_bytes().to_vec()));
            objects.push(AuditObject::new("intent", Some(i.id), label.clone()));
        }
        // A certificate outliving its service would stay valid, unrevoked, for a name nobody
        // manages any more: revoke it with the service.
        let reason = Reason::CessationOfOperation;
        let mut events = Vec::with_capacity(certs.len() + 1);
        for c in &mut certs {
            c.status = CertStatus::Revoked;
            c.revocation = Some(Revocation { time: now, reason });
            ops.push(self.seal_object(c.id, &ObjectRecord::Certificate(c.clone()))?);
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
        self.commit(ops, events)?;
        let removal = ServiceRemoval {
            service: svc.name.clone(),
            secrets: creds.iter().map(|c| c.name.clone()).collect(),
            intents: intent_names,
            revoked: certs.iter().map(|c| RevokedCert { id: c.id.to_string(), serial: c.serial.clone() }).collect(),
        };
        let index = &mut self.unlocked_mut()?.index;
        for c in creds {
            index.remove_credential(c.id);
        }
        for i in intents {
            index.intents.remove(&i.id);
        }
        for c in certs {
            index.certs.insert(c.id, c);
        }
        index.remove_service(svc.id);
        Ok(removal)
    }
}

/// What [`Vault::remove_service`] removed and revoked with the service.
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
