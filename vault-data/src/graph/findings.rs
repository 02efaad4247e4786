//! Findings: what is wrong or risky in the estate, each with a stable id, a severity, the
//! entities involved, a one-line explanation and a typed [`Remedy`] each shell renders its own way.

use std::collections::{BTreeMap, HashSet};

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::Duration;

use crate::graph::model::Model;
use crate::graph::remedy::{CertUse, Remedy, TrustSide};
use crate::graph::view;
use crate::ids::RecordId;
use crate::model::token::{GrantSide, IssuerRef};
use crate::model::{CertStatus, Service};
use crate::pki::expiry;
use crate::pki::inspect::inspect;

/// How bad a finding is, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Broken or exploitable now.
    High,
    /// Risky; fix soon.
    Medium,
    /// Hygiene.
    Low,
    /// For information (blast radius).
    Info,
}

impl Severity {
    /// Parses `high`, `medium`, `low` or `info`.
    pub fn parse(s: &str) -> crate::Result<Self> {
        Ok(match s {
            "high" => Severity::High,
            "medium" => Severity::Medium,
            "low" => Severity::Low,
            "info" => Severity::Info,
            other => {
                return Err(crate::Error::unknown_choice(
                    crate::error::Choice::Severity,
                    other,
                    ["high", "medium", "low", "info"],
                ))
            }
        })
    }
}

/// The kinds of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A service accepts identities it has no intent for.
    OverTrust,
    /// A declared call that cannot succeed.
    BrokenIntent,
    /// A certificate or CA has expired.
    Expired,
    /// A certificate or CA expires within the warning window.
    ExpiringSoon,
    /// A service's current certificate is revoked.
    RevokedCurrent,
    /// The newest exported bundle of a service carries a certificate revoked since.
    RevokedDeployed,
    /// RSA under 2048 bits or a SHA-1 signature.
    WeakCrypto,
    /// A service accepts identities from another environment.
    CrossEnvironment,
    /// A credential is past its rotation policy.
    StaleCredential,
    /// A CA that issues nothing in use and that nobody trusts.
    UnusedCa,
    /// What an attacker holding a CA key could impersonate, and to whom.
    BlastRadius,
    /// A credential changed here and on a remote secrets server since the last sync.
    SyncConflict,
    /// A credential value a removed member of a sealed remote could read: rotate it.
    ExposedSecret,
    /// A service accepts tokens that a service no intent justifies can get.
    UnjustifiedTokenTrust,
    /// One audience accepted by several services, or any audience (`*`): a token for one works
    /// at another.
    SharedAudience,
    /// An issuer's key is a shared secret (HS*), allows `none`, or is RSA under 2048 bits.
    WeakTokenKey,
    /// An issuer's signing key is older than the rotation policy, or no next key is published.
    StaleTokenKey,
    /// One issuer's keys are accepted by services in several environments.
    TokenKeyAcrossEnvironments,
    /// Clients pin a service that publishes no next key: its next key rotation breaks them.
    PinWithoutBackup,
    /// A service's newest bundle lacks an accepted issuer's current or next key: verification
    /// breaks (now, or at the issuer's next rotation).
    StaleExportedJwks,
    /// A client's newest bundle pins keys its peer no longer uses, or will stop using at its next
    /// key rotation.
    StalePins,
}

impl FindingKind {
    /// Every kind, in the order findings are listed.
    pub const ALL: &'static [FindingKind] = &[
        FindingKind::OverTrust,
        FindingKind::BrokenIntent,
        FindingKind::Expired,
        FindingKind::ExpiringSoon,
        FindingKind::RevokedCurrent,
        FindingKind::RevokedDeployed,
        FindingKind::WeakCrypto,
        FindingKind::CrossEnvironment,
        FindingKind::StaleCredential,
        FindingKind::UnusedCa,
        FindingKind::BlastRadius,
        FindingKind::SyncConflict,
        FindingKind::ExposedSecret,
        FindingKind::UnjustifiedTokenTrust,
        FindingKind::SharedAudience,
        FindingKind::WeakTokenKey,
        FindingKind::StaleTokenKey,
        FindingKind::TokenKeyAcrossEnvironments,
        FindingKind::PinWithoutBackup,
        FindingKind::StaleExportedJwks,
        FindingKind::StalePins,
    ];

    /// The kind named as in JSON (`over_trust`, `broken_intent`, ...); an unknown name is an
    /// error listing the known ones.
    pub fn parse(name: &str) -> crate::Result<FindingKind> {
        use serde::de::IntoDeserializer;
        let de: serde::de::value::StrDeserializer<'_, serde::de::value::Error> = name.into_deserializer();
        serde::Deserialize::deserialize(de).map_err(|_| {
            let known =
                FindingKind::ALL.iter().filter_map(|k| serde_json::to_value(k).ok()?.as_str().map(String::from));
            crate::Error::unknown_choice(crate::error::Choice::FindingKind, name, known)
        })
    }
}

/// An entity a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct EntityRef {
    /// "service", "ca", "certificate", "secret".
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub kind: &'static str,
    /// Record id.
    pub id: RecordId,
    /// Name.
    pub name: String,
    /// The id of its node in the trust graph (services and CAs; other entities have none), so
    /// front ends select it without knowing how node ids are made.
    pub node: Option<String>,
}

