//! Service operations.

use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::service::{validate_spiffe_id, ServiceUpdate};
use crate::model::{validate_name, ObjectRecord, Service, ServiceSpec};
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

    /// Removes a service. Refused while secrets or intents refer to it, naming them, unless
    /// `force`, which removes those too (in the same commit).
    pub fn remove_service(&mut self, name: &str, force: bool) -> Result<()> {
        let index = &self.unlocked()?.index;
        let svc = index.service_named(name)?.clone();
        let mut creds: Vec<_> = index.credentials.values().filter(|c| c.service_id == svc.id).cloned().collect();
        creds.sort_by(|a, b| a.name.cmp(&b.name));
        let mut intents: Vec<_> =
            index.intents.values().filter(|i| i.from == svc.id || i.to == svc.id).cloned().collect();
        intents.sort_by_key(|i| (index.service_name(i.from), index.service_name(i.to)));
        if !force && (!creds.is_empty() || !intents.is_empty()) {
            let mut refs: Vec<String> = creds.iter().map(|c| format!("secret {}/{}", svc.name, c.name)).collect();
            refs.extend(
                intents
                    .iter()
                    .map(|i| format!("intent {} -> {}", index.service_name(i.from), index.service_name(i.to))),
            );
            return Err(Error::StillReferenced { name: svc.name, references: refs.join(", ") });
        }
        let mut ops = vec![Op::Delete(TreeName::Objects, svc.id.as_bytes().to_vec())];
        let mut objects = vec![AuditObject::new("service", Some(svc.id), svc.name.clone())];
        for c in &creds {
            ops.push(Op::Delete(TreeName::Objects, c.id.as_bytes().to_vec()));
            ops.extend(c.versions.iter().map(|v| Op::Delete(TreeName::Payloads, v.payload_id.as_bytes().to_vec())));
            objects.push(AuditObject::new("secret", Some(c.id), format!("{}/{}", svc.name, c.name)));
        }
        for i in &intents {
            ops.push(Op::Delete(TreeName::Objects, i.id.as_bytes().to_vec()));
            objects.push(AuditObject::new(
                "intent",
                Some(i.id),
                format!("{} -> {}", index.service_name(i.from), index.service_name(i.to)),
            ));
        }
        let mut event = AuditEvent::success("service.remove", objects);
        if force && (!creds.is_empty() || !intents.is_empty()) {
            event = event.with_detail("forced: removed its secrets and intents too");
        }
        self.commit(ops, vec![event])?;
        let index = &mut self.unlocked_mut()?.index;
        for c in creds {
            index.remove_credential(c.id);
        }
        for i in intents {
            index.intents.remove(&i.id);
        }
        index.remove_service(svc.id);
        Ok(())
    }
}
