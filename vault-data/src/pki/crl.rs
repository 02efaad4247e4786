//! Certificate revocation lists signed by a vault CA.

use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevocationReason, RevokedCertParams, SerialNumber};
use time::{Duration, OffsetDateTime};

use crate::error::{Error, Result};
use crate::pki::issue::SigningCa;

// A shared value type (records, CLI and desktop use it), kept in the model layer.
pub use crate::model::types::Reason;

impl Reason {
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

/// The number of a CRL issued at `now`: the CA's stored next number, or the time in milliseconds
/// since 1970 when that is larger. Time-based so a CRL number never goes back, even after the vault
/// was rolled back to an older copy (whose stored counter is older): relying parties (RFC 5280
/// 5.2.3) take a lower number as an older CRL.
pub(crate) fn number_at(stored_next: u64, now: OffsetDateTime) -> u64 {
    let millis = u64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(0);
    stored_next.max(millis)
}

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

#[cfg(test)]
mod number_tests {
    use super::number_at;
    use time::macros::datetime;

    #[test]
    fn crl_numbers_follow_time_and_never_go_back() {
        let t = datetime!(2026-12-02 10:00:00 UTC);
        let first = number_at(1, t);
        assert_eq!(first, 1_796_205_600_000);
        // A rolled-back vault stores an older counter; later issues still go up.
        assert!(number_at(1, t + time::Duration::seconds(1)) > first);
        // A counter ahead of the clock (a clock set back) still wins.
        assert_eq!(number_at(first + 5, t - time::Duration::hours(1)), first + 5);
    }
}