impl EntityRef {
    fn service(s: &Service) -> EntityRef {
        EntityRef { kind: "service", id: s.id, name: s.name.clone(), node: Some(view::svc_node(s.id)) }
    }

    fn ca(id: RecordId, name: String) -> EntityRef {
        EntityRef { kind: "ca", id, name, node: Some(view::ca_node(id)) }
    }

    fn record(kind: &'static str, id: RecordId, name: String) -> EntityRef {
        EntityRef { kind, id, name, node: None }
    }
}

/// One finding.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Finding {
    /// Stable id: the same problem keeps the same id across runs.
    pub id: String,
    /// Kind.
    pub kind: FindingKind,
    /// Severity.
    pub severity: Severity,
    /// Entities involved, most relevant first.
    pub entities: Vec<EntityRef>,
    /// One line for a person.
    pub message: String,
    /// What to do about it, as data: the CLI renders it as a command, the desktop as a button.
    pub remedy: Option<Remedy>,
    /// A count the message summarises (accepted identities, impersonable services, ...).
    pub count: Option<usize>,
}

fn finding(
    kind: FindingKind,
    severity: Severity,
    entities: Vec<EntityRef>,
    message: String,
    remedy: Option<Remedy>,
) -> Finding {
    let mut h = Sha256::new();
    h.update(format!("{kind:?}").as_bytes());
    for e in &entities {
        h.update(e.id.as_bytes());
    }
    let id = hex::encode(&h.finalize()[..6]);
    Finding { id, kind, severity, entities, message, remedy, count: None }
}

fn svc_ref(s: &Service) -> EntityRef {
    EntityRef::service(s)
}

/// Options for computing findings.
#[derive(Debug, Clone, Copy)]
pub struct FindingOptions {
    /// Warn about expiry this far ahead.
    pub expiring_within: Duration,
}

impl Default for FindingOptions {
    fn default() -> Self {
        FindingOptions { expiring_within: crate::pki::expiry::default_window() }
    }
}

