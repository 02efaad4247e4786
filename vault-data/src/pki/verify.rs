//! Chain validation with rustls-webpki (the verifier rustls itself uses), plus Keyloom's URI
//! constraint policy, with a reason a person can act on when it fails.

use rustls_pki_types::{CertificateDer, UnixTime};
use serde::Serialize;
use time::OffsetDateTime;
use webpki::{
    anchor_from_trusted_cert, BorrowedCertRevocationList, CertRevocationList, EndEntityCert, KeyUsage,
    RevocationOptionsBuilder,
};

use crate::error::Result;

/// Which use a chain is checked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Usage {
    /// TLS server (serverAuth).
    Server,
    /// TLS client (clientAuth).
    Client,
}

/// The certificates a chain may be built from.
pub(crate) struct ChainMaterial<'a> {
    pub anchors: Vec<&'a [u8]>,
    pub intermediates: Vec<&'a [u8]>,
    pub crls: Vec<&'a [u8]>,
}

/// Validates `leaf` for `usage` at `at`. `Ok(())` or the reason it fails.
pub(crate) fn verify_chain(leaf: &[u8], m: &ChainMaterial<'_>, at: OffsetDateTime, usage: Usage) -> Result<(), String> {
    let leaf_der = CertificateDer::from(leaf);
    let ee = EndEntityCert::try_from(&leaf_der).map_err(|e| format!("the certificate cannot be parsed ({e})"))?;
    let anchor_ders: Vec<CertificateDer<'_>> = m.anchors.iter().map(|d| CertificateDer::from(*d)).collect();
    let anchors: Vec<_> = anchor_ders.iter().filter_map(|d| anchor_from_trusted_cert(d).ok()).collect();
    if anchors.is_empty() {
        return Err("there is no trusted root CA to check it against".into());
    }
    let intermediates: Vec<CertificateDer<'_>> = m.intermediates.iter().map(|d| CertificateDer::from(*d)).collect();
    let crls: Vec<CertRevocationList<'_>> = m
        .crls
        .iter()
        .filter_map(|d| BorrowedCertRevocationList::from_der(d).ok().map(CertRevocationList::from))
        .collect();
    let crl_refs: Vec<&CertRevocationList<'_>> = crls.iter().collect();
    let revocation = RevocationOptionsBuilder::new(&crl_refs).ok().map(|b| {
        b.with_status_policy(webpki::UnknownStatusPolicy::Allow)
            .with_expiration_policy(webpki::ExpirationPolicy::Ignore)
            .build()
    });
    let secs = u64::try_from(at.unix_timestamp()).map_err(|_| "the check time is before 1970".to_string())?;
    let time = UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
    let key_usage = match usage {
        Usage::Server => KeyUsage::server_auth(),
        Usage::Client => KeyUsage::client_auth(),
    };
    ee.verify_for_usage(webpki::ALL_VERIFICATION_ALGS, &anchors, &intermediates, time, key_usage, revocation, None)
        .map(|_| ())
        .map_err(explain)
}

fn explain(e: webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => "the certificate (or a CA in its chain) has expired".into(),
        E::CertNotValidYet { .. } => "the certificate (or a CA in its chain) is not valid yet".into(),
        E::CertRevoked => "the certificate is revoked (listed in its CA's CRL)".into(),
        E::UnknownIssuer => "no trusted CA issued it: its chain does not reach a CA in the trust set".into(),
        E::NameConstraintViolation => "it violates the name constraints of a CA in its chain".into(),
        E::RequiredEkuNotFoundContext(_) => {
            "it lacks the extended key usage for this use (serverAuth / clientAuth)".into()
        }
        E::CaUsedAsEndEntity => "it is a CA certificate, not a service certificate".into(),
        E::InvalidSignatureForPublicKey => "a signature in the chain is invalid".into(),
        E::UnsupportedSignatureAlgorithmContext(_) | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a signature in the chain uses an unsupported or weak algorithm (e.g. SHA-1)".into()
        }
        other => format!("the chain is not valid ({other:?})"),
    }
}
