//! Service certificates: issue (one or in bulk), list, show, renew, revoke, import, verify,
//! and hand a service's identity to a TLS stack.

use rayon::prelude::*;
use secrecy::SecretSlice;
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::{Ca, CertStatus, Certificate, ObjectRecord, Revocation, Service};
use crate::pki::crl::Reason;
use crate::pki::expiry;
use crate::pki::import::{key_matches_certificate, parse_certificates, parse_private_key};
use crate::pki::inspect::{inspect, CertInfo};
use crate::pki::issue::{self, LeafKey};
use crate::pki::verify::{verify_chain, ChainMaterial, Usage};
use crate::pki::LeafSpec;
use crate::store::Op;
use crate::vault::cas::{chain, constraint_violations, to_pem};
use crate::vault::index::Index;
use crate::vault::linked_ca::{sign_on_mount, CaSigner};
use crate::vault::Vault;
use std::ops::{Deref, DerefMut};

/// Default leaf validity.
pub const DEFAULT_LEAF_DAYS: u32 = 90;

/// A certificate as front ends show it.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CertView {
    /// Id.
    pub id: RecordId,
    /// Service name.
    pub service: Option<String>,
    /// Issuing CA name, when the CA is in the vault.
    pub issuer_ca: Option<String>,
    /// Status.
    pub status: CertStatus,
    /// Revocation, if revoked.
    pub revocation: Option<Revocation>,
    /// Whether Keyloom holds the private key.
    pub has_key: bool,
    /// The certificate it renewed.
    pub renews: Option<RecordId>,
    /// Days until expiry, a started day counting as one (0 or negative once expired).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub expires_in_days: i64,
    /// Active and expiring by the expiry rule ([`crate::pki::expiry`]) under the default window,
    /// or under the window a list was asked for: front ends show this rather than compute it.
    pub expiring: bool,
    /// Certificate fields.
    pub certificate: CertInfo,
}

/// What [`Certificates::remove`] did.
#[derive(Debug, Clone, Serialize)]
pub struct CertRemoval {
    /// Vault certificate id.
    pub id: String,
    /// Serial (hex).
    pub serial: String,
    /// Whether it was active and revoked first (`force`).
    pub revoked: bool,
    /// Whether its record stays (revoked, unexpired, listed on its CA's CRL); its key is gone.
    pub kept_for_crl: bool,
}

/// What a leaf should carry, apart from who signs it (the names, uses, lifetime and key type).
pub type IssueRequest = LeafSpec;

/// The result of checking a certificate's chain.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// True when the chain is valid for at least one use the certificate claims.
    pub ok: bool,
    /// The time checked at.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
    /// Per use: `None` when valid, or why not.
    pub server: Option<Option<String>>,
    /// Per use: `None` when valid, or why not.
    pub client: Option<Option<String>>,
    /// The vault CAs above it, issuer first.
    pub chain: Vec<String>,
}

/// Everything a TLS stack needs to act as a service: its chain, key and trust stores.
pub struct ServiceIdentity {
    /// Leaf first, then intermediates up to (not including) the root.
    pub chain: Vec<Vec<u8>>,
    /// PKCS#8 private key.
    pub key: SecretSlice<u8>,
    /// CA certificates it accepts client certificates from.
    pub inbound: Vec<Vec<u8>>,
    /// CA certificates it verifies servers with.
    pub outbound: Vec<Vec<u8>>,
    /// Current CRLs of every CA whose key the vault holds.
    pub crls: Vec<Vec<u8>>,
}

impl std::fmt::Debug for ServiceIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceIdentity").field("chain_len", &self.chain.len()).finish_non_exhaustive()
    }
}

pub(crate) fn cert_view(index: &Index, c: &Certificate, now: OffsetDateTime) -> Result<CertView> {
    cert_view_in(index, c, now, expiry::default_window())
}

fn cert_view_in(index: &Index, c: &Certificate, now: OffsetDateTime, window: Duration) -> Result<CertView> {
    Ok(CertView {
        id: c.id,
        service: c.service_id.map(|s| index.service_name(s)),
        issuer_ca: c.issuer.map(|i| index.ca_name(i)),
        status: c.status,
        revocation: c.revocation.clone(),
        has_key: c.key_payload.is_some(),
        renews: c.renews,
        expires_in_days: expiry::days_left(c.not_after, now),
        expiring: c.status == CertStatus::Active && expiry::der_is_expiring(&c.cert_der, c.not_after, now, window),
        certificate: inspect(&c.cert_der)?,
    })
}