/// Every finding, or (with `scope`) those about the given services and the CAs they touch.
pub(crate) fn compute(m: &Model<'_>, opts: FindingOptions, scope: Option<&HashSet<RecordId>>) -> Vec<Finding> {
    let index = m.index;
    let now = m.now;
    let mut out = Vec::new();
    let in_scope = |s: RecordId| scope.is_none_or(|sc| sc.contains(&s));
    let ca_ref = |id: RecordId| EntityRef::ca(id, index.ca_name(id));
    let mut services: Vec<&Service> = index.services.values().filter(|s| in_scope(s.id)).collect();
    services.sort_by(|a, b| a.name.cmp(&b.name));

    // Over-trust and cross-environment, per (service, inbound CA), through the CA's members.
    // Per (service, CA) this costs O(environments + intended callers), not O(members): the CA's
    // members are sorted and counted once, in the cached facts.
    for a in &services {
        let intended = m.f.callers.get(&a.id);
        for ca in &a.trust_inbound {
            let (Some(members), Some(info)) = (m.f.client_members.get(ca), m.f.members.get(ca)) else { continue };
            let self_member = members.contains(&a.id);
            let accepted = members.len() - usize::from(self_member);
            let intended_here: HashSet<RecordId> = intended
                .map(|i| i.iter().copied().filter(|b| members.contains(b) && *b != a.id).collect())
                .unwrap_or_default();
            let unintended = accepted - intended_here.len();
            if unintended > 0 {
                let mut entities = vec![svc_ref(a), ca_ref(*ca)];
                entities.extend(
                    info.sorted
                        .iter()
                        .filter(|b| **b != a.id && !intended_here.contains(b))
                        .filter_map(|b| index.services.get(b))
                        .take(10)
                        .map(svc_ref),
                );
                let remedy = match better_ca(m, &intended_here) {
                    None => Remedy::RemoveTrust { service: a.name.clone(), ca: index.ca_name(*ca), instead: None },
                    Some(better) if better != *ca => Remedy::RemoveTrust {
                        service: a.name.clone(),
                        ca: index.ca_name(*ca),
                        instead: Some(index.ca_name(better)),
                    },
                    Some(_) => Remedy::DedicatedCa {
                        service: a.name.clone(),
                        ca: index.ca_name(*ca),
                        intended: intended_here.len(),
                    },
                };
                let mut f = finding(
                    FindingKind::OverTrust,
                    Severity::Medium,
                    entities,
                    format!(
                        "{} accepts {accepted} {} via {}; intends {}",
                        a.name,
                        if accepted == 1 { "identity" } else { "identities" },
                        index.ca_name(*ca),
                        intended_here.len()
                    ),
                    Some(remedy),
                );
                f.count = Some(unintended);
                out.push(f);
            }
            let by_env: Vec<(&str, usize)> =
                info.by_env.iter().filter(|(e, _)| **e != a.environment).map(|(e, n)| (e.as_str(), *n)).collect();
            if !by_env.is_empty() {
                let total: usize = by_env.iter().map(|(_, n)| n).sum();
                let parts: Vec<String> = by_env.iter().map(|(e, n)| format!("{e}: {n}")).collect();
                let mut entities = vec![svc_ref(a), ca_ref(*ca)];
                entities.extend(
                    info.sorted
                        .iter()
                        .filter_map(|b| index.services.get(b))
                        .filter(|b| b.environment != a.environment)
                        .take(10)
                        .map(svc_ref),
                );
                let mut f = finding(
                    FindingKind::CrossEnvironment,
                    Severity::High,
                    entities,
                    format!(
                        "{} service {} accepts {total} identities from other environments via {} ({})",
                        a.environment,
                        a.name,
                        index.ca_name(*ca),
                        parts.join(", ")
                    ),
                    Some(Remedy::EnvironmentCa {
                        service: a.name.clone(),
                        ca: index.ca_name(*ca),
                        environment: a.environment.clone(),
                    }),
                );
                f.count = Some(total);
                out.push(f);
            }
        }
    }

    // Broken intents.
    let mut intents: Vec<_> = match scope {
        None => index.intents.values().collect(),
        Some(sc) => {
            let mut ids: Vec<RecordId> =
                sc.iter().flat_map(|s| m.f.intents_of.get(s).into_iter().flatten()).copied().collect();
            ids.sort_unstable();
            ids.dedup();
            ids.iter().filter_map(|i| index.intents.get(i)).collect()
        }
    };
    intents.sort_by_key(|i| (index.service_name(i.from), index.service_name(i.to)));
    for i in intents {
        let (Some(b), Some(a)) = (index.services.get(&i.from), index.services.get(&i.to)) else { continue };
        if m.f.credentials.contains_key(&(b.id, a.id)) || m.f.tokens.contains_key(&(b.id, a.id)) {
            continue;
        }
        let accepts = m.accepts(a.id, b.id);
        let verifies = m.can_verify(b.id, a.id);
        if accepts.is_some() && verifies.is_some() {
            continue;
        }
        let (why, remedy) = if m.facts(b.id).client.is_empty() {
            let why = cert_problem(m, b, true);
            let ca = a.trust_inbound.first().map(|c| index.ca_name(*c));
            (why, Some(Remedy::IssueCertificate { service: b.name.clone(), usage: CertUse::Client, ca }))
        } else if m.facts(a.id).server.is_empty() {
            let why = cert_problem(m, a, false);
            let ca = b.trust_outbound.first().map(|c| index.ca_name(*c));
            (why, Some(Remedy::IssueCertificate { service: a.name.clone(), usage: CertUse::Server, ca }))
        } else if accepts.is_none() {
            let issuer = m.facts(b.id).client.first().and_then(|c| c.cas.first()).map(|c| index.ca_name(*c));
            (
                format!("{} does not trust {}'s certificate chain inbound", a.name, b.name),
                issuer.map(|ca| Remedy::AddTrust { service: a.name.clone(), ca, side: TrustSide::Inbound }),
            )
        } else {
            let issuer = m.facts(a.id).server.first().and_then(|c| c.cas.first()).map(|c| index.ca_name(*c));
            (
                format!("{} does not trust {}'s certificate chain outbound", b.name, a.name),
                issuer.map(|ca| Remedy::AddTrust { service: b.name.clone(), ca, side: TrustSide::Outbound }),
            )
        };
        out.push(finding(
            FindingKind::BrokenIntent,
            Severity::High,
            vec![svc_ref(b), svc_ref(a)],
            format!("{} -> {} is intended but cannot succeed: {why}", b.name, a.name),
            remedy,
        ));
    }

    // Certificates: expired, expiring, revoked-but-current, weak.
    let mut certs: Vec<_> = index.certs.values().filter(|c| c.service_id.is_some_and(in_scope)).collect();
    certs.sort_by_cached_key(|c| (c.service_id.map(|s| index.service_name(s)), c.created));
    let mut newest: BTreeMap<RecordId, &crate::model::Certificate> = BTreeMap::new();
    for c in &certs {
        if let Some(s) = c.service_id {
            if c.status != CertStatus::Superseded {
                newest.insert(s, c);
            }
        }
    }
    for c in &certs {
        let Some(svc) = c.service_id.and_then(|s| index.services.get(&s)) else { continue };
        let cert_ref = EntityRef::record("certificate", c.id, format!("{} #{}", svc.name, c.id.short()));
        let issuer = c.issuer.map(|i| index.ca_name(i));
        if c.status == CertStatus::Active {
            if c.not_after <= now {
                out.push(finding(
                    FindingKind::Expired,
                    Severity::High,
                    vec![svc_ref(svc), cert_ref.clone()],
                    format!("{}'s certificate {} expired on {}", svc.name, c.id.short(), c.not_after.date()),
                    Some(renew(svc, c.id, issuer.is_some())),
                ));
            } else if expiry::der_is_expiring(&c.cert_der, c.not_after, now, opts.expiring_within) {
                out.push(finding(
                    FindingKind::ExpiringSoon,
                    Severity::Medium,
                    vec![svc_ref(svc), cert_ref.clone()],
                    format!(
                        "{}'s certificate {} expires in {} days",
                        svc.name,
                        c.id.short(),
                        expiry::days_left(c.not_after, now)
                    ),
                    Some(renew(svc, c.id, issuer.is_some())),
                ));
            }
        }
        if c.status == CertStatus::Revoked && newest.get(&svc.id).is_some_and(|n| n.id == c.id) {
            out.push(finding(
                FindingKind::RevokedCurrent,
                Severity::High,
                vec![svc_ref(svc), cert_ref.clone()],
                format!("{}'s current certificate {} is revoked", svc.name, c.id.short()),
                Some(Remedy::ReplaceRevoked { service: svc.name.clone(), certificate: c.id, ca: issuer }),
            ));
        }
        // Certificates made here use strong keys; only imported ones need a look.
        let made_here =
            c.issuer.and_then(|i| index.cas.get(&i)).is_some_and(|ca| index.ca_signs(ca)) && c.key_type.is_some();
        if c.status == CertStatus::Active && !made_here {
            if let Some(why) = weakness(&c.cert_der) {
                out.push(finding(
                    FindingKind::WeakCrypto,
                    Severity::Medium,
                    vec![svc_ref(svc), cert_ref],
                    format!("{}'s certificate {} uses {why}", svc.name, c.id.short()),
                    Some(Remedy::ReplaceWeakCertificate { service: svc.name.clone() }),
                ));
            }
        }
    }

    // Revoked but still deployed: the newest export of a service carries a revoked certificate.
    let mut newest_export: BTreeMap<RecordId, &crate::model::export::ExportRecord> = BTreeMap::new();
    for e in index.exports.values().filter(|e| in_scope(e.service_id)) {
        let slot = newest_export.entry(e.service_id).or_insert(e);
        if e.created > slot.created {
            *slot = e;
        }
    }
    for (svc_id, e) in &newest_export {
        let (Some(svc), Some(cert)) = (index.services.get(svc_id), e.certificate.and_then(|c| index.certs.get(&c)))
        else {
            continue;
        };
        if cert.status == CertStatus::Revoked {
            out.push(finding(
                FindingKind::RevokedDeployed,
                Severity::High,
                vec![
                    svc_ref(svc),
                    EntityRef::record("certificate", cert.id, format!("{} #{}", svc.name, cert.id.short())),
                ],
                format!(
                    "{}'s last exported bundle ({}, {}) carries certificate {}, revoked since",
                    svc.name,
                    e.format,
                    e.created.date(),
                    cert.id.short()
                ),
                Some(Remedy::ReissueAndExport { service: svc.name.clone() }),
            ));
        }
    }

    // CAs: expiry, weak crypto, unused, blast radius.
    let touched: Option<HashSet<RecordId>> = scope.map(|sc| {
        let mut t: HashSet<RecordId> = HashSet::new();
        for s in sc.iter().filter_map(|s| index.services.get(s)) {
            t.extend(s.trust_inbound.iter().chain(&s.trust_outbound).copied());
            let f = m.facts(s.id);
            for ch in f.client.iter().chain(&f.server) {
                t.extend(ch.cas.iter().copied());
            }
        }
        t
    });
    let mut cas: Vec<_> = index.cas.values().filter(|c| touched.as_ref().is_none_or(|t| t.contains(&c.id))).collect();
    cas.sort_by(|a, b| a.name.cmp(&b.name));
    for ca in cas {
        let r = ca_ref(ca.id);
        let in_use = m.f.cas_in_use.contains(&ca.id);
        // A trust-only CA that nothing trusts, chains to or was issued by (a public root from an
        // imported bundle) affects no connection: its expiry, algorithms and idleness are not
        // problems of this estate. Only its expiry is worth a line, as a hint to tidy up.
        let inert = !index.ca_signs(ca) && !in_use;
        if ca.not_after <= now {
            if inert {
                out.push(finding(
                    FindingKind::Expired,
                    Severity::Info,
                    vec![r.clone()],
                    format!("CA {} (trust only, trusted by no service) expired on {}", ca.name, ca.not_after.date()),
                    Some(Remedy::RemoveCa { ca: ca.name.clone(), if_unneeded: false }),
                ));
            } else {
                out.push(finding(
                    FindingKind::Expired,
                    Severity::High,
                    vec![r.clone()],
                    format!("CA {} expired on {}", ca.name, ca.not_after.date()),
                    Some(if ca.can_sign() {
                        Remedy::ReplaceCa { ca: ca.name.clone() }
                    } else {
                        Remedy::ReplaceTrustedCa { ca: ca.name.clone() }
                    }),
                ));
            }
        } else if !inert && expiry::is_expiring(ca.not_before, ca.not_after, now, opts.expiring_within) {
            out.push(finding(
                FindingKind::ExpiringSoon,
                Severity::Medium,
                vec![r.clone()],
                format!("CA {} expires in {} days", ca.name, expiry::days_left(ca.not_after, now)),
                Some(if ca.can_sign() {
                    Remedy::SucceedCa { ca: ca.name.clone() }
                } else {
                    Remedy::TrustSuccessor { ca: ca.name.clone() }
                }),
            ));
        }
        if !ca.can_sign() && !inert {
            if let Some(why) = ca_weakness(&ca.cert_der) {
                out.push(finding(
                    FindingKind::WeakCrypto,
                    Severity::Medium,
                    vec![r.clone()],
                    format!("CA {} uses {why}", ca.name),
                    Some(Remedy::StopTrusting { ca: ca.name.clone() }),
                ));
            }
        }
        // Unused CAs made here are clutter worth removing; unused trust-only ones are inert.
        if !in_use && index.ca_signs(ca) {
            out.push(finding(
                FindingKind::UnusedCa,
                Severity::Low,
                vec![r.clone()],
                format!("CA {} issues nothing in use and no service trusts it", ca.name),
                Some(Remedy::RemoveCa { ca: ca.name.clone(), if_unneeded: true }),
            ));
        }
        if let Some(f) = blast_radius(m, ca.id) {
            out.push(f);
        }
    }

    // Stale credentials.
    let mut creds: Vec<_> = match scope {
        None => index.credentials.values().collect(),
        Some(sc) => sc
            .iter()
            .flat_map(|s| m.f.credentials_of.get(s).into_iter().flatten())
            .filter_map(|c| index.credentials.get(c))
            .collect(),
    };
    creds.sort_by_cached_key(|c| (index.service_name(c.service_id), c.name.clone()));
    for c in creds {
        if let (Some(due), Some(days), Some(svc)) = (c.rotation_due(), c.rotate_days, index.services.get(&c.service_id))
        {
            if due <= now {
                let age = c.current().map_or(0, |v| (now - v.created).whole_days());
                out.push(finding(
                    FindingKind::StaleCredential,
                    Severity::Medium,
                    vec![svc_ref(svc), EntityRef::record("secret", c.id, format!("{}/{}", svc.name, c.name))],
                    format!("{}/{} was last rotated {age} days ago; its policy is {days} days", svc.name, c.name),
                    Some(Remedy::RotateCredential { service: svc.name.clone(), name: c.name.clone() }),
                ));
            }
        }
    }

    // Sync conflicts: both values are in the credential's history until the user picks one.
    for conflict in index.conflicts.values() {
        let Some(c) = index.credentials.get(&conflict.credential) else { continue };
        let (Some(svc), Some(remote)) = (index.services.get(&c.service_id), index.remotes.get(&conflict.remote)) else {
            continue;
        };
        if !in_scope(svc.id) {
            continue;
        }
        let theirs = match conflict.remote_value_version {
            0 => "deleted it".to_string(),
            v => format!("holds another value (version {v} here)"),
        };
        out.push(finding(
            FindingKind::SyncConflict,
            Severity::Medium,
            vec![svc_ref(svc), EntityRef::record("secret", c.id, format!("{}/{}", svc.name, c.name))],
            format!(
                "{}/{} changed here and on {} since the last sync: the server {theirs}; this vault keeps its value until one is chosen",
                svc.name, c.name, remote.name
            ),
            Some(Remedy::ResolveConflict {
                service: svc.name.clone(),
                name: c.name.clone(),
                remote: remote.name.clone(),
            }),
        ));
    }

    // Values a removed member of a sealed remote could read, until a newer version exists.
    for flag in index.exposed.values() {
        let Some(c) = index.credentials.get(&flag.credential) else { continue };
        let Some(svc) = index.services.get(&c.service_id) else { continue };
        if !in_scope(svc.id) || c.current().is_none_or(|v| v.version > flag.version) {
            continue;
        }
        let remote = index.remotes.get(&flag.remote).map_or("a remote", |r| r.name.as_str());
        out.push(finding(
            FindingKind::ExposedSecret,
            Severity::High,
            vec![svc_ref(svc), EntityRef::record("secret", c.id, format!("{}/{}", svc.name, c.name))],
            format!(
                "{}/{} (version {}) could be read by {}, removed from {remote}: rotate it",
                svc.name, c.name, flag.version, flag.member
            ),
            Some(Remedy::RotateCredential { service: svc.name.clone(), name: c.name.clone() }),
        ));
    }

    token_findings(m, &in_scope, &mut out);
    pin_findings(m, &in_scope, &mut out);
    deployed_trust_findings(m, &in_scope, &mut out);

    out.sort_by(|a, b| (a.severity, a.kind, &a.message).cmp(&(b.severity, b.kind, &b.message)));
    out
}

