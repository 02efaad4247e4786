//! Reading certificates: the fields a person checks, from DER, with x509-parser.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_parser::extensions::GeneralName;
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

use crate::error::{Error, Result};

/// What `cert show` prints, parsed from a certificate.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct CertInfo {
    /// Subject DN (RFC 4514 style).
    pub subject: String,
    /// Subject common name, if any.
    pub common_name: Option<String>,
    /// Issuer DN.
    pub issuer: String,
    /// Serial number (hex).
    pub serial: String,
    /// Start of validity.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub not_before: OffsetDateTime,
    /// End of validity.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub not_after: OffsetDateTime,
    /// DNS SANs.
    pub dns: Vec<String>,
    /// IP SANs.
    pub ips: Vec<String>,
    /// URI SANs.
    pub uris: Vec<String>,
    /// Whether it is a CA (basicConstraints cA).
    pub is_ca: bool,
    /// Path length constraint of a CA.
    pub path_len: Option<u32>,
    /// serverAuth EKU present.
    pub server_auth: bool,
    /// clientAuth EKU present.
    pub client_auth: bool,
    /// Key, e.g. "ECDSA P-256" or "RSA 2048".
    pub key: String,
    /// RSA modulus size in bits (for weak-crypto checks).
    pub rsa_bits: Option<usize>,
    /// Signature algorithm, e.g. "ecdsa-with-SHA256".
    pub signature_algorithm: String,
    /// SHA-256 fingerprint of the DER, colon-separated hex.
    pub sha256_fingerprint: String,
    /// Permitted DNS name constraints (CAs).
    pub permitted_dns: Vec<String>,
    /// Permitted IP ranges (CAs), as `address/prefix`.
    pub permitted_ip: Vec<String>,
    /// Whether subject == issuer (a root, or a self-signed leaf).
    pub self_issued: bool,
}

/// Stands for a name constraint that could not be read: no name or address is inside it.
const UNREADABLE: &str = "unreadable-constraint.invalid";

/// A NameConstraints IP subtree (address then mask, 8 or 32 bytes) as `address/prefix`; None for a
/// malformed one or a mask that is not a prefix.
fn cidr_text(bytes: &[u8]) -> Option<String> {
    let (addr, mask): (std::net::IpAddr, &[u8]) = match bytes.len() {
        8 => (std::net::IpAddr::from(<[u8; 4]>::try_from(&bytes[..4]).ok()?), &bytes[4..]),
        32 => (std::net::IpAddr::from(<[u8; 16]>::try_from(&bytes[..16]).ok()?), &bytes[16..]),
        _ => return None,
    };
    let prefix: u32 = mask.iter().map(|b| b.count_ones()).sum();
    let contiguous =
        mask.iter().flat_map(|b| (0..8).rev().map(move |i| b >> i & 1)).skip(prefix as usize).all(|bit| bit == 0);
    contiguous.then(|| format!("{addr}/{prefix}"))
}

fn colon_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(":")
}

fn to_time(t: x509_parser::time::ASN1Time) -> OffsetDateTime {
    t.to_datetime()
}

pub(crate) fn parse(der: &[u8]) -> Result<X509Certificate<'_>> {
    match X509Certificate::from_der(der) {
        Ok(([], cert)) => Ok(cert),
        Ok(_) => Err(Error::Invalid("trailing bytes after the certificate".into())),
        Err(e) => Err(Error::Invalid(format!("not a valid X.509 certificate: {e}"))),
    }
}

fn signature_name(oid: &str) -> String {
    match oid {
        "1.2.840.10045.4.3.2" => "ecdsa-with-SHA256".into(),
        "1.2.840.10045.4.3.3" => "ecdsa-with-SHA384".into(),
        "1.2.840.10045.4.3.4" => "ecdsa-with-SHA512".into(),
        "1.3.101.112" => "Ed25519".into(),
        "1.2.840.113549.1.1.11" => "sha256WithRSAEncryption".into(),
        "1.2.840.113549.1.1.12" => "sha384WithRSAEncryption".into(),
        "1.2.840.113549.1.1.13" => "sha512WithRSAEncryption".into(),
        "1.2.840.113549.1.1.5" => "sha1WithRSAEncryption".into(),
        "1.2.840.10045.4.1" => "ecdsa-with-SHA1".into(),
        "1.2.840.113549.1.1.10" => "RSASSA-PSS".into(),
        other => other.to_string(),
    }
}