/// Expired, or expiring under `window` by the one expiry rule.
fn due_for_renewal(c: &Certificate, now: OffsetDateTime, window: Duration) -> bool {
    c.not_after <= now || expiry::der_is_expiring(&c.cert_der, c.not_after, now, window)
}

/// Every CA of the vault sorted for chain building, with fresh CRLs.
#[derive(Default)]
struct VaultChain {
    anchors: Vec<Vec<u8>>,
    intermediates: Vec<Vec<u8>>,
    crls: Vec<Vec<u8>>,
}

/// One renewal: the old certificate, its CA and service, the request, the key to keep (none: a
/// new one), and the service's next key when this renewal takes it.
type RenewJob<'a> = (
    &'a Certificate,
    &'a Ca,
    &'a Service,
    IssueRequest,
    Option<zeroize::Zeroizing<Vec<u8>>>,
    Option<crate::model::certificate::NextKey>,
);

/// A leaf made in memory, ready to seal.
struct Made {
    cert: Certificate,
    key: zeroize::Zeroizing<Vec<u8>>,
    event: AuditEvent,
    /// The service's next key, when this certificate took it as its key (`--rotate-key`).
    consumed_next: Option<crate::model::certificate::NextKey>,
}

/// Who signs, and against which index constraints are checked.
struct Signer<'a> {
    index: &'a Index,
    ca: &'a Ca,
    signer: &'a CaSigner,
    now: OffsetDateTime,
}

fn make_leaf(
    s: &Signer<'_>,
    svc: &Service,
    req: &IssueRequest,
    key: LeafKey<'_>,
    renews: Option<RecordId>,
) -> Result<Made> {
    let (index, ca, signer, now) = (s.index, s.ca, s.signer, s.now);
    let bad = constraint_violations(index, ca, &req.dns, &req.uris, &req.ips);
    if !bad.is_empty() {
        return Err(Error::Invalid(format!("cannot issue {} a certificate: {}", svc.name, bad.join(", "))));
    }
    let key_type = match key {
        LeafKey::Generate(k) | LeafKey::Existing(k, _) => k,
    };
    let (cert_der, key_pkcs8, signed_by) = match signer {
        CaSigner::Local(local) => {
            let issued = issue::leaf(req, &svc.name, local, key, now)?;
            (issued.cert_der, issued.key_pkcs8, String::new())
        }
        CaSigner::Linked(client, link) => {
            let leaf = sign_on_mount(client, link, ca, svc, req, key)?;
            let by =
                format!(", signed by {}/sign/{} (server serial {})", link.pki_mount, link.role, leaf.server_serial);
            (leaf.cert_der, leaf.key_pkcs8, by)
        }
    };
    let info = inspect(&cert_der)?;
    let cert = Certificate {
        id: RecordId::random(),
        service_id: Some(svc.id),
        issuer: Some(ca.id),
        cert_der,
        key_payload: Some(RecordId::random()),
        key_type: Some(key_type),
        status: CertStatus::Active,
        revocation: None,
        renews,
        serial: info.serial.clone(),
        server_auth: info.server_auth,
        client_auth: info.client_auth,
        not_after: info.not_after,
        created: now,
    };
    let action = if renews.is_some() { "cert.renew" } else { "cert.issue" };
    let objs = vec![
        AuditObject::new("certificate", Some(cert.id), svc.name.clone()),
        AuditObject::new("ca", Some(ca.id), ca.name.clone()),
    ];
    let event = AuditEvent::success(action, objs).with_detail(format!(
        "serial {}, until {}{signed_by}",
        info.serial,
        info.not_after.date()
    ));
    Ok(Made { cert, key: key_pkcs8, event, consumed_next: None })
}

feature_handle!(
    /// Service certificates: issue, import, renew, revoke, verify.
    Certificates, certs, certs_mut
);

