//! Linked CAs: a CA whose key stays in a remote's PKI mount (OpenBao / Vault `pki`). Linking
//! records the mount's issuing certificate (and imports the chain above it for trust); issuing
//! makes the key here and has the mount sign a CSR under a role; revoking goes to the mount, whose
//! CRL is the CA's CRL. Everything else (trust stores, the graph, exports, findings) sees a CA.

use std::ops::{Deref, DerefMut};

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::names::{self, NameKind};
use crate::model::{Ca, Certificate, LinkedCa, ObjectRecord, Service};
use crate::pki::import::{key_matches_certificate, parse_certificates};
use crate::pki::inspect::inspect;
use crate::pki::issue::{self, LeafKey, SigningCa};
use crate::pki::signed_by::{crl_serials, signed_by};
use crate::remote::client::Client;
use crate::remote::pki::{colon_serial, SignRequest};
use crate::vault::cas::{trust_only_ca, Authorities, CaView};
use crate::vault::certs::IssueRequest;
use crate::vault::remotes::path_part;
use crate::vault::Vault;

/// Where a linked CA signs, as front ends show it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CaLink {
    /// The remote's name.
    pub remote: String,
    /// The PKI mount.
    pub pki_mount: String,
    /// The role it signs under.
    pub role: String,
}

/// Who signs a new leaf: a CA key held here, or a linked CA's mount.
pub(crate) enum CaSigner {
    /// The key is in this vault.
    Local(SigningCa),
    /// The key is in a remote's PKI mount.
    Linked(Client, LinkedCa),
}

/// A leaf the mount signed, with the key made here.
pub(crate) struct RemoteLeaf {
    pub cert_der: Vec<u8>,
    pub key_pkcs8: zeroize::Zeroizing<Vec<u8>>,
    /// The serial as the server writes it.
    pub server_serial: String,
}

impl CaLink {
    pub(crate) fn of(index: &crate::vault::index::Index, ca: &Ca) -> Option<CaLink> {
        let l = index.linked_cas.get(&ca.id)?;
        Some(CaLink {
            remote: index.remotes.get(&l.remote).map_or_else(String::new, |r| r.name.clone()),
            pki_mount: l.pki_mount.clone(),
            role: l.role.clone(),
        })
    }
}

