//! Certificate authorities: create (root or intermediate), import for trust, show, CRLs, CSRs.

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::{self, folded, NameKind};
use crate::model::{Ca, CertStatus, ObjectRecord};
use crate::pki::crl::{self, RevokedEntry};
use crate::pki::import::parse_certificates;
use crate::pki::inspect::{inspect, CertInfo};
use crate::pki::issue::{self, SigningCa};
use crate::pki::{CaSpec, NameConstraintsSpec};
use crate::vault::index::Index;
use crate::vault::Vault;
use std::ops::{Deref, DerefMut};

/// A CA as front ends show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CaView {
    /// Id.
    pub id: RecordId,
    /// Name.
    pub name: String,
    /// Parent CA name, if in the vault.
    pub parent: Option<String>,
    /// Whether nothing here can sign with it (imported for trust only).
    pub trust_only: bool,
    /// Where it signs, when its key is in a remote's PKI mount (`ca link`).
    pub linked: Option<crate::vault::linked_ca::CaLink>,
    /// Key algorithm (CAs made here).
    pub key_type: Option<String>,
    /// Permitted names.
    pub constraints: NameConstraintsSpec,
    /// Path length constraint.
    pub path_len: Option<u8>,
    /// Certificates it issued that the vault holds.
    pub issued: usize,
    /// Of those, revoked.
    pub revoked: usize,
    /// Days until it expires, a started day counting as one (0 or negative once expired).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_in_days: i64,
    /// Expiring by the expiry rule ([`crate::pki::expiry`]) under the default window.
    pub expiring: bool,
    /// Certificate fields.
    pub certificate: CertInfo,
}

/// What [`Authorities::remove`] did.
#[derive(Debug, Clone, Serialize)]
pub struct CaRemoval {
    /// The CA removed.
    pub ca: String,
    /// Services that trusted it (with `force`), no longer trusting it.
    pub untrusted_by: Vec<String>,
    /// Ids of the active certificates it had issued (with `force`), now revoked.
    pub revoked: Vec<String>,
}

/// Encodes DER as one PEM block of `tag`.
pub fn to_pem(tag: &str, der: &[u8]) -> String {
    // LF line endings, as OpenSSL writes them: the pem crate's default is CRLF, which some
    // consumers (and every diff) trip over.
    pem::encode_config(&pem::Pem::new(tag, der.to_vec()), pem::EncodeConfig::new().set_line_ending(pem::LineEnding::LF))
}

fn view(index: &Index, ca: &Ca) -> Result<CaView> {
    let now = OffsetDateTime::now_utc();
    let issued: Vec<_> = index.certs.values().filter(|c| c.issuer == Some(ca.id)).collect();
    Ok(CaView {
        id: ca.id,
        name: ca.name.clone(),
        parent: ca.parent.map(|p| index.ca_name(p)),
        trust_only: !index.ca_signs(ca),
        linked: crate::vault::linked_ca::CaLink::of(index, ca),
        key_type: ca.key_type.map(|k| k.name().to_string()),
        constraints: ca.constraints.clone(),
        path_len: ca.path_len,
        issued: issued.len(),
        revoked: issued.iter().filter(|c| c.status == CertStatus::Revoked).count(),
        expires_in_days: crate::pki::expiry::days_left(ca.not_after, now),
        expiring: crate::pki::expiry::is_expiring(
            ca.not_before,
            ca.not_after,
            now,
            crate::pki::expiry::default_window(),
        ),
        certificate: inspect(&ca.cert_der)?,
    })
}