impl<V: Deref<Target = Vault>> Certificates<V> {
    /// Issues `service` a certificate from CA `ca`. Names outside the CA chain's constraints are
    /// refused before anything is written.
    pub fn issue(&mut self, service: &str, ca: &str, req: &IssueRequest) -> Result<CertView>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        let ca = index.ca_named(ca)?.clone();
        let signer = self.vault.ca_signer(&ca)?;
        let signing = Signer { index, ca: &ca, signer: &signer, now: OffsetDateTime::now_utc() };
        let made = make_leaf(&signing, &svc, req, LeafKey::Generate(req.key_type), None)?;
        let mut v = self.vault.commit_made(vec![made], vec![])?;
        v.pop().ok_or_else(|| Error::Storage("certificate was not stored".into()))
    }

    /// Issues a certificate to every service of `environment` that has no active one, in one
    /// durable operation, keys generated on all cores. DNS names come from the CA's permitted
    /// suffix (`<service>.<suffix>`, or the service name when unconstrained) and the URI SAN from
    /// the service's SPIFFE ID. `progress` is called with (done, total). An environment no service
    /// is in is an error (a typo would otherwise issue nothing, silently).
    pub fn issue_missing(
        &mut self,
        ca: &str,
        environment: &str,
        template: &IssueRequest,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vec<CertView>>
    where
        V: DerefMut<Target = Vault>,
    {
        let index = &self.vault.unlocked()?.index;
        let ca = index.ca_named(ca)?.clone();
        index.environment_known(environment)?;
        let signer = self.vault.ca_signer(&ca)?;
        let has_active: std::collections::HashSet<RecordId> =
            index.certs.values().filter(|c| c.status == CertStatus::Active).filter_map(|c| c.service_id).collect();
        let mut targets: Vec<&Service> =
            index.services.values().filter(|s| s.environment == environment && !has_active.contains(&s.id)).collect();
        targets.sort_by(|a, b| a.name.cmp(&b.name));
        let suffix = ca.constraints.dns.first().map(|d| d.trim_start_matches('.').to_string());
        let total = targets.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let signing = Signer { index, ca: &ca, signer: &signer, now: OffsetDateTime::now_utc() };
        let made: Vec<Made> = targets
            .par_iter()
            .map(|svc| {
                let mut req = template.clone();
                req.dns = vec![match &suffix {
                    Some(s) => format!("{}.{s}", svc.name),
                    None => svc.name.clone(),
                }];
                req.uris = svc.spiffe_id.iter().cloned().collect();
                let m = make_leaf(&signing, svc, &req, LeafKey::Generate(req.key_type), None);
                progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, total);
                m
            })
            .collect::<Result<_>>()?;
        let views = self.vault.commit_made(made, vec![])?;
        if !views.is_empty() {
            self.vault.checkpoint()?;
        }
        Ok(views)
    }

    /// Certificates, newest first; with `within`, only active ones that are expiring under that
    /// window (see [`crate::pki::expiry`]: the shorter of the window and the last third of the
    /// certificate's lifetime).
    pub fn list(&self, within: Option<Duration>) -> Result<Vec<CertView>> {
        let index = &self.vault.unlocked()?.index;
        let now = OffsetDateTime::now_utc();
        let mut certs: Vec<&Certificate> = index
            .certs
            .values()
            .filter(|c| within.is_none_or(|w| c.status == CertStatus::Active && due_for_renewal(c, now, w)))
            .collect();
        certs.sort_by_key(|c| std::cmp::Reverse(c.created));
        let window = within.unwrap_or_else(expiry::default_window);
        certs.into_iter().map(|c| cert_view_in(index, c, now, window)).collect()
    }

    /// One certificate by id (or unique id prefix), or a service's newest active certificate.
    pub fn get(&self, id_or_service: &str) -> Result<CertView> {
        let c = self.vault.resolve_cert(id_or_service)?;
        cert_view(&self.vault.unlocked()?.index, c, OffsetDateTime::now_utc())
    }

    /// The certificate as PEM, followed by its vault CAs up to the root when `chain` is set.
    pub fn pem(&self, id_or_service: &str, with_chain: bool) -> Result<String> {
        let c = self.vault.resolve_cert(id_or_service)?;
        let mut out = to_pem("CERTIFICATE", &c.cert_der);
        if with_chain {
            let index = &self.vault.unlocked()?.index;
            if let Some(ca) = c.issuer.and_then(|i| index.cas.get(&i)) {
                for ca in chain(index, ca) {
                    out.push_str(&to_pem("CERTIFICATE", &ca.cert_der));
                }
            }
        }
        Ok(out)
    }

    /// Renews a certificate (same key, or a new one with `rotate_key`): the old one becomes
    /// superseded, the new one keeps its names, uses and lifetime.
    pub fn renew(&mut self, id_or_service: &str, rotate_key: bool) -> Result<CertView>
    where
        V: DerefMut<Target = Vault>,
    {
        let old = self.vault.resolve_cert(id_or_service)?.clone();
        let mut v = self.vault.renew_many(&[old], rotate_key, &|_, _| {})?;
        v.pop().ok_or_else(|| Error::Storage("certificate was not stored".into()))
    }

    /// Renews every active certificate that is expiring (or expired) under window `within`, in one
    /// durable operation. A renewal has a new full lifetime, so running this again renews nothing.
    pub fn renew_expiring(
        &mut self,
        within: Duration,
        rotate_key: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vec<CertView>>
    where
        V: DerefMut<Target = Vault>,
    {
        let now = OffsetDateTime::now_utc();
        let due: Vec<Certificate> = self
            .vault
            .unlocked()?
            .index
            .certs
            .values()
            .filter(|c| c.status == CertStatus::Active && c.service_id.is_some() && due_for_renewal(c, now, within))
            .cloned()
            .collect();
        let views = self.vault.renew_many(&due, rotate_key, progress)?;
        if !views.is_empty() {
            self.vault.checkpoint()?;
        }
        Ok(views)
    }

    /// Revokes a certificate; its CA's next CRL lists it.
    pub fn revoke(&mut self, id: &str, reason: Reason) -> Result<CertView>
    where
        V: DerefMut<Target = Vault>,
    {
        let mut c = self.vault.resolve_cert(id)?.clone();
        if c.status == CertStatus::Revoked {
            return Err(Error::Invalid(format!("certificate {} is already revoked", c.id.short())));
        }
        // A linked CA's certificate is revoked on its mount first: recorded here only once the
        // mount's CRL lists it.
        let on_mount = self.vault.revoke_on_mount(&c)?.map(|d| format!(", {d}")).unwrap_or_default();
        let now = OffsetDateTime::now_utc();
        c.status = CertStatus::Revoked;
        c.revocation = Some(Revocation { time: now, reason });
        let index = &self.vault.unlocked()?.index;
        let name = c.service_id.map(|s| index.service_name(s)).unwrap_or_else(|| c.serial.clone());
        let op = self.vault.seal_object(c.id, &ObjectRecord::Certificate(c.clone()))?;
        let obj = AuditObject::new("certificate", Some(c.id), name);
        self.vault.commit(
            vec![op],
            vec![AuditEvent::success("cert.revoke", vec![obj])
                .with_detail(format!("serial {}, reason {reason:?}{on_mount}", c.serial))],
        )?;
        let index = &mut self.vault.unlocked_mut()?.index;
        let view = cert_view(index, &c, now)?;
        index.certs.insert(c.id, c);
        Ok(view)
    }

    /// Removes a certificate (by id, unique id prefix, or a service's active one) and its private key. A service's active
    /// certificate is refused unless `force`, which revokes it first (audited). A revoked,
    /// unexpired certificate of a CA this vault signs for stays as a record, as that CA's CRL
    /// must keep listing it; only its private key goes.
    pub fn remove(&mut self, id: &str, force: bool) -> Result<CertRemoval>
    where
        V: DerefMut<Target = Vault>,
    {
        // The same lookup as every certificate command: an id, a unique id prefix, or a service
        // (its active certificate).
        let mut c = self.vault.resolve_cert(id)?.clone();
        let index = &self.vault.unlocked()?.index;
        let now = OffsetDateTime::now_utc();
        let label = c.service_id.map(|s| index.service_name(s)).unwrap_or_else(|| format!("serial {}", c.serial));
        let obj = AuditObject::new("certificate", Some(c.id), label.clone());
        let mut events = Vec::new();
        let mut revoked = false;
        if c.status == CertStatus::Active && c.not_after > now {
            if !force {
                return Err(Error::NeedsForce {
                    refusal: format!("certificate {} is {label}'s active certificate", c.id.short()),
                    anyway: "removing it anyway revokes it first".into(),
                });
            }
            let reason = Reason::CessationOfOperation;
            let on_mount = self.vault.revoke_on_mount(&c)?.map(|d| format!(", {d}")).unwrap_or_default();
            c.status = CertStatus::Revoked;
            c.revocation = Some(Revocation { time: now, reason });
            revoked = true;
            events.push(
                AuditEvent::success("cert.revoke", vec![obj.clone()])
                    .with_detail(format!("serial {}, reason {reason:?}: forced removal{on_mount}", c.serial)),
            );
        }
        let on_crl = c.status == CertStatus::Revoked
            && c.not_after > now
            && c.issuer.and_then(|i| index.cas.get(&i)).is_some_and(Ca::can_sign);
        let mut ops = Vec::new();
        if let Some(p) = c.key_payload.take() {
            ops.push(Vault::delete_payload(p));
        }
        if on_crl {
            ops.push(self.vault.seal_object(c.id, &ObjectRecord::Certificate(c.clone()))?);
        } else {
            ops.push(Vault::delete_object(c.id));
        }
        let detail = if on_crl {
            format!("serial {}: private key removed; kept as a revoked record for its CA's CRL", c.serial)
        } else {
            format!("serial {}", c.serial)
        };
        events.push(AuditEvent::success("cert.remove", vec![obj]).with_detail(detail));
        self.vault.commit(ops, events)?;
        let index = &mut self.vault.unlocked_mut()?.index;
        if on_crl {
            index.certs.insert(c.id, c.clone());
        } else {
            index.certs.remove(&c.id);
        }
        Ok(CertRemoval { id: c.id.to_string(), serial: c.serial, revoked, kept_for_crl: on_crl })
    }

    /// Imports a certificate (PEM or DER; the first certificate of a bundle) with its private key
    /// (PKCS#8, SEC1 or PKCS#1) for `service`. The key must match the certificate.
    pub fn import(
        &mut self,
        cert: &[u8],
        cert_origin: &str,
        key: &[u8],
        key_origin: &str,
        service: &str,
    ) -> Result<CertView>
    where
        V: DerefMut<Target = Vault>,
    {
        let ders = parse_certificates(cert, cert_origin)?;
        let der = ders.into_iter().next().ok_or_else(|| Error::Invalid(format!("{cert_origin}: no certificate")))?;
        let pkcs8 = parse_private_key(key, key_origin)?;
        let key_type = key_matches_certificate(&pkcs8, &der, key_origin)?;
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        let info = inspect(&der)?;
        if info.is_ca {
            return Err(Error::Invalid(format!("{cert_origin}: this is a CA certificate; import it as a CA")));
        }
        let issuer = index.ca_with_subject(&info.issuer).map(|c| c.id);
        let now = OffsetDateTime::now_utc();
        let cert = Certificate {
            id: RecordId::random(),
            service_id: Some(svc.id),
            issuer,
            cert_der: der,
            key_payload: Some(RecordId::random()),
            key_type: Some(key_type),
            status: CertStatus::Active,
            revocation: None,
            renews: None,
            serial: info.serial.clone(),
            server_auth: info.server_auth,
            client_auth: info.client_auth,
            not_after: info.not_after,
            created: now,
        };
        let obj = AuditObject::new("certificate", Some(cert.id), svc.name.clone());
        let event = AuditEvent::success("cert.import", vec![obj])
            .with_detail(format!("serial {} from {cert_origin}", info.serial));
        let mut v = self.vault.commit_made(vec![Made { cert, key: pkcs8, event, consumed_next: None }], vec![])?;
        v.pop().ok_or_else(|| Error::Storage("certificate was not stored".into()))
    }

    /// Checks a certificate (in the vault, or given as DER) against the vault's CAs at `at`, for
    /// each use it claims, including revocation and Keyloom's URI constraints.
    pub fn verify(&self, der: &[u8], at: Option<OffsetDateTime>) -> Result<VerifyReport> {
        self.verify_with(der, &[], at)
    }

    /// [`Certificates::verify`] with `extra` certificates (the rest of the file the certificate came
    /// in, as a server sends its chain) usable as intermediates. They are never anchors: trust
    /// comes only from the vault's CAs.
    pub fn verify_with(&self, der: &[u8], extra: &[Vec<u8>], at: Option<OffsetDateTime>) -> Result<VerifyReport> {
        let now = OffsetDateTime::now_utc();
        let at = at.unwrap_or(now);
        let info = inspect(der)?;
        let vault_chain = self.vault.vault_chain_material(now)?;
        let material = ChainMaterial {
            anchors: vault_chain.anchors.iter().map(Vec::as_slice).collect(),
            intermediates: vault_chain.intermediates.iter().chain(extra).map(Vec::as_slice).collect(),
            crls: vault_chain.crls.iter().map(Vec::as_slice).collect(),
        };
        let index = &self.vault.unlocked()?.index;
        let issuer = index.ca_with_subject(&info.issuer);
        let chain_names: Vec<String> =
            issuer.map(|ca| chain(index, ca).iter().map(|c| c.name.clone()).collect()).unwrap_or_default();
        let policy =
            issuer.map(|ca| constraint_violations(index, ca, &info.dns, &info.uris, &info.ips)).unwrap_or_default();
        let check = |usage| {
            let r = verify_chain(der, &material, at, usage).err();
            r.or_else(|| (!policy.is_empty()).then(|| format!("it violates name constraints: {}", policy.join(", "))))
        };
        let server = info.server_auth.then(|| check(Usage::Server));
        let client = info.client_auth.then(|| check(Usage::Client));
        let (server, client) =
            if server.is_none() && client.is_none() { (Some(check(Usage::Server)), None) } else { (server, client) };
        let ok = [&server, &client].iter().any(|u| matches!(u, Some(None)));
        Ok(VerifyReport { ok, at, server, client, chain: chain_names })
    }

    /// Verifies a vault certificate by id or service.
    pub fn verify_stored(&self, id_or_service: &str, at: Option<OffsetDateTime>) -> Result<VerifyReport> {
        let der = self.vault.resolve_cert(id_or_service)?.cert_der.clone();
        self.verify(&der, at)
    }

    /// A service's active certificate chain, its private key and its trust stores, for a TLS
    /// stack. The key leaving the vault is audited as a reveal.
    pub fn identity(&mut self, service: &str) -> Result<ServiceIdentity>
    where
        V: DerefMut<Target = Vault>,
    {
        let c = self.vault.resolve_cert(service)?.clone();
        let index = &self.vault.unlocked()?.index;
        let svc = index.service_named(service)?.clone();
        let mut chain_der = vec![c.cert_der.clone()];
        if let Some(ca) = c.issuer.and_then(|i| index.cas.get(&i)) {
            chain_der.extend(chain(index, ca).iter().filter(|ca| ca.parent.is_some()).map(|ca| ca.cert_der.clone()));
        }
        let certs_of = |ids: &[RecordId]| {
            ids.iter().filter_map(|i| index.cas.get(i)).map(|c| c.cert_der.clone()).collect::<Vec<_>>()
        };
        let inbound = certs_of(&svc.trust_inbound);
        let outbound = certs_of(&svc.trust_outbound);
        let payload = c
            .key_payload
            .ok_or_else(|| Error::Invalid(format!("Keyloom holds no private key for {service}'s certificate")))?;
        let crls = self.vault.vault_chain_material(OffsetDateTime::now_utc())?.crls;
        let key = self.vault.open_payload(payload)?;
        let obj = AuditObject::new("certificate", Some(c.id), svc.name.clone());
        self.vault.commit(
            vec![],
            vec![AuditEvent::success("cert.key.reveal", vec![obj]).with_detail(format!("serial {}", c.serial))],
        )?;
        Ok(ServiceIdentity { chain: chain_der, key: SecretSlice::from(key.to_vec()), inbound, outbound, crls })
    }
}

