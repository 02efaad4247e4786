//! The facts the trust graph is derived from, computed once from the vault index: for each
//! service its valid certificate chains, for each CA the services whose identities chain through it.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::ids::RecordId;
use crate::model::{CertStatus, Certificate};
use crate::vault::index::Index;

/// A valid (unexpired, unrevoked, active) leaf and the vault CAs above it, issuer first.
#[derive(Debug, Clone)]
pub(crate) struct Chain {
    pub cert: RecordId,
    pub serial: String,
    pub cas: Vec<RecordId>,
    /// Earliest expiry on the chain.
    pub valid_until: OffsetDateTime,
}

#[derive(Debug, Default)]
pub(crate) struct SvcFacts {
    pub client: Vec<Chain>,
    pub server: Vec<Chain>,
}

pub(crate) struct Model<'a> {
    pub index: &'a Index,
    pub now: OffsetDateTime,
    pub facts: HashMap<RecordId, SvcFacts>,
    /// For each CA, the services with a valid client identity chaining through it.
    pub client_members: HashMap<RecordId, HashSet<RecordId>>,
    /// For each CA, the services with a valid server identity chaining through it.
    pub server_members: HashMap<RecordId, HashSet<RecordId>>,
    /// Intended callers of each service.
    pub callers: HashMap<RecordId, HashSet<RecordId>>,
    /// Services each service holds credentials for (by target name).
    pub credentials: HashMap<(RecordId, RecordId), Vec<String>>,
}

/// The vault CAs from `ca` up to its root.
pub(crate) fn ca_path(index: &Index, ca: RecordId) -> Vec<RecordId> {
    let mut out = vec![ca];
    let mut cur = ca;
    while let Some(p) = index.cas.get(&cur).and_then(|c| c.parent) {
        if out.contains(&p) {
            break;
        }
        out.push(p);
        cur = p;
    }
    out
}

fn chain_of(index: &Index, c: &Certificate, now: OffsetDateTime) -> Option<Chain> {
    if c.status != CertStatus::Active || c.not_after <= now {
        return None;
    }
    let issuer = c.issuer?;
    let cas = ca_path(index, issuer);
    let mut valid_until = c.not_after;
    for id in &cas {
        let ca = index.cas.get(id)?;
        if ca.not_after <= now {
            return None;
        }
        valid_until = valid_until.min(ca.not_after);
    }
    Some(Chain { cert: c.id, serial: c.serial.clone(), cas, valid_until })
}

impl<'a> Model<'a> {
    pub(crate) fn build(index: &'a Index, now: OffsetDateTime) -> Model<'a> {
        let mut facts: HashMap<RecordId, SvcFacts> = HashMap::with_capacity(index.services.len());
        let mut client_members: HashMap<RecordId, HashSet<RecordId>> = HashMap::new();
        let mut server_members: HashMap<RecordId, HashSet<RecordId>> = HashMap::new();
        for c in index.certs.values() {
            let Some(svc) = c.service_id else { continue };
            let Some(chain) = chain_of(index, c, now) else { continue };
            let (client, server) = (c.client_auth, c.server_auth);
            let f = facts.entry(svc).or_default();
            if client {
                for ca in &chain.cas {
                    client_members.entry(*ca).or_default().insert(svc);
                }
                f.client.push(chain.clone());
            }
            if server {
                for ca in &chain.cas {
                    server_members.entry(*ca).or_default().insert(svc);
                }
                f.server.push(chain);
            }
        }
        let mut callers: HashMap<RecordId, HashSet<RecordId>> = HashMap::new();
        for i in index.intents.values() {
            callers.entry(i.to).or_default().insert(i.from);
        }
        let mut credentials: HashMap<(RecordId, RecordId), Vec<String>> = HashMap::new();
        for c in index.credentials.values() {
            if let Some(target) = c.target.as_ref().and_then(|t| index.service_by_name.get(t)) {
                credentials.entry((c.service_id, *target)).or_default().push(c.name.clone());
            }
        }
        Model { index, now, facts, client_members, server_members, callers, credentials }
    }

    fn empty() -> &'static SvcFacts {
        static EMPTY: std::sync::OnceLock<SvcFacts> = std::sync::OnceLock::new();
        EMPTY.get_or_init(SvcFacts::default)
    }

    pub(crate) fn facts(&self, svc: RecordId) -> &SvcFacts {
        self.facts.get(&svc).unwrap_or(Self::empty())
    }

    /// `accepts(A, B)`: one of B's client chains passes through a CA in A's inbound trust.
    pub(crate) fn accepts(&self, a: RecordId, b: RecordId) -> Option<(&Chain, RecordId)> {
        let inbound = &self.index.services.get(&a)?.trust_inbound;
        self.facts(b).client.iter().find_map(|ch| ch.cas.iter().find(|ca| inbound.contains(ca)).map(|ca| (ch, *ca)))
    }

    /// `can_verify(B, A)`: one of A's server chains passes through a CA in B's outbound trust.
    pub(crate) fn can_verify(&self, b: RecordId, a: RecordId) -> Option<(&Chain, RecordId)> {
        let outbound = &self.index.services.get(&b)?.trust_outbound;
        self.facts(a).server.iter().find_map(|ch| ch.cas.iter().find(|ca| outbound.contains(ca)).map(|ca| (ch, *ca)))
    }

    pub(crate) fn intended(&self, from: RecordId, to: RecordId) -> bool {
        self.callers.get(&to).is_some_and(|c| c.contains(&from))
    }
}
