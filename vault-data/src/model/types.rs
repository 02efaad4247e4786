//! Value types shared by the records and the PKI code: key types, revocation reasons and name
//! constraints. They sit in the model layer so records never import PKI; the PKI code adds what
//! needs cryptography (key generation, CRL encoding) in its own `impl` blocks. The old paths
//! (`pki::KeyType`, `pki::crl::Reason`, `pki::NameConstraintsSpec`) re-export them.

use serde::{Deserialize, Serialize};

use crate::error::{Choice, Error, Result};

/// A key algorithm and size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "kebab-case")]
pub enum KeyType {
    /// ECDSA on P-256 with SHA-256 (the default: small, fast, universally supported).
    #[default]
    EcdsaP256,
    /// ECDSA on P-384 with SHA-384.
    EcdsaP384,
    /// Ed25519.
    Ed25519,
    /// RSA 2048 with SHA-256.
    Rsa2048,
    /// RSA 3072 with SHA-256.
    Rsa3072,
    /// RSA 4096 with SHA-256.
    Rsa4096,
}

impl KeyType {
    /// Every supported type, for help texts.
    pub const ALL: [KeyType; 6] = [
        KeyType::EcdsaP256,
        KeyType::EcdsaP384,
        KeyType::Ed25519,
        KeyType::Rsa2048,
        KeyType::Rsa3072,
        KeyType::Rsa4096,
    ];

    /// Whether it is an RSA key (the only kind that can encipher, which decides keyUsage).
    pub fn is_rsa(self) -> bool {
        matches!(self, KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096)
    }

    /// The name users type (`ecdsa-p256`, `rsa-3072`, ...).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::Ed25519 => "ed25519",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
        }
    }

    /// Parses a name as [`KeyType::name`] prints it (`rsa2048` and `p256` are accepted too).
    pub fn parse(s: &str) -> Result<Self> {
        let norm = s.to_ascii_lowercase().replace(['-', '_'], "");
        Ok(match norm.as_str() {
            "ecdsap256" | "p256" | "ec" | "ecdsa" => KeyType::EcdsaP256,
            "ecdsap384" | "p384" => KeyType::EcdsaP384,
            "ed25519" => KeyType::Ed25519,
            "rsa2048" | "rsa" => KeyType::Rsa2048,
            "rsa3072" => KeyType::Rsa3072,
            "rsa4096" => KeyType::Rsa4096,
            _ => {
                return Err(Error::unknown_choice(Choice::KeyType, s, KeyType::ALL.iter().map(|k| k.name())));
            }
        })
    }
}

impl std::fmt::Display for KeyType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

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
    /// The names [`Reason::parse`] accepts.
    pub const NAMES: [&'static str; 6] = [
        "unspecified",
        "key-compromise",
        "ca-compromise",
        "affiliation-changed",
        "superseded",
        "cessation-of-operation",
    ];

    /// Parses the CLI spelling (`key-compromise`, ...).
    pub fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "unspecified" => Reason::Unspecified,
            "key-compromise" => Reason::KeyCompromise,
            "ca-compromise" => Reason::CaCompromise,
            "affiliation-changed" => Reason::AffiliationChanged,
            "superseded" => Reason::Superseded,
            "cessation-of-operation" => Reason::CessationOfOperation,
            other => return Err(Error::unknown_choice(Choice::RevocationReason, other, Reason::NAMES)),
        })
    }
}

/// How a CA record stores its constraints: the DNS suffixes and URI prefixes only, exactly as the
/// first release encoded them (postcard is not self-describing, so a new field would break every
/// stored CA). The IP ranges are in the CA certificate's NameConstraints, and the vault reads them
/// from there when it loads the record.
pub(crate) mod stored_constraints {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    use super::NameConstraintsSpec;

    #[derive(Serialize, Deserialize)]
    struct Stored {
        dns: Vec<String>,
        uri: Vec<String>,
    }

    pub(crate) fn serialize<S: Serializer>(c: &NameConstraintsSpec, s: S) -> Result<S::Ok, S::Error> {
        Stored { dns: c.dns.clone(), uri: c.uri.clone() }.serialize(s)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<NameConstraintsSpec, D::Error> {
        let Stored { dns, uri } = Stored::deserialize(d)?;
        Ok(NameConstraintsSpec { dns, uri, ip: Vec::new() })
    }
}

/// Permitted names below a CA.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct NameConstraintsSpec {
    /// Permitted DNS suffixes, e.g. `.prod.corp.example` (also matches `prod.corp.example`).
    pub dns: Vec<String>,
    /// Permitted URI prefixes, e.g. `spiffe://corp.example/prod`. X.509 cannot express a URI path
    /// constraint, so Keyloom enforces these itself at issuance and in `cert verify`.
    pub uri: Vec<String>,
    /// Permitted IP ranges in CIDR form, e.g. `10.0.0.0/8`. A constrained CA without any permits no
    /// IP address at all (its certificate excludes every range). Not in the CA record: read from
    /// the certificate (see `stored_constraints`).
    #[serde(default)]
    pub ip: Vec<String>,
}