impl Vault {
    fn seal_made(&self, made: &[Made], ops: &mut Vec<Op>) -> Result<()> {
        for m in made {
            if let Some(p) = m.cert.key_payload {
                ops.push(self.seal_payload(p, &m.key)?);
            }
            ops.push(self.seal_object(m.cert.id, &ObjectRecord::Certificate(m.cert.clone()))?);
        }
        Ok(())
    }

    fn commit_made(&mut self, made: Vec<Made>, extra: Vec<Certificate>) -> Result<Vec<CertView>> {
        let mut ops = Vec::with_capacity(made.len() * 2 + extra.len());
        self.seal_made(&made, &mut ops)?;
        // Every service with a key here gets a next key to pin; one taken by a rotation is
        // replaced by a new one.
        let mut new_next = Vec::new();
        let mut dropped_next = Vec::new();
        {
            let index = &self.unlocked()?.index;
            let mut seen = std::collections::HashSet::new();
            for m in &made {
                let (Some(svc), Some(kt)) = (m.cert.service_id, m.cert.key_type) else { continue };
                // Only server certificates issued here are renewed here, so only they can take
                // a next key; clients pin server keys.
                let renewable_here = m.cert.issuer.and_then(|i| index.cas.get(&i)).is_some_and(|ca| index.ca_signs(ca));
                if !m.cert.server_auth || !renewable_here {
                    continue;
                }
                if let Some(n) = &m.consumed_next {
                    ops.push(Vault::delete_object(n.id));
                    ops.push(Vault::delete_payload(n.key_payload));
                    dropped_next.push(svc);
                } else if index.next_keys.contains_key(&svc) {
                    continue;
                }
                if seen.insert(svc) {
                    let (next, pkcs8) = crate::vault::pins::new_next_key(svc, kt)?;
                    ops.push(self.seal_payload(next.key_payload, &pkcs8)?);
                    ops.push(self.seal_object(next.id, &ObjectRecord::NextKey(next.clone()))?);
                    new_next.push(next);
                }
            }
        }
        for c in &extra {
            ops.push(self.seal_object(c.id, &ObjectRecord::Certificate(c.clone()))?);
        }
        let events = made.iter().map(|m| m.event.clone()).collect();
        self.commit(ops, events)?;
        let now = OffsetDateTime::now_utc();
        let index = &mut self.unlocked_mut()?.index;
        for svc in dropped_next {
            index.next_keys.remove(&svc);
        }
        for n in new_next {
            index.next_keys.insert(n.service, n);
        }
        for c in extra {
            index.certs.insert(c.id, c);
        }
        let mut views = Vec::with_capacity(made.len());
        for m in made {
            views.push(cert_view(index, &m.cert, now)?);
            index.certs.insert(m.cert.id, m.cert);
        }
        Ok(views)
    }

