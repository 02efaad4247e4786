//! Anti-rollback at unlock: the records must match the sealed head's record set, and the head
//! must not be behind (or beside) the one anchored outside the folder.

use serde::Serialize;

use crate::audit::chain;
use crate::audit::{AuditEvent, AuditHead};
use crate::crypto::keys::VaultKeys;
use crate::error::{Error, Result};
use crate::store::record_set::RecordSet;
use crate::store::TreeName;
use crate::vault::anchor::{self, Read};
use crate::vault::{Unlock, Vault};

/// What the anti-rollback checks found, for `doctor`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RollbackCheck {
    /// True when the records match the sealed head and the head is not behind its anchor.
    pub ok: bool,
    /// About the record set (deleted, added or older records).
    pub records: String,
    /// About the anchor outside the folder.
    pub anchor: String,
}

/// The state of the anchor relative to a head.
pub(crate) enum AnchorState {
    /// The head is at or after the anchored entry, on the same history.
    Fine,
    /// No anchor (or an unreadable one): adopt the head, telling the user.
    Adopt(String),
    /// Behind, forked, or not under this key.
    Problem(Error),
    /// Anchoring is off (no home directory).
    Off,
}

impl Vault {
    /// Compares the records on disk with the head's record set. A head without one (older
    /// vaults) passes; the next commit adds it.
    pub(crate) fn check_record_set(&self, keys: &VaultKeys, head: &AuditHead) -> Result<Option<Error>> {
        let Some(sealed) = &head.set else { return Ok(None) };
        let expected = RecordSet::from_hex(sealed)?;
        let found = RecordSet::of_store(&keys.record_set, &self.store)?;
        if found.same(&expected) {
            return Ok(None);
        }
        // Name damaged records where there are some (a flipped byte is not a rollback).
        let (_, mut damaged) = super::doctor::check_records(&self.store, keys, &self.vault_id)?;
        let audit = chain::verify(keys, &self.vault_id, head, &self.store.scan(TreeName::Audit)?);
        if let Some(p) = audit.first_problem {
            damaged.push(format!("the audit chain breaks at entry #{}: {}", p.seq, p.problem));
        }
        if !damaged.is_empty() {
            return Ok(Some(Error::Damaged(damaged.join("; "))));
        }
        Ok(Some(Error::Damaged(format!(
            "the vault's records do not match its sealed head (audit entry #{}): a record was deleted, added, or \
             replaced with an older copy",
            head.seq
        ))))
    }

    /// Compares `head` with the anchor kept outside the folder.
    pub(crate) fn check_anchor(&self, keys: &VaultKeys, head: &AuditHead) -> Result<AnchorState> {
        let Some(file) = &self.anchor_file else { return Ok(AnchorState::Off) };
        let id = self.vault_id();
        let a = match anchor::read(file, &id) {
            Read::Missing => {
                return Ok(AnchorState::Adopt(format!(
                    "this machine had no anchor for this vault yet; it now anchors audit entry #{}",
                    head.seq
                )))
            }
            Read::Unreadable(why) => {
                return Ok(AnchorState::Adopt(format!(
                    "the anchor could not be read ({why}); it now anchors audit entry #{}",
                    head.seq
                )))
            }
            Read::Found(a) => a,
        };
        if !a.verifies(&keys.anchor) {
            return Ok(AnchorState::Problem(Error::Integrity(format!(
                "the anchor for this vault (entry #{}, written {}) was not made with this vault's key: the vault \
                 was rolled back to before a rekey, replaced by another vault with the same id, or the anchor \
                 was edited",
                a.seq, a.written
            ))));
        }
        if a.seq > head.seq {
            return Ok(AnchorState::Problem(Error::RolledBack {
                vault_seq: head.seq,
                anchor_seq: a.seq,
                anchored: a.written.to_string(),
            }));
        }
        let key = chain::seq_key(a.seq);
        let same = match self.store.get(TreeName::Audit, &key)? {
            Some(sealed) => chain::open_entry(keys, &self.vault_id, &key, &sealed)
                .map(|(_, hash)| bool::from(subtle::ConstantTimeEq::ct_eq(hash.as_bytes(), a.hash.as_bytes())))
                .unwrap_or(false),
            // Entry 0 is the genesis; nothing to compare.
            None => a.seq == 0,
        };
        if !same {
            return Ok(AnchorState::Problem(Error::Integrity(format!(
                "the vault's history forked from what this machine last saw: audit entry #{} is not the anchored \
                 one (written {}); another copy of the vault was changed and put here",
                a.seq, a.written
            ))));
        }
        Ok(AnchorState::Fine)
    }