/// A CA record for a certificate Keyloom holds no key of (imported for trust, or linked to a
/// server's PKI mount): its parent is the vault CA that issued it, constraints and validity come
/// from the certificate.
pub(crate) fn trust_only_ca(index: &Index, name: String, der: Vec<u8>, info: &CertInfo, now: OffsetDateTime) -> Ca {
    Ca {
        id: RecordId::random(),
        name,
        parent: if info.self_issued { None } else { index.ca_with_subject(&info.issuer).map(|c| c.id) },
        key_type: None,
        key_payload: None,
        cert_der: der,
        constraints: NameConstraintsSpec {
            dns: info.permitted_dns.clone(),
            uri: Vec::new(),
            ip: info.permitted_ip.clone(),
        },
        path_len: info.path_len.and_then(|p| u8::try_from(p).ok()),
        not_before: info.not_before,
        not_after: info.not_after,
        next_crl_number: 1,
        created: now,
    }
}

/// The CAs from `ca` up to its root (that are in the vault), `ca` first.
pub(crate) fn chain<'a>(index: &'a Index, ca: &'a Ca) -> Vec<&'a Ca> {
    let mut out = vec![ca];
    let mut cur = ca;
    while let Some(parent) = cur.parent.and_then(|p| index.cas.get(&p)) {
        if out.iter().any(|c| c.id == parent.id) {
            break;
        }
        out.push(parent);
        cur = parent;
    }
    out
}

/// Names that `ca` or any CA above it does not permit.
pub(crate) fn constraint_violations<I: std::fmt::Display>(
    index: &Index,
    ca: &Ca,
    dns: &[String],
    uris: &[String],
    ips: &[I],
) -> Vec<String> {
    let mut bad = Vec::new();
    for c in chain(index, ca) {
        for v in c.constraints.violations(dns, uris, ips) {
            bad.push(format!("{v} (not permitted by {})", c.name));
        }
    }
    bad
}

feature_handle!(
    /// Certificate authorities: create, import, sign, CRLs.
    Authorities, cas, cas_mut
);

