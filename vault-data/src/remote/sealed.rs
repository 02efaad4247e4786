//! Sealed values: what a sealed remote holds instead of plaintext. Each field is age-encrypted to
//! the team's recipients and signed by its author's Ed25519 key over (mount, path, field, the KV
//! version it was written as, ciphertext). Anyone with write access to the KV path can encrypt to
//! the team's public recipients, so the signature, checked against the members pinned in the
//! vault, is what makes a value trusted; the version in it stops an old signed value from being
//! replayed into a newer version unnoticed.
//!
//! The stored form is one JSON object per field (`{"keyloom_sealed":1,...}`), so other tools see
//! an opaque value and never plaintext.

use std::io::{Read, Write};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// Domain separation for the signed message.
const CONTEXT: &[u8] = b"keyloom-sealed-v1\0";
/// Domain separation for a version's manifest.
const MANIFEST_CONTEXT: &[u8] = b"keyloom-sealed-manifest-v1\0";
/// The field holding a sealed secret's manifest: a name no credential can have (credential
/// names are environment variable names), so it never collides with a value.
pub const MANIFEST_FIELD: &str = "keyloom.manifest";
/// Plaintexts are secret values; anything larger than this is not one of ours.
const MAX_PLAINTEXT: u64 = 1024 * 1024;

/// Why a sealed field was refused. Stable names: front ends and tests match on them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "refusal", rename_all = "snake_case")]
pub enum SealRefusal {
    /// Plaintext (or anything else) where a sealed value belongs.
    #[error("it is not sealed (plaintext on a sealed remote)")]
    NotSealed,
    /// age ciphertext with no signature: anyone could have written it.
    #[error("it is encrypted but not signed, so anyone with write access could have written it")]
    Unsigned,
    /// The envelope does not parse.
    #[error("its sealed form is damaged")]
    Malformed,
    /// Signed by a key that is not a member of this remote (or no longer is).
    #[error("it is signed by a key that is not a member here ({signer})")]
    UnknownSigner {
        /// The signer's key, `ed25519:` base64.
        signer: String,
    },
    /// The signature does not match the value, path or version.
    #[error("its signature does not match (altered, or moved from another path or field)")]
    BadSignature,
    /// Signed for a version newer than the one it is in: the signature is not for this version.
    #[error("it was signed for version {signed}, not the version {served} it is in")]
    WrongVersion {
        /// The version in the signature.
        signed: u64,
        /// The version served.
        served: u64,
    },
    /// Not encrypted to this vault's identity.
    #[error("it is not encrypted to this vault")]
    NotForUs,
    /// The secret has no manifest: its set of fields is vouched for by no member.
    #[error("the secret has no signed manifest, so which fields it holds is vouched for by no member")]
    NoManifest,
    /// The secret changed after its last signed write: written by someone without a member's
    /// key (a field dropped, added or swapped), or an old version restored as a new one.
    #[error("the secret changed after its last signed write (signed for version {signed}, version {served} served): written by someone without a member's key, or an old version restored")]
    ChangedAfterSigning {
        /// The version the manifest is signed for.
        signed: u64,
        /// The version served.
        served: u64,
    },
    /// The fields served are not the ones the manifest lists (one removed, added or swapped).
    #[error("its fields are not the ones its signed manifest lists (removed, added or swapped by someone else)")]
    NotInManifest,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    keyloom_sealed: u8,
    /// The author's Ed25519 public key (base64).
    signer: String,
    /// The KV version the value was written as.
    version: u64,
    /// Ed25519 signature (base64).
    sig: String,
    /// age ciphertext, binary (base64).
    age: String,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    keyloom_manifest: u8,
    signer: String,
    version: u64,
    /// Field name → SHA-256 (hex) of the stored text.
    fields: std::collections::BTreeMap<String, String>,
    sig: String,
}

fn manifest_message(
    mount: &str,
    path: &str,
    version: u64,
    fields: &std::collections::BTreeMap<String, String>,
) -> Vec<u8> {
    let mut m = Vec::with_capacity(256);
    m.extend_from_slice(MANIFEST_CONTEXT);
    let mut part = |p: &str| {
        m.extend_from_slice(&u32::try_from(p.len()).unwrap_or(u32::MAX).to_be_bytes());
        m.extend_from_slice(p.as_bytes());
    };
    part(mount);
    part(path);
    for (k, v) in fields {
        part(k);
        part(v);
    }
    m.extend_from_slice(&version.to_be_bytes());
    m
}

