//! Public-key pins: SHA-256 of a SubjectPublicKeyInfo, base64, as HPKP, curl's `--pinnedpubkey`,
//! OkHttp's `CertificatePinner` and Envoy's `verify_certificate_spki` take them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use sha2::{Digest, Sha256};
use x509_parser::prelude::parse_x509_certificate;

use crate::error::{Error, Result};

/// The pin of a DER SubjectPublicKeyInfo.
pub fn of_spki(spki_der: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(spki_der))
}

/// The pin of a certificate's public key.
pub fn of_certificate(cert_der: &[u8]) -> Result<String> {
    let (_, cert) = parse_x509_certificate(cert_der)
        .map_err(|_| Error::Integrity("a stored certificate cannot be parsed".into()))?;
    Ok(of_spki(cert.public_key().raw))
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_certificates_pin_is_the_pin_of_its_key() {
        let kp = crate::pki::KeyType::EcdsaP256.generate().unwrap();
        let params = rcgen::CertificateParams::new(vec!["a.example".to_string()]).unwrap();
        let cert = params.self_signed(&kp).unwrap();
        assert_eq!(
            super::of_certificate(cert.der()).unwrap(),
            super::of_spki(&rcgen::PublicKeyData::subject_public_key_info(&kp))
        );
        assert_eq!(super::of_spki(&rcgen::PublicKeyData::subject_public_key_info(&kp)).len(), 44);
    }
}
