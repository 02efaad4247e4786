//! `secrets.json`: every secret of a bundle, any value. One JSON object, secret name to value:
//!
//! - a text value (UTF-8 without NUL bytes, see [`envfile::is_text`]) is a JSON string:
//!   `"DB_PASSWORD": "it's"`;
//! - any other value is an object naming its encoding: `"BLOB": {"encoding": "base64", "value":
//!   "AAEC…"}` (standard alphabet, padded). A reader that expects only strings fails on it loudly
//!   instead of reading a mangled string.
//!
//! The platform shapes (Kubernetes, compose, `run`) are rendered from this file, so they read it
//! back with [`parse`].

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::export::envfile;

/// The `encoding` field of a binary value.
pub const BASE64: &str = "base64";

/// Renders `secrets.json` (names in the order given).
pub fn render(secrets: &[(String, Zeroizing<Vec<u8>>)]) -> Result<Zeroizing<Vec<u8>>> {
    let mut map = serde_json::Map::new();
    for (name, value) in secrets {
        let v = match std::str::from_utf8(value) {
            Ok(text) if envfile::is_text(value) => serde_json::Value::String(text.to_string()),
            _ => serde_json::json!({ "encoding": BASE64, "value": STANDARD.encode(value.as_slice()) }),
        };
        map.insert(name.clone(), v);
    }
    let out = serde_json::to_vec_pretty(&map).map_err(|e| Error::Storage(e.to_string()))?;
    // serde_json's own buffers are not wiped; this one at least is.
    Ok(Zeroizing::new(out))
}

/// Reads `secrets.json` back as (name, exact bytes), sorted by name. Errors name the secret, never
/// a byte of a value.
pub fn parse(json: &[u8]) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
    let bad = |name: &str, why: &str| Error::Storage(format!("secrets.json: {name}: {why}"));
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(json).map_err(|_| Error::Storage("secrets.json is not a JSON object".into()))?;
    let mut out = Vec::with_capacity(map.len());
    for (name, v) in map {
        let bytes = match &v {
            serde_json::Value::String(s) => s.as_bytes().to_vec(),
            serde_json::Value::Object(o) if o.get("encoding").and_then(|e| e.as_str()) == Some(BASE64) => {
                let b64 = o.get("value").and_then(|v| v.as_str()).ok_or_else(|| bad(&name, "no base64 value"))?;
                STANDARD.decode(b64).map_err(|_| bad(&name, "the value is not base64"))?
            }
            _ => return Err(bad(&name, "neither a string nor {\"encoding\": \"base64\", \"value\": …}")),
        };
        out.push((name, Zeroizing::new(bytes)));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_as_strings_binary_as_base64_and_back() {
        let secrets = vec![
            ("A".to_string(), Zeroizing::new(b"p@ss \"w$rd\" \\ x\nit's".to_vec())),
            ("B".to_string(), Zeroizing::new(b"\x00\xff\x01".to_vec())),
        ];
        let json = render(&secrets).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&json).unwrap();
        assert_eq!(v["A"], "p@ss \"w$rd\" \\ x\nit's");
        assert_eq!(v["B"], serde_json::json!({"encoding": "base64", "value": "AP8B"}));
        let back = parse(&json).unwrap();
        assert_eq!(back.len(), 2);
        for ((n1, v1), (n2, v2)) in back.iter().zip(&secrets) {
            assert_eq!((n1, v1.as_slice()), (n2, v2.as_slice()));
        }
        assert!(parse(br#"{"X": 1}"#).unwrap_err().to_string().contains("X"));
    }
}
