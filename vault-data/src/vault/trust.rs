//! Service trust stores: which CAs a service accepts client certificates from (inbound) and
//! verifies servers with (outbound).

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::model::ObjectRecord;
use crate::vault::Vault;
use std::ops::{Deref, DerefMut};

/// Which trust store(s) a change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Client certificates the service accepts.
    Inbound,
    /// Server certificates the service verifies.
    Outbound,
    /// Both.
    Both,
}

impl Direction {
    pub(crate) fn inbound(self) -> bool {
        matches!(self, Direction::Inbound | Direction::Both)
    }
    pub(crate) fn outbound(self) -> bool {
        matches!(self, Direction::Outbound | Direction::Both)
    }
}

/// A service's trust stores by CA name.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrustView {
    /// Service name.
    pub service: String,
    /// CAs accepted for inbound client certificates.
    pub inbound: Vec<String>,
    /// CAs used to verify outbound server certificates.
    pub outbound: Vec<String>,
}

feature_handle!(
    /// Which CAs each service trusts, inbound (clients it accepts) and outbound (servers it accepts).
    TrustStores, trust, trust_mut
);

impl<V: Deref<Target = Vault>> TrustStores<V> {
    /// Adds (`add`) or removes a CA from a service's trust store(s).
    pub fn set(&mut self, service: &str, ca: &str, direction: Direction, add: bool) -> Result<TrustView>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let mut svc = index.service_named(service)?.clone();
        let ca = index.ca_named(ca)?.clone();
        let mut changed = false;
        for (wanted, store) in
            [(direction.inbound(), &mut svc.trust_inbound), (direction.outbound(), &mut svc.trust_outbound)]
        {
            if !wanted {
                continue;
            }
            let present = store.contains(&ca.id);
            if add && !present {
                store.push(ca.id);
                changed = true;
            } else if !add && present {
                store.retain(|id| *id != ca.id);
                changed = true;
            }
        }
        if !changed {
            let what = if add { "already trusts" } else { "does not trust" };
            return Err(Error::Invalid(
                format!("{} {what} {} ({direction:?})", svc.name, ca.name).to_lowercase().replacen(
                    &svc.name.to_lowercase(),
                    &svc.name,
                    1,
                ),
            ));
        }
        svc.updated = OffsetDateTime::now_utc();
        let op = self.vault.seal_object(svc.id, &ObjectRecord::Service(svc.clone()))?;
        let action = if add { "trust.add" } else { "trust.remove" };
        let objs = vec![
            AuditObject::new("service", Some(svc.id), svc.name.clone()),
            AuditObject::new("ca", Some(ca.id), ca.name.clone()),
        ];
        self.vault.commit(
            vec![op],
            vec![AuditEvent::success(action, objs).with_detail(format!("{direction:?}").to_lowercase())],
        )?;
        self.vault.unlocked_mut()?.index.put_service(svc);
        self.of(service)
    }

    /// Makes `service` trust `ca` in `direction`, idempotently: when it already does, nothing is
    /// written and the second value is false (so scripts can run `trust add` again).
    pub fn ensure(&mut self, service: &str, ca: &str, direction: Direction) -> Result<(TrustView, bool)>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?;
        let ca = index.ca_named(ca)?;
        let has = |wanted: bool, store: &[crate::ids::RecordId]| !wanted || store.contains(&ca.id);
        if has(direction.inbound(), &svc.trust_inbound) && has(direction.outbound(), &svc.trust_outbound) {
            return Ok((self.of(service)?, false));
        }
        let ca = ca.name.clone();
        Ok((self.set(service, &ca, direction, true)?, true))
    }

    /// Adds many (service, CA, direction) trust entries in one commit; entries already present
    /// are skipped. Unknown names fail the whole batch before anything is written.
    pub fn set_many(&mut self, changes: &[(String, String, Direction)]) -> Result<usize>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let mut changed: std::collections::BTreeMap<crate::ids::RecordId, crate::model::Service> = Default::default();
        let mut events = Vec::new();
        for (service, ca, direction) in changes {
            let base = index.service_named(service)?;
            let ca = index.ca_named(ca)?;
            let svc = changed.entry(base.id).or_insert_with(|| base.clone());
            let mut added = false;
            for (wanted, store) in
                [(direction.inbound(), &mut svc.trust_inbound), (direction.outbound(), &mut svc.trust_outbound)]
            {
                if wanted && !store.contains(&ca.id) {
                    store.push(ca.id);
                    added = true;
                }
            }
            if added {
                let objs = vec![
                    AuditObject::new("service", Some(svc.id), svc.name.clone()),
                    AuditObject::new("ca", Some(ca.id), ca.name.clone()),
                ];
                events
                    .push(AuditEvent::success("trust.add", objs).with_detail(format!("{direction:?}").to_lowercase()));
            }
        }
        let n = events.len();
        let mut ops = Vec::with_capacity(changed.len());
        for svc in changed.values() {
            ops.push(self.vault.seal_object(svc.id, &ObjectRecord::Service(svc.clone()))?);
        }
        self.vault.commit(ops, events)?;
        let index = &mut self.vault.unlocked_mut()?.index;
        for (_, svc) in changed {
            index.put_service(svc);
        }
        Ok(n)
    }

    /// A service's trust stores.
    pub fn of(&self, service: &str) -> Result<TrustView> {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?;
        let names = |ids: &[crate::ids::RecordId]| ids.iter().map(|i| index.ca_name(*i)).collect();
        Ok(TrustView {
            service: svc.name.clone(),
            inbound: names(&svc.trust_inbound),
            outbound: names(&svc.trust_outbound),
        })
    }
}
