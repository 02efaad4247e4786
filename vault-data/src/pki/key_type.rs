//! The key types Keyloom generates, and the signature algorithm each one signs with.

use crate::error::{Error, Result};

// The type itself is a shared value (records, CLI and desktop use it) and lives in the model
// layer; the key material it stands for (generate, load, detect) is PKI's.
pub use crate::model::types::KeyType;

impl KeyType {
    pub(crate) fn algorithm(self) -> &'static rcgen::SignatureAlgorithm {
        match self {
            KeyType::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            KeyType::EcdsaP384 => &rcgen::PKCS_ECDSA_P384_SHA384,
            KeyType::Ed25519 => &rcgen::PKCS_ED25519,
            KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => &rcgen::PKCS_RSA_SHA256,
        }
    }

    /// A fresh key pair from the OS random source.
    pub(crate) fn generate(self) -> Result<rcgen::KeyPair> {
        let size = match self {
            KeyType::Rsa2048 => Some(rcgen::RsaKeySize::_2048),
            KeyType::Rsa3072 => Some(rcgen::RsaKeySize::_3072),
            KeyType::Rsa4096 => Some(rcgen::RsaKeySize::_4096),
            _ => None,
        };
        let kp = match size {
            Some(size) => rcgen::KeyPair::generate_rsa_for(self.algorithm(), size),
            None => rcgen::KeyPair::generate_for(self.algorithm()),
        };
        kp.map_err(|e| Error::Storage(format!("cannot generate a {} key: {e}", self.name())))
    }

    /// Loads a PKCS#8 private key of this type.
    pub(crate) fn load(self, pkcs8: &[u8]) -> Result<rcgen::KeyPair> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8);
        rcgen::KeyPair::from_pkcs8_der_and_sign_algo(&der, self.algorithm())
            .map_err(|_| Error::Integrity(format!("a stored {} private key cannot be loaded", self.name())))
    }

    /// Recognises the key type of a PKCS#8 private key.
    pub(crate) fn detect(pkcs8: &[u8]) -> Result<(KeyType, rcgen::KeyPair)> {
        let der = rustls_pki_types::PrivatePkcs8KeyDer::from(pkcs8);
        let kp = rcgen::KeyPair::try_from(&der)
            .map_err(|_| Error::Invalid("the private key is not a supported PKCS#8 key".into()))?;
        let alg = kp.algorithm();
        let kt = if alg == &rcgen::PKCS_ECDSA_P256_SHA256 {
            KeyType::EcdsaP256
        } else if alg == &rcgen::PKCS_ECDSA_P384_SHA384 {
            KeyType::EcdsaP384
        } else if alg == &rcgen::PKCS_ED25519 {
            KeyType::Ed25519
        } else if alg == &rcgen::PKCS_RSA_SHA256 {
            // RSA size only matters for display here; derive it from the modulus later.
            KeyType::Rsa2048
        } else {
            return Err(Error::Invalid("the private key's algorithm is not supported".into()));
        };
        Ok((kt, kp))
    }
}

/// A PKCS#8 private key as it leaves Keyloom: PKCS#8 v1 (RFC 5208), which every consumer reads.
/// Ed25519 keys are generated (and may be imported) as PKCS#8 v2 (RFC 5958, with the public key
/// embedded), which OpenSSL 3.0, and so Python's `ssl`, `openssl pkcs12` and nginx on Debian 12,
/// reject as "unsupported"; they leave as the RFC 8410 v1 form `openssl genpkey` writes. Other
/// keys are already v1 and leave unchanged.
pub fn pkcs8_v1(pkcs8: &[u8]) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    use aws_lc_rs::signature::Ed25519KeyPair;
    match Ed25519KeyPair::from_pkcs8_maybe_unchecked(pkcs8) {
        Ok(kp) => kp
            .to_pkcs8v1()
            .map(|doc| zeroize::Zeroizing::new(doc.as_ref().to_vec()))
            .map_err(|_| Error::Storage("cannot encode the Ed25519 private key as PKCS#8 v1".into())),
        Err(_) => Ok(zeroize::Zeroizing::new(pkcs8.to_vec())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `openssl genpkey -algorithm ed25519 -outform DER` writes, before the 32-byte seed.
    const RFC8410_V1_PREFIX: &[u8] =
        &[0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

    #[test]
    fn ed25519_keys_leave_as_rfc8410_v1_and_others_unchanged() {
        let ed = KeyType::Ed25519.generate().unwrap().serialize_der();
        let v1 = pkcs8_v1(&ed).unwrap();
        assert_eq!(v1.len(), 48);
        assert_eq!(&v1[..16], RFC8410_V1_PREFIX);
        // Keyloom itself reads it back as the same key.
        let (kt, kp) = KeyType::detect(&v1).unwrap();
        assert_eq!(kt, KeyType::Ed25519);
        assert_eq!(kp.public_key_raw(), KeyType::Ed25519.load(&ed).unwrap().public_key_raw());
        let ec = KeyType::EcdsaP256.generate().unwrap().serialize_der();
        assert_eq!(pkcs8_v1(&ec).unwrap().as_slice(), ec.as_slice());
    }
}
