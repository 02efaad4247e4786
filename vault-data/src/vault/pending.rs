//! Events that happen while the vault is locked (failed unlocks).
//!
//! They cannot be sealed without the vault key, so each is age-encrypted to the vault's inbox
//! recipient (public, in `meta`); the inbox identity is sealed in `meta`. At the next unlock they
//! move into the audit chain. Because the recipient is public, anyone who can write the folder can
//! plant such an event, so what comes out of the inbox is never taken at its word: only the
//! actions in [`LOCKED_ACTIONS`] with their outcome pass, marked "recorded while locked (not
//! authenticated)"; anything else becomes a refusal entry; times are clamped between the last
//! authenticated entry and now; and events dropped because the inbox was full are counted in one
//! entry, so filling the inbox cannot silently push real failed unlocks out.

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
// The inbox's key layout lives in the store layer, which must leave these keys out of the
// anti-rollback record set without importing the vault layer.
use crate::store::inbox::{OVERFLOW_KEY, PENDING_PREFIX};
/// Past this many unread events, new ones are dropped (and counted) rather than letting a locked
/// vault grow.
const MAX_PENDING: usize = 1000;
/// What may be recorded while locked, with its outcome: a failed unlock. Nothing else is.
const LOCKED_ACTIONS: &[(&str, Outcome)] = &[("vault.unlock", Outcome::Failure)];

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
            let dropped = self.store.get(TreeName::Meta, OVERFLOW_KEY)?.map_or(0, |v| decode_count(&v));
            let next = dropped.saturating_add(1).to_be_bytes().to_vec();
            return self.store.commit(&[Op::Put(TreeName::Meta, OVERFLOW_KEY.to_vec(), next)]);
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

    /// Moves pending events into the audit chain (called right after unlock), checked as the
    /// module documentation says.
    pub(crate) fn drain_pending(&mut self) -> Result<()> {
        let pending = self.store.scan_prefix(TreeName::Meta, PENDING_PREFIX)?;
        let dropped = self.store.get(TreeName::Meta, OVERFLOW_KEY)?.map_or(0, |v| decode_count(&v));
        if pending.is_empty() && dropped == 0 {
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
        let now = OffsetDateTime::now_utc();
        let floor = self.last_audit_time()?.unwrap_or(OffsetDateTime::UNIX_EPOCH).min(now);
        let vault = || vec![AuditObject::new("vault", None, self.vault_id())];
        let refused = |detail: String| AuditEvent {
            action: "vault.inbox".into(),
            objects: vault(),
            outcome: Outcome::Failure,
            detail: Some(detail),
            time: None,
            user: None,
        };
        let mut events = Vec::new();
        let mut ops = Vec::new();
        for (key, ct) in pending {
            let ev = age::decrypt(&identity, &ct).ok().and_then(|pt| serde_json::from_slice::<PendingEvent>(&pt).ok());
            let event = match ev {
                Some(ev) if LOCKED_ACTIONS.iter().any(|(a, o)| *a == ev.action && *o == ev.outcome) => AuditEvent {
                    action: ev.action,
                    objects: vault(),
                    outcome: ev.outcome,
                    detail: Some(format!("recorded while locked (not authenticated): {}", short(&ev.detail))),
                    time: Some(ev.time.clamp(floor, now)),
                    user: Some(short(&ev.user)),
                },
                Some(ev) => refused(format!(
                    "a locked-time event claiming {:?} ({:?}) was refused: only failed unlocks are recorded while \
                     locked, and anyone who can write the vault folder can plant such events",
                    short(&ev.action),
                    ev.outcome
                )),
                // Someone with write access planted or damaged it: record that instead.
                None => refused("an unreadable locked-time event was discarded".into()),
            };
            events.push(event);
            ops.push(Op::Delete(TreeName::Meta, key));
        }
        events.sort_by_key(|e| e.time);
        if dropped > 0 {
            events.push(refused(format!(
                "{dropped} locked-time event(s) were dropped because the inbox was full ({MAX_PENDING} waiting)"
            )));
            ops.push(Op::Delete(TreeName::Meta, OVERFLOW_KEY.to_vec()));
        }
        self.commit(ops, events)
    }

    /// The time of the newest authenticated audit entry.
    fn last_audit_time(&self) -> Result<Option<OffsetDateTime>> {
        let u = self.unlocked()?;
        if u.head.seq == 0 {
            return Ok(None);
        }
        let key = crate::audit::chain::seq_key(u.head.seq);
        let Some(sealed) = self.store.get(TreeName::Audit, &key)? else { return Ok(None) };
        let (entry, _) = crate::audit::chain::open_entry(&u.keys, &self.vault_id, &key, &sealed)?;
        Ok(Some(entry.time))
    }
}

fn decode_count(v: &[u8]) -> u64 {
    <[u8; 8]>::try_from(v).map(u64::from_be_bytes).unwrap_or(u64::MAX)
}

/// Attacker-supplied text, cut to a length an audit line can carry.
fn short(s: &str) -> String {
    s.chars().take(200).collect()
}
