//! Platform shapes of a bundle: Kubernetes Secrets, a docker compose secrets fragment, and a
//! plain env file. They are rendered from the same (signed) bundle contents.

use std::collections::BTreeMap;

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::Serialize;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::export::bundle::{Bundle, BundleFile, SECRET_MODE};

fn find<'a>(bundle: &'a Bundle, path: &str) -> Option<&'a BundleFile> {
    bundle.files.iter().find(|f| f.path == path)
}

/// `name` as a Kubernetes object name part or namespace: a DNS-1123 label (lowercase letters,
/// digits, '-', 1–63 characters). Refused, naming `what`, rather than rewritten: a rewrite can make
/// two names one (`Payments` and `payments`, or two long names cut to the same prefix) and then one
/// Secret silently replaces the other.
pub fn k8s_label<'a>(what: &str, name: &'a str) -> Result<&'a str> {
    if crate::model::names::is_label(name) {
        Ok(name)
    } else {
        Err(Error::Invalid(format!(
            "{what} {} is not a Kubernetes name: use 1–63 lowercase letters, digits and '-', starting and ending \
             with a letter or digit (DNS-1123 label)",
            crate::model::names::shown(name)
        )))
    }
}

/// The service's name in compose secret names and Kubernetes labels.
fn slug(s: &str) -> String {
    let out: String = s.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    let out = out.trim_matches('-').to_string();
    if out.is_empty() {
        "service".into()
    } else {
        out
    }
}

/// The bundle's secrets, as (name, exact bytes), sorted by name.
fn secret_values(bundle: &Bundle) -> Result<Vec<(String, Zeroizing<Vec<u8>>)>> {
    match find(bundle, "secrets.json") {
        None => Ok(Vec::new()),
        Some(f) => crate::export::secrets_json::parse(&f.contents),
    }
}

/// A YAML scalar that every reader (YAML 1.1 and 1.2) reads as this string: JSON's double-quoted
/// form, which is valid YAML. Never a plain scalar: `2027-01-01T00:00:00Z`, `yes`, `0755` or
/// `1e3` would be a timestamp, a boolean or a number to some reader.
fn yaml_str(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// One YAML block mapping of strings at `indent`, keys sorted; nothing for an empty map.
fn yaml_map(out: &mut Vec<u8>, indent: &str, key: &str, map: &BTreeMap<String, String>) {
    if map.is_empty() {
        return;
    }
    out.extend_from_slice(format!("{indent}{key}:\n").as_bytes());
    for (k, v) in map {
        out.extend_from_slice(format!("{indent}  {}: {}\n", yaml_str(k), yaml_str(v)).as_bytes());
    }
}

struct K8sSecret<'a> {
    name: String,
    namespace: Option<&'a str>,
    labels: &'a BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
    type_: &'static str,
    data: BTreeMap<String, String>,
}

impl K8sSecret<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"apiVersion: \"v1\"\nkind: \"Secret\"\nmetadata:\n");
        out.extend_from_slice(format!("  name: {}\n", yaml_str(&self.name)).as_bytes());
        if let Some(ns) = self.namespace {
            out.extend_from_slice(format!("  namespace: {}\n", yaml_str(ns)).as_bytes());
        }
        yaml_map(out, "  ", "labels", self.labels);
        yaml_map(out, "  ", "annotations", &self.annotations);
        out.extend_from_slice(format!("type: {}\n", yaml_str(self.type_)).as_bytes());
        yaml_map(out, "", "data", &self.data);
    }
}

