//! Reading the certificates and keys people actually have: PEM bundles with several
//! certificates, DER, and private keys in PKCS#8, SEC1 or PKCS#1, converted to PKCS#8.

use aws_lc_rs::encoding::AsDer;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::pki::inspect;
use crate::pki::key_type::KeyType;

fn pem_text(bytes: &[u8]) -> Option<&str> {
    std::str::from_utf8(bytes).ok().filter(|t| t.contains("-----BEGIN "))
}

/// Every certificate in `bytes` (a PEM bundle or one DER certificate), each checked to parse.
/// `origin` (usually a file name) goes into error messages.
pub fn parse_certificates(bytes: &[u8], origin: &str) -> Result<Vec<Vec<u8>>> {
    let bad = |why: String| Error::Invalid(format!("{origin}: {why}"));
    let ders = match pem_text(bytes) {
        Some(text) => {
            let blocks = pem::parse_many(text).map_err(|e| bad(format!("malformed PEM ({e})")))?;
            let certs: Vec<Vec<u8>> =
                blocks.into_iter().filter(|b| b.tag() == "CERTIFICATE").map(|b| b.into_contents()).collect();
            if certs.is_empty() {
                return Err(bad("holds no CERTIFICATE block".into()));
            }
            certs
        }
        None => vec![bytes.to_vec()],
    };
    for (i, der) in ders.iter().enumerate() {
        inspect::parse(der).map_err(|e| bad(format!("certificate {} of {}: {e}", i + 1, ders.len())))?;
    }
    Ok(ders)
}

fn sec1_to_pkcs8(der: &[u8]) -> Option<Vec<u8>> {
    use aws_lc_rs::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING, ECDSA_P384_SHA384_ASN1_SIGNING};
    [&ECDSA_P256_SHA256_ASN1_SIGNING, &ECDSA_P384_SHA384_ASN1_SIGNING].iter().find_map(|alg| {
        EcdsaKeyPair::from_private_key_der(alg, der).ok().and_then(|k| k.to_pkcs8v1().ok()).map(|d| d.as_ref().to_vec())
    })
}

fn pkcs1_to_pkcs8(der: &[u8]) -> Option<Vec<u8>> {
    let kp = aws_lc_rs::rsa::KeyPair::from_der(der).ok()?;
    let pkcs8: aws_lc_rs::encoding::Pkcs8V1Der<'static> = kp.as_der().ok()?;
    Some(pkcs8.as_ref().to_vec())
}

fn is_pkcs8(der: &[u8]) -> bool {
    KeyType::detect(der).is_ok()
}

/// A private key as PKCS#8 DER, from PEM (`PRIVATE KEY`, `EC PRIVATE KEY`, `RSA PRIVATE KEY`) or DER.
pub fn parse_private_key(bytes: &[u8], origin: &str) -> Result<Zeroizing<Vec<u8>>> {
    let bad = |why: &str| Error::Invalid(format!("{origin}: {why}"));
    let (tag, der) = match pem_text(bytes) {
        Some(text) => {
            let blocks = pem::parse_many(text).map_err(|_| bad("malformed PEM"))?;
            let block = blocks
                .into_iter()
                .find(|b| b.tag().ends_with("PRIVATE KEY"))
                .ok_or_else(|| bad("holds no private key block"))?;
            (block.tag().to_string(), Zeroizing::new(block.into_contents()))
        }
        None => (String::new(), Zeroizing::new(bytes.to_vec())),
    };
    let converted = match tag.as_str() {
        "ENCRYPTED PRIVATE KEY" => {
            return Err(bad("the key is encrypted; decrypt it first (openssl pkey -in KEY -out PLAIN)"))
        }
        "PRIVATE KEY" => is_pkcs8(&der).then(|| der.to_vec()),
        "EC PRIVATE KEY" => sec1_to_pkcs8(&der),
        "RSA PRIVATE KEY" => pkcs1_to_pkcs8(&der),
        "" => {
            if is_pkcs8(&der) {
                Some(der.to_vec())
            } else {
                sec1_to_pkcs8(&der).or_else(|| pkcs1_to_pkcs8(&der))
            }
        }
        _ => None,
    };
    converted
        .map(Zeroizing::new)
        .ok_or_else(|| bad("not a supported private key (PKCS#8, SEC1 P-256/P-384 or PKCS#1 RSA)"))
}

/// Checks that a PKCS#8 key belongs to a certificate; returns the key type.
pub fn key_matches_certificate(pkcs8: &[u8], cert_der: &[u8], origin: &str) -> Result<KeyType> {
    let (mut kt, kp) = KeyType::detect(pkcs8).map_err(|e| Error::Invalid(format!("{origin}: {e}")))?;
    if kp.public_key_raw() != inspect::public_key_bits(cert_der)?.as_slice() {
        return Err(Error::Invalid(format!("{origin}: the private key does not match the certificate")));
    }
    if kt == KeyType::Rsa2048 {
        kt = match inspect::inspect(cert_der)?.rsa_bits {
            Some(3072) => KeyType::Rsa3072,
            Some(4096) => KeyType::Rsa4096,
            _ => KeyType::Rsa2048,
        };
    }
    Ok(kt)
}