impl NameConstraintsSpec {
    /// True when nothing is constrained.
    pub fn is_empty(&self) -> bool {
        self.dns.is_empty() && self.uri.is_empty() && self.ip.is_empty()
    }

    /// The permitted IP ranges, parsed; an entry that is not `address/prefix` is an error naming it.
    pub fn ip_ranges(&self) -> crate::Result<Vec<ipnet::IpNet>> {
        self.ip
            .iter()
            .map(|r| {
                r.parse::<ipnet::IpNet>().map(|n| n.trunc()).map_err(|_| {
                    crate::Error::Invalid(format!(
                        "{r:?} is not an IP range: write it as address/prefix, e.g. 10.0.0.0/8"
                    ))
                })
            })
            .collect()
    }

    /// Whether `ip` (an IP SAN) is permitted: always when nothing is constrained; otherwise only
    /// inside a permitted range.
    pub fn permits_ip(&self, ip: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        let Ok(addr) = ip.parse::<std::net::IpAddr>() else { return false };
        self.ip_ranges().is_ok_and(|ranges| ranges.iter().any(|r| r.contains(&addr)))
    }

    /// Whether `name` (a DNS SAN) is inside the permitted DNS subtrees (or nothing is constrained).
    pub fn permits_dns(&self, name: &str) -> bool {
        self.dns.is_empty()
            || self.dns.iter().any(|suffix| {
                let s = suffix.trim_start_matches('.').to_ascii_lowercase();
                let n = name.to_ascii_lowercase();
                n == s || n.ends_with(&format!(".{s}"))
            })
    }

    /// Whether `uri` (a URI SAN) is under a permitted prefix (or nothing is constrained).
    pub fn permits_uri(&self, uri: &str) -> bool {
        self.uri.is_empty()
            || self.uri.iter().any(|p| {
                let p = p.trim_end_matches('/');
                uri == p || uri.starts_with(&format!("{p}/"))
            })
    }

    /// Names of `sans` that these constraints do not permit. A constrained CA permits only the
    /// names and ranges it lists: an IP address outside its ranges (or any, with none) is refused,
    /// as its certificate's excluded ranges make verifiers refuse it.
    pub fn violations<I: std::fmt::Display>(&self, dns: &[String], uris: &[String], ips: &[I]) -> Vec<String> {
        let mut bad: Vec<String> = dns.iter().filter(|d| !self.permits_dns(d)).map(|d| format!("DNS:{d}")).collect();
        bad.extend(uris.iter().filter(|u| !self.permits_uri(u)).map(|u| format!("URI:{u}")));
        bad.extend(ips.iter().map(ToString::to_string).filter(|ip| !self.permits_ip(ip)).map(|ip| {
            if self.ip.is_empty() {
                format!("IP:{ip} (the CA permits no IP address)")
            } else {
                format!("IP:{ip} (outside {})", self.ip.join(", "))
            }
        }));
        bad
    }
}

#[cfg(test)]
mod stored_constraints_tests {
    use serde::{Deserialize, Serialize};

    use super::{stored_constraints, NameConstraintsSpec};

    #[derive(Serialize)]
    struct FirstReleaseSpec {
        dns: Vec<String>,
        uri: Vec<String>,
    }
    #[derive(Serialize)]
    struct FirstReleaseRecord {
        constraints: FirstReleaseSpec,
        after: u8,
    }
    #[derive(Serialize, Deserialize)]
    struct Record {
        #[serde(with = "stored_constraints")]
        constraints: NameConstraintsSpec,
        after: u8,
    }

    /// A CA record written by the first release decodes, and a record written now has the same
    /// bytes: the IP ranges are not in it (postcard would misread every field after a new one).
    #[test]
    fn ca_records_keep_the_first_release_encoding() {
        let old = FirstReleaseRecord {
            constraints: FirstReleaseSpec {
                dns: vec![".prod.corp.example".into()],
                uri: vec!["spiffe://x/prod".into()],
            },
            after: 7,
        };
        let bytes = postcard::to_allocvec(&old).unwrap();
        let read: Record = postcard::from_bytes(&bytes).unwrap();
        assert_eq!(read.after, 7);
        assert_eq!(read.constraints.dns, [".prod.corp.example"]);
        assert!(read.constraints.ip.is_empty());
        let now = Record {
            constraints: NameConstraintsSpec {
                dns: vec![".prod.corp.example".into()],
                uri: vec!["spiffe://x/prod".into()],
                ip: vec!["10.0.0.0/8".into()],
            },
            after: 7,
        };
        assert_eq!(postcard::to_allocvec(&now).unwrap(), bytes);
    }
}
