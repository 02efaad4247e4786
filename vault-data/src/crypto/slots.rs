//! Unlock slots: each one an age ciphertext of the vault key (like LUKS key slots).
//!
//! - passphrase: age scrypt recipient;
//! - two-factor: age scrypt recipient over the passphrase AND a key file (see [`KeyFile`]);
//! - recovery: an age X25519 identity printed once at creation;
//! - device: an age X25519 identity kept in the OS keyring.
//!
//! The slots live in `vault.slots` (see `store::slots_file`), never in the database. The wrapped
//! plaintext is VK followed by an expiry (0: none), kept so slots made by earlier releases, whose
//! session slots expired, still decode; an expired slot opens nothing.

use std::str::FromStr;

use age::secrecy::SecretString;
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use zeroize::Zeroizing;

use crate::crypto::keys::VaultKey;
use crate::crypto::passphrase::{KdfCost, MAX_SCRYPT_LOG_N};
use crate::error::{Error, Result};
use crate::ids::RecordId;

/// What kind of secret opens a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum SlotKind {
    /// The vault passphrase (age scrypt).
    Passphrase,
    /// The passphrase and a key file together (age scrypt over both, as KeePassXC mixes them).
    TwoFactor,
    /// The recovery key printed at creation (age X25519).
    Recovery,
    /// "Remember on this device": an age X25519 identity in the OS keyring.
    Device,
}

/// A slot as stored in `vault.slots`. Holds no secret: the wrapped key needs the slot's secret.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct SlotRecord {
    pub id: RecordId,
    pub kind: SlotKind,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339::option", default)]
    pub expires: Option<OffsetDateTime>,
    /// The X25519 recipient the key is wrapped to (public), so `rekey` can rewrap without the
    /// identity. None for passphrase slots.
    #[serde(default)]
    pub recipient: Option<String>,
    /// age ciphertext of VK ‖ expiry.
    #[serde(with = "b64")]
    pub wrapped: Vec<u8>,
    /// Device slots only: the CLI may use it (`device enable --cli`). Otherwise only the desktop
    /// app does, so a same-user script cannot read secrets without a prompt by default.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub cli: bool,
}

mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(v))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        STANDARD.decode(s).map_err(serde::de::Error::custom)
    }
}

/// Public facts about a slot, for `status`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SlotInfo {
    /// The slot's id.
    pub id: RecordId,
    /// Its kind.
    pub kind: SlotKind,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    #[cfg_attr(feature = "ts", ts(type = "string"))]
    pub created: OffsetDateTime,
    /// When it stops working (none of today's slots expire).
    #[serde(with = "time::serde::rfc3339::option")]
    #[cfg_attr(feature = "ts", ts(type = "string | null"))]
    pub expires: Option<OffsetDateTime>,
}

impl From<&SlotRecord> for SlotInfo {
    fn from(r: &SlotRecord) -> Self {
        SlotInfo { id: r.id, kind: r.kind, created: r.created, expires: r.expires }
    }
}

fn wrapped_plaintext(vk: &VaultKey, expires: Option<OffsetDateTime>) -> Zeroizing<Vec<u8>> {
    let mut pt = Zeroizing::new(Vec::with_capacity(40));
    pt.extend_from_slice(vk.expose());
    pt.extend_from_slice(&expires.map_or(0i64, |t| t.unix_timestamp()).to_be_bytes());
    pt
}

/// A key file, the second factor of a two-factor slot: any file; only its SHA-256 is kept, and
/// only for as long as the unlock takes. `Debug` prints nothing of it.
#[derive(Clone)]
pub struct KeyFile(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyFile(..)")
    }
}

impl KeyFile {
    /// Reads `path` and keeps its SHA-256. An empty file is refused: it would add nothing.
    pub fn read(path: &std::path::Path) -> Result<KeyFile> {
        use sha2::Digest;
        let bytes = Zeroizing::new(std::fs::read(path).map_err(Error::io("cannot read the key file", path))?);
        if bytes.is_empty() {
            return Err(Error::Invalid(format!(
                "the key file {} is empty; any non-empty file will do",
                path.display()
            )));
        }
        Ok(KeyFile(Zeroizing::new(sha2::Sha256::digest(bytes.as_slice()).into())))
    }