/// Services that clients call (and so pin) with no next key to pin beside the current one.
fn pin_findings(m: &Model<'_>, in_scope: &dyn Fn(RecordId) -> bool, out: &mut Vec<Finding>) {
    let index = m.index;
    let mut callees: Vec<RecordId> = index.intents.values().map(|i| i.to).filter(|s| in_scope(*s)).collect();
    callees.sort_by_key(|s| index.service_name(*s));
    callees.dedup();
    for p in callees {
        let Some(chain) = m.facts(p).server.first() else { continue };
        if index.next_keys.contains_key(&p) {
            continue;
        }
        let Some(svc) = index.services.get(&p) else { continue };
        out.push(finding(
            FindingKind::PinWithoutBackup,
            Severity::Low,
            vec![svc_ref(svc)],
            format!(
                "clients pinning {} get only its current key: it publishes no next key, so rotating its key breaks them",
                svc.name
            ),
            Some(Remedy::RenewCertificate { service: svc.name.clone(), certificate: chain.cert }),
        ));
    }
}

/// What each service's newest bundle gave it to trust, checked against the keys in use now.
fn deployed_trust_findings(m: &Model<'_>, in_scope: &dyn Fn(RecordId) -> bool, out: &mut Vec<Finding>) {
    let index = m.index;
    let mut newest: std::collections::HashMap<RecordId, &crate::model::export::ExportRecord> = Default::default();
    for e in index.exports.values() {
        let slot = newest.entry(e.service_id).or_insert(e);
        if e.created > slot.created {
            *slot = e;
        }
    }
    let mut services: Vec<(&Service, &crate::model::export::ExportRecord)> = newest
        .iter()
        .filter(|(s, _)| in_scope(**s))
        .filter_map(|(s, e)| index.services.get(s).map(|svc| (svc, *e)))
        .collect();
    services.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    for (svc, export) in services {
        let trust = index.exported_trust.get(&export.id);
        let when = export.created.date();
        // JWKS of every issuer it accepts: the current and next keys must be in the bundle.
        let mut issuers: Vec<IssuerRef> = index
            .grants
            .values()
            .filter(|g| g.service == svc.id && g.side == GrantSide::Accepts)
            .map(|g| g.issuer)
            .collect();
        issuers.sort_by_key(|i| index.issuer_name(*i));
        issuers.dedup();
        for issuer in issuers {
            let name = index.issuer_name(issuer);
            let needed: Vec<String> = match issuer {
                IssuerRef::Service(_) => index.issuer_kids(issuer).into_iter().take(2).collect(),
                IssuerRef::External(_) => index.issuer_kids(issuer),
            };
            let given: Vec<&String> =
                trust.iter().flat_map(|t| t.jwks.iter()).filter(|(i, _)| *i == name).flat_map(|(_, k)| k).collect();
            let missing: Vec<String> =
                needed.iter().filter(|k| !given.contains(k)).map(|k| crate::token::ShortKid(k).to_string()).collect();
            if !missing.is_empty() {
                out.push(finding(
                    FindingKind::StaleExportedJwks,
                    Severity::Medium,
                    vec![svc_ref(svc)],
                    format!(
                        "the newest bundle of {} (exported {when}) lacks key(s) {} of {name}, which it accepts: tokens signed with them fail verification there",
                        svc.name,
                        missing.join(", ")
                    ),
                    Some(Remedy::ExportAgain { service: svc.name.clone() }),
                ));
            }
        }
        // Pins of every peer: the peer's current key must be pinned, and its next one too.
        for (peer, pins) in trust.iter().flat_map(|t| t.pins.iter()) {
            let Some(p) = index.service_by_name.get(peer).and_then(|id| index.services.get(id)) else { continue };
            let Some(cert) = index
                .certs
                .values()
                .filter(|c| c.service_id == Some(p.id) && c.status == CertStatus::Active && c.server_auth)
                .max_by_key(|c| c.created)
            else {
                continue;
            };
            let Ok(current) = crate::pki::pin::of_certificate(&cert.cert_der) else { continue };
            let next = index.next_keys.get(&p.id).map(|n| n.pin.clone());
            let (severity, why) = if !pins.contains(&current) {
                (Severity::High, format!("pins keys {} no longer uses: it cannot connect", p.name))
            } else if next.as_ref().is_some_and(|n| !pins.contains(n)) {
                (Severity::Medium, format!("does not pin the next key of {}: its next key rotation breaks it", p.name))
            } else {
                continue;
            };
            out.push(finding(
                FindingKind::StalePins,
                severity,
                vec![svc_ref(svc), svc_ref(p)],
                format!("the newest bundle of {} (exported {when}) {why}", svc.name),
                Some(Remedy::ExportAgain { service: svc.name.clone() }),
            ));
        }
    }
}

