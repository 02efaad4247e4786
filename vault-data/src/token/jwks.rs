//! Reading an issuer's JWKS (what Keycloak, Okta, Auth0 or a gateway publish): public keys
//! only. A private member or a symmetric key is reported, not kept as usable.

use serde_json::Value;

use crate::model::token::ExternalKey;
use crate::token::TokenFault;

/// The public members a JWK may keep (RFC 7517, 7518, 8037); everything else is dropped.
const PUBLIC_MEMBERS: [&str; 13] =
    ["kty", "kid", "alg", "use", "key_ops", "n", "e", "crv", "x", "y", "x5c", "x5t", "x5t#S256"];
/// Members that make an asymmetric JWK private: a JWKS carrying them leaked its keys.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

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
        let symmetric = kty.eq_ignore_ascii_case("oct");
        // A symmetric key's secret is `k`: never kept, only that there is one. Any private member
        // of an asymmetric key means the JWKS leaked it.
        if !symmetric && PRIVATE_MEMBERS.iter().any(|m| obj.contains_key(*m)) {
            had_private = true;
        }
        let public: serde_json::Map<String, Value> = obj
            .iter()
            .filter(|(k, _)| PUBLIC_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        for field in ["kid", "alg", "kty"] {
            if let Some(v) = obj.get(field).and_then(Value::as_str) {
                if v.len() > 256 || v.chars().any(char::is_control) {
                    return Err(not("a key's kid, alg or kty has control characters or is too long"));
                }
            }
        }
        let rsa_bits = match kty.to_ascii_uppercase().as_str() {
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
    if k.kty.eq_ignore_ascii_case("oct") || alg.to_ascii_uppercase().starts_with("HS") {
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
        // Case and stray members do not smuggle a secret through.
        let (keys, had_private) =
            parse(br#"{"keys":[{"kty":"OCT","kid":"h2","k":"c2VjcmV0","extra":"x"}]}"#, "odd.json").unwrap();
        assert!(!had_private && !keys[0].jwk.contains("c2VjcmV0") && !keys[0].jwk.contains("extra"));
        assert!(weakness(&keys[0]).is_some());
        assert!(parse(br#"{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB","oth":[]}]}"#, "x").unwrap().1);
        assert!(parse(br#"{"keys":[{"kty":"EC","kid":"a[31m","crv":"P-256"}]}"#, "x").is_err());
        for junk in [&b"[]"[..], b"{}", b"{\"keys\":[]}", b"{\"keys\":[1]}", b"not json"] {
            assert!(parse(junk, "x").is_err());
        }
    }
}