fn text_hash(text: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(text.as_bytes()))
}

/// The manifest of a secret about to be written as `version`: every stored field's hash, signed
/// by `author`. It makes the whole version the author's word: no field can be removed, added,
/// swapped with an older one or the version rolled back without a member's key.
pub fn manifest(
    data: &std::collections::BTreeMap<String, String>,
    author: &SigningKey,
    mount: &str,
    path: &str,
    version: u64,
) -> Option<String> {
    let fields: std::collections::BTreeMap<String, String> =
        data.iter().filter(|(k, _)| k.as_str() != MANIFEST_FIELD).map(|(k, v)| (k.clone(), text_hash(v))).collect();
    let sig = author.sign(&manifest_message(mount, path, version, &fields));
    serde_json::to_string(&Manifest {
        keyloom_manifest: 1,
        signer: STANDARD.encode(author.verifying_key().as_bytes()),
        version,
        fields,
        sig: STANDARD.encode(sig.to_bytes()),
    })
    .ok()
}

/// Checks a served secret's manifest: signed by a member for exactly `served_version`, listing
/// exactly the fields served with their stored text. Returns the field that failed (the manifest
/// field itself when the manifest does) and why.
pub fn check_manifest(
    data: &std::collections::BTreeMap<String, String>,
    members: &[VerifyingKey],
    mount: &str,
    path: &str,
    served_version: u64,
) -> Result<(), (String, SealRefusal)> {
    let fail = |why| Err((MANIFEST_FIELD.to_string(), why));
    let Some(text) = data.get(MANIFEST_FIELD) else { return fail(SealRefusal::NoManifest) };
    let Ok(m) = serde_json::from_str::<Manifest>(text) else { return fail(SealRefusal::Malformed) };
    if m.keyloom_manifest != 1 {
        return fail(SealRefusal::Malformed);
    }
    let Some(signer) = STANDARD
        .decode(&m.signer)
        .ok()
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
    else {
        return fail(SealRefusal::Malformed);
    };
    if !members.iter().any(|k| k.as_bytes() == signer.as_bytes()) {
        return fail(SealRefusal::UnknownSigner { signer: signing_key_text(&signer) });
    }
    let Some(sig) = STANDARD.decode(&m.sig).ok().and_then(|b| <[u8; 64]>::try_from(b).ok()) else {
        return fail(SealRefusal::Malformed);
    };
    if signer.verify_strict(&manifest_message(mount, path, m.version, &m.fields), &Signature::from_bytes(&sig)).is_err()
    {
        return fail(SealRefusal::BadSignature);
    }
    if m.version < served_version {
        return fail(SealRefusal::ChangedAfterSigning { signed: m.version, served: served_version });
    }
    if m.version > served_version {
        return fail(SealRefusal::WrongVersion { signed: m.version, served: served_version });
    }
    let served: std::collections::BTreeMap<&str, String> =
        data.iter().filter(|(k, _)| k.as_str() != MANIFEST_FIELD).map(|(k, v)| (k.as_str(), text_hash(v))).collect();
    for (name, hash) in &served {
        if m.fields.get(*name) != Some(hash) {
            return Err((name.to_string(), SealRefusal::NotInManifest));
        }
    }
    if let Some(missing) = m.fields.keys().find(|k| !served.contains_key(k.as_str())) {
        return Err((missing.clone(), SealRefusal::NotInManifest));
    }
    Ok(())
}

/// Where a field lives: the signature binds it to this place.
pub struct FieldPlace<'a> {
    /// KV mount.
    pub mount: &'a str,
    /// Path inside the mount.
    pub path: &'a str,
    /// Field name.
    pub field: &'a str,
}

/// A field opened and verified.
pub struct Opened {
    /// The plaintext.
    pub value: Zeroizing<Vec<u8>>,
    /// The version it was signed for.
    pub version: u64,
    /// Who signed it.
    pub signer: VerifyingKey,
}

/// A public signing key as members exchange it: `ed25519:` and base64.
pub fn signing_key_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", STANDARD.encode(key.as_bytes()))
}