/// How long a token signing key signs before it should be rotated.
pub const TOKEN_KEY_ROTATION_DAYS: i64 = 90;

fn issuer_ref(index: &crate::model::estate::Estate, r: IssuerRef) -> EntityRef {
    match r {
        IssuerRef::Service(id) => match index.services.get(&id) {
            Some(s) => svc_ref(s),
            None => EntityRef::record("issuer", id, index.issuer_name(r)),
        },
        IssuerRef::External(id) => EntityRef::record("issuer", id, index.issuer_name(r)),
    }
}

/// Findings on tokens: who accepts what, and the issuers' keys.
fn token_findings(m: &Model<'_>, in_scope: &dyn Fn(RecordId) -> bool, out: &mut Vec<Finding>) {
    let index = m.index;
    let name = |id: RecordId| index.service_name(id);
    // Token paths no intent justifies.
    let mut paths: Vec<(&(RecordId, RecordId), &Vec<crate::graph::model::TokenPath>)> = m.f.tokens.iter().collect();
    paths.sort_by_key(|((c, s), _)| (name(*s), name(*c)));
    for ((caller, callee), via) in paths {
        if !(in_scope(*caller) || in_scope(*callee)) || m.intended(*caller, *callee) {
            continue;
        }
        let (Some(c), Some(s)) = (index.services.get(caller), index.services.get(callee)) else { continue };
        for p in via {
            let issuer = index.issuer_name(p.issuer);
            out.push(finding(
                FindingKind::UnjustifiedTokenTrust,
                Severity::Medium,
                vec![svc_ref(s), svc_ref(c), issuer_ref(index, p.issuer)],
                format!(
                    "{} accepts tokens from {issuer} (audience {}) that {} can get, and no intent says {} calls {}",
                    s.name, p.audience, c.name, c.name, s.name
                ),
                Some(Remedy::RemoveTokenTrust { service: s.name.clone(), issuer, audience: p.audience.clone() }),
            ));
        }
    }
    // Audiences accepted by several services (per issuer), and wildcard audiences.
    let mut by_audience: std::collections::BTreeMap<(String, String), Vec<RecordId>> = Default::default();
    let mut grants: Vec<&crate::model::token::TokenGrant> =
        index.grants.values().filter(|g| g.side == GrantSide::Accepts).collect();
    grants.sort_by_key(|g| (name(g.service), g.audience.clone()));
    for g in &grants {
        if !in_scope(g.service) {
            continue;
        }
        if g.audience == "*" {
            let issuer = index.issuer_name(g.issuer);
            let Some(s) = index.services.get(&g.service) else { continue };
            out.push(finding(
                FindingKind::SharedAudience,
                Severity::High,
                vec![svc_ref(s), issuer_ref(index, g.issuer)],
                format!(
                    "{} accepts tokens from {issuer} for any audience: a token meant for any other service works here",
                    s.name
                ),
                Some(Remedy::RemoveTokenTrust { service: s.name.clone(), issuer, audience: g.audience.clone() }),
            ));
        } else {
            by_audience.entry((index.issuer_name(g.issuer), g.audience.clone())).or_default().push(g.service);
        }
    }
    for ((issuer, audience), mut services) in by_audience {
        services.sort_by_key(|s| name(*s));
        services.dedup();
        if services.len() < 2 {
            continue;
        }
        let refs: Vec<EntityRef> = services.iter().filter_map(|s| index.services.get(s)).map(svc_ref).collect();
        let names: Vec<String> = services.iter().map(|s| name(*s)).collect();
        out.push(finding(
            FindingKind::SharedAudience,
            Severity::Medium,
            refs,
            format!(
                "audience {audience} of {issuer} is accepted by {}: a token for one works at the others",
                names.join(", ")
            ),
            Some(Remedy::RemoveTokenTrust { service: names[1].clone(), issuer, audience }),
        ));
    }
    // Imported issuers' weak keys (HS*, none, short RSA).
    let mut issuers: Vec<&crate::model::token::ExternalIssuer> = index.issuers.values().collect();
    issuers.sort_by(|a, b| a.name.cmp(&b.name));
    for i in issuers {
        let accepted_by: Vec<RecordId> =
            index.grants.values().filter(|g| g.issuer == IssuerRef::External(i.id)).map(|g| g.service).collect();
        if !accepted_by.is_empty() && !accepted_by.iter().any(|s| in_scope(*s)) {
            continue;
        }
        for k in &i.keys {
            if let Some(why) = crate::token::jwks::weakness(k) {
                out.push(finding(
                    FindingKind::WeakTokenKey,
                    Severity::High,
                    vec![issuer_ref(index, IssuerRef::External(i.id))],
                    format!("issuer {}: {why}", i.name),
                    Some(Remedy::ReplaceIssuerKey { issuer: i.name.clone(), kid: k.kid.clone() }),
                ));
            }
        }
    }
    // Issuing services' keys: too old, or no next key published.
    let mut issuing: Vec<RecordId> = index.token_keys.values().map(|k| k.service).collect();
    issuing.sort_by_key(|s| name(*s));
    issuing.dedup();
    for s in issuing {
        let Some(svc) = index.services.get(&s).filter(|s| in_scope(s.id)) else { continue };
        let keys = index.token_keys_of(s);
        let current = keys.iter().find(|k| k.role == crate::model::token::KeyRole::Current);
        let has_next = keys.iter().any(|k| k.role == crate::model::token::KeyRole::Next);
        let age = current.map_or(0, |k| (m.now - k.since).whole_days());
        let why = match (current, has_next) {
            (None, _) => Some("has no current signing key".to_string()),
            (Some(_), false) => Some("publishes no next key, so a rotation would break verifiers".to_string()),
            (Some(k), true) if age > TOKEN_KEY_ROTATION_DAYS => Some(format!(
                "signs with key {} for {age} days, past the {TOKEN_KEY_ROTATION_DAYS}-day rotation policy",
                crate::token::ShortKid(&k.kid)
            )),
            _ => None,
        };
        if let Some(why) = why {
            out.push(finding(
                FindingKind::StaleTokenKey,
                Severity::Medium,
                vec![svc_ref(svc)],
                format!("token issuer {} {why}", svc.name),
                Some(Remedy::RotateTokenKey { issuer: svc.name.clone() }),
            ));
        }
    }
    // One issuer's keys accepted in several environments.
    let mut envs_of: std::collections::BTreeMap<String, (IssuerRef, std::collections::BTreeSet<String>)> =
        Default::default();
    for g in index.grants.values().filter(|g| g.side == GrantSide::Accepts && in_scope(g.service)) {
        if let Some(s) = index.services.get(&g.service) {
            envs_of
                .entry(index.issuer_name(g.issuer))
                .or_insert_with(|| (g.issuer, Default::default()))
                .1
                .insert(s.environment.clone());
        }
    }
    for (issuer, (r, envs)) in envs_of {
        if envs.len() > 1 {
            let list: Vec<String> = envs.into_iter().collect();
            out.push(finding(
                FindingKind::TokenKeyAcrossEnvironments,
                Severity::Medium,
                vec![issuer_ref(index, r)],
                format!(
                    "the keys of {issuer} are accepted in {}: a token from one environment works in the others",
                    list.join(" and ")
                ),
                None,
            ));
        }
    }
}

