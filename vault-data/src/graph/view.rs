//! The graph as front ends draw it: nodes (services, CAs) and edges with their evidence.
//! The JSON shape is documented in docs/TRUST_GRAPH.md.

use std::collections::{BTreeMap, HashSet, VecDeque};

use serde::Serialize;
use time::OffsetDateTime;

use crate::graph::findings::{compute, Finding, FindingKind, FindingOptions};
use crate::graph::model::{Chain, Model};
use crate::ids::RecordId;

/// Node kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum NodeKind {
    /// A service.
    Service,
    /// A certificate authority.
    Ca,
}

/// A node.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Node {
    /// `svc:<id>` or `ca:<id>`.
    pub id: String,
    /// Kind.
    pub kind: NodeKind,
    /// Name.
    pub name: String,
    /// Environment (services).
    pub environment: Option<String>,
    /// Owner (services).
    pub owner: Option<String>,
    /// Tags (services).
    pub tags: BTreeMap<String, String>,
    /// Whether the vault can sign with it (CAs).
    pub can_sign: Option<bool>,
    /// End of validity (CAs).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub not_after: Option<OffsetDateTime>,
    /// Findings that name this node.
    pub findings: Vec<String>,
}

/// Edge kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum EdgeKind {
    /// CA → CA (parent signed child) or CA → service (a valid certificate).
    Issued,
    /// Service → CA: the service accepts client certificates under the CA.
    TrustsInbound,
    /// Service → CA: the service verifies servers with the CA.
    TrustsOutbound,
    /// Caller → callee: `accepts(callee, caller)` and `can_verify(caller, callee)` both hold.
    Mtls,
    /// Holder → target: a credential granting access.
    Credential,
    /// Caller → callee: declared.
    Intent,
    /// Caller → callee: the caller gets tokens from an issuer that the callee accepts.
    Token,
}

/// Why an edge is true.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Evidence {
    /// A certificate and the CAs above it.
    Chain {
        /// Certificate id.
        certificate: RecordId,
        /// Serial.
        serial: String,
        /// CA names, issuer first.
        chain: Vec<String>,
    },
    /// Both halves of a mutual-TLS channel.
    Mtls {
        /// The caller's client chain, accepted by the callee via `accepted_via`.
        client: Box<Evidence>,
        /// The CA in the callee's inbound trust.
        accepted_via: String,
        /// The callee's server chain, verified by the caller via `verified_via`.
        server: Box<Evidence>,
        /// The CA in the caller's outbound trust.
        verified_via: String,
    },
    /// Credentials by name.
    Credential {
        /// Credential names.
        names: Vec<String>,
    },
    /// A declared intent.
    Intent {
        /// Intent id.
        intent: RecordId,
        /// Its note.
        note: Option<String>,
    },
    /// Membership in a trust store.
    Trust,
    /// Tokens: which issuers, for which audiences, with which key ids.
    Token {
        /// Each path: issuer, audience and the issuer's published key ids.
        paths: Vec<TokenEvidence>,
    },
}

/// One token path of a [`Evidence::Token`] edge.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct TokenEvidence {
    /// The issuer's name.
    pub issuer: String,
    /// The audience.
    pub audience: String,
    /// Key ids the issuer publishes.
    pub kids: Vec<String>,
}

