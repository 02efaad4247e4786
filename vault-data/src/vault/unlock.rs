//! Unlocking: find the slot the given secret opens, check the key, load the index.

use age::secrecy::SecretString;
use secrecy::ExposeSecret;
use time::OffsetDateTime;

use crate::audit::Outcome;
use crate::crypto::device_keyring;
use crate::crypto::keys::{VaultKey, VaultKeys};
use crate::crypto::seal::{self, Location};
use crate::crypto::slots::{self, SlotKind, SlotRecord, SlotSecret};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::store::{snapshot, TreeName};
use crate::vault::index::Index;
use crate::vault::{Unlocked, Vault, META_SIGNING_KEY};

/// A secret that may open one of the vault's slots.
pub enum Unlock {
    /// The vault passphrase.
    Passphrase(SecretString),
    /// The recovery key (`AGE-SECRET-KEY-1…`).
    RecoveryKey(SecretString),
    /// A session token from [`Vault::create_session`].
    Session(SecretString),
    /// The identity kept in this device's OS keyring.
    Device,
}

impl std::fmt::Debug for Unlock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Unlock::Passphrase(_) => "Unlock::Passphrase(..)",
            Unlock::RecoveryKey(_) => "Unlock::RecoveryKey(..)",
            Unlock::Session(_) => "Unlock::Session(..)",
            Unlock::Device => "Unlock::Device",
        })
    }
}

pub(crate) const SESSION_PREFIX: &str = "keyloom-session:v1:";

/// Splits a session token into its slot id and identity.
pub(crate) fn parse_session_token(token: &SecretString) -> Result<(RecordId, SecretString)> {
    let bad = || Error::Invalid("KEYLOOM_SESSION is not a Keyloom session token".into());
    let rest = token.expose_secret().trim().strip_prefix(SESSION_PREFIX).ok_or_else(bad)?;
    let (slot, identity) = rest.split_once(':').ok_or_else(bad)?;
    let slot: RecordId = slot.parse().map_err(|_| bad())?;
    Ok((slot, SecretString::from(identity.to_string())))
}

impl Vault {
    /// Unlocks with `method`. A secret that opens no slot is recorded (once the vault next opens)
    /// and reported as "wrong passphrase or key"; nothing else changes.
    pub fn unlock(&mut self, method: Unlock) -> Result<()> {
        if self.unlocked.is_some() {
            return Ok(());
        }
        let kind = kind_of(&method);
        let vk = match open_slots(&self.slots()?, &method, &self.vault_id())? {
            Some(vk) => vk,
            None => return Err(self.failed_unlock(kind, "no slot opened")),
        };
        let keys = VaultKeys::derive(vk, &self.vault_id);
        // The slot opened; make sure the key it held is this vault's current key (a slot copied
        // from before a rekey holds a dead key).
        let sealed = self
            .store
            .get(TreeName::Meta, META_SIGNING_KEY)?
            .ok_or_else(|| Error::Integrity("the vault's signing key record is missing".into()))?;
        if seal::open(&keys.meta, &self.vault_id, Location { tree: "meta", key: META_SIGNING_KEY }, &sealed).is_err() {
            return Err(self.failed_unlock(kind, "the slot holds a stale key"));
        }
        let head = self.load_head(&keys)?;
        self.check_snapshot_freshness(&keys, head.seq, &head.hash)?;
        let index = Index::load(&keys, &self.vault_id, &self.store)?;
        self.unlocked = Some(Unlocked { keys, index, head, unlocked_by: kind });
        self.drain_pending()?;
        tracing::debug!(slot = ?kind, "vault unlocked");
        Ok(())
    }

    fn failed_unlock(&self, kind: SlotKind, why: &str) -> Error {
        self.record_locked_event(
            "vault.unlock",
            Outcome::Failure,
            format!("{kind:?} unlock refused: {why}").to_lowercase(),
        );
        Error::WrongKey
    }

    /// A database older than its own authentic snapshot has lost acknowledged writes.
    fn check_snapshot_freshness(&self, keys: &VaultKeys, seq: u64, hash: &str) -> Result<()> {
        let Some(signed) = snapshot::read_header(self.store.dir()).ok().flatten() else {
            return Ok(());
        };
        if !signed.is_authentic(&keys.snapshot) {
            tracing::warn!("the vault snapshot failed authentication; `keyloom doctor` will say more");
            return Ok(());
        }
        let header = &signed.header;
        if header.audit_seq > seq || (header.audit_seq == seq && header.audit_hash != hash) {
            return Err(Error::Integrity(format!(
                "the database is behind its snapshot (audit entry #{seq} in the database, #{} in the snapshot): \
                 acknowledged writes are missing; run `keyloom doctor --restore`",
                header.audit_seq
            )));
        }
        Ok(())
    }
}

/// The slot kind a method can open.
pub(crate) fn kind_of(method: &Unlock) -> SlotKind {
    match method {
        Unlock::Passphrase(_) => SlotKind::Passphrase,
        Unlock::RecoveryKey(_) => SlotKind::Recovery,
        Unlock::Session(_) => SlotKind::Session,
        Unlock::Device => SlotKind::Device,
    }
}

/// Unwraps VK from the first of `slots` that `method` opens; `Ok(None)` when none does.
pub(crate) fn open_slots(slots: &[SlotRecord], method: &Unlock, vault_id_hex: &str) -> Result<Option<VaultKey>> {
    let now = OffsetDateTime::now_utc();
    let kind = kind_of(method);
    let mut candidates: Vec<&SlotRecord> = slots.iter().filter(|s| s.kind == kind).collect();
    let identity = match method {
        Unlock::Passphrase(p) => return try_slots(&candidates, &SlotSecret::Passphrase(p), now),
        Unlock::RecoveryKey(k) => slots::parse_identity(k)?,
        Unlock::Session(token) => {
            let (slot_id, identity) = parse_session_token(token)?;
            candidates.retain(|s| s.id == slot_id);
            if candidates.is_empty() {
                return Err(Error::SessionEnded);
            }
            slots::parse_identity(&identity)?
        }
        Unlock::Device => {
            if candidates.is_empty() {
                return Err(Error::NoUnlockMethod("remember-on-this-device is not enabled for this vault".into()));
            }
            slots::parse_identity(&device_keyring::load(vault_id_hex)?)?
        }
    };
    try_slots(&candidates, &SlotSecret::Identity(&identity), now)
}

fn try_slots(slots: &[&SlotRecord], secret: &SlotSecret<'_>, now: OffsetDateTime) -> Result<Option<VaultKey>> {
    for slot in slots {
        if let Some(vk) = slots::unwrap(slot, secret, now)? {
            return Ok(Some(vk));
        }
    }
    Ok(None)
}
