//! The trust graph over this vault's records. The derived facts are cached while the vault is
//! open and rebuilt when anything is committed (the audit head moves) or the minute changes
//! (validity depends on the time), so repeated queries (a desktop view, neighbourhoods) are cheap.

use std::sync::Arc;

use time::OffsetDateTime;

use crate::error::{Error, Result};
use crate::graph::explain::{blast, explain, Explanation};
use crate::graph::findings::{compute, Finding, FindingOptions};
use crate::graph::impact::{trust_impact, TrustImpact};
use crate::graph::model::{Facts, Model};
use crate::graph::view::{build, Graph, GraphOptions};
use crate::vault::{Direction, Vault};
use std::ops::Deref;

/// Facts derived at one audit head and minute.
pub(crate) struct GraphCache {
    seq: u64,
    minute: i64,
    facts: Arc<Facts>,
}

feature_handle!(
    /// The trust graph: findings, views, explanations, impact of a change.
    TrustGraph, graph
);

impl<V: Deref<Target = Vault>> TrustGraph<V> {
    /// Forgets the cached graph facts, so the next query derives them from the records again
    /// (benchmarks measure the cold path with it).
    pub fn clear_cache(&self) {
        if let Ok(mut cache) = self.vault.graph_cache.lock() {
            *cache = None;
        }
    }

    /// Every finding, most severe first.
    pub fn findings(&self, opts: FindingOptions) -> Result<Vec<Finding>> {
        Ok(compute(&self.vault.model()?, opts, None))
    }

    /// The graph (or a filtered neighbourhood of it) with its findings.
    pub fn view(&self, opts: &GraphOptions, findings: FindingOptions) -> Result<Graph> {
        build(&self.vault.model()?, opts, findings)
    }

    /// Can service `from` reach service `to`, how, and was it intended?
    pub fn explain(&self, from: &str, to: &str) -> Result<Explanation> {
        let m = self.vault.model()?;
        let (a, b) = (m.index.service_named(from)?.id, m.index.service_named(to)?.id);
        Ok(explain(&m, a, b))
    }

    /// What adding (`add`) or removing CA `ca` from `service`'s trust store(s) would change:
    /// the services that would gain or lose that half of mTLS, split by whether an intent asks
    /// for it. Nothing is written.
    pub fn trust_impact(&self, service: &str, ca: &str, direction: Direction, add: bool) -> Result<TrustImpact> {
        let m = self.vault.model()?;
        let svc = m.index.service_named(service)?;
        let ca = m.index.ca_named(ca)?.id;
        let mut total = TrustImpact::default();
        for (wanted, inbound, store) in
            [(direction.inbound(), true, &svc.trust_inbound), (direction.outbound(), false, &svc.trust_outbound)]
        {
            if !wanted {
                continue;
            }
            let mut after: Vec<_> = store.iter().copied().filter(|id| *id != ca).collect();
            if add {
                after.push(ca);
            }
            let part = trust_impact(&m, svc.id, inbound, &after);
            total.intended.extend(part.intended);
            total.unintended.extend(part.unintended);
        }
        for list in [&mut total.intended, &mut total.unintended] {
            list.sort();
            list.dedup();
        }
        // With both stores, a peer an intent covers in one direction is listed once, as intended.
        let intended = total.intended.clone();
        total.unintended.retain(|n| !intended.contains(n));
        Ok(total)
    }

    /// What an attacker holding CA `name`'s key could impersonate, and to whom.
    pub fn blast_radius(&self, name: &str) -> Result<Finding> {
        let m = self.vault.model()?;
        let ca = m.index.ca_named(name)?.id;
        blast(&m, ca).ok_or_else(|| {
            Error::Invalid(format!(
                "CA {name:?} issues no identity in use and no service trusts it: nothing is exposed"
            ))
        })
    }
}

impl Vault {
    fn model(&self) -> Result<Model<'_>> {
        let u = self.unlocked()?;
        let now = OffsetDateTime::now_utc();
        let minute = now.unix_timestamp() / 60;
        let mut cache = self.graph_cache.lock().map_err(|_| Error::Storage("graph cache poisoned".into()))?;
        let facts = match cache.as_ref() {
            Some(c) if c.seq == u.head.seq && c.minute == minute => c.facts.clone(),
            _ => {
                let facts = Arc::new(Facts::build(&u.index, now));
                *cache = Some(GraphCache { seq: u.head.seq, minute, facts: facts.clone() });
                facts
            }
        };
        Ok(Model { index: &u.index, now, f: facts })
    }
}