/// Renewal where a vault CA issued the certificate; otherwise only its renewal can be imported.
fn renew(svc: &Service, certificate: RecordId, issued_here: bool) -> Remedy {
    if issued_here {
        Remedy::RenewCertificate { service: svc.name.clone(), certificate }
    } else {
        Remedy::ImportRenewal { service: svc.name.clone() }
    }
}

/// Why a service has no valid certificate for a use.
fn cert_problem(m: &Model<'_>, svc: &Service, client: bool) -> String {
    let use_ = if client { "client" } else { "server" };
    let newest = m
        .certs_of(svc.id)
        .filter(|c| if client { c.client_auth } else { c.server_auth })
        .filter(|c| c.status != CertStatus::Superseded)
        .max_by_key(|c| c.created);
    match newest {
        None => format!("{} has no {use_} certificate", svc.name),
        Some(c) if c.status == CertStatus::Revoked => format!("{}'s {use_} certificate is revoked", svc.name),
        Some(c) if c.not_after <= m.now => {
            format!("{}'s {use_} certificate expired on {}", svc.name, c.not_after.date())
        }
        Some(_) => format!("{}'s {use_} certificate does not chain to a CA in the vault", svc.name),
    }
}

/// The most specific vault CA that covers every intended caller of `a`.
fn better_ca(m: &Model<'_>, intended: &HashSet<RecordId>) -> Option<RecordId> {
    if intended.is_empty() {
        return None;
    }
    let paths: Vec<Vec<RecordId>> =
        intended.iter().filter_map(|b| m.facts(*b).client.first().map(|c| c.cas.clone())).collect();
    let first = paths.first()?;
    first.iter().copied().find(|ca| paths.iter().all(|p| p.contains(ca)))
}

