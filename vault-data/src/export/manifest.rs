//! `manifest.json` (what the bundle holds: every file with its SHA-256 and mode) and
//! `manifest.sig` (an Ed25519 signature over it by the vault's bundle signing key).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// Bumped if the manifest layout changes.
pub const MANIFEST_VERSION: u32 = 1;
/// First word of an exported public signing key file.
const PUBKEY_PREFIX: &str = "keyloom-bundle-signing-key ed25519 ";

/// One file of a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestFile {
    /// Path inside the bundle, `/`-separated.
    pub path: String,
    /// SHA-256 of the contents (hex).
    pub sha256: String,
    /// Unix mode, e.g. "0600".
    pub mode: String,
    /// Size in bytes.
    pub size: u64,
}

/// The certificate a bundle carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManifestCertificate {
    /// Vault certificate id.
    pub id: String,
    /// Serial (hex).
    pub serial: String,
    /// Issuer DN.
    pub issuer: String,
    /// Expiry (RFC 3339).
    pub not_after: String,
}

/// What `manifest.json` says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Layout version.
    pub manifest_version: u32,
    /// Service name.
    pub service: String,
    /// Its environment.
    pub environment: String,
    /// The vault it came from (hex id).
    pub vault_id: String,
    /// Export time (RFC 3339).
    pub created: String,
    /// The certificate, unless exported with secrets only.
    pub certificate: Option<ManifestCertificate>,
    /// Names of the secrets inside.
    pub secrets: Vec<String>,
    /// Every other file of the bundle.
    pub files: Vec<ManifestFile>,
}

pub(crate) fn file_entry(path: &str, mode: u32, contents: &[u8]) -> ManifestFile {
    ManifestFile {
        path: path.to_string(),
        sha256: hex::encode(Sha256::digest(contents)),
        mode: format!("{mode:04o}"),
        size: contents.len() as u64,
    }
}

/// Signs the exact manifest bytes; the signature file is base64 text.
pub(crate) fn sign(key: &SigningKey, manifest_bytes: &[u8]) -> Vec<u8> {
    let mut sig = STANDARD.encode(key.sign(manifest_bytes).to_bytes()).into_bytes();
    sig.push(b'\n');
    sig
}

/// The public half of the signing key, as `keyloom signing-key export` writes it.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("{PUBKEY_PREFIX}{}\n", STANDARD.encode(key.as_bytes()))
}

/// Parses a public key file written by [`public_key_text`].
pub fn parse_public_key(text: &str) -> Result<VerifyingKey> {
    let bad = || Error::Invalid("not a Keyloom bundle signing public key".into());
    let b64 = text.trim().strip_prefix(PUBKEY_PREFIX).ok_or_else(bad)?;
    let bytes: [u8; 32] = STANDARD.decode(b64.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

/// Checks `manifest.sig` against the manifest bytes.
pub(crate) fn signature_ok(key: &VerifyingKey, manifest_bytes: &[u8], sig_text: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(sig_text) else { return false };
    let Ok(bytes) = STANDARD.decode(text.trim()) else { return false };
    let Ok(arr) = <[u8; 64]>::try_from(bytes.as_slice()) else { return false };
    key.verify(manifest_bytes, &ed25519_dalek::Signature::from_bytes(&arr)).is_ok()
}
