//! Tokens: signing keys of issuing services (JWT issuers Keyloom holds the keys of), issuers
//! imported from their JWKS (identity providers, gateways), and who gets tokens from which issuer
//! for which audience and who accepts them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::ids::RecordId;

/// A JWS algorithm Keyloom signs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub enum TokenAlg {
    /// ECDSA P-256 with SHA-256.
    ES256,
    /// Ed25519.
    EdDSA,
    /// RSA PKCS#1 v1.5 with SHA-256 (2048-bit keys).
    RS256,
}

impl TokenAlg {
    /// Every algorithm, as the JOSE names them.
    pub const ALL: [TokenAlg; 3] = [TokenAlg::ES256, TokenAlg::EdDSA, TokenAlg::RS256];

    /// The JOSE name.
    pub fn name(self) -> &'static str {
        match self {
            TokenAlg::ES256 => "ES256",
            TokenAlg::EdDSA => "EdDSA",
            TokenAlg::RS256 => "RS256",
        }
    }
}

/// Where a token signing key is in its life: published before it signs, signing, then published
/// a while longer for tokens it signed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum KeyRole {
    /// Published, not yet signing: the next rotation makes it current.
    Next,
    /// Signs tokens.
    Current,
    /// Signed before the last rotation; published until tokens it signed have expired.
    Previous,
}

/// A token signing key of an issuing service. The private key is a payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenKey {
    /// Random id.
    pub id: RecordId,
    /// The issuing service.
    pub service: RecordId,
    /// Its algorithm.
    pub alg: TokenAlg,
    /// Key id: the RFC 7638 thumbprint of its public JWK.
    pub kid: String,
    /// The public JWK (JSON text).
    pub public_jwk: String,
    /// The payload holding the PKCS#8 private key.
    pub key_payload: RecordId,
    /// Its role now.
    pub role: KeyRole,
    /// When it was made.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
    /// When it last changed role.
    #[serde(with = "crate::model::timestamp")]
    pub since: OffsetDateTime,
}

/// One public key of an imported issuer, as its JWKS gave it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ExternalKey {
    /// Key id (`kid`), or the thumbprint when it had none.
    pub kid: String,
    /// `kty`: RSA, EC, OKP, oct.
    pub kty: String,
    /// `alg` when given.
    pub alg: Option<String>,
    /// RSA modulus size in bits.
    pub rsa_bits: Option<u32>,
    /// The JWK as given (JSON text).
    pub jwk: String,
}

/// An issuer Keyloom knows only from its JWKS (Keycloak, Okta, Auth0, a gateway).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExternalIssuer {
    /// Random id.
    pub id: RecordId,
    /// Unique name (the name rule of services; issuer names and service names do not clash).
    pub name: String,
    /// Its `iss` URL, when known.
    pub issuer_url: Option<String>,
    /// Environment it serves, when given.
    pub environment: Option<String>,
    /// Its public keys.
    pub keys: Vec<ExternalKey>,
    /// When imported (or last re-imported).
    #[serde(with = "crate::model::timestamp")]
    pub imported: OffsetDateTime,
}

/// Which issuer: a service whose keys Keyloom holds, or an imported one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum IssuerRef {
    /// An issuing service.
    Service(RecordId),
    /// An imported issuer.
    External(RecordId),
}

/// Which side of a token a grant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum GrantSide {
    /// The service gets tokens from the issuer for the audience (client credentials, a gateway
    /// exchange).
    Client,
    /// The service accepts tokens from the issuer for the audience.
    Accepts,
}

/// A service getting or accepting tokens of an issuer for an audience.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenGrant {
    /// Random id.
    pub id: RecordId,
    /// The service.
    pub service: RecordId,
    /// Getting or accepting.
    pub side: GrantSide,
    /// The issuer.
    pub issuer: IssuerRef,
    /// The audience (`*`: any).
    pub audience: String,
    /// Scopes required (accepting) or asked for (client).
    pub scopes: Vec<String>,
    /// When recorded.
    #[serde(with = "crate::model::timestamp")]
    pub created: OffsetDateTime,
}