/// Two Kubernetes Secrets as one YAML stream: `<service>-tls` of type kubernetes.io/tls (tls.crt
/// is the chain, tls.key the key, ca.crt the inbound CAs) and `<service>-secrets` (Opaque, every
/// value base64 in `data`, so any bytes travel). Every scalar is a double-quoted string; the
/// service name and namespace must be DNS-1123 labels.
pub fn kubernetes(bundle: &Bundle, namespace: Option<&str>) -> Result<Zeroizing<Vec<u8>>> {
    let m = &bundle.manifest;
    let service = k8s_label("service", &m.service)?;
    let namespace = namespace.map(|ns| k8s_label("namespace", ns)).transpose()?;
    let mut labels = BTreeMap::new();
    labels.insert("app.kubernetes.io/name".to_string(), service.to_string());
    labels.insert("app.kubernetes.io/managed-by".to_string(), "keyloom".to_string());
    labels.insert("keyloom.dev/vault".to_string(), m.vault_id.clone());
    labels.insert("keyloom.dev/environment".to_string(), slug(&m.environment));
    let b64 = |f: Option<&BundleFile>| f.map(|f| STANDARD.encode(f.contents.as_slice()));
    let mut docs = Vec::new();
    if let (Some(chain), Some(key)) = (b64(find(bundle, "tls/chain.pem")), b64(find(bundle, "tls/key.pem"))) {
        let mut data = BTreeMap::new();
        data.insert("tls.crt".to_string(), chain);
        data.insert("tls.key".to_string(), key);
        if let Some(ca) = b64(find(bundle, "tls/ca-inbound.pem")) {
            data.insert("ca.crt".to_string(), ca);
        }
        let mut annotations = BTreeMap::new();
        if let Some(c) = &m.certificate {
            annotations.insert("keyloom.dev/certificate-serial".to_string(), c.serial.clone());
            annotations.insert("keyloom.dev/not-after".to_string(), c.not_after.clone());
        }
        docs.push(K8sSecret {
            name: format!("{service}-tls"),
            namespace,
            labels: &labels,
            annotations,
            type_: "kubernetes.io/tls",
            data,
        });
    }
    let secrets = secret_values(bundle)?;
    if !secrets.is_empty() {
        let data = secrets.iter().map(|(k, v)| (k.clone(), STANDARD.encode(v.as_slice()))).collect();
        docs.push(K8sSecret {
            name: format!("{service}-secrets"),
            namespace,
            labels: &labels,
            annotations: BTreeMap::new(),
            type_: "Opaque",
            data,
        });
    }
    let mut out = Zeroizing::new(Vec::new());
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"---\n");
        }
        d.write(&mut out);
    }
    Ok(out)
}

#[derive(Serialize)]
struct ComposeFile {
    secrets: BTreeMap<String, BTreeMap<&'static str, String>>,
    services: BTreeMap<String, BTreeMap<&'static str, Vec<String>>>,
}

/// The files of a compose deployment directory: each secret as its own file (mode `secret_mode`,
/// 0600 or 0640, see [`crate::export::write::FileOwner`]) under `secrets/` holding the value's
/// exact bytes, the TLS files, and `compose.secrets.yaml` declaring and granting them.
pub fn compose(bundle: &Bundle, secret_mode: u32) -> Result<Vec<BundleFile>> {
    let svc = slug(&bundle.manifest.service).replace('-', "_");
    let mut files = Vec::new();
    let mut declared = BTreeMap::new();
    for f in bundle.files.iter().filter(|f| f.path.starts_with("tls/")) {
        let stem = f.path.trim_start_matches("tls/").trim_end_matches(".pem").replace('-', "_");
        declared.insert(format!("{svc}_{stem}"), format!("./{}", f.path));
        let mode = if f.mode == SECRET_MODE { secret_mode } else { f.mode };
        files.push(BundleFile { path: f.path.clone(), mode, contents: f.contents.clone() });
    }
    for (name, value) in secret_values(bundle)? {
        let path = format!("secrets/{name}");
        // Compose names are lowercase: `DB_URL` and `db_url`, or a secret named `KEY` beside the
        // TLS key, would share one, and the later would silently take the other's place.
        let key = format!("{svc}_{}", name.to_ascii_lowercase());
        if declared.insert(key.clone(), format!("./{path}")).is_some() {
            return Err(Error::Invalid(format!(
                "{}/{name}: its compose secret name {key} is already taken in this bundle (compose names are \
                 lowercase and share the TLS files' names); rename the secret",
                bundle.manifest.service
            )));
        }
        files.push(BundleFile { path, mode: secret_mode, contents: value });
    }
    let doc = ComposeFile {
        secrets: declared.iter().map(|(k, v)| (k.clone(), BTreeMap::from([("file", v.clone())]))).collect(),
        services: BTreeMap::from([(
            bundle.manifest.service.clone(),
            BTreeMap::from([("secrets", declared.keys().cloned().collect::<Vec<_>>())]),
        )]),
    };
    let yaml = serde_norway::to_string(&doc).map_err(|e| Error::Storage(format!("cannot write YAML: {e}")))?;
    files.push(BundleFile {
        path: "compose.secrets.yaml".into(),
        mode: crate::export::bundle::PUBLIC_MODE,
        contents: Zeroizing::new(yaml.into_bytes()),
    });
    Ok(files)
}