impl<V: Deref<Target = Vault>> Authorities<V> {
    /// Links CA `name` to PKI mount `pki_mount` of remote `remote`, signing under `role`: the
    /// mount's issuing certificate becomes a CA here with no key, the chain above it is imported
    /// for trust. Nothing is recorded when the mount, the role or the chain is not usable.
    pub fn link(&mut self, name: &str, remote: &str, pki_mount: &str, role: &str) -> Result<CaView>
    where
        V: DerefMut<Target = Vault>,
    {
        names::check(NameKind::Ca, name)?;
        let mount = path_part("PKI mount", pki_mount)?;
        let role = path_part("role", role)?;
        if role.contains('/') {
            return Err(Error::Invalid(format!("role {role:?} is a single name, not a path")));
        }
        let index = &self.vault.unlocked()?.index;
        if let Some(taken) = index.ca_name_taken(name, None) {
            return Err(Error::Exists { kind: "CA", name: taken.name.clone() });
        }
        let remote = self.vault.remote_named(remote)?.clone();
        let client = self.vault.connect(&remote)?;
        let issuer = client.pki_issuer(&mount).map_err(Error::Remote)?;
        if client.pki_role_exists(&mount, &role).map_err(Error::Remote)? == Some(false) {
            return Err(Error::Invalid(format!("PKI mount {mount:?} has no role {role:?}")));
        }
        let origin = format!("{}:{mount}", remote.name);
        let der = parse_certificates(issuer.certificate.as_bytes(), &origin)?
            .into_iter()
            .next()
            .ok_or_else(|| Error::Invalid(format!("{origin}: the mount has no issuing certificate")))?;
        let info = inspect(&der)?;
        if !info.is_ca {
            return Err(Error::Invalid(format!("{origin}: the mount's issuer is not a CA certificate")));
        }
        if let Some(same) = index.cas.values().find(|c| c.cert_der == der) {
            return Err(Error::Invalid(format!(
                "{origin}: its issuing certificate is already CA {} here; remove it first to link it",
                names::shown(&same.name)
            )));
        }
        // The chain above the issuer is imported for trust only if each link is signed by the
        // next and it ends at a self-signed root: a server cannot slip in unrelated roots.
        let mut chain_der = Vec::new();
        for p in &issuer.chain {
            chain_der.extend(parse_certificates(p.as_bytes(), &origin)?);
        }
        if chain_der.first() != Some(&der) {
            chain_der.insert(0, der.clone());
        }
        let linked_up = chain_der.windows(2).all(|w| signed_by(&w[0], &w[1]));
        let rooted = chain_der.last().is_some_and(|root| signed_by(root, root));
        if !linked_up || !rooted {
            return Err(Error::Invalid(format!(
                "{origin}: the mount's CA chain does not verify link by link up to a self-signed root"
            )));
        }
        let above: String = chain_der.iter().skip(1).map(|d| crate::vault::cas::to_pem("CERTIFICATE", d)).collect();
        if !above.is_empty() {
            self.import(above.as_bytes(), &origin)?;
        }
        let index = &self.vault.unlocked()?.index;
        let now = OffsetDateTime::now_utc();
        let ca = trust_only_ca(index, name.to_string(), der, &info, now);
        let link =
            LinkedCa { id: RecordId::random(), ca: ca.id, remote: remote.id, pki_mount: mount, role, created: now };
        let ops = vec![
            self.vault.seal_object(ca.id, &ObjectRecord::Ca(ca.clone()))?,
            self.vault.seal_object(link.id, &ObjectRecord::LinkedCa(link.clone()))?,
        ];
        let objs = vec![
            AuditObject::new("ca", Some(ca.id), ca.name.clone()),
            AuditObject::new("remote", Some(remote.id), remote.name.clone()),
        ];
        let event = AuditEvent::success("ca.link", objs)
            .with_detail(format!("{}/sign/{}, serial {}", link.pki_mount, link.role, info.serial));
        self.vault.commit(ops, vec![event])?;
        let index = &mut self.vault.unlocked_mut()?.index;
        index.put_ca(ca.clone());
        index.linked_cas.insert(ca.id, link);
        self.get(&ca.name)
    }
}

impl Vault {
    /// The signer of `ca`: its key here, or a logged-in client of its linked mount.
    pub(crate) fn ca_signer(&self, ca: &Ca) -> Result<CaSigner> {
        match self.unlocked()?.index.linked_cas.get(&ca.id) {
            Some(link) => {
                let remote = self.remote_of(link)?;
                Ok(CaSigner::Linked(self.connect(remote)?, link.clone()))
            }
            None => Ok(CaSigner::Local(self.signing_ca(ca)?)),
        }
    }

    /// A logged-in client of the mount `ca` is linked to, if it is linked.
    pub(crate) fn linked_client(&self, ca_id: RecordId) -> Result<Option<(Client, LinkedCa)>> {
        let Some(link) = self.unlocked()?.index.linked_cas.get(&ca_id).cloned() else { return Ok(None) };
        let remote = self.remote_of(&link)?;
        Ok(Some((self.connect(remote)?, link)))
    }

    fn remote_of(&self, link: &LinkedCa) -> Result<&crate::model::remote::Remote> {
        self.unlocked()?
            .index
            .remotes
            .get(&link.remote)
            .ok_or_else(|| Error::Integrity(format!("linked CA {} names a remote that is gone", link.id.short())))
    }