/// A CA's weakness. A root's signature is over itself and no verifier checks it (trust in a root
/// comes from being in the store), so only its key and, for intermediates, their signature count.
fn ca_weakness(der: &[u8]) -> Option<String> {
    let info = inspect(der).ok()?;
    if info.self_issued && info.rsa_bits.is_none_or(|b| b >= 2048) {
        return None;
    }
    weakness_of(&info)
}

fn weakness(der: &[u8]) -> Option<String> {
    weakness_of(&inspect(der).ok()?)
}

fn weakness_of(info: &crate::pki::inspect::CertInfo) -> Option<String> {
    if info.rsa_bits.is_some_and(|b| b < 2048) {
        return Some(format!("a {}-bit RSA key", info.rsa_bits.unwrap_or(0)));
    }
    if info.signature_algorithm.to_ascii_lowercase().contains("sha1") {
        return Some(format!("a SHA-1 signature ({})", info.signature_algorithm));
    }
    None
}

/// Who an attacker holding `ca`'s key could impersonate (identities under it), and to whom
/// (services trusting it or a CA above it).
pub(crate) fn blast_radius(m: &Model<'_>, ca: RecordId) -> Option<Finding> {
    let index = m.index;
    let c = index.cas.get(&ca)?;
    let b = m.f.blast.get(&ca)?;
    if b.relying == 0 && b.impersonable == 0 {
        return None;
    }
    let scope = if c.constraints.is_empty() {
        "any name".to_string()
    } else {
        let mut s: Vec<String> =
            c.constraints.dns.iter().map(|d| format!("names under {}", d.trim_start_matches('.'))).collect();
        s.extend(c.constraints.uri.iter().map(|u| format!("URIs under {u}")));
        s.join(" and ")
    };
    let mut entities = vec![EntityRef::ca(ca, c.name.clone())];
    entities.extend(b.examples.iter().filter_map(|id| index.services.get(id)).map(svc_ref));
    let mut f = finding(
        FindingKind::BlastRadius,
        Severity::Info,
        entities,
        format!(
            "an attacker holding {}'s key could impersonate {} services (and {scope}) to {} services that trust it",
            c.name, b.impersonable, b.relying
        ),
        None,
    );
    f.count = Some(b.relying);
    Some(f)
}