impl<V: Deref<Target = Vault>> Authorities<V> {
    /// Creates a root CA, or an intermediate under `parent`. The intermediate may not outlive its
    /// parent, and its constraints must sit inside the parent's.
    pub fn create(&mut self, spec: CaSpec, parent: Option<&str>) -> Result<CaView>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        // Taken is checked first, so `Root` beside `root` names the existing one.
        if let Some(existing) = index.ca_name_taken(&spec.name, None) {
            return Err(Error::Exists { kind: "CA", name: existing.name.clone() });
        }
        names::check(NameKind::Ca, &spec.name)?;
        let now = OffsetDateTime::now_utc();
        let (issued, parent_id) = match parent {
            None => (issue::root_ca(&spec, now)?, None),
            Some(p) => {
                let parent_ca = index.ca_named(p)?;
                if let Some(0) = parent_ca.path_len {
                    return Err(Error::Invalid(format!("CA {p:?} has path length 0: it cannot have intermediates")));
                }
                let suffixes: Vec<String> =
                    spec.constraints.dns.iter().map(|d| d.trim_start_matches('.').to_string()).collect();
                let bad = constraint_violations::<String>(index, parent_ca, &suffixes, &spec.constraints.uri, &[]);
                if !bad.is_empty() {
                    return Err(Error::Invalid(format!(
                        "the constraints of {:?} reach outside its parent's: {}",
                        spec.name,
                        bad.join(", ")
                    )));
                }
                let signer = self.vault.signing_ca(parent_ca)?;
                (issue::intermediate_ca(&spec, &signer, now)?, Some(parent_ca.id))
            }
        };
        let info = inspect(&issued.cert_der)?;
        let payload = RecordId::random();
        let ca = Ca {
            id: RecordId::random(),
            name: spec.name.clone(),
            parent: parent_id,
            key_type: Some(spec.key_type),
            key_payload: Some(payload),
            cert_der: issued.cert_der,
            constraints: spec.constraints,
            path_len: spec.path_len,
            not_before: info.not_before,
            not_after: info.not_after,
            next_crl_number: 1,
            created: now,
        };
        let ops = vec![
            self.vault.seal_payload(payload, &issued.key_pkcs8)?,
            self.vault.seal_object(ca.id, &ObjectRecord::Ca(ca.clone()))?,
        ];
        let detail = format!(
            "{} {}, valid until {}",
            if parent.is_some() { "intermediate" } else { "root" },
            spec.key_type,
            info.not_after.date()
        );
        let obj = AuditObject::new("ca", Some(ca.id), ca.name.clone());
        self.vault.commit(ops, vec![AuditEvent::success("ca.create", vec![obj]).with_detail(detail)])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.put_ca(ca.clone());
        view(index, &ca)
    }

    /// Imports every CA certificate in a PEM bundle or DER file for trust only (no key). Ones
    /// already present (same certificate) are skipped. Each gets a name that follows the name
    /// rule, made from its subject (`CN=DigiCert Global Root G2` → `digicert-global-root-g2`; the
    /// OU or O when the CN's is taken or missing; `-2`, `-3`, ... when all are taken;
    /// `ca-<fingerprint>` when the subject gives nothing). The subject stays in the certificate.
    ///
    /// A self-signed CA becomes a trust anchor; any other is an intermediate (chains pass
    /// through it to an anchor) — see [`Authorities::import_as`] to make it an anchor.
    pub fn import(&mut self, bytes: &[u8], origin: &str) -> Result<Vec<CaView>>
    where
        V: DerefMut<Target = Vault>,
    {
        self.import_as(bytes, origin, false)
    }

    /// [`Authorities::import`]; with `anchor`, every CA in the file (ones already present too) is
    /// a trust anchor whether or not it is self-signed: a chain ending at it is trusted without
    /// its issuer, as `openssl verify -partial_chain` and rustls-webpki do with such anchors.
    /// Returns the CAs added.
    pub fn import_as(&mut self, bytes: &[u8], origin: &str, anchor: bool) -> Result<Vec<CaView>>
    where
        V: DerefMut<Target = Vault>,
    {
        let ders = parse_certificates(bytes, origin)?;
        let index = &self.vault.unlocked()?.index;
        let mut marks: Vec<crate::model::TrustAnchor> = Vec::new();
        if anchor {
            let now = OffsetDateTime::now_utc();
            for der in &ders {
                if let Some(ca) = index.cas.values().find(|c| &c.cert_der == der && !index.anchors.contains_key(&c.id))
                {
                    marks.push(crate::model::TrustAnchor { id: RecordId::random(), ca: ca.id, created: now });
                }
            }
        }
        let now = OffsetDateTime::now_utc();
        let mut taken: std::collections::HashSet<String> = index.ca_by_name.keys().map(|n| folded(n)).collect();
        let mut known: std::collections::HashSet<Vec<u8>> = index.cas.values().map(|c| c.cert_der.clone()).collect();
        let mut new = Vec::new();
        for (i, der) in ders.into_iter().enumerate() {
            if !known.insert(der.clone()) {
                continue;
            }
            let info = inspect(&der).map_err(|e| Error::Invalid(format!("{origin}: certificate {}: {e}", i + 1)))?;
            // The name is a slug of the subject: its CN, or when that is taken (four roots are
            // CN=GlobalSign) its OU or O, else the first with `-2`, `-3`, ...; `ca-<fingerprint>`
            // when the subject gives nothing. The subject itself stays in the certificate.
            let candidates: Vec<String> =
                subject_labels(&der).iter().map(|l| names::slugify(l)).filter(|l| !l.is_empty()).collect();
            let free = candidates.iter().find(|c| !taken.contains(&folded(c)));
            let name = match (free, candidates.first()) {
                (Some(c), _) => c.clone(),
                (None, Some(first)) => names::unique_label(first, |n| taken.contains(&folded(n))),
                (None, None) => names::unique_label(
                    &format!("ca-{}", &info.sha256_fingerprint.replace(':', "").to_lowercase()[..12]),
                    |n| taken.contains(&folded(n)),
                ),
            };
            taken.insert(folded(&name));
            new.push(trust_only_ca(index, name, der, &info, now));
        }
        if anchor {
            marks.extend(new.iter().map(|ca| crate::model::TrustAnchor {
                id: RecordId::random(),
                ca: ca.id,
                created: now,
            }));
        }
        let mut ops = Vec::with_capacity(new.len() + marks.len());
        let mut events = Vec::with_capacity(new.len() + marks.len());
        for ca in &new {
            ops.push(self.vault.seal_object(ca.id, &ObjectRecord::Ca(ca.clone()))?);
            let how = if anchor { "trust only, as a trust anchor" } else { "trust only" };
            events.push(
                AuditEvent::success("ca.import", vec![AuditObject::new("ca", Some(ca.id), ca.name.clone())])
                    .with_detail(format!("{how}, from {origin}")),
            );
        }
        let index = &self.vault.unlocked()?.index;
        for mark in &marks {
            ops.push(self.vault.seal_object(mark.id, &ObjectRecord::TrustAnchor(mark.clone()))?);
            if !new.iter().any(|c| c.id == mark.ca) {
                let name = index.cas.get(&mark.ca).map(|c| c.name.clone()).unwrap_or_default();
                events.push(
                    AuditEvent::success("ca.anchor", vec![AuditObject::new("ca", Some(mark.ca), name)])
                        .with_detail(format!("made a trust anchor, from {origin}")),
                );
            }
        }
        if !ops.is_empty() {
            self.vault.commit(ops, events)?;
            if new.len() > 1 {
                self.vault.checkpoint()?;
            }
        }
        let index = &mut self.vault.unlocked_mut()?.index;
        for ca in &new {
            index.put_ca(ca.clone());
        }
        for mark in marks {
            index.anchors.insert(mark.ca, mark);
        }
        new.iter().map(|c| view(index, c)).collect()
    }

    /// Renames a CA. The record keeps its id, so trust stores, issued certificates, child CAs and
    /// the audit trail (all kept by id) follow it; the certificate (its subject) does not change.
    /// The new name must follow the name rule and be unused (ignoring case).
    pub fn rename(&mut self, name: &str, new_name: &str) -> Result<CaView>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let mut ca = index.ca_named(name)?.clone();
        if ca.name == new_name {
            return Err(Error::Unchanged { subject: format!("CA {}", names::shown(&ca.name)), what: "name" });
        }
        if let Some(other) = index.ca_name_taken(new_name, Some(ca.id)) {
            return Err(Error::Exists { kind: "CA", name: other.name.clone() });
        }
        names::check(NameKind::Ca, new_name)?;
        let old = std::mem::replace(&mut ca.name, new_name.to_string());
        let op = self.vault.seal_object(ca.id, &ObjectRecord::Ca(ca.clone()))?;
        let obj = AuditObject::new("ca", Some(ca.id), ca.name.clone());
        let detail = format!("renamed from {old:?} to {:?}", ca.name);
        self.vault.commit(vec![op], vec![AuditEvent::success("ca.rename", vec![obj]).with_detail(detail)])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.put_ca(ca.clone());
        view(index, &ca)
    }

    /// Removes a CA (and, for one made here, its key). Refused while anything refers to it:
    /// services trusting it, CAs below it (always: remove those first) or active certificates it
    /// issued. With `force`, services stop trusting it and its active certificates are revoked
    /// (cessationOfOperation) in the same durable operation; every step is audited.
    pub fn remove(&mut self, name: &str, force: bool) -> Result<CaRemoval>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let ca = index.ca_named(name)?.clone();
        let mut children: Vec<&str> =
            index.cas.values().filter(|c| c.parent == Some(ca.id)).map(|c| c.name.as_str()).collect();
        children.sort_unstable();
        if !children.is_empty() {
            return Err(Error::Invalid(format!(
                "CA {} has CAs below it ({}); remove those first",
                names::shown(&ca.name),
                children.join(", ")
            )));
        }
        let mut trusting: Vec<crate::model::Service> = index
            .services
            .values()
            .filter(|s| s.trust_inbound.contains(&ca.id) || s.trust_outbound.contains(&ca.id))
            .cloned()
            .collect();
        trusting.sort_by(|a, b| a.name.cmp(&b.name));
        let mut active: Vec<crate::model::Certificate> = index
            .certs
            .values()
            .filter(|c| c.issuer == Some(ca.id) && c.status == CertStatus::Active)
            .cloned()
            .collect();
        active.sort_by_key(|c| c.created);
        let cert_label = |c: &crate::model::Certificate| {
            c.service_id.map(|s| index.service_name(s)).unwrap_or_else(|| format!("serial {}", c.serial))
        };
        if !force && (!trusting.is_empty() || !active.is_empty()) {
            let mut refs: Vec<String> = trusting.iter().map(|s| format!("trusted by {}", s.name)).collect();
            refs.extend(
                active.iter().map(|c| format!("issued active certificate {} ({})", c.id.short(), cert_label(c))),
            );
            return Err(Error::NeedsForce {
                refusal: format!("CA {} is still in use: {}", names::shown(&ca.name), refs.join(", ")),
                anyway: match (trusting.is_empty(), active.is_empty()) {
                    (false, false) => {
                        "removing it anyway takes it out of those trust stores and revokes those certificates"
                    }
                    (false, true) => "removing it anyway takes it out of those trust stores",
                    _ => "removing it anyway revokes those certificates",
                }
                .into(),
            });
        }
        let now = OffsetDateTime::now_utc();
        let mut ops = vec![Vault::delete_object(ca.id)];
        if let Some(p) = ca.key_payload {
            ops.push(Vault::delete_payload(p));
        }
        // Its trust-anchor mark and its link go with it.
        let index = &self.vault.unlocked()?.index;
        let marks = [index.anchors.get(&ca.id).map(|a| a.id), index.linked_cas.get(&ca.id).map(|l| l.id)];
        ops.extend(marks.into_iter().flatten().map(Vault::delete_object));
        let ca_obj = AuditObject::new("ca", Some(ca.id), ca.name.clone());
        let mut events = Vec::new();
        for s in &mut trusting {
            s.trust_inbound.retain(|c| *c != ca.id);
            s.trust_outbound.retain(|c| *c != ca.id);
            s.updated = now;
            ops.push(self.vault.seal_object(s.id, &ObjectRecord::Service(s.clone()))?);
            events.push(
                AuditEvent::success(
                    "trust.remove",
                    vec![AuditObject::new("service", Some(s.id), s.name.clone()), ca_obj.clone()],
                )
                .with_detail(format!("CA {} removed", ca.name)),
            );
        }
        let reason = crate::pki::crl::Reason::CessationOfOperation;
        for c in &mut active {
            // A linked CA's certificates are revoked on its mount too, so its CRL agrees.
            let on_mount = self.vault.revoke_on_mount(c)?.map(|d| format!(", {d}")).unwrap_or_default();
            c.status = CertStatus::Revoked;
            c.revocation = Some(crate::model::Revocation { time: now, reason });
            ops.push(self.vault.seal_object(c.id, &ObjectRecord::Certificate(c.clone()))?);
            events.push(
                AuditEvent::success("cert.revoke", vec![AuditObject::new("certificate", Some(c.id), cert_label(c))])
                    .with_detail(format!("serial {}, reason {reason:?}: CA {} removed{on_mount}", c.serial, ca.name)),
            );
        }
        let detail = match (ca.can_sign(), force && (!trusting.is_empty() || !active.is_empty())) {
            (true, false) => "with its key".to_string(),
            (false, false) => "trust only".to_string(),
            (k, true) => format!(
                "{}forced: untrusted by {} service(s), revoked {} certificate(s)",
                if k { "with its key; " } else { "" },
                trusting.len(),
                active.len()
            ),
        };
        events.insert(0, AuditEvent::success("ca.remove", vec![ca_obj]).with_detail(detail));
        self.vault.commit(ops, events)?;
        let removal = CaRemoval {
            ca: ca.name.clone(),
            untrusted_by: trusting.iter().map(|s| s.name.clone()).collect(),
            revoked: active.iter().map(|c| c.id.to_string()).collect(),
        };
        let index = &mut self.vault.unlocked_mut()?.index;
        for s in trusting {
            index.put_service(s);
        }
        for c in active {
            index.certs.insert(c.id, c);
        }
        index.ca_by_name.remove(&ca.name);
        index.cas.remove(&ca.id);
        index.anchors.remove(&ca.id);
        index.linked_cas.remove(&ca.id);
        Ok(removal)
    }

    /// Every CA, sorted by name.
    pub fn list(&self) -> Result<Vec<CaView>> {
        let index = &self.vault.unlocked()?.index;
        let mut cas: Vec<&Ca> = index.cas.values().collect();
        cas.sort_by(|a, b| a.name.cmp(&b.name));
        cas.into_iter().map(|c| view(index, c)).collect()
    }

    /// One CA by name.
    pub fn get(&self, name: &str) -> Result<CaView> {
        let index = &self.vault.unlocked()?.index;
        view(index, index.ca_named(name)?)
    }

    /// A CA's certificate as PEM.
    pub fn pem(&self, name: &str) -> Result<String> {
        Ok(to_pem("CERTIFICATE", &self.vault.unlocked()?.index.ca_named(name)?.cert_der))
    }

    /// Issues the next CRL of `name` (DER), signed by that CA, and records its number.
    pub fn issue_crl(&mut self, name: &str) -> Result<Vec<u8>>
    where
        V: DerefMut<Target = Vault>,
    {
        let mut ca = self.vault.unlocked()?.index.ca_named(name)?.clone();
        if let Some((der, whence)) = self.vault.linked_crl(&ca)? {
            let obj = AuditObject::new("ca", Some(ca.id), ca.name.clone());
            self.vault.commit(vec![], vec![AuditEvent::success("ca.crl", vec![obj]).with_detail(whence)])?;
            return Ok(der);
        }
        let now = OffsetDateTime::now_utc();
        let number = crl::number_at(ca.next_crl_number, now);
        let der = self.vault.build_crl(&ca, number, now)?;
        ca.next_crl_number = number + 1;
        let op = self.vault.seal_object(ca.id, &ObjectRecord::Ca(ca.clone()))?;
        let obj = AuditObject::new("ca", Some(ca.id), ca.name.clone());
        self.vault.commit(
            vec![op],
            vec![AuditEvent::success("ca.crl", vec![obj]).with_detail(format!("CRL number {number}"))],
        )?;
        self.vault.unlocked_mut()?.index.put_ca(ca);
        Ok(der)
    }

    /// Signs a certificate signing request (PEM or DER) with CA `name` as a server certificate;
    /// see [`Authorities::sign_csr_for`].
    pub fn sign_csr(&mut self, name: &str, csr: &[u8], validity_days: u32) -> Result<Vec<u8>>
    where
        V: DerefMut<Target = Vault>,
    {
        self.sign_csr_for(name, csr, validity_days, true, false)
    }

    /// Signs a certificate signing request (PEM or DER) with CA `name`; returns the certificate
    /// DER. The requester chooses only the key and the names: the EKUs are `server` and `client`
    /// (whatever the CSR asks), keyUsage follows the key type. Names outside the constraints of
    /// the CA chain are refused before anything is written, and so are IP addresses when any CA
    /// of the chain has name constraints (it permits only the names it lists).
    pub fn sign_csr_for(
        &mut self,
        name: &str,
        csr: &[u8],
        validity_days: u32,
        server: bool,
        client: bool,
    ) -> Result<Vec<u8>>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let ca = index.ca_named(name)?.clone();
        let signer = self.vault.signing_ca(&ca)?;
        let policy = issue::CsrPolicy { validity_days, server, client };
        let der = issue::sign_csr(csr, &signer, policy, OffsetDateTime::now_utc())?;
        let info = inspect(&der)?;
        let bad = constraint_violations(&self.vault.unlocked()?.index, &ca, &info.dns, &info.uris, &info.ips);
        if !bad.is_empty() {
            return Err(Error::Invalid(format!("the CSR asks for names the CA may not certify: {}", bad.join(", "))));
        }
        let cert = crate::model::Certificate {
            id: RecordId::random(),
            service_id: None,
            issuer: Some(ca.id),
            cert_der: der.clone(),
            key_payload: None,
            key_type: None,
            status: CertStatus::Active,
            revocation: None,
            renews: None,
            serial: info.serial.clone(),
            server_auth: info.server_auth,
            client_auth: info.client_auth,
            not_after: info.not_after,
            created: OffsetDateTime::now_utc(),
        };
        let op = self.vault.seal_object(cert.id, &ObjectRecord::Certificate(cert.clone()))?;
        let subject = info.common_name.clone().unwrap_or(info.subject.clone());
        let objs = vec![
            AuditObject::new("ca", Some(ca.id), ca.name.clone()),
            AuditObject::new("certificate", Some(cert.id), subject),
        ];
        self.vault.commit(
            vec![op],
            vec![AuditEvent::success("ca.sign_csr", objs).with_detail(format!("serial {}", info.serial))],
        )?;
        self.vault.unlocked_mut()?.index.certs.insert(cert.id, cert);
        Ok(der)
    }
}

