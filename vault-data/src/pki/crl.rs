//! Certificate revocation lists signed by a vault CA.

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber};
use serde::{Deserialize, Serialize};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::pki::issue::SigningCa;

/// Why a certificate was revoked (RFC 5280 reason codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// No reason given.
    Unspecified,
    /// The private key leaked.
    KeyCompromise,
    /// The issuing CA's key leaked.
    CaCompromise,
    /// The subject's affiliation changed.
    AffiliationChanged,
    /// Replaced by another certificate.
    Superseded,
    /// The service is gone.
    CessationOfOperation,
}

impl Reason {
    /// Parses the CLI spelling (`key-compromise`, ...).
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "unspecified" => Reason::Unspecified,
            "key-compromise" => Reason::KeyCompromise,
            "ca-compromise" => Reason::CaCompromise,
            "affiliation-changed" => Reason::AffiliationChanged,
            "superseded" => Reason::Superseded,
            "cessation-of-operation" => Reason::CessationOfOperation,
            other => {
                return Err(Error::Invalid(format!(
                    "unknown revocation reason {other:?}: use unspecified, key-compromise, ca-compromise, \
                     affiliation-changed, superseded or cessation-of-operation"
                )))
            }
        })
    }

    fn rcgen(self) -> RevocationReason {
        match self {
            Reason::Unspecified => RevocationReason::Unspecified,
            Reason::KeyCompromise => RevocationReason::KeyCompromise,
            Reason::CaCompromise => RevocationReason::CaCompromise,
            Reason::AffiliationChanged => RevocationReason::AffiliationChanged,
            Reason::Superseded => RevocationReason::Superseded,
            Reason::CessationOfOperation => RevocationReason::CessationOfOperation,
        }
    }
}

/// One revoked certificate as a CRL lists it.
pub(crate) struct RevokedEntry {
    pub serial: Vec<u8>,
    pub time: OffsetDateTime,
    pub reason: Reason,
}

/// How long a CRL is valid before the next one is due.
pub const CRL_VALIDITY: Duration = Duration::days(7);

/// A DER CRL listing `revoked`, signed by `ca`.
pub(crate) fn build(ca: &SigningCa, number: u64, revoked: &[RevokedEntry], now: OffsetDateTime) -> Result<Vec<u8>> {
    let params = CertificateRevocationListParams {
        this_update: now - Duration::minutes(5),
        next_update: now + CRL_VALIDITY,
        crl_number: SerialNumber::from(number),
        issuing_distribution_point: None,
        revoked_certs: revoked
            .iter()
            .map(|r| RevokedCertParams {
                serial_number: SerialNumber::from_slice(&r.serial),
                revocation_time: r.time,
                reason_code: Some(r.reason.rcgen()),
                invalidity_date: None,
            })
            .collect(),
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let crl = params.signed_by(ca.issuer()).map_err(|e| Error::Invalid(format!("cannot sign the CRL: {e}")))?;
    Ok(crl.der().to_vec())
}
