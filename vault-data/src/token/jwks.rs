//! Reading an issuer's JWKS (what Keycloak, Okta, Auth0 or a gateway publish): public keys
//! only. A private member or a symmetric key is reported, not kept as usable.

use serde_json::Value;

use crate::model::token::ExternalKey;
use crate::token::TokenFault;

/// Members that make a JWK private: a JWKS carrying them leaked its keys.
const PRIVATE_MEMBERS: [&str; 6] = ["d", "p", "q", "dp", "dq", "qi"];

/// The keys of a JWKS document. Private members are dropped from what is kept (and reported by
/// the caller as a finding through `kty`/`alg`); a key without a `kid` gets its position.
pub fn parse(bytes: &[u8], origin: &str) -> Result<(Vec<ExternalKey>, bool), TokenFault> {
    let not = |why: &str| TokenFault::NotJwks { origin: origin.to_string(), why: why.to_string() };
    let doc: Value = serde_json::from_slice(bytes).map_err(|_| not("not JSON"))?;
    let keys = doc.get("keys").and_then(Value::as_array).ok_or_else(|| not("no \"keys\" array"))?;
    if keys.is_empty() {
        return Err(not("it has no keys"));
    }
    let mut out = Vec::new();
    let mut had_private = false;
    for (i, k) in keys.iter().enumerate() {
        let Some(obj) = k.as_object() else { return Err(not("a key is not an object")) };
        let kty = obj.get("kty").and_then(Value::as_str).ok_or_else(|| not("a key has no \"kty\""))?;
        let mut public = obj.clone();
        for m in PRIVATE_MEMBERS {
            if public.remove(m).is_some() && kty != "oct" {
                had_private = true;
            }
        }
        if kty == "oct" {
            // A symmetric key's secret is `k`: never kept, only that there is one.
            public.remove("k");
        }
        let rsa_bits = match kty {
            "RSA" => {
                use base64::Engine;
                let n = obj.get("n").and_then(Value::as_str).ok_or_else(|| not("an RSA key has no \"n\""))?;
                let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(n.trim_end_matches('='))
                    .map_err(|_| not("an RSA modulus is not base64url"))?;
                let lead = bytes.iter().take_while(|b| **b == 0).count();
                let significant = &bytes[lead..];
                let top = significant.first().map_or(0, |b| 8 - b.leading_zeros());
                Some(u32::try_from(significant.len().saturating_sub(1) * 8).unwrap_or(u32::MAX).saturating_add(top))
            }
            _ => None,
        };
        out.push(ExternalKey {
            kid: obj.get("kid").and_then(Value::as_str).map_or_else(|| format!("key-{}", i + 1), str::to_string),
            kty: kty.to_string(),
            alg: obj.get("alg").and_then(Value::as_str).map(str::to_string),
            rsa_bits,
            jwk: Value::Object(public).to_string(),
        });
    }
    Ok((out, had_private))
}

/// Why a key is weak, if it is: a symmetric (HS*) key or `alg: none`, or RSA under 2048 bits.
pub fn weakness(k: &ExternalKey) -> Option<String> {
    let alg = k.alg.as_deref().unwrap_or_default();
    if k.kty == "oct" || alg.starts_with("HS") {
        return Some(format!(
            "key {} is a shared secret ({}): anyone who verifies can also mint",
            k.kid,
            if alg.is_empty() { "oct" } else { alg }
        ));
    }
    if alg.eq_ignore_ascii_case("none") {
        return Some(format!("key {} allows alg \"none\": unsigned tokens", k.kid));
    }
    match k.rsa_bits {
        Some(bits) if bits < 2048 => Some(format!("key {} is RSA {bits}: under 2048 bits", k.kid)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_members_and_secrets_are_not_kept_and_weak_keys_are_named() {
        let doc = br#"{"keys":[
            {"kty":"RSA","kid":"r1","alg":"RS256","n":"AQAB","e":"AQAB","d":"c2VjcmV0"},
            {"kty":"oct","kid":"h1","alg":"HS256","k":"c2VjcmV0LWhtYWM"},
            {"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#;
        let (keys, had_private) = parse(doc, "idp.json").unwrap();
        assert!(had_private);
        assert_eq!(keys.len(), 3);
        assert!(!keys[0].jwk.contains("\"d\"") && !keys[1].jwk.contains("c2VjcmV0"));
        assert_eq!(keys[0].rsa_bits, Some(17));
        assert!(weakness(&keys[0]).unwrap().contains("under 2048"));
        assert!(weakness(&keys[1]).unwrap().contains("shared secret"));
        assert_eq!(keys[2].kid, "key-3");
        assert!(weakness(&keys[2]).is_none());
        for junk in [&b"[]"[..], b"{}", b"{\"keys\":[]}", b"{\"keys\":[1]}", b"not json"] {
            assert!(parse(junk, "x").is_err());
        }
    }
}