impl Vault {
    /// Loads a CA's key for signing. Refused for trust-only CAs.
    pub(crate) fn signing_ca(&self, ca: &Ca) -> Result<SigningCa> {
        let (Some(payload), Some(kt)) = (ca.key_payload, ca.key_type) else {
            if let Some(link) = self.unlocked()?.index.linked_cas.get(&ca.id) {
                return Err(Error::Invalid(format!(
                    "CA {:?} signs in PKI mount {:?} of a remote; Keyloom has no key for it, and sends it only its own requests",
                    ca.name, link.pki_mount
                )));
            }
            return Err(Error::Invalid(format!(
                "CA {:?} was imported for trust only; Keyloom has no key to sign with",
                ca.name
            )));
        };
        let pkcs8 = self.open_payload(payload)?;
        SigningCa::new(&ca.cert_der, kt.load(&pkcs8)?, ca.not_after)
    }

    /// Builds the CRL of `ca` (in memory; nothing is stored) with the given number.
    pub(crate) fn build_crl(&self, ca: &Ca, number: u64, now: OffsetDateTime) -> Result<Vec<u8>> {
        let index = &self.unlocked()?.index;
        let revoked: Vec<RevokedEntry> = index
            .certs
            .values()
            .filter(|c| c.issuer == Some(ca.id))
            .filter_map(|c| {
                let r = c.revocation.as_ref()?;
                Some(RevokedEntry { serial: hex::decode(&c.serial).ok()?, time: r.time, reason: r.reason })
            })
            .collect();
        crl::build(&self.signing_ca(ca)?, number, &revoked, now)
    }
}

/// The readable parts of a certificate's subject, most specific first: its CN, OU and O (Debian's
/// bundle has roots with no CN, e.g. `OU=Security Communication RootCA2`).
fn subject_labels(der: &[u8]) -> Vec<String> {
    let Ok(cert) = crate::pki::inspect::parse(der) else {
        return Vec::new();
    };
    let subject = cert.subject();
    let text = |a: &x509_parser::x509::AttributeTypeAndValue<'_>| {
        a.as_str().ok().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string)
    };
    let labels = [
        subject.iter_common_name().find_map(text),
        subject.iter_organizational_unit().find_map(text),
        subject.iter_organization().find_map(text),
    ];
    labels.into_iter().flatten().collect()
}
