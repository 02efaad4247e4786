//! Making certificates with rcgen: root and intermediate CAs, service leaves, and CSR signing.

use std::net::IpAddr;

use rand::RngCore;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, NameConstraints, SanType, SerialNumber,
};
use time::{Duration, OffsetDateTime};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pki::key_type::KeyType;
use crate::pki::names;

/// Clock skew tolerated by starting validity a little in the past.
const BACKDATE: Duration = Duration::minutes(5);

// A shared value type (CA records hold it), kept in the model layer.
pub use crate::model::types::NameConstraintsSpec;

/// What a new CA should look like.
#[derive(Debug, Clone)]
pub struct CaSpec {
    /// Name, used as the subject CN.
    pub name: String,
    /// Key algorithm.
    pub key_type: KeyType,
    /// Validity from now.
    pub validity_days: u32,
    /// Maximum number of intermediates below it (None: unlimited).
    pub path_len: Option<u8>,
    /// Permitted names.
    pub constraints: NameConstraintsSpec,
}

/// What a new leaf should carry; the subject CN is the service name, given separately.
#[derive(Debug, Clone, Default)]
pub struct LeafSpec {
    /// DNS SANs.
    pub dns: Vec<String>,
    /// IP SANs.
    pub ips: Vec<IpAddr>,
    /// URI SANs (SPIFFE IDs).
    pub uris: Vec<String>,
    /// serverAuth EKU.
    pub server: bool,
    /// clientAuth EKU.
    pub client: bool,
    /// Validity from `not_before` (or from now).
    pub validity_days: u32,
    /// Start of validity, when not now (backdating, as `step` and `openssl` allow).
    pub not_before: Option<OffsetDateTime>,
    /// Key type of a newly generated key.
    pub key_type: KeyType,
}

/// A freshly made certificate and (when one was generated) its PKCS#8 key.
pub(crate) struct Issued {
    pub cert_der: Vec<u8>,
    pub key_pkcs8: Zeroizing<Vec<u8>>,
}

/// A CA that can sign: its certificate and loaded key.
pub(crate) struct SigningCa {
    issuer: Issuer<'static, KeyPair>,
    pub not_after: OffsetDateTime,
}

impl SigningCa {
    pub(crate) fn new(cert_der: &[u8], key: KeyPair, not_after: OffsetDateTime) -> Result<Self> {
        let der = rustls_pki_types::CertificateDer::from(cert_der.to_vec());
        let issuer = Issuer::from_ca_cert_der(&der, key)
            .map_err(|e| Error::Integrity(format!("a stored CA certificate cannot be used to sign: {e}")))?;
        Ok(SigningCa { issuer, not_after })
    }

    pub(crate) fn issuer(&self) -> &Issuer<'static, KeyPair> {
        &self.issuer
    }
}

/// 16 random bytes, positive as DER INTEGER requires (top bit clear, not all zero).
pub(crate) fn random_serial() -> SerialNumber {
    let mut s = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut s);
    s[0] = (s[0] & 0x7f) | 0x40;
    SerialNumber::from_slice(&s)
}