/// Parses [`signing_key_text`]'s form.
pub fn parse_signing_key(text: &str) -> Option<VerifyingKey> {
    let b64 = text.trim().strip_prefix("ed25519:")?;
    let bytes: [u8; 32] = STANDARD.decode(b64).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

fn message(place: &FieldPlace<'_>, version: u64, ciphertext: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(CONTEXT.len() + ciphertext.len() + 64);
    m.extend_from_slice(CONTEXT);
    for part in [place.mount, place.path, place.field] {
        m.extend_from_slice(&u32::try_from(part.len()).unwrap_or(u32::MAX).to_be_bytes());
        m.extend_from_slice(part.as_bytes());
    }
    m.extend_from_slice(&version.to_be_bytes());
    m.extend_from_slice(ciphertext);
    m
}

/// Seals `value` for `place` as written at KV `version`: encrypted to `recipients`, signed by
/// `author`. `None` when there is no recipient (never written in plaintext instead).
pub fn seal(
    value: &[u8],
    recipients: &[age::x25519::Recipient],
    author: &SigningKey,
    place: &FieldPlace<'_>,
    version: u64,
) -> Option<String> {
    let enc = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient)).ok()?;
    let mut ciphertext = Vec::with_capacity(value.len() + 256);
    let mut w = enc.wrap_output(&mut ciphertext).ok()?;
    w.write_all(value).ok()?;
    w.finish().ok()?;
    let sig = author.sign(&message(place, version, &ciphertext));
    let env = Envelope {
        keyloom_sealed: 1,
        signer: STANDARD.encode(author.verifying_key().as_bytes()),
        version,
        sig: STANDARD.encode(sig.to_bytes()),
        age: STANDARD.encode(&ciphertext),
    };
    serde_json::to_string(&env).ok()
}