    /// Revokes `cert` on the mount that signed it, when its CA is linked: the mount's CRL lists
    /// it from then on. Returns the detail for the audit entry.
    pub(crate) fn revoke_on_mount(&self, cert: &Certificate) -> Result<Option<String>> {
        let Some(ca) = cert.issuer else { return Ok(None) };
        let Some((client, link)) = self.linked_client(ca)? else { return Ok(None) };
        let serial = colon_serial(&cert.serial);
        client.pki_revoke(&link.pki_mount, &serial).map_err(Error::Remote)?;
        // Recorded here only once the mount's own CRL, signed by the CA, lists it.
        let ca_der = self.unlocked()?.index.cas.get(&ca).map(|c| c.cert_der.clone()).unwrap_or_default();
        let crl = client.pki_crl(&link.pki_mount).map_err(Error::Remote)?;
        let listed = crl_serials(&crl, &ca_der).ok_or_else(|| {
            Error::Invalid(format!("{}: the mount's CRL is not signed by the linked CA", link.pki_mount))
        })?;
        if !listed.iter().any(|s| s.eq_ignore_ascii_case(&cert.serial)) {
            return Err(Error::Invalid(format!(
                "{}: the mount accepted the revocation of serial {serial} but its CRL does not list it; nothing was recorded here",
                link.pki_mount
            )));
        }
        let remote = self.remote_of(&link)?.name.clone();
        Ok(Some(format!("revoked on remote {remote} ({}, serial {serial})", link.pki_mount)))
    }

    /// The CRL of a linked CA: the mount's own.
    pub(crate) fn linked_crl(&self, ca: &Ca) -> Result<Option<(Vec<u8>, String)>> {
        let Some((client, link)) = self.linked_client(ca.id)? else { return Ok(None) };
        let der = client.pki_crl(&link.pki_mount).map_err(Error::Remote)?;
        if crl_serials(&der, &ca.cert_der).is_none() {
            return Err(Error::Invalid(format!("{}: the mount's CRL is not signed by the linked CA", link.pki_mount)));
        }
        let remote = self.remote_of(&link)?.name.clone();
        Ok(Some((der, format!("fetched from remote {remote} ({})", link.pki_mount))))
    }
}

/// Makes a key here and has the linked mount sign it for `svc`. The answer is checked: the
/// certificate must carry this key and name the linked CA as its issuer.
pub(crate) fn sign_on_mount(
    client: &Client,
    link: &LinkedCa,
    ca: &Ca,
    svc: &Service,
    req: &IssueRequest,
    key: LeafKey<'_>,
) -> Result<RemoteLeaf> {
    // The role checks the common name like a SAN: it is the first DNS name, not the service.
    let common_name = req.dns.first().cloned().unwrap_or_else(|| svc.name.clone());
    let (csr_pem, made) = issue::leaf_csr(req, &common_name, key)?;
    let ips: Vec<String> = req.ips.iter().map(ToString::to_string).collect();
    let ask = SignRequest {
        csr_pem: &csr_pem,
        common_name: &common_name,
        dns: &req.dns,
        uris: &req.uris,
        ips: &ips,
        ttl_hours: u64::from(req.validity_days) * 24,
    };
    let signed = client.pki_sign(&link.pki_mount, &link.role, &ask).map_err(Error::Remote)?;
    let origin = format!("{}/sign/{}", link.pki_mount, link.role);
    let der = parse_certificates(signed.certificate.as_bytes(), &origin)?
        .into_iter()
        .next()
        .ok_or_else(|| Error::Invalid(format!("{origin}: the answer holds no certificate")))?;
    key_matches_certificate(&made.key_pkcs8, &der, &origin)?;
    let info = inspect(&der)?;
    if info.is_ca || !signed_by(&der, &ca.cert_der) {
        return Err(Error::Invalid(format!(
            "{origin}: the mount answered with a certificate not signed by the linked CA (issuer {:?})",
            info.issuer
        )));
    }
    // The names are the ones asked for, no more and no fewer.
    let mut asked: Vec<String> = req.dns.iter().map(|d| d.to_ascii_lowercase()).collect();
    let mut got: Vec<String> = info.dns.iter().map(|d| d.to_ascii_lowercase()).collect();
    asked.sort();
    got.sort();
    let uris_ok = req.uris.iter().all(|u| info.uris.contains(u)) && info.uris.iter().all(|u| req.uris.contains(u));
    if asked != got || !uris_ok {
        return Err(Error::Invalid(format!(
            "{origin}: the mount signed other names ({}) than the ones asked for ({})",
            got.join(", "),
            asked.join(", ")
        )));
    }
    Ok(RemoteLeaf { cert_der: der, key_pkcs8: made.key_pkcs8, server_serial: signed.serial })
}