    fn resolve_cert(&self, id_or_service: &str) -> Result<&Certificate> {
        let index = &self.unlocked()?.index;
        if let Ok(id) = id_or_service.parse::<RecordId>() {
            if let Some(c) = index.certs.get(&id) {
                return Ok(c);
            }
        }
        let active_of = |svc: &crate::model::Service| {
            index
                .certs
                .values()
                .filter(|c| c.service_id == Some(svc.id) && c.status == CertStatus::Active)
                .max_by_key(|c| c.created)
                .ok_or_else(|| Error::UnknownCertificate(format!("active for service {:?}", svc.name)))
        };
        // A service named exactly so comes before an id prefix: `cert remove c0ffee` must never
        // reach another service's certificate whose id happens to start that way.
        if let Some(svc) = index.service_by_name.get(id_or_service).and_then(|id| index.services.get(id)) {
            return active_of(svc);
        }
        // A unique id prefix, as people copy the short form.
        let prefix = id_or_service.to_ascii_lowercase();
        let by_prefix: Vec<&Certificate> = if prefix.len() >= 6 && prefix.chars().all(|c| c.is_ascii_hexdigit()) {
            index.certs.values().filter(|c| c.id.to_string().starts_with(&prefix)).collect()
        } else {
            Vec::new()
        };
        match by_prefix.as_slice() {
            [one] => Ok(one),
            // A service found the forgiving way (a unique case-insensitive match).
            [] => active_of(
                index
                    .service_named(id_or_service)
                    .map_err(|_| Error::UnknownCertificate(format!("{id_or_service:?}")))?,
            ),
            many => Err(Error::Invalid(format!(
                "{id_or_service:?} matches {} certificates; give more of the id",
                many.len()
            ))),
        }
    }