    /// The anchor check, with the record-set check's outcome (`records`, from
    /// [`Vault::check_record_set`]), at unlock. Returns the problems found, or the first one as an
    /// error unless the caller accepts a rollback.
    pub(crate) fn check_freshness(
        &mut self,
        keys: &VaultKeys,
        head: &AuditHead,
        records: Option<Error>,
    ) -> Result<Vec<Error>> {
        let mut problems: Vec<Error> = records.into_iter().collect();
        match self.check_anchor(keys, head)? {
            AnchorState::Problem(e) => problems.push(e),
            AnchorState::Adopt(notice) => {
                if let Some(file) = &self.anchor_file {
                    match anchor::write(file, &keys.anchor, &self.vault_id(), head.seq, &head.hash) {
                        Ok(()) => self.notices.push(notice),
                        Err(e) => tracing::warn!(error = %e, "could not write the vault's anchor"),
                    }
                }
            }
            AnchorState::Fine | AnchorState::Off => {}
        }
        if !self.accept_rollback {
            if let Some(first) = problems.into_iter().next() {
                return Err(first);
            }
            return Ok(Vec::new());
        }
        Ok(problems)
    }

    /// Unlocks a vault that failed the anti-rollback checks, on purpose: after restoring an older
    /// copy of the folder, or to continue with what is there. Needs a real factor (`method`), and
    /// records in the audit chain what was accepted; the anchor then follows the vault's head.
    /// On a vault that passes the checks this is a plain unlock.
    pub fn unlock_accepting_rollback(&mut self, method: Unlock) -> Result<()> {
        if !method.is_real_factor() {
            return Err(Error::NeedsRealFactor("accepting a rolled-back vault".into()));
        }
        self.accept_rollback = true;
        let result = self.unlock(method);
        self.accept_rollback = false;
        result
    }

    /// After an unlock that accepted `problems`: the audit entry saying so (which also moves the
    /// anchor to the head).
    pub(crate) fn record_accepted_rollback(&mut self, problems: &[Error]) -> Result<()> {
        if problems.is_empty() {
            return Ok(());
        }
        let detail = problems.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ");
        let obj = self.vault_object();
        self.commit(
            vec![],
            vec![AuditEvent::success("vault.rollback_accepted", vec![obj]).with_detail(detail.clone())],
        )?;
        self.notices.push(format!("accepted and recorded in the audit log: {detail}"));
        Ok(())
    }

    /// The anchored entry, when this machine has seen the vault further than `seq` (for the
    /// audit entry of a restore, which is an explicit rollback).
    pub(crate) fn anchored_beyond(&self, keys: &VaultKeys, seq: u64) -> Option<u64> {
        match anchor::read(self.anchor_file.as_deref()?, &self.vault_id()) {
            Read::Found(a) if a.verifies(&keys.anchor) && a.seq > seq => Some(a.seq),
            _ => None,
        }
    }

    /// The checks as `doctor` reports them (nothing is written).
    pub(crate) fn rollback_check(&self, keys: &VaultKeys, head: &AuditHead) -> Result<RollbackCheck> {
        let (records_ok, records) = match self.check_record_set(keys, head)? {
            None if head.set.is_none() => {
                (true, "this vault's head has no record set yet; the next change adds one".to_string())
            }
            None => (true, "every record matches the sealed head".to_string()),
            Some(e) => (false, e.to_string()),
        };
        let (anchor_ok, anchor) = match self.check_anchor(keys, head)? {
            AnchorState::Fine => (true, format!("the head (entry #{}) is at or after this machine's anchor", head.seq)),
            AnchorState::Adopt(n) => (true, n.replace("it now anchors", "the next unlock anchors")),
            AnchorState::Off => (true, "no anchor: this user has no config directory".to_string()),
            AnchorState::Problem(e) => (false, e.to_string()),
        };
        Ok(RollbackCheck { ok: records_ok && anchor_ok, records, anchor })
    }
}