/// Just `secrets.env`.
pub fn env(bundle: &Bundle) -> Result<Zeroizing<Vec<u8>>> {
    find(bundle, "secrets.env")
        .map(|f| f.contents.clone())
        .ok_or_else(|| Error::Invalid(format!("{} has no secrets to write as an env file", bundle.manifest.service)))
}

/// A PKCS#12 file (PBES2 with AES-256 and HMAC-SHA256) holding the key with its chain, and the
/// inbound CAs as trusted certificates, for Java keytool and Windows.
pub fn pkcs12(bundle: &Bundle, password: &str) -> Result<Zeroizing<Vec<u8>>> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    if password.is_empty() {
        return Err(Error::Invalid("the PKCS#12 password is empty".into()));
    }
    let ders = |path: &str| -> Result<Vec<Vec<u8>>> {
        match find(bundle, path) {
            None => Ok(Vec::new()),
            Some(f) => {
                let text =
                    std::str::from_utf8(&f.contents).map_err(|_| Error::Storage(format!("{path} is not PEM")))?;
                Ok(pem::parse_many(text)
                    .map_err(|e| Error::Storage(format!("{path}: {e}")))?
                    .into_iter()
                    .map(|p| p.into_contents())
                    .collect())
            }
        }
    };
    let key_der = Zeroizing::new(ders("tls/key.pem")?.pop().ok_or_else(|| {
        Error::Invalid(format!("{} has no certificate and key to put in a PKCS#12 file", bundle.manifest.service))
    })?);
    let p12err = |e: p12_keystore::error::Error| Error::Storage(format!("cannot build the PKCS#12 file: {e}"));
    let chain_ders = ders("tls/chain.pem")?;
    // The local key id ties the key to its certificate; the leaf's SHA-256 is what OpenSSL-made files commonly use.
    let key_id =
        chain_ders.first().map(|leaf| <sha2::Sha256 as sha2::Digest>::digest(leaf).to_vec()).unwrap_or_default();
    let chain = chain_ders
        .iter()
        .map(|d| Certificate::from_der(d))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(p12err)?;
    let mut store = KeyStore::new();
    let key = PrivateKey::from_der(&key_der).map_err(p12err)?;
    store.add_entry(
        &slug(&bundle.manifest.service),
        KeyStoreEntry::PrivateKeyChain(PrivateKeyChain::new(key_id, key, chain)),
    );
    for (i, ca) in ders("tls/ca-inbound.pem")?.iter().enumerate() {
        store.add_entry(
            &format!("ca-inbound-{}", i + 1),
            KeyStoreEntry::Certificate(Certificate::from_der(ca).map_err(p12err)?),
        );
    }
    store.writer(password).write().map(Zeroizing::new).map_err(p12err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names_are_checked_not_rewritten() {
        assert_eq!(k8s_label("namespace", "pay-prod").unwrap(), "pay-prod");
        for bad in ["Bad NS!", "Payments", "-a", "a.b", "", &"a".repeat(64)] {
            let err = k8s_label("namespace", bad).unwrap_err().to_string();
            assert!(err.contains("not a Kubernetes name"), "{bad:?}: {err}");
        }
        assert_eq!(yaml_str("2027-01-01T00:00:00Z"), "\"2027-01-01T00:00:00Z\"");
        assert_eq!(yaml_str("a\"b\nc"), "\"a\\\"b\\nc\"");
    }
}
