//! Public JWKs of the keys Keyloom makes, with the RFC 7638 thumbprint as their `kid`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters, EllipticCurveKeyType, Jwk,
    KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType, PublicKeyUse, RSAKeyParameters, RSAKeyType, ThumbprintHash,
};

use crate::model::token::TokenAlg;
use crate::token::TokenFault;

fn bad(alg: TokenAlg, why: impl ToString) -> TokenFault {
    TokenFault::BadKey { alg: alg.name().to_string(), why: why.to_string() }
}

/// The RSA modulus and exponent of a PKCS#1 `RSAPublicKey` DER.
fn rsa_components(der: &[u8]) -> Option<(Vec<u8>, Vec<u8>)> {
    use x509_parser::der_parser::ber::BerObjectContent;
    let (_, obj) = x509_parser::der_parser::parse_der(der).ok()?;
    let BerObjectContent::Sequence(items) = obj.content else { return None };
    let n = items.first()?.as_slice().ok()?;
    let e = items.get(1)?.as_slice().ok()?;
    let strip = |b: &[u8]| b.iter().skip_while(|x| **x == 0).copied().collect::<Vec<u8>>();
    Some((strip(n), strip(e)))
}

/// The public JWK of `raw_public` (as rcgen's `public_key_raw` gives it: the uncompressed point
/// for EC, the 32 bytes for Ed25519, the PKCS#1 DER for RSA), with `use=sig`, `alg` and a `kid`
/// that is its RFC 7638 SHA-256 thumbprint. Returns the JWK and the kid.
pub fn public_jwk(alg: TokenAlg, raw_public: &[u8]) -> Result<(Jwk, String), TokenFault> {
    let b64 = |b: &[u8]| URL_SAFE_NO_PAD.encode(b);
    let algorithm = match alg {
        TokenAlg::ES256 => {
            if raw_public.len() != 65 || raw_public[0] != 4 {
                return Err(bad(alg, "not an uncompressed P-256 point"));
            }
            AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: b64(&raw_public[1..33]),
                y: b64(&raw_public[33..65]),
            })
        }
        TokenAlg::EdDSA => {
            if raw_public.len() != 32 {
                return Err(bad(alg, "not an Ed25519 public key"));
            }
            AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: b64(raw_public),
            })
        }
        TokenAlg::RS256 => {
            let (n, e) = rsa_components(raw_public).ok_or_else(|| bad(alg, "not an RSA public key"))?;
            AlgorithmParameters::RSA(RSAKeyParameters { key_type: RSAKeyType::RSA, n: b64(&n), e: b64(&e) })
        }
    };
    let mut jwk = Jwk { common: CommonParameters::default(), algorithm };
    let kid = jwk.thumbprint(ThumbprintHash::SHA256).map_err(|e| bad(alg, e))?;
    jwk.common = CommonParameters {
        public_key_use: Some(PublicKeyUse::Signature),
        key_algorithm: Some(match alg {
            TokenAlg::ES256 => KeyAlgorithm::ES256,
            TokenAlg::EdDSA => KeyAlgorithm::EdDSA,
            TokenAlg::RS256 => KeyAlgorithm::RS256,
        }),
        key_id: Some(kid.clone()),
        ..CommonParameters::default()
    };
    Ok((jwk, kid))
}
