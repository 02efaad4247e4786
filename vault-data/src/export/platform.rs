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

/// A DNS-1123 label from a service name (lowercase alphanumerics and '-').
pub fn k8s_name(s: &str) -> String {
    let mut out: String =
        s.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    out = out.trim_matches('-').to_string();
    out.truncate(50);
    if out.is_empty() {
        "service".into()
    } else {
        out
    }
}

fn secret_values(bundle: &Bundle) -> Result<BTreeMap<String, String>> {
    match find(bundle, "secrets.json") {
        None => Ok(BTreeMap::new()),
        Some(f) => serde_json::from_slice(&f.contents).map_err(|e| Error::Storage(format!("secrets.json: {e}"))),
    }
}

#[derive(Serialize)]
struct Metadata {
    name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    namespace: Option<String>,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct K8sSecret {
    api_version: &'static str,
    kind: &'static str,
    metadata: Metadata,
    #[serde(rename = "type")]
    type_: &'static str,
    data: BTreeMap<String, String>,
}

/// Two Kubernetes Secrets as one YAML stream: `<service>-tls` of type kubernetes.io/tls (tls.crt
/// is the chain, tls.key the key, ca.crt the inbound CAs) and `<service>-secrets` (Opaque).
pub fn kubernetes(bundle: &Bundle, namespace: Option<&str>) -> Result<Zeroizing<Vec<u8>>> {
    let m = &bundle.manifest;
    let mut labels = BTreeMap::new();
    labels.insert("app.kubernetes.io/name".to_string(), k8s_name(&m.service));
    labels.insert("app.kubernetes.io/managed-by".to_string(), "keyloom".to_string());
    labels.insert("keyloom.dev/vault".to_string(), m.vault_id.clone());
    labels.insert("keyloom.dev/environment".to_string(), k8s_name(&m.environment));
    let meta = |suffix: &str, annotations: BTreeMap<String, String>| Metadata {
        name: format!("{}-{suffix}", k8s_name(&m.service)),
        namespace: namespace.map(str::to_string),
        labels: labels.clone(),
        annotations,
    };
    let b64 = |f: Option<&BundleFile>| f.map(|f| STANDARD.encode(f.contents.as_slice()));
    let mut docs = Vec::new();
    if let (Some(chain), Some(key)) = (b64(find(bundle, "tls/chain.pem")), b64(find(bundle, "tls/key.pem"))) {
        let mut data = BTreeMap::new();
        data.insert("tls.crt".to_string(), chain);
        data.insert("tls.key".to_string(), key);
        if let Some(ca) = b64(find(bundle, "tls/ca-inbound.pem")) {
            data.insert("ca.crt".to_string(), ca);
        }
        let mut ann = BTreeMap::new();
        if let Some(c) = &m.certificate {
            ann.insert("keyloom.dev/certificate-serial".to_string(), c.serial.clone());
            ann.insert("keyloom.dev/not-after".to_string(), c.not_after.clone());
        }
        docs.push(K8sSecret {
            api_version: "v1",
            kind: "Secret",
            metadata: meta("tls", ann),
            type_: "kubernetes.io/tls",
            data,
        });
    }
    let secrets = secret_values(bundle)?;
    if !secrets.is_empty() {
        let data = secrets.into_iter().map(|(k, v)| (k, STANDARD.encode(v.as_bytes()))).collect();
        docs.push(K8sSecret {
            api_version: "v1",
            kind: "Secret",
            metadata: meta("secrets", BTreeMap::new()),
            type_: "Opaque",
            data,
        });
    }
    let mut out = Zeroizing::new(Vec::new());
    for (i, d) in docs.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(b"---\n");
        }
        let yaml =
            Zeroizing::new(serde_norway::to_string(d).map_err(|e| Error::Storage(format!("cannot write YAML: {e}")))?);
        out.extend_from_slice(yaml.as_bytes());
    }
    Ok(out)
}

#[derive(Serialize)]
struct ComposeFile {
    secrets: BTreeMap<String, BTreeMap<&'static str, String>>,
    services: BTreeMap<String, BTreeMap<&'static str, Vec<String>>>,
}

/// The files of a compose deployment directory: each secret as its own 0600 file under
/// `secrets/`, the TLS files, and `compose.secrets.yaml` declaring and granting them.
pub fn compose(bundle: &Bundle) -> Result<Vec<BundleFile>> {
    let svc = k8s_name(&bundle.manifest.service).replace('-', "_");
    let mut files = Vec::new();
    let mut declared = BTreeMap::new();
    for f in bundle.files.iter().filter(|f| f.path.starts_with("tls/")) {
        let stem = f.path.trim_start_matches("tls/").trim_end_matches(".pem").replace('-', "_");
        declared.insert(format!("{svc}_{stem}"), format!("./{}", f.path));
        files.push(BundleFile { path: f.path.clone(), mode: f.mode, contents: f.contents.clone() });
    }
    for (name, value) in secret_values(bundle)? {
        let path = format!("secrets/{name}");
        declared.insert(format!("{svc}_{}", name.to_ascii_lowercase()), format!("./{path}"));
        files.push(BundleFile { path, mode: SECRET_MODE, contents: Zeroizing::new(value.into_bytes()) });
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
        &k8s_name(&bundle.manifest.service),
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