/// Parses a DER certificate into the fields people check. Rejects anything that is not exactly
/// one well-formed certificate.
pub fn inspect(der: &[u8]) -> Result<CertInfo> {
    let cert = parse(der)?;
    let mut dns = Vec::new();
    let mut ips = Vec::new();
    let mut uris = Vec::new();
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::DNSName(d) => dns.push(d.to_string()),
                GeneralName::URI(u) => uris.push(u.to_string()),
                GeneralName::IPAddress(b) => ips.push(match b.len() {
                    4 => std::net::IpAddr::from(<[u8; 4]>::try_from(*b).unwrap_or_default()).to_string(),
                    16 => std::net::IpAddr::from(<[u8; 16]>::try_from(*b).unwrap_or_default()).to_string(),
                    _ => hex::encode(b),
                }),
                _ => {}
            }
        }
    }
    let (is_ca, path_len) = match cert.basic_constraints() {
        Ok(Some(bc)) => (bc.value.ca, bc.value.path_len_constraint),
        _ => (false, None),
    };
    let (server_auth, client_auth) = match cert.extended_key_usage() {
        Ok(Some(eku)) => (eku.value.server_auth || eku.value.any, eku.value.client_auth || eku.value.any),
        _ => (false, false),
    };
    let (key, rsa_bits) = match cert.public_key().parsed() {
        Ok(PublicKey::RSA(rsa)) => {
            let bits = rsa.key_size();
            (format!("RSA {bits}"), Some(bits))
        }
        Ok(PublicKey::EC(point)) => {
            let curve = match point.key_size() {
                256 => "P-256",
                384 => "P-384",
                521 => "P-521",
                _ => "unknown curve",
            };
            (format!("ECDSA {curve}"), None)
        }
        _ if cert.public_key().algorithm.algorithm.to_id_string() == "1.3.101.112" => ("Ed25519".into(), None),
        _ => (format!("unknown ({})", cert.public_key().algorithm.algorithm.to_id_string()), None),
    };
    // One pass over the permitted subtrees. What cannot be read fails closed: it stays as a text
    // no name or address is inside, so the CA permits nothing of that kind rather than everything.
    let (mut permitted_dns, mut permitted_ip) = (Vec::new(), Vec::new());
    match cert.name_constraints() {
        Ok(Some(nc)) => {
            for subtree in nc.value.permitted_subtrees.iter().flatten() {
                match &subtree.base {
                    GeneralName::DNSName(d) => permitted_dns.push(d.to_string()),
                    GeneralName::IPAddress(bytes) => {
                        permitted_ip.push(cidr_text(bytes).unwrap_or_else(|| UNREADABLE.to_string()))
                    }
                    _ => {}
                }
            }
        }
        Ok(None) => {}
        Err(_) => {
            permitted_dns.push(UNREADABLE.to_string());
            permitted_ip.push(UNREADABLE.to_string());
        }
    }
    let common_name = cert.subject().iter_common_name().next().and_then(|cn| cn.as_str().ok()).map(str::to_string);
    Ok(CertInfo {
        subject: cert.subject().to_string(),
        common_name,
        issuer: cert.issuer().to_string(),
        serial: hex::encode(cert.raw_serial()),
        not_before: to_time(cert.validity().not_before),
        not_after: to_time(cert.validity().not_after),
        dns,
        ips,
        uris,
        is_ca,
        path_len,
        server_auth,
        client_auth,
        key,
        rsa_bits,
        signature_algorithm: signature_name(&cert.signature_algorithm.algorithm.to_id_string()),
        sha256_fingerprint: colon_hex(&Sha256::digest(der)),
        permitted_dns,
        permitted_ip,
        self_issued: cert.subject() == cert.issuer(),
    })
}

/// The raw subject public key bits of a certificate (for matching a private key).
pub(crate) fn public_key_bits(der: &[u8]) -> Result<Vec<u8>> {
    Ok(parse(der)?.public_key().subject_public_key.data.to_vec())
}

#[cfg(test)]
mod cidr_tests {
    use super::cidr_text;

    #[test]
    fn name_constraint_ip_ranges_read_as_cidr_and_odd_ones_are_refused() {
        assert_eq!(cidr_text(&[10, 0, 0, 0, 255, 0, 0, 0]).as_deref(), Some("10.0.0.0/8"));
        assert_eq!(cidr_text(&[0; 8]).as_deref(), Some("0.0.0.0/0"));
        let mut v6 = [0u8; 32];
        v6[0] = 0xfd;
        v6[16] = 0xff;
        assert_eq!(cidr_text(&v6).as_deref(), Some("fd00::/8"));
        // A mask with a hole, a short or long value: not a range (the caller then fails closed).
        assert_eq!(cidr_text(&[10, 0, 0, 0, 255, 0, 255, 0]), None);
        assert_eq!(cidr_text(&[10, 0, 0, 0]), None);
        assert_eq!(cidr_text(&[0; 9]), None);
    }
}
