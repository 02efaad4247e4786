//! JOSE for token issuers: public JWKs and their RFC 7638 key ids from the keys Keyloom makes
//! (jwk.rs), reading an identity provider's JWKS (jwks.rs), and signing JWTs (mint.rs), all with
//! the jsonwebtoken crate on aws-lc-rs. It knows keys and tokens, not the vault.

pub mod jwk;
pub mod jwks;
pub mod mint;

use std::fmt;

/// What went wrong with a key or a token; never holds key material.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, thiserror::Error)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum TokenFault {
    /// A private key Keyloom made cannot be used for its algorithm.
    #[error("the {alg} key cannot be used: {why}")]
    BadKey {
        /// The algorithm.
        alg: String,
        /// What the JOSE library said.
        why: String,
    },
    /// A JWKS that is not one.
    #[error("{origin} is not a JWKS: {why}")]
    NotJwks {
        /// Where it came from.
        origin: String,
        /// Why.
        why: String,
    },
    /// Signing failed.
    #[error("cannot sign the token: {0}")]
    Sign(String),
}

/// A key id, shown shortened in messages.
pub struct ShortKid<'a>(pub &'a str);

impl fmt::Display for ShortKid<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s: String = self.0.chars().take(12).collect();
        write!(f, "{s}")
    }
}