fn dn(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

fn validity(days: u32, now: OffsetDateTime) -> Result<(OffsetDateTime, OffsetDateTime)> {
    Error::check_range(crate::error::Quantity::ValidityDays, days.into(), 1..=36_500)?;
    Ok((now - BACKDATE, now + Duration::days(i64::from(days))))
}

fn ca_params(spec: &CaSpec, now: OffsetDateTime) -> Result<CertificateParams> {
    for d in &spec.constraints.dns {
        names::check_permitted_dns(d)?;
    }
    for u in &spec.constraints.uri {
        names::check_permitted_uri(u)?;
    }
    let (not_before, not_after) = validity(spec.validity_days, now)?;
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(&spec.name);
    p.not_before = not_before;
    p.not_after = not_after;
    p.serial_number = Some(random_serial());
    p.is_ca = IsCa::Ca(match spec.path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    p.use_authority_key_identifier_extension = true;
    if !spec.constraints.dns.is_empty() || !spec.constraints.ip.is_empty() {
        let mut permitted: Vec<GeneralSubtree> = spec
            .constraints
            .dns
            .iter()
            .map(|d| GeneralSubtree::DnsName(d.trim_start_matches('.').to_string()))
            .collect();
        let ranges = spec.constraints.ip_ranges()?;
        permitted.extend(ranges.iter().map(|r| GeneralSubtree::IpAddress(cidr(r))));
        // Permitting names says nothing in X.509 about a name type not listed: with no IP ranges,
        // exclude every address, so verifiers refuse an IP SAN under this CA as Keyloom does.
        let excluded = if ranges.is_empty() {
            vec![
                GeneralSubtree::IpAddress(rcgen::CidrSubnet::V4([0; 4], [0; 4])),
                GeneralSubtree::IpAddress(rcgen::CidrSubnet::V6([0; 16], [0; 16])),
            ]
        } else {
            Vec::new()
        };
        p.name_constraints = Some(NameConstraints { permitted_subtrees: permitted, excluded_subtrees: excluded });
    }
    Ok(p)
}

/// rcgen's form of an IP range: the network address and its mask.
fn cidr(net: &ipnet::IpNet) -> rcgen::CidrSubnet {
    match net {
        ipnet::IpNet::V4(n) => rcgen::CidrSubnet::V4(n.network().octets(), n.netmask().octets()),
        ipnet::IpNet::V6(n) => rcgen::CidrSubnet::V6(n.network().octets(), n.netmask().octets()),
    }
}

fn sign_err(e: rcgen::Error) -> Error {
    Error::Invalid(format!("cannot make the certificate: {e}"))
}

/// A self-signed root CA with a fresh key.
pub(crate) fn root_ca(spec: &CaSpec, now: OffsetDateTime) -> Result<Issued> {
    let key = spec.key_type.generate()?;
    let cert = ca_params(spec, now)?.self_signed(&key).map_err(sign_err)?;
    Ok(Issued { cert_der: cert.der().to_vec(), key_pkcs8: Zeroizing::new(key.serialize_der()) })
}

/// An intermediate CA signed by `parent`; it may not outlive the parent.
pub(crate) fn intermediate_ca(spec: &CaSpec, parent: &SigningCa, now: OffsetDateTime) -> Result<Issued> {
    let mut params = ca_params(spec, now)?;
    if params.not_after > parent.not_after + Duration::days(1) {
        return Err(Error::Invalid(format!(
            "an intermediate cannot outlive its parent: {} days would end after the parent expires ({})",
            spec.validity_days,
            parent.not_after.date()
        )));
    }
    // Asking for the parent's own lifetime ends a moment after it: end with the parent instead.
    params.not_after = params.not_after.min(parent.not_after);
    let key = spec.key_type.generate()?;
    let cert = params.signed_by(&key, parent.issuer()).map_err(sign_err)?;
    Ok(Issued { cert_der: cert.der().to_vec(), key_pkcs8: Zeroizing::new(key.serialize_der()) })
}

fn leaf_params(
    spec: &LeafSpec,
    common_name: &str,
    issuer: &SigningCa,
    now: OffsetDateTime,
) -> Result<CertificateParams> {
    if !spec.server && !spec.client {
        return Err(Error::Invalid("a service certificate needs server use, client use or both".into()));
    }
    if spec.dns.is_empty() && spec.ips.is_empty() && spec.uris.is_empty() {
        return Err(Error::Invalid(
            "a service certificate needs at least one name: a DNS name, an IP address or a URI".into(),
        ));
    }
    let (not_before, mut not_after) = match spec.not_before {
        Some(start) => (start, validity(spec.validity_days, start)?.1),
        None => validity(spec.validity_days, now)?,
    };
    // A leaf never outlives its issuer; clamp rather than refuse, as CAs issuing near their end do.
    if not_after > issuer.not_after {
        not_after = issuer.not_after;
    }
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(common_name);
    p.not_before = not_before;
    p.not_after = not_after;
    p.serial_number = Some(random_serial());
    p.use_authority_key_identifier_extension = true;
    p.key_usages = leaf_key_usages(spec.key_type.is_rsa());
    if spec.server {
        p.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if spec.client {
        p.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    p.subject_alt_names = subject_alt_names(spec)?;
    Ok(p)
}

/// The checked SANs of a leaf.
fn subject_alt_names(spec: &LeafSpec) -> Result<Vec<SanType>> {
    let mut sans = Vec::new();
    for d in &spec.dns {
        names::check_dns_name(d)?;
        let name = d.clone().try_into().map_err(|_| Error::Invalid(format!("{d:?} is not a valid DNS name")))?;
        sans.push(SanType::DnsName(name));
    }
    sans.extend(spec.ips.iter().map(|ip| SanType::IpAddress(*ip)));
    for u in &spec.uris {
        names::check_uri(u)?;
        let uri = u.clone().try_into().map_err(|_| Error::Invalid(format!("{u:?} is not a valid URI")))?;
        sans.push(SanType::URI(uri));
    }
    Ok(sans)
}

/// A CSR for a leaf whose CA signs elsewhere (a linked CA's PKI mount), with a fresh key of
/// `key_type` or an existing PKCS#8 key: the CSR as PEM, and the key. Only names go in the
/// request; the signer's role decides uses and lifetime limits.
pub(crate) fn leaf_csr(spec: &LeafSpec, common_name: &str, key: LeafKey<'_>) -> Result<(String, Issued)> {
    if spec.dns.is_empty() && spec.ips.is_empty() && spec.uris.is_empty() {
        return Err(Error::Invalid(
            "a service certificate needs at least one name: a DNS name, an IP address or a URI".into(),
        ));
    }
    let mut p = CertificateParams::default();
    p.distinguished_name = dn(common_name);
    p.subject_alt_names = subject_alt_names(spec)?;
    let key = match key {
        LeafKey::Generate(kt) => kt.generate()?,
        LeafKey::Existing(kt, pkcs8) => kt.load(pkcs8)?,
    };
    let csr = p.serialize_request(&key).map_err(sign_err)?;
    let pem = csr.pem().map_err(sign_err)?;
    Ok((pem, Issued { cert_der: Vec::new(), key_pkcs8: Zeroizing::new(key.serialize_der()) }))
}

/// A service leaf signed by `issuer`, with a fresh key of `key_type` or an existing PKCS#8 key.
pub(crate) fn leaf(
    spec: &LeafSpec,
    common_name: &str,
    issuer: &SigningCa,
    key: LeafKey<'_>,
    now: OffsetDateTime,
) -> Result<Issued> {
    let params = leaf_params(spec, common_name, issuer, now)?;
    let key = match key {
        LeafKey::Generate(kt) => kt.generate()?,
        LeafKey::Existing(kt, pkcs8) => kt.load(pkcs8)?,
    };
    let cert = params.signed_by(&key, issuer.issuer()).map_err(sign_err)?;
    Ok(Issued { cert_der: cert.der().to_vec(), key_pkcs8: Zeroizing::new(key.serialize_der()) })
}

/// Where a leaf's key comes from.
pub(crate) enum LeafKey<'a> {
    Generate(KeyType),
    Existing(KeyType, &'a [u8]),
}

/// A leaf's keyUsage by its key type (RFC 5280, 4.2.1.3; RFC 8446 for TLS 1.3): every key signs
/// (TLS 1.3, ECDHE); only an RSA key can also encrypt a TLS 1.2 RSA key exchange. ECDSA and
/// Ed25519 keys cannot encipher, so claiming keyEncipherment for them is wrong.
fn leaf_key_usages(rsa: bool) -> Vec<KeyUsagePurpose> {
    if rsa {
        vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    }
}

/// What the signer (not the requester) decides about a certificate made from a CSR.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CsrPolicy {
    /// Validity in days from now.
    pub validity_days: u32,
    /// serverAuth EKU.
    pub server: bool,
    /// clientAuth EKU.
    pub client: bool,
}

/// Signs a PEM or DER certificate signing request with `issuer`. The requester chooses the key and
/// the names; the signer decides everything else: the EKUs (never copied from the CSR), the
/// keyUsage (by key type) and the validity. Whether the CA may certify the names is the caller's
/// check (the vault's constraint rule), made before the result is kept.
pub(crate) fn sign_csr(csr: &[u8], issuer: &SigningCa, policy: CsrPolicy, now: OffsetDateTime) -> Result<Vec<u8>> {
    if !policy.server && !policy.client {
        return Err(Error::Invalid("a certificate signed from a CSR needs server use, client use or both".into()));
    }
    let der = match std::str::from_utf8(csr).ok().filter(|s| s.contains("-----BEGIN")) {
        Some(text) => {
            pem::parse(text).map_err(|e| Error::Invalid(format!("the CSR is not valid PEM: {e}")))?.into_contents()
        }
        None => csr.to_vec(),
    };
    let der = rustls_pki_types::CertificateSigningRequestDer::from(der);
    let mut req = rcgen::CertificateSigningRequestParams::from_der(&der)
        .map_err(|e| Error::Invalid(format!("the CSR cannot be read or its signature is invalid: {e}")))?;
    // The requester chose these names; they meet the same rules as names Keyloom issues.
    for san in &req.params.subject_alt_names {
        match san {
            SanType::DnsName(d) => names::check_dns_name(d.as_str())?,
            SanType::URI(u) => names::check_uri(u.as_str())?,
            _ => {}
        }
    }
    let rsa = [&rcgen::PKCS_RSA_SHA256, &rcgen::PKCS_RSA_SHA384, &rcgen::PKCS_RSA_SHA512]
        .contains(&req.public_key.algorithm());
    req.params.key_usages = leaf_key_usages(rsa);
    req.params.extended_key_usages.clear();
    if policy.server {
        req.params.extended_key_usages.push(ExtendedKeyUsagePurpose::ServerAuth);
    }
    if policy.client {
        req.params.extended_key_usages.push(ExtendedKeyUsagePurpose::ClientAuth);
    }
    // Other extensions the requester asked for (basic constraints aside, set below) are not
    // carried over: a CSR must not choose its own policies.
    req.params.custom_extensions.clear();
    req.params.name_constraints = None;
    req.params.crl_distribution_points.clear();
    let (not_before, mut not_after) = validity(policy.validity_days, now)?;
    if not_after > issuer.not_after {
        not_after = issuer.not_after;
    }
    req.params.not_before = not_before;
    req.params.not_after = not_after;
    req.params.serial_number = Some(random_serial());
    req.params.is_ca = IsCa::NoCa;
    req.params.use_authority_key_identifier_extension = true;
    let cert = req.signed_by(issuer.issuer()).map_err(sign_err)?;
    Ok(cert.der().to_vec())
}