    fn renew_many(
        &mut self,
        olds: &[Certificate],
        rotate_key: bool,
        progress: &(dyn Fn(usize, usize) + Sync),
    ) -> Result<Vec<CertView>> {
        let index = &self.unlocked()?.index;
        let now = OffsetDateTime::now_utc();
        let mut jobs: Vec<RenewJob<'_>> = Vec::with_capacity(olds.len());
        for old in olds {
            if old.status != CertStatus::Active {
                return Err(Error::Invalid(
                    format!("certificate {} is {:?}; only active certificates renew", old.id.short(), old.status)
                        .to_lowercase(),
                ));
            }
            let ca = old.issuer.and_then(|i| index.cas.get(&i)).ok_or_else(|| {
                Error::Invalid(format!(
                    "certificate {} was not issued by a CA in this vault; import its renewal instead",
                    old.id.short()
                ))
            })?;
            let svc = old
                .service_id
                .and_then(|s| index.services.get(&s))
                .ok_or_else(|| Error::Invalid(format!("certificate {} belongs to no service", old.id.short())))?;
            let info = inspect(&old.cert_der)?;
            // The same lifetime again, counted from now, to the nearest day (issuance starts
            // validity a few minutes early for clock skew; a given --not-before does not).
            let lifetime = (info.not_after - info.not_before + Duration::hours(12)).whole_days().max(1);
            let req = IssueRequest {
                dns: info.dns.clone(),
                ips: info.ips.iter().filter_map(|i| i.parse().ok()).collect(),
                uris: info.uris.clone(),
                server: info.server_auth,
                client: info.client_auth,
                validity_days: u32::try_from(lifetime).unwrap_or(DEFAULT_LEAF_DAYS),
                key_type: old.key_type.unwrap_or_default(),
                not_before: None,
            };
            // A new key is the service's next key, published in clients' pins since the last
            // issue, so pinned clients keep working across the rotation.
            // Only the certificate clients pin (the service's newest active server certificate)
            // takes it, once.
            let pinned = index
                .certs
                .values()
                .filter(|c| c.service_id == Some(svc.id) && c.status == CertStatus::Active && c.server_auth)
                .max_by_key(|c| c.created)
                .map(|c| c.id);
            let next = if rotate_key
                && pinned == Some(old.id)
                && !jobs.iter().any(|j| j.0.service_id == Some(svc.id) && j.5.is_some())
            {
                index.next_keys.get(&svc.id).cloned()
            } else {
                None
            };
            let (key, req) = match (&next, rotate_key, old.key_payload) {
                (Some(n), _, _) => {
                    (Some(self.open_payload(n.key_payload)?), IssueRequest { key_type: n.key_type, ..req })
                }
                (None, false, Some(p)) => (Some(self.open_payload(p)?), req),
                _ => (None, req),
            };
            jobs.push((old, ca, svc, req, key, next));
        }
        let mut signers = std::collections::HashMap::new();
        for (_, ca, _, _, _, _) in &jobs {
            if let std::collections::hash_map::Entry::Vacant(e) = signers.entry(ca.id) {
                e.insert(self.ca_signer(ca)?);
            }
        }
        let total = jobs.len();
        let done = std::sync::atomic::AtomicUsize::new(0);
        let made: Vec<Made> = jobs
            .par_iter()
            .map(|(old, ca, svc, req, key, next)| {
                let signer = signers.get(&ca.id).ok_or_else(|| Error::Storage("signer missing".into()))?;
                let leaf_key = match key {
                    Some(k) => LeafKey::Existing(req.key_type, k),
                    None => LeafKey::Generate(req.key_type),
                };
                let signing = Signer { index, ca, signer, now };
                let m = make_leaf(&signing, svc, req, leaf_key, Some(old.id))
                    .map(|m| Made { consumed_next: next.clone(), ..m });
                progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1, total);
                m
            })
            .collect::<Result<_>>()?;
        let superseded: Vec<Certificate> =
            olds.iter().map(|o| Certificate { status: CertStatus::Superseded, ..o.clone() }).collect();
        self.commit_made(made, superseded)
    }

    /// The chain material of the whole vault: roots and `--anchor` imports as anchors, other CAs as
    /// intermediates, and a fresh CRL for every CA whose key the vault holds.
    fn vault_chain_material(&self, now: OffsetDateTime) -> Result<VaultChain> {
        let index = &self.unlocked()?.index;
        let mut v = VaultChain::default();
        for ca in index.cas.values() {
            if index.is_anchor(ca) {
                v.anchors.push(ca.cert_der.clone());
            } else {
                v.intermediates.push(ca.cert_der.clone());
            }
            // Every CA the vault can sign for gets a CRL, empty or not, so a relying party can
            // tell "not revoked" from "unknown" at every level of the chain.
            if ca.can_sign() {
                v.crls.push(self.build_crl(ca, crate::pki::crl::number_at(ca.next_crl_number, now), now)?);
            }
        }
        Ok(v)
    }
}