    /// The secret the two-factor slot's scrypt runs over: SHA-256(SHA-256(passphrase) ‖
    /// SHA-256(file)), hex, so neither factor alone tells anything and both go through scrypt.
    pub(crate) fn combine(&self, passphrase: &SecretString) -> SecretString {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        h.update(sha2::Sha256::digest(passphrase.expose_secret().as_bytes()));
        h.update(self.0.as_slice());
        let digest = Zeroizing::new(<[u8; 32]>::from(h.finalize()));
        SecretString::from(hex::encode(digest.as_slice()))
    }
}

/// Wraps VK to the passphrase and a key file together (a two-factor slot).
pub(crate) fn wrap_two_factor(
    vk: &VaultKey,
    passphrase: &SecretString,
    key_file: &KeyFile,
    cost: KdfCost,
) -> Result<SlotRecord> {
    let mut slot = wrap_passphrase(vk, &key_file.combine(passphrase), cost)?;
    slot.kind = SlotKind::TwoFactor;
    Ok(slot)
}

/// Wraps VK to an age passphrase.
pub(crate) fn wrap_passphrase(vk: &VaultKey, passphrase: &SecretString, cost: KdfCost) -> Result<SlotRecord> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    if let KdfCost::LogN(n) = cost {
        Error::check_range(crate::error::Quantity::ScryptWorkFactor, n.into(), 1..=63)?;
        recipient.set_work_factor(n);
    }
    let wrapped = age::encrypt(&recipient, &wrapped_plaintext(vk, None))
        .map_err(|e| Error::Storage(format!("cannot wrap the vault key: {e}")))?;
    Ok(SlotRecord {
        id: RecordId::random(),
        kind: SlotKind::Passphrase,
        created: OffsetDateTime::now_utc(),
        expires: None,
        recipient: None,
        wrapped,
        cli: false,
    })
}

/// Wraps VK to an X25519 recipient given as `age1…`.
pub(crate) fn wrap_recipient(
    vk: &VaultKey,
    kind: SlotKind,
    recipient: &str,
    expires: Option<OffsetDateTime>,
) -> Result<SlotRecord> {
    let r = age::x25519::Recipient::from_str(recipient)
        .map_err(|e| Error::Integrity(format!("stored slot recipient is invalid: {e}")))?;
    let wrapped = age::encrypt(&r, &wrapped_plaintext(vk, expires))
        .map_err(|e| Error::Storage(format!("cannot wrap the vault key: {e}")))?;
    Ok(SlotRecord {
        id: RecordId::random(),
        kind,
        created: OffsetDateTime::now_utc(),
        expires,
        recipient: Some(recipient.to_string()),
        wrapped,
        cli: false,
    })
}

/// A fresh X25519 identity and its recipient string.
pub(crate) fn new_identity() -> (SecretString, String) {
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    (id.to_string(), recipient)
}

/// Parses an `AGE-SECRET-KEY-1…` identity; the message never echoes the input.
pub(crate) fn parse_identity(s: &SecretString) -> Result<age::x25519::Identity> {
    age::x25519::Identity::from_str(s.expose_secret().trim())
        .map_err(|_| Error::Invalid("not an age identity (expected AGE-SECRET-KEY-1…)".into()))
}

