//! Certificates and keys: key types, issuing with rcgen, parsing and inspecting with
//! x509-parser, importing PEM/DER, chain validation with rustls-webpki, CRLs and CSRs.
//!
//! These are pure functions over DER and PKCS#8 bytes; `vault::cas` and `vault::certs` keep the
//! results (keys in `payloads`, certificates and metadata in `objects`).

pub mod crl;
pub mod expiry;
pub mod import;
pub mod inspect;
pub mod issue;
pub mod key_type;
pub mod names;
pub mod pin;
pub mod signed_by;
pub mod verify;

pub use inspect::CertInfo;
pub use issue::{CaSpec, LeafSpec, NameConstraintsSpec};
pub use key_type::KeyType;