/// Opens a sealed field served in KV `served_version`, verifying its signature against the
/// `members` pinned here before anything is decrypted.
pub fn open(
    text: &str,
    identity: &age::x25519::Identity,
    members: &[VerifyingKey],
    place: &FieldPlace<'_>,
    served_version: u64,
) -> Result<Opened, SealRefusal> {
    let trimmed = text.trim_start();
    let env: Envelope = match serde_json::from_str(trimmed) {
        Ok(e) => e,
        Err(_)
            if trimmed.starts_with("-----BEGIN AGE ENCRYPTED FILE-----")
                || trimmed.starts_with("age-encryption.org/") =>
        {
            return Err(SealRefusal::Unsigned)
        }
        Err(_) if trimmed.contains("keyloom_sealed") => return Err(SealRefusal::Malformed),
        Err(_) => return Err(SealRefusal::NotSealed),
    };
    if env.keyloom_sealed != 1 {
        return Err(SealRefusal::Malformed);
    }
    let signer_bytes: [u8; 32] =
        STANDARD.decode(&env.signer).ok().and_then(|b| b.try_into().ok()).ok_or(SealRefusal::Malformed)?;
    let signer = VerifyingKey::from_bytes(&signer_bytes).map_err(|_| SealRefusal::Malformed)?;
    if !members.iter().any(|m| m.as_bytes() == signer.as_bytes()) {
        return Err(SealRefusal::UnknownSigner { signer: signing_key_text(&signer) });
    }
    let sig_bytes: [u8; 64] =
        STANDARD.decode(&env.sig).ok().and_then(|b| b.try_into().ok()).ok_or(SealRefusal::Malformed)?;
    let ciphertext = STANDARD.decode(&env.age).map_err(|_| SealRefusal::Malformed)?;
    signer
        .verify_strict(&message(place, env.version, &ciphertext), &Signature::from_bytes(&sig_bytes))
        .map_err(|_| SealRefusal::BadSignature)?;
    if env.version > served_version {
        return Err(SealRefusal::WrongVersion { signed: env.version, served: served_version });
    }
    let dec = age::Decryptor::new(&ciphertext[..]).map_err(|_| SealRefusal::Malformed)?;
    let mut reader = dec.decrypt(std::iter::once(identity as &dyn age::Identity)).map_err(|_| SealRefusal::NotForUs)?;
    let mut value = Zeroizing::new(Vec::new());
    reader.by_ref().take(MAX_PLAINTEXT + 1).read_to_end(&mut value).map_err(|_| SealRefusal::Malformed)?;
    if value.len() as u64 > MAX_PLAINTEXT {
        return Err(SealRefusal::Malformed);
    }
    Ok(Opened { value, version: env.version, signer })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn place() -> FieldPlace<'static> {
        FieldPlace { mount: "secret", path: "keyloom/prod/payments", field: "DB_URL" }
    }

    struct Member {
        id: age::x25519::Identity,
        key: SigningKey,
    }

    fn member() -> Member {
        Member { id: age::x25519::Identity::generate(), key: SigningKey::generate(&mut rand::rngs::OsRng) }
    }

    #[test]
    fn a_sealed_value_opens_for_a_recipient_with_the_authors_key_pinned() {
        let (alice, bob) = (member(), member());
        let text = seal(b"pa$$ \"q\"\n", &[alice.id.to_public(), bob.id.to_public()], &alice.key, &place(), 3).unwrap();
        assert!(!text.contains("pa$$"));
        let pinned = [alice.key.verifying_key()];
        let opened = open(&text, &bob.id, &pinned, &place(), 3).unwrap();
        assert_eq!(&opened.value[..], b"pa$$ \"q\"\n");
        assert_eq!(opened.version, 3);
        // Still valid in a later version (another field changed).
        assert!(open(&text, &bob.id, &pinned, &place(), 9).is_ok());
    }

    #[test]
    fn forged_moved_altered_and_foreign_values_are_refused() {
        let (alice, bob, mallory) = (member(), member(), member());
        let recipients = [alice.id.to_public(), bob.id.to_public()];
        let pinned = [alice.key.verifying_key(), bob.key.verifying_key()];
        // Mallory encrypts to the team's public recipients and signs with her own key.
        let forged = seal(b"evil", &recipients, &mallory.key, &place(), 2).unwrap();
        assert!(matches!(open(&forged, &bob.id, &pinned, &place(), 2), Err(SealRefusal::UnknownSigner { .. })));
        // A genuine value copied to another field or path.
        let real = seal(b"v", &recipients, &alice.key, &place(), 2).unwrap();
        let other = FieldPlace { field: "API_KEY", ..place() };
        assert_eq!(open(&real, &bob.id, &pinned, &other, 2).err(), Some(SealRefusal::BadSignature));
        let moved = FieldPlace { path: "keyloom/prod/web", ..place() };
        assert_eq!(open(&real, &bob.id, &pinned, &moved, 2).err(), Some(SealRefusal::BadSignature));
        // The version in the envelope changed to pass a replay check.
        let mut env: serde_json::Value = serde_json::from_str(&real).unwrap();
        env["version"] = 7.into();
        assert_eq!(open(&env.to_string(), &bob.id, &pinned, &place(), 7).err(), Some(SealRefusal::BadSignature));
        // Signed for a version the secret has not reached.
        let ahead = seal(b"v", &recipients, &alice.key, &place(), 5).unwrap();
        assert!(matches!(open(&ahead, &bob.id, &pinned, &place(), 4), Err(SealRefusal::WrongVersion { .. })));
        // Not for us.
        let stranger = member();
        assert_eq!(open(&real, &stranger.id, &pinned, &place(), 2).err(), Some(SealRefusal::NotForUs));
        // Plaintext, bare age and damage.
        assert_eq!(open("hunter2", &bob.id, &pinned, &place(), 2).err(), Some(SealRefusal::NotSealed));
        let bare = {
            let enc = age::Encryptor::with_recipients(recipients.iter().map(|r| r as &dyn age::Recipient)).unwrap();
            let mut out = Vec::new();
            let mut w = enc.wrap_output(&mut out).unwrap();
            w.write_all(b"x").unwrap();
            w.finish().unwrap();
            out
        };
        // As `age` writes it into a text field: its header is text, the payload is not.
        let bare_text = String::from_utf8_lossy(&bare).into_owned();
        assert_eq!(open(&bare_text, &bob.id, &pinned, &place(), 2).err(), Some(SealRefusal::Unsigned));
        let armored = format!(
            "-----BEGIN AGE ENCRYPTED FILE-----\n{}\n-----END AGE ENCRYPTED FILE-----\n",
            STANDARD.encode(&bare)
        );
        assert_eq!(open(&armored, &bob.id, &pinned, &place(), 2).err(), Some(SealRefusal::Unsigned));
        assert_eq!(open("{\"keyloom_sealed\":1}", &bob.id, &pinned, &place(), 2).err(), Some(SealRefusal::Malformed));
    }

    #[test]
    fn signing_keys_round_trip_as_text_and_junk_is_refused() {
        let k = SigningKey::generate(&mut rand::rngs::OsRng).verifying_key();
        assert_eq!(parse_signing_key(&signing_key_text(&k)), Some(k));
        for junk in ["", "ed25519:", "ed25519:AAAA", "rsa:xyz", &STANDARD.encode(k.as_bytes())] {
            assert!(parse_signing_key(junk).is_none(), "{junk}");
        }
    }
}
