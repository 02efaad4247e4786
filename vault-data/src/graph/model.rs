//! The facts the trust graph is derived from, computed once from the estate (model::Estate): for each
//! service its valid certificate chains, for each CA the services whose identities chain through it.

use std::collections::{HashMap, HashSet};

use time::OffsetDateTime;

use crate::ids::RecordId;
use crate::model::estate::Estate;
use crate::model::{CertStatus, Certificate};

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

/// Everything derived from the records, owned, so an open vault can keep it between queries
/// (it is rebuilt when the audit head moves or the minute changes).
#[derive(Default)]
pub(crate) struct Facts {
    pub per_service: HashMap<RecordId, SvcFacts>,
    /// For each CA, the services with a valid client identity chaining through it.
    pub client_members: HashMap<RecordId, HashSet<RecordId>>,
    /// For each CA, the services with a valid server identity chaining through it.
    pub server_members: HashMap<RecordId, HashSet<RecordId>>,
    /// Intended callers of each service.
    pub callers: HashMap<RecordId, HashSet<RecordId>>,
    /// Credential names by (holder, target service).
    pub credentials: HashMap<(RecordId, RecordId), Vec<String>>,
    /// Every certificate id of each service, whatever its status.
    pub certs_by_service: HashMap<RecordId, Vec<RecordId>>,
    /// Services linked by an intent or a credential, both directions (for neighbourhoods).
    pub adjacent: HashMap<RecordId, Vec<RecordId>>,
    /// Per CA: who its key could impersonate, and to whom.
    pub blast: HashMap<RecordId, BlastFacts>,
    /// Per CA: its client members sorted by name, and counted by environment.
    pub members: HashMap<RecordId, Members>,
    /// Intent ids touching each service (either end).
    pub intents_of: HashMap<RecordId, Vec<RecordId>>,
    /// Credential ids held by each service.
    pub credentials_of: HashMap<RecordId, Vec<RecordId>>,
    /// CAs that are trusted, have children, or issued an active certificate.
    pub cas_in_use: HashSet<RecordId>,
    /// Token paths by (caller, callee): the caller gets tokens the callee accepts.
    pub tokens: HashMap<(RecordId, RecordId), Vec<TokenPath>>,
}

/// One way a caller's token is accepted by a callee: the issuer, and the audience it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TokenPath {
    pub issuer: crate::model::token::IssuerRef,
    pub audience: String,
}

/// The client identities under one CA, ready for per-(service, CA) summaries.
#[derive(Debug, Default)]
pub(crate) struct Members {
    /// Service ids sorted by service name.
    pub sorted: Vec<RecordId>,
    /// How many per environment.
    pub by_env: std::collections::BTreeMap<String, usize>,
}

/// The reach of one CA's key.
#[derive(Debug, Default)]
pub(crate) struct BlastFacts {
    /// Services with a valid identity under the CA.
    pub impersonable: usize,
    /// Services that trust the CA or a CA above it.
    pub relying: usize,
    /// Up to ten of those, by name.
    pub examples: Vec<RecordId>,
}

/// The facts together with the index they were derived from.
pub(crate) struct Model<'a> {
    pub index: &'a Estate,
    pub now: OffsetDateTime,
    pub f: std::sync::Arc<Facts>,
}