/// Which secret to try against a slot.
pub(crate) enum SlotSecret<'a> {
    Passphrase(&'a SecretString),
    Identity(&'a age::x25519::Identity),
}

/// Tries to unwrap VK from one slot. `Ok(None)` means "not this slot's secret".
pub(crate) fn unwrap(slot: &SlotRecord, secret: &SlotSecret<'_>, now: OffsetDateTime) -> Result<Option<VaultKey>> {
    let plaintext = match secret {
        SlotSecret::Passphrase(p) => {
            let mut id = age::scrypt::Identity::new((*p).clone());
            id.set_max_work_factor(MAX_SCRYPT_LOG_N);
            age::decrypt(&id, &slot.wrapped)
        }
        SlotSecret::Identity(id) => age::decrypt(*id, &slot.wrapped),
    };
    let plaintext = match plaintext {
        Ok(p) => Zeroizing::new(p),
        Err(age::DecryptError::ExcessiveWork { required, .. }) => {
            return Err(Error::Integrity(format!(
                "the passphrase slot asks for scrypt work factor {required}, above the cap of {MAX_SCRYPT_LOG_N}"
            )))
        }
        Err(age::DecryptError::InvalidHeader) | Err(age::DecryptError::UnknownFormat) => {
            return Err(Error::Integrity(format!("unlock slot {} is damaged", slot.id)))
        }
        Err(_) => return Ok(None),
    };
    if plaintext.len() != 40 {
        return Err(Error::Integrity(format!("unlock slot {} holds a key of the wrong size", slot.id)));
    }
    let mut vk = [0u8; 32];
    vk.copy_from_slice(&plaintext[..32]);
    let mut exp = [0u8; 8];
    exp.copy_from_slice(&plaintext[32..]);
    let key = VaultKey::from_bytes(vk);
    zeroize::Zeroize::zeroize(&mut vk);
    let expires = i64::from_be_bytes(exp);
    if expires != 0 && now.unix_timestamp() >= expires {
        return Ok(None);
    }
    Ok(Some(key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passphrase_slot_round_trip() {
        let vk = VaultKey::generate();
        let pw = SecretString::from("right horse");
        let slot = wrap_passphrase(&vk, &pw, KdfCost::LogN(4)).unwrap();
        let got = unwrap(&slot, &SlotSecret::Passphrase(&pw), OffsetDateTime::now_utc()).unwrap().unwrap();
        assert_eq!(got.expose(), vk.expose());
        let wrong = SecretString::from("wrong horse");
        assert!(unwrap(&slot, &SlotSecret::Passphrase(&wrong), OffsetDateTime::now_utc()).unwrap().is_none());
    }

    #[test]
    fn a_two_factor_slot_needs_both_the_passphrase_and_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let (right, wrong, empty) = (dir.path().join("a"), dir.path().join("b"), dir.path().join("c"));
        std::fs::write(&right, b"key file one").unwrap();
        std::fs::write(&wrong, b"key file two").unwrap();
        std::fs::write(&empty, b"").unwrap();
        assert!(KeyFile::read(&empty).is_err());
        assert!(KeyFile::read(&dir.path().join("missing")).is_err());
        let vk = VaultKey::generate();
        let pw = SecretString::from("right horse");
        let kf = KeyFile::read(&right).unwrap();
        let slot = wrap_two_factor(&vk, &pw, &kf, KdfCost::LogN(4)).unwrap();
        assert_eq!(slot.kind, SlotKind::TwoFactor);
        let now = OffsetDateTime::now_utc();
        let both = kf.combine(&pw);
        assert_eq!(unwrap(&slot, &SlotSecret::Passphrase(&both), now).unwrap().unwrap().expose(), vk.expose());
        assert!(unwrap(&slot, &SlotSecret::Passphrase(&pw), now).unwrap().is_none(), "passphrase alone");
        let other = KeyFile::read(&wrong).unwrap().combine(&pw);
        assert!(unwrap(&slot, &SlotSecret::Passphrase(&other), now).unwrap().is_none(), "wrong file");
        let wrong_pw = kf.combine(&SecretString::from("wrong horse"));
        assert!(unwrap(&slot, &SlotSecret::Passphrase(&wrong_pw), now).unwrap().is_none(), "wrong passphrase");
        assert_eq!(format!("{kf:?}"), "KeyFile(..)");
    }

    #[test]
    fn expired_slot_opens_nothing() {
        let vk = VaultKey::generate();
        let (identity, recipient) = new_identity();
        let now = OffsetDateTime::now_utc();
        let slot = wrap_recipient(&vk, SlotKind::Recovery, &recipient, Some(now + time::Duration::minutes(5))).unwrap();
        let id = parse_identity(&identity).unwrap();
        assert!(unwrap(&slot, &SlotSecret::Identity(&id), now).unwrap().is_some());
        let later = now + time::Duration::minutes(6);
        assert!(unwrap(&slot, &SlotSecret::Identity(&id), later).unwrap().is_none());
    }
}
