//! Checks on what another signer (a linked CA's PKI mount) hands back: that a certificate or a
//! CRL really is signed by the CA it names, and what a CRL lists. Answers from a server are
//! taken only after these hold.

use x509_parser::prelude::{parse_x509_certificate, parse_x509_crl};

/// Whether `child` (DER) is signed by the key of `issuer` (DER) and names it as its issuer.
pub fn signed_by(child: &[u8], issuer: &[u8]) -> bool {
    let (Ok((_, c)), Ok((_, i))) = (parse_x509_certificate(child), parse_x509_certificate(issuer)) else {
        return false;
    };
    c.issuer() == i.subject() && c.verify_signature(Some(i.public_key())).is_ok()
}

/// The serials (lowercase hex, as certificate records keep them) a CRL signed by `issuer`
/// lists; `None` when it is not a CRL of that issuer, or its signature does not hold.
pub fn crl_serials(crl: &[u8], issuer: &[u8]) -> Option<Vec<String>> {
    let (_, list) = parse_x509_crl(crl).ok()?;
    let (_, ca) = parse_x509_certificate(issuer).ok()?;
    if list.issuer() != ca.subject() || list.verify_signature(ca.public_key()).is_err() {
        return None;
    }
    Some(list.iter_revoked_certificates().map(|r| hex::encode(r.raw_serial())).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pki::crl::{self, Reason, RevokedEntry};
    use crate::pki::issue::{self, CaSpec, LeafKey, LeafSpec, SigningCa};
    use crate::pki::KeyType;

    fn ca(name: &str) -> (Vec<u8>, SigningCa) {
        let spec = CaSpec {
            name: name.into(),
            key_type: KeyType::EcdsaP256,
            validity_days: 30,
            path_len: None,
            constraints: Default::default(),
        };
        let now = time::OffsetDateTime::now_utc();
        let made = issue::root_ca(&spec, now).unwrap();
        let signer = SigningCa::new(
            &made.cert_der,
            KeyType::EcdsaP256.load(&made.key_pkcs8).unwrap(),
            now + time::Duration::days(30),
        )
        .unwrap();
        (made.cert_der, signer)
    }

    #[test]
    fn a_look_alike_ca_with_the_same_name_signs_nothing_of_the_real_ones() {
        let now = time::OffsetDateTime::now_utc();
        let (real, real_signer) = ca("corp-issuing");
        let (fake, fake_signer) = ca("corp-issuing");
        let spec =
            LeafSpec { dns: vec!["a.corp.example".into()], server: true, validity_days: 5, ..Default::default() };
        let leaf = issue::leaf(&spec, "a", &fake_signer, LeafKey::Generate(KeyType::EcdsaP256), now).unwrap().cert_der;
        assert!(signed_by(&leaf, &fake));
        assert!(!signed_by(&leaf, &real), "same subject, other key");
        assert!(signed_by(&real, &real) && !signed_by(&real, &fake));
        assert!(!signed_by(b"junk", &real));

        let serial = vec![0x42, 0x01];
        let entry = RevokedEntry { serial: serial.clone(), time: now, reason: Reason::KeyCompromise };
        let real_crl = crl::build(&real_signer, 1, std::slice::from_ref(&entry), now).unwrap();
        let fake_crl = crl::build(&fake_signer, 1, &[entry], now).unwrap();
        assert_eq!(crl_serials(&real_crl, &real), Some(vec![hex::encode(&serial)]));
        assert_eq!(crl_serials(&fake_crl, &real), None, "a CRL from a look-alike is not the CA's");
        assert_eq!(crl_serials(b"\x30junk", &real), None);
    }
}
