//! What a trust change does before it is made: which peers gain or lose the half of mTLS that the
//! changed trust store decides, and which of them an intent says should be able to talk. A front
//! end shows this in its confirmation (and the CLI after the change), so "callers lose access"
//! names the callers.

use std::collections::BTreeSet;
use std::collections::HashSet;

use serde::Serialize;

use crate::graph::model::Model;
use crate::ids::RecordId;

/// The effect of adding or removing one CA from one service's trust store.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TrustImpact {
    /// Services whose declared intent stops working (removal) or starts working (addition).
    pub intended: Vec<String>,
    /// Other services that lose (removal) or gain (addition) that half of mTLS; a gain here is
    /// access no intent asked for.
    pub unintended: Vec<String>,
}

impl TrustImpact {
    /// Whether the change affects no service.
    pub fn is_empty(&self) -> bool {
        self.intended.is_empty() && self.unintended.is_empty()
    }
}

/// The impact on `service` of its `inbound` (or outbound) trust store becoming `after` instead of
/// what it holds now. Inbound decides which clients it accepts; outbound which servers it verifies.
pub(crate) fn trust_impact(m: &Model<'_>, service: RecordId, inbound: bool, after: &[RecordId]) -> TrustImpact {
    let Some(svc) = m.index.services.get(&service) else { return TrustImpact::default() };
    let before = if inbound { &svc.trust_inbound } else { &svc.trust_outbound };
    let members = if inbound { &m.f.client_members } else { &m.f.server_members };
    let peers = |cas: &[RecordId]| -> HashSet<RecordId> {
        cas.iter().filter_map(|ca| members.get(ca)).flatten().copied().filter(|p| *p != service).collect()
    };
    let (was, will) = (peers(before), peers(after));
    let mut intended = BTreeSet::new();
    let mut unintended = BTreeSet::new();
    for p in was.symmetric_difference(&will) {
        let meant = if inbound { m.intended(*p, service) } else { m.intended(service, *p) };
        let name = m.index.service_name(*p);
        if meant {
            intended.insert(name);
        } else {
            unintended.insert(name);
        }
    }
    TrustImpact { intended: intended.into_iter().collect(), unintended: unintended.into_iter().collect() }
}