/// The vault CAs from `ca` up to its root.
pub(crate) fn ca_path(index: &Estate, ca: RecordId) -> Vec<RecordId> {
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

fn chain_of(index: &Estate, c: &Certificate, now: OffsetDateTime) -> Option<Chain> {
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

impl Facts {
    pub(crate) fn build(index: &Estate, now: OffsetDateTime) -> Facts {
        let mut f = Facts::default();
        for c in index.certs.values() {
            let Some(svc) = c.service_id else { continue };
            f.certs_by_service.entry(svc).or_default().push(c.id);
            let Some(chain) = chain_of(index, c, now) else { continue };
            let (client, server) = (c.client_auth, c.server_auth);
            let facts = f.per_service.entry(svc).or_default();
            if client {
                for ca in &chain.cas {
                    f.client_members.entry(*ca).or_default().insert(svc);
                }
                facts.client.push(chain.clone());
            }
            if server {
                for ca in &chain.cas {
                    f.server_members.entry(*ca).or_default().insert(svc);
                }
                facts.server.push(chain);
            }
        }
        for i in index.intents.values() {
            f.intents_of.entry(i.from).or_default().push(i.id);
            f.intents_of.entry(i.to).or_default().push(i.id);
            f.callers.entry(i.to).or_default().insert(i.from);
            f.adjacent.entry(i.from).or_default().push(i.to);
            f.adjacent.entry(i.to).or_default().push(i.from);
        }
        for c in index.credentials.values() {
            f.credentials_of.entry(c.service_id).or_default().push(c.id);
            if let Some(target) = c.target.as_ref().and_then(|t| index.service_by_name.get(t)) {
                let names = f.credentials.entry((c.service_id, *target)).or_default();
                if names.is_empty() {
                    f.adjacent.entry(c.service_id).or_default().push(*target);
                    f.adjacent.entry(*target).or_default().push(c.service_id);
                }
                names.push(c.name.clone());
            }
        }
        // Tokens: a client grant meets an accepting grant of the same issuer when the audiences
        // match, or the acceptor takes any audience (`*`).
        use crate::model::token::GrantSide;
        let accepting: Vec<&crate::model::token::TokenGrant> =
            index.grants.values().filter(|g| g.side == GrantSide::Accepts).collect();
        for c in index.grants.values().filter(|g| g.side == GrantSide::Client) {
            for a in accepting.iter().filter(|a| a.issuer == c.issuer && a.service != c.service) {
                if a.audience == c.audience || a.audience == "*" {
                    let paths = f.tokens.entry((c.service, a.service)).or_default();
                    if paths.is_empty() {
                        f.adjacent.entry(c.service).or_default().push(a.service);
                        f.adjacent.entry(a.service).or_default().push(c.service);
                    }
                    let path = TokenPath { issuer: c.issuer, audience: c.audience.clone() };
                    if !paths.contains(&path) {
                        paths.push(path);
                    }
                }
            }
        }
        f.blast = blast_facts(index, &f);
        f.cas_in_use =
            index.services.values().flat_map(|s| s.trust_inbound.iter().chain(&s.trust_outbound)).copied().collect();
        f.cas_in_use.extend(index.cas.values().filter_map(|c| c.parent));
        f.cas_in_use.extend(
            index.certs.values().filter(|c| c.status == crate::model::CertStatus::Active).filter_map(|c| c.issuer),
        );
        for (ca, members) in &f.client_members {
            let mut named: Vec<(&str, RecordId)> =
                members.iter().filter_map(|id| index.services.get(id).map(|s| (s.name.as_str(), *id))).collect();
            named.sort();
            let mut by_env = std::collections::BTreeMap::new();
            for (_, id) in &named {
                if let Some(s) = index.services.get(id) {
                    *by_env.entry(s.environment.clone()).or_insert(0) += 1;
                }
            }
            f.members.insert(*ca, Members { sorted: named.into_iter().map(|(_, id)| id).collect(), by_env });
        }
        f
    }
}

fn blast_facts(index: &Estate, f: &Facts) -> HashMap<RecordId, BlastFacts> {
    let mut trusters: HashMap<RecordId, Vec<RecordId>> = HashMap::new();
    for s in index.services.values() {
        let mut cas: Vec<RecordId> = s.trust_inbound.iter().chain(&s.trust_outbound).copied().collect();
        cas.sort();
        cas.dedup();
        for ca in cas {
            trusters.entry(ca).or_default().push(s.id);
        }
    }
    let mut out = HashMap::with_capacity(index.cas.len());
    for ca in index.cas.keys() {
        let mut relying: HashSet<RecordId> = HashSet::new();
        for p in ca_path(index, *ca) {
            relying.extend(trusters.get(&p).into_iter().flatten().copied());
        }
        let client = f.client_members.get(ca);
        let server = f.server_members.get(ca);
        let impersonable = client.map_or(0, HashSet::len)
            + server.map_or(0, |sv| sv.iter().filter(|s| !client.is_some_and(|c| c.contains(s))).count());
        let mut named: Vec<(&str, RecordId)> =
            relying.iter().filter_map(|id| index.services.get(id).map(|s| (s.name.as_str(), *id))).collect();
        if named.len() > 10 {
            named.select_nth_unstable(9);
            named.truncate(10);
        }
        named.sort();
        out.insert(
            *ca,
            BlastFacts {
                impersonable,
                relying: relying.len(),
                examples: named.into_iter().map(|(_, id)| id).collect(),
            },
        );
    }
    out
}

impl<'a> Model<'a> {
    pub(crate) fn certs_of(&self, svc: RecordId) -> impl Iterator<Item = &'a Certificate> + '_ {
        let index = self.index;
        self.f.certs_by_service.get(&svc).into_iter().flatten().filter_map(move |id| index.certs.get(id))
    }

    fn empty() -> &'static SvcFacts {
        static EMPTY: std::sync::OnceLock<SvcFacts> = std::sync::OnceLock::new();
        EMPTY.get_or_init(SvcFacts::default)
    }

    pub(crate) fn facts(&self, svc: RecordId) -> &SvcFacts {
        self.f.per_service.get(&svc).unwrap_or(Self::empty())
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
        self.f.callers.get(&to).is_some_and(|c| c.contains(&from))
    }
}
