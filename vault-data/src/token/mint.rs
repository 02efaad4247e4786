//! Signing a JWT with an issuer's current key (jsonwebtoken on aws-lc-rs; no hand-rolled JWS).

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::model::token::TokenAlg;
use crate::token::TokenFault;

/// The registered claims Keyloom puts in a token.
#[derive(Debug, Clone, Serialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject (the calling service).
    pub sub: String,
    /// Audience.
    pub aud: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Not before.
    pub nbf: i64,
    /// Expiry.
    pub exp: i64,
    /// A random id.
    pub jti: String,
    /// Space-separated scopes, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

/// Signs `claims` with the PKCS#8 key `pkcs8` (v1 for Ed25519) of algorithm `alg`, naming `kid`.
pub fn sign(alg: TokenAlg, pkcs8: &[u8], kid: &str, claims: &Claims) -> Result<String, TokenFault> {
    let (algorithm, key) = match alg {
        TokenAlg::ES256 => (Algorithm::ES256, EncodingKey::from_ec_der(pkcs8)),
        TokenAlg::EdDSA => (Algorithm::EdDSA, EncodingKey::from_ed_der(pkcs8)),
        TokenAlg::RS256 => {
            let block = pem::Pem::new("PRIVATE KEY", pkcs8.to_vec());
            let pem = zeroize::Zeroizing::new(pem::encode(&block));
            zeroize::Zeroize::zeroize(&mut block.into_contents());
            let key = EncodingKey::from_rsa_pem(pem.as_bytes())
                .map_err(|e| TokenFault::BadKey { alg: alg.name().into(), why: e.to_string() })?;
            (Algorithm::RS256, key)
        }
    };
    let mut header = Header::new(algorithm);
    header.kid = Some(kid.to_string());
    encode(&header, claims, &key).map_err(|e| TokenFault::Sign(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::KeyType;
    use jsonwebtoken::{decode, DecodingKey, Validation};

    #[test]
    fn tokens_of_every_algorithm_verify_against_their_public_jwk_and_not_another() {
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let claims = Claims {
            iss: "auth".into(),
            sub: "checkout".into(),
            aud: "payments".into(),
            iat: now,
            nbf: now,
            exp: now + 300,
            jti: "j".into(),
            scope: None,
        };
        let mut other: Option<String> = None;
        for (alg, kt, jose) in [
            (TokenAlg::ES256, KeyType::EcdsaP256, Algorithm::ES256),
            (TokenAlg::EdDSA, KeyType::Ed25519, Algorithm::EdDSA),
            (TokenAlg::RS256, KeyType::Rsa2048, Algorithm::RS256),
        ] {
            let kp = kt.generate().unwrap();
            let pkcs8 = crate::pki::key_type::pkcs8_v1(&kp.serialize_der()).unwrap();
            let (jwk, kid) = crate::token::jwk::public_jwk(alg, kp.public_key_raw()).unwrap();
            assert_eq!(jwk.common.key_id.as_deref(), Some(kid.as_str()));
            assert_ne!(other.as_deref(), Some(kid.as_str()));
            let token = sign(alg, &pkcs8, &kid, &claims).unwrap();
            let mut v = Validation::new(jose);
            v.set_audience(&["payments"]);
            v.set_issuer(&["auth"]);
            let got = decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(&jwk).unwrap(), &v).unwrap();
            assert_eq!(got.claims["sub"], "checkout");
            assert_eq!(got.header.kid.as_deref(), Some(kid.as_str()));
            // The same algorithm's other key does not verify it.
            let kp2 = kt.generate().unwrap();
            let (jwk2, _) = crate::token::jwk::public_jwk(alg, kp2.public_key_raw()).unwrap();
            assert!(decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(&jwk2).unwrap(), &v).is_err());
            other = Some(kid);
        }
    }
}