/// The token evidence of the (caller, callee) pair, if tokens connect them.
pub(crate) fn token_evidence(m: &crate::graph::model::Model<'_>, from: RecordId, to: RecordId) -> Vec<TokenEvidence> {
    let index = m.index;
    m.f.tokens
        .get(&(from, to))
        .map(|paths| {
            paths
                .iter()
                .map(|p| TokenEvidence {
                    issuer: index.issuer_name(p.issuer),
                    audience: p.audience.clone(),
                    kids: index.issuer_kids(p.issuer),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// An edge.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Edge {
    /// Stable id.
    pub id: String,
    /// Kind.
    pub kind: EdgeKind,
    /// Source node id.
    pub from: String,
    /// Target node id.
    pub to: String,
    /// Why it holds.
    pub evidence: Evidence,
    /// When it stops being true (earliest expiry on the chains involved).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub valid_until: Option<OffsetDateTime>,
    /// Findings drawn on this edge (over-trust on trust edges, broken intents on intent edges).
    pub findings: Vec<String>,
}

/// The whole graph, or a neighbourhood of it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Graph {
    /// When it was computed.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub generated: OffsetDateTime,
    /// Nodes.
    pub nodes: Vec<Node>,
    /// Edges.
    pub edges: Vec<Edge>,
    /// Findings (all of them, most severe first; nodes and edges refer to them by id).
    pub findings: Vec<Finding>,
    /// Every environment of the vault (not only those in view), each with its colour slot, so a
    /// filtered view keeps the same colours and can offer the other environments.
    pub environments: Vec<EnvironmentInfo>,
    /// Whether `mtls` edges are listed for every pair or only for intended/credential pairs.
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub mtls_pairs: &'static str,
}

/// An environment and the colour it is drawn in.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EnvironmentInfo {
    /// Its name.
    pub name: String,
    /// One of [`COLOUR_SLOTS`] palette slots.
    pub slot: u8,
    /// How many services it holds.
    pub services: usize,
    /// The id of the node that stands for the whole environment in an overview.
    pub node: String,
}

/// How many environment colours a front end has.
pub const COLOUR_SLOTS: u8 = 8;

/// The colour slot of an environment, the same in every vault and every view: the usual names
/// have fixed slots (so prod and staging never share one), any other name hashes into the rest.
pub fn environment_slot(name: &str) -> u8 {
    const FIXED: [(&str, u8); 6] = [("prod", 0), ("staging", 1), ("dev", 2), ("test", 3), ("qa", 4), ("sandbox", 5)];
    if let Some((_, slot)) = FIXED.iter().find(|(n, _)| *n == name) {
        return *slot;
    }
    // FNV-1a: stable across releases and platforms (std's hasher is not).
    let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
    (hash % u64::from(COLOUR_SLOTS)) as u8
}

/// What to include.
#[derive(Debug, Clone, Default)]
pub struct GraphOptions {
    /// Only services of this environment (CAs they touch stay).
    pub environment: Option<String>,
    /// Only the neighbourhood of this service...
    pub service: Option<String>,
    /// ...up to this many hops (default 1).
    pub depth: Option<usize>,
    /// Only services with this tag: `key=value`, or `key` for any value.
    pub tag: Option<String>,
    /// Only services (and CAs) named by a finding of this kind, and edges that carry none of
    /// another kind.
    pub finding_kind: Option<FindingKind>,
    /// List an `mtls` edge for every pair that can talk (up to [`ALL_PAIRS_LIMIT`] services), not
    /// only for intended and credential pairs. Off by default in every front end: each such pair
    /// is already implied by the trust and issued edges, and drawing each one is what a person
    /// asks for when checking a pair, not when looking at an estate (200 services can make
    /// 20,000 such edges).
    pub all_mtls_pairs: bool,
}

/// Above this many services, `mtls` edges are listed only for intended or credential pairs.
pub const ALL_PAIRS_LIMIT: usize = 300;

pub(crate) fn svc_node(id: RecordId) -> String {
    format!("svc:{id}")
}

pub(crate) fn ca_node(id: RecordId) -> String {
    format!("ca:{id}")
}

fn chain_evidence(m: &Model<'_>, c: &Chain) -> Evidence {
    Evidence::Chain {
        certificate: c.cert,
        serial: c.serial.clone(),
        chain: c.cas.iter().map(|ca| m.index.ca_name(*ca)).collect(),
    }
}

/// The mTLS edge from `b` (caller) to `a` (callee), if both halves hold.
pub(crate) fn mtls_edge(m: &Model<'_>, b: RecordId, a: RecordId) -> Option<Edge> {
    let (client, via_a) = m.accepts(a, b)?;
    let (server, via_b) = m.can_verify(b, a)?;
    Some(Edge {
        id: format!("mtls:{b}:{a}"),
        kind: EdgeKind::Mtls,
        from: svc_node(b),
        to: svc_node(a),
        evidence: Evidence::Mtls {
            client: Box::new(chain_evidence(m, client)),
            accepted_via: m.index.ca_name(via_a),
            server: Box::new(chain_evidence(m, server)),
            verified_via: m.index.ca_name(via_b),
        },
        valid_until: Some(client.valid_until.min(server.valid_until)),
        findings: Vec::new(),
    })
}

pub(crate) fn build(m: &Model<'_>, opts: &GraphOptions, finding_opts: FindingOptions) -> crate::Result<Graph> {
    let index = m.index;
    if let Some(env) = &opts.environment {
        index.environment_known(env)?;
    }
    // Which services are in view.
    let mut services: HashSet<RecordId> = index
        .services
        .values()
        .filter(|s| opts.environment.as_ref().is_none_or(|e| &s.environment == e))
        .map(|s| s.id)
        .collect();
    if let Some(name) = &opts.service {
        let start = index.service_named(name)?.id;
        services = neighbourhood(m, start, opts.depth.unwrap_or(1), &services);
    }
    let sliced = opts.service.is_some() || opts.environment.is_some();
    let findings = compute(m, finding_opts, sliced.then_some(&services));
    // Tag and finding-kind filters keep the services that match; the CAs then follow the edges.
    let filtered = opts.tag.is_some() || opts.finding_kind.is_some();
    let named_by_kind = |kind: FindingKind, what: &str| -> HashSet<RecordId> {
        findings
            .iter()
            .filter(|f| f.kind == kind)
            .flat_map(|f| f.entities.iter().filter(|e| e.kind == what).map(|e| e.id))
            .collect()
    };
    if filtered {
        let with_kind = opts.finding_kind.map(|k| named_by_kind(k, "service"));
        services.retain(|s| {
            let svc = &index.services[s];
            opts.tag.as_deref().is_none_or(|t| tag_matches(&svc.tags, t))
                && with_kind.as_ref().is_none_or(|w| w.contains(s))
        });
    }
    let kind_cas = opts.finding_kind.map(|k| named_by_kind(k, "ca")).unwrap_or_default();
    let mut edges = Vec::new();
    let mut cas: HashSet<RecordId> = HashSet::new();
    let mut ids: Vec<RecordId> = services.iter().copied().collect();
    ids.sort();
    for s in &ids {
        let svc = &index.services[s];
        for (list, kind) in
            [(&svc.trust_inbound, EdgeKind::TrustsInbound), (&svc.trust_outbound, EdgeKind::TrustsOutbound)]
        {
            for ca in list {
                cas.insert(*ca);
                let dir = if kind == EdgeKind::TrustsInbound { "in" } else { "out" };
                edges.push(Edge {
                    id: format!("trust-{dir}:{s}:{ca}"),
                    kind,
                    from: svc_node(*s),
                    to: ca_node(*ca),
                    evidence: Evidence::Trust,
                    valid_until: index.cas.get(ca).map(|c| c.not_after),
                    findings: Vec::new(),
                });
            }
        }
        let f = m.facts(*s);
        let mut seen = HashSet::new();
        for ch in f.client.iter().chain(&f.server) {
            if !seen.insert(ch.cert) {
                continue;
            }
            cas.extend(ch.cas.iter().copied());
            if let Some(issuer) = ch.cas.first() {
                edges.push(Edge {
                    id: format!("issued:{}", ch.cert),
                    kind: EdgeKind::Issued,
                    from: ca_node(*issuer),
                    to: svc_node(*s),
                    evidence: chain_evidence(m, ch),
                    valid_until: Some(ch.valid_until),
                    findings: Vec::new(),
                });
            }
        }
    }
    // CA hierarchy among the CAs in view (and their parents).
    let mut stack: Vec<RecordId> = cas.iter().copied().collect();
    while let Some(ca) = stack.pop() {
        if let Some(parent) = index.cas.get(&ca).and_then(|c| c.parent) {
            if cas.insert(parent) {
                stack.push(parent);
            }
            edges.push(Edge {
                id: format!("issued-ca:{ca}"),
                kind: EdgeKind::Issued,
                from: ca_node(parent),
                to: ca_node(ca),
                evidence: Evidence::Trust,
                valid_until: index.cas.get(&ca).map(|c| c.not_after),
                findings: Vec::new(),
            });
        }
    }
    if !sliced && !filtered {
        cas.extend(index.cas.keys().copied());
    }
    // Intents and credentials.
    let mut intent_ids: Vec<RecordId> =
        services.iter().flat_map(|s| m.f.intents_of.get(s).into_iter().flatten()).copied().collect();
    intent_ids.sort_unstable();
    intent_ids.dedup();
    for i in intent_ids.iter().filter_map(|i| index.intents.get(i)) {
        if services.contains(&i.from) && services.contains(&i.to) {
            edges.push(Edge {
                id: format!("intent:{}", i.id),
                kind: EdgeKind::Intent,
                from: svc_node(i.from),
                to: svc_node(i.to),
                evidence: Evidence::Intent { intent: i.id, note: i.note.clone() },
                valid_until: None,
                findings: Vec::new(),
            });
        }
    }
    let mut credential_pairs: Vec<(RecordId, RecordId)> = Vec::new();
    for s in &ids {
        for t in m.f.adjacent.get(s).into_iter().flatten() {
            if services.contains(t) && m.f.credentials.contains_key(&(*s, *t)) {
                credential_pairs.push((*s, *t));
            }
        }
    }
    credential_pairs.sort_unstable();
    credential_pairs.dedup();
    let mut token_pairs: Vec<(RecordId, RecordId)> = Vec::new();
    for s in &ids {
        for t in m.f.adjacent.get(s).into_iter().flatten() {
            if services.contains(t) && m.f.tokens.contains_key(&(*s, *t)) {
                token_pairs.push((*s, *t));
            }
        }
    }
    token_pairs.sort_unstable();
    token_pairs.dedup();
    for (from, to) in &token_pairs {
        edges.push(Edge {
            id: format!("token:{from}:{to}"),
            kind: EdgeKind::Token,
            from: svc_node(*from),
            to: svc_node(*to),
            evidence: Evidence::Token { paths: token_evidence(m, *from, *to) },
            valid_until: None,
            findings: Vec::new(),
        });
    }
    for (from, to) in &credential_pairs {
        let Some(names) = m.f.credentials.get(&(*from, *to)) else { continue };
        {
            edges.push(Edge {
                id: format!("credential:{from}:{to}"),
                kind: EdgeKind::Credential,
                from: svc_node(*from),
                to: svc_node(*to),
                evidence: Evidence::Credential { names: names.clone() },
                valid_until: None,
                findings: Vec::new(),
            });
        }
    }
    // mTLS: every ordered pair of a small estate; intended/credential pairs in large estates and in
    // neighbourhoods (where the view exists to stay fast).
    let all_pairs = ids.len() <= ALL_PAIRS_LIMIT && opts.service.is_none() && opts.all_mtls_pairs;
    if all_pairs {
        for b in &ids {
            for a in &ids {
                if a != b {
                    edges.extend(mtls_edge(m, *b, *a));
                }
            }
        }
    } else {
        let mut pairs: Vec<(RecordId, RecordId)> = intent_ids
            .iter()
            .filter_map(|i| index.intents.get(i))
            .map(|i| (i.from, i.to))
            .chain(credential_pairs.iter().copied())
            .filter(|(b, a)| services.contains(a) && services.contains(b))
            .collect();
        pairs.sort();
        pairs.dedup();
        for (b, a) in pairs {
            if services.contains(&a) && services.contains(&b) {
                edges.extend(mtls_edge(m, b, a));
            }
        }
    }

    // Draw findings on nodes and edges (keyed by record ids: no string formatting per finding).
    let node_id = |n: &str| n.split_once(':').and_then(|(_, id)| id.parse::<RecordId>().ok());
    let mut edge_at: std::collections::HashMap<(EdgeKind, RecordId, RecordId), Vec<usize>> =
        std::collections::HashMap::new();
    for (i, e) in edges.iter().enumerate() {
        if matches!(e.kind, EdgeKind::Intent | EdgeKind::TrustsInbound) {
            if let (Some(from), Some(to)) = (node_id(&e.from), node_id(&e.to)) {
                edge_at.entry((e.kind, from, to)).or_default().push(i);
            }
        }
    }
    let mut node_findings: std::collections::HashMap<RecordId, Vec<String>> = std::collections::HashMap::new();
    for f in &findings {
        for e in f.entities.iter().filter(|e| e.kind == "service" || e.kind == "ca") {
            node_findings.entry(e.id).or_default().push(f.id.clone());
        }
        let key = match (f.kind, f.entities.first(), f.entities.get(1)) {
            (FindingKind::OverTrust | FindingKind::CrossEnvironment, Some(s), Some(c)) => {
                (EdgeKind::TrustsInbound, s.id, c.id)
            }
            (FindingKind::BrokenIntent, Some(b), Some(a)) => (EdgeKind::Intent, b.id, a.id),
            _ => continue,
        };
        for i in edge_at.get(&key).into_iter().flatten() {
            edges[*i].findings.push(f.id.clone());
        }
    }
    if let Some(kind) = opts.finding_kind {
        let kind_of: std::collections::HashMap<&str, FindingKind> =
            findings.iter().map(|f| (f.id.as_str(), f.kind)).collect();
        edges.retain(|e| {
            e.kind == EdgeKind::Issued
                || e.findings.is_empty()
                || e.findings.iter().any(|id| kind_of.get(id.as_str()) == Some(&kind))
        });
    }
    if filtered {
        // CAs a kept edge touches, and CAs the finding kind names.
        let touched: HashSet<RecordId> =
            edges.iter().flat_map(|e| [node_id(&e.from), node_id(&e.to)]).flatten().collect();
        cas.retain(|c| touched.contains(c));
        cas.extend(kind_cas.iter().copied().filter(|c| index.cas.contains_key(c)));
    }
    let mut nodes = Vec::with_capacity(ids.len() + cas.len());
    for s in &ids {
        let svc = &index.services[s];
        let id = svc_node(*s);
        nodes.push(Node {
            findings: node_findings.remove(s).unwrap_or_default(),
            id,
            kind: NodeKind::Service,
            name: svc.name.clone(),
            environment: Some(svc.environment.clone()),
            owner: svc.owner.clone(),
            tags: svc.tags.clone(),
            can_sign: None,
            not_after: None,
        });
    }
    let mut ca_ids: Vec<RecordId> = cas.into_iter().collect();
    ca_ids.sort();
    for c in ca_ids {
        let Some(ca) = index.cas.get(&c) else { continue };
        let id = ca_node(c);
        nodes.push(Node {
            findings: node_findings.remove(&c).unwrap_or_default(),
            id,
            kind: NodeKind::Ca,
            name: ca.name.clone(),
            environment: None,
            owner: None,
            tags: BTreeMap::new(),
            can_sign: Some(index.ca_signs(ca)),
            not_after: Some(ca.not_after),
        });
    }
    let shown: HashSet<&str> = nodes.iter().map(|n| n.id.as_str()).collect();
    let findings = if sliced || filtered {
        findings
            .into_iter()
            .filter(|f| opts.finding_kind.is_none_or(|k| f.kind == k))
            .filter(|f| {
                f.entities
                    .iter()
                    .any(|e| shown.contains(svc_node(e.id).as_str()) || shown.contains(ca_node(e.id).as_str()))
            })
            .collect()
    } else {
        findings
    };
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for svc in index.services.values() {
        *counts.entry(svc.environment.as_str()).or_default() += 1;
    }
    let environments = counts
        .into_iter()
        .map(|(name, services)| EnvironmentInfo {
            name: name.to_string(),
            slot: environment_slot(name),
            services,
            node: format!("env:{name}"),
        })
        .collect();
    Ok(Graph {
        generated: m.now,
        nodes,
        edges,
        findings,
        environments,
        mtls_pairs: if all_pairs { "all" } else { "intended" },
    })
}

/// Whether `tags` hold `filter`: `key=value`, or `key` for any value (spaces around either ignored).
fn tag_matches(tags: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => tags.get(k.trim()).is_some_and(|have| have == v.trim()),
        None => tags.contains_key(filter.trim()),
    }
}

/// Services within `depth` hops of `start` (through intents, credentials, and shared CAs).
fn neighbourhood(m: &Model<'_>, start: RecordId, depth: usize, allowed: &HashSet<RecordId>) -> HashSet<RecordId> {
    let index = m.index;
    let mut seen = HashSet::from([start]);
    let mut queue = VecDeque::from([(start, 0usize)]);
    while let Some((s, d)) = queue.pop_front() {
        if d == depth {
            continue;
        }
        let mut next: Vec<RecordId> = m.f.adjacent.get(&s).cloned().unwrap_or_default();
        // Services that accept this one's identity directly (through a CA in their inbound trust).
        if let Some(svc) = index.services.get(&s) {
            for ca in svc.trust_inbound.iter() {
                if let Some(members) = m.f.client_members.get(ca) {
                    if members.len() <= 50 {
                        next.extend(members.iter().copied());
                    }
                }
            }
        }
        for n in next {
            if allowed.contains(&n) && seen.insert(n) {
                queue.push_back((n, d + 1));
            }
        }
    }
    seen
}
