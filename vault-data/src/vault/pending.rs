//! Events that happen while the vault is locked (failed unlocks, sessions ended without a key).
//!
//! They cannot be sealed without the vault key, so each is age-encrypted to the vault's inbox
//! recipient (public, in `meta`); the inbox identity is sealed in `meta`. At the next unlock they
//! move into the audit chain, with their original time and user.

use std::str::FromStr;

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::{AuditEvent, AuditObject, Outcome};
use crate::crypto::keys::{VaultId, VaultKeys};
use crate::crypto::seal::{self, Location};
use crate::crypto::slots;
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::store::{Op, TreeName};
use crate::vault::{seal_meta, Vault};

const RECIPIENT_KEY: &[u8] = b"inbox_recipient";
const IDENTITY_KEY: &[u8] = b"inbox_identity";
const PENDING_PREFIX: &[u8] = b"pending/";
/// Past this many unread events, new ones are dropped rather than letting a locked vault grow.
const MAX_PENDING: usize = 1000;

#[derive(Serialize, Deserialize)]
struct PendingEvent {
    #[serde(with = "time::serde::rfc3339")]
    time: OffsetDateTime,
    user: String,
    action: String,
    outcome: Outcome,
    detail: String,
}

pub(crate) fn init_ops(keys: &VaultKeys, vault_id: &VaultId) -> Result<Vec<Op>> {
    let (identity, recipient) = slots::new_identity();
    Ok(vec![
        Op::Put(TreeName::Meta, RECIPIENT_KEY.to_vec(), recipient.into_bytes()),
        seal_meta(keys, vault_id, IDENTITY_KEY, identity.expose_secret().as_bytes()),
    ])
}

/// Re-seals the inbox identity under new keys (for `rekey`).
pub(crate) fn reseal_ops(old: &VaultKeys, new: &VaultKeys, vault_id: &VaultId, sealed: &[u8]) -> Result<Op> {
    let pt = seal::open(&old.meta, vault_id, Location { tree: "meta", key: IDENTITY_KEY }, sealed)?;
    Ok(seal_meta(new, vault_id, IDENTITY_KEY, &pt))
}

pub(crate) fn identity_key() -> &'static [u8] {
    IDENTITY_KEY
}

impl Vault {
    /// Records an event while locked. Best effort: a full inbox or a read-only disk must not
    /// turn a wrong passphrase into a different error.
    pub(crate) fn record_locked_event(&self, action: &str, outcome: Outcome, detail: String) {
        if let Err(e) = self.try_record_locked_event(action, outcome, detail) {
            tracing::warn!(error = %e, "could not record a locked-vault event");
        }
    }

    fn try_record_locked_event(&self, action: &str, outcome: Outcome, detail: String) -> Result<()> {
        if self.store.scan_prefix(TreeName::Meta, PENDING_PREFIX)?.len() >= MAX_PENDING {
            return Ok(());
        }
        let recipient = self
            .store
            .get(TreeName::Meta, RECIPIENT_KEY)?
            .ok_or_else(|| Error::Integrity("the vault's inbox recipient is missing".into()))?;
        let recipient = std::str::from_utf8(&recipient)
            .ok()
            .and_then(|r| age::x25519::Recipient::from_str(r).ok())
            .ok_or_else(|| Error::Integrity("the vault's inbox recipient is damaged".into()))?;
        let ev = PendingEvent {
            time: OffsetDateTime::now_utc(),
            user: self.actor.clone(),
            action: action.into(),
            outcome,
            detail,
        };
        let pt = serde_json::to_vec(&ev).map_err(|e| Error::Storage(e.to_string()))?;
        let ct = age::encrypt(&recipient, &pt).map_err(|e| Error::Storage(e.to_string()))?;
        let mut key = PENDING_PREFIX.to_vec();
        key.extend_from_slice(RecordId::random().to_string().as_bytes());
        self.store.commit(&[Op::Put(TreeName::Meta, key, ct)])
    }

    /// Moves pending events into the audit chain (called right after unlock).
    pub(crate) fn drain_pending(&mut self) -> Result<()> {
        let pending = self.store.scan_prefix(TreeName::Meta, PENDING_PREFIX)?;
        if pending.is_empty() {
            return Ok(());
        }
        let u = self.unlocked()?;
        let sealed = self
            .store
            .get(TreeName::Meta, IDENTITY_KEY)?
            .ok_or_else(|| Error::Integrity("the vault's inbox identity is missing".into()))?;
        let pt = seal::open(&u.keys.meta, &self.vault_id, Location { tree: "meta", key: IDENTITY_KEY }, &sealed)?;
        let identity = std::str::from_utf8(&pt)
            .ok()
            .and_then(|s| age::x25519::Identity::from_str(s).ok())
            .ok_or_else(|| Error::Integrity("the vault's inbox identity is damaged".into()))?;
        let mut events = Vec::new();
        let mut ops = Vec::new();
        for (key, ct) in pending {
            let ev = age::decrypt(&identity, &ct).ok().and_then(|pt| serde_json::from_slice::<PendingEvent>(&pt).ok());
            let event = match ev {
                Some(ev) => AuditEvent {
                    action: ev.action,
                    objects: vec![AuditObject::new("vault", None, self.vault_id())],
                    outcome: ev.outcome,
                    detail: Some(ev.detail),
                    time: Some(ev.time),
                    user: Some(ev.user),
                },
                // Someone with write access planted or damaged it: record that instead.
                None => AuditEvent {
                    action: "vault.inbox".into(),
                    objects: vec![AuditObject::new("vault", None, self.vault_id())],
                    outcome: Outcome::Failure,
                    detail: Some("an unreadable locked-vault event was discarded".into()),
                    time: None,
                    user: None,
                },
            };
            events.push(event);
            ops.push(Op::Delete(TreeName::Meta, key));
        }
        events.sort_by_key(|e| e.time);
        self.commit(ops, events)
    }
}
