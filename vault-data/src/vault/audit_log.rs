//! Reading and verifying the audit log.

use crate::audit::chain;
use crate::audit::signed_head::{self, SignedHead};
use crate::audit::{AuditEntry, AuditReport};
use crate::error::{Error, Result};
use crate::store::TreeName;
use crate::vault::Vault;

impl Vault {
    /// Every audit entry, oldest first. Fails on the first damaged entry, naming it.
    pub fn audit_entries(&self) -> Result<Vec<AuditEntry>> {
        let u = self.unlocked()?;
        self.store
            .scan(TreeName::Audit)?
            .iter()
            .map(|(k, v)| chain::open_entry(&u.keys, &self.vault_id, k, v).map(|(e, _)| e))
            .collect()
    }

    /// Walks the hash chain from the first entry to the head and reports the first break.
    pub fn verify_audit(&self) -> Result<AuditReport> {
        let u = self.unlocked()?;
        let head = self.load_head(&u.keys)?;
        Ok(chain::verify(&u.keys, &self.vault_id, &head, &self.store.scan(TreeName::Audit)?))
    }

    /// The newest audit entry's sequence number and chain hash, signed with the vault's key, for
    /// an anchor kept outside the folder (see `audit::signed_head`).
    pub fn signed_audit_head(&self) -> Result<SignedHead> {
        let head = self.load_head(&self.unlocked()?.keys)?;
        Ok(signed_head::sign(&self.signing_key()?, &self.vault_id(), head.seq, &head.hash))
    }

    /// Checks an anchored head against this vault: signed by this vault's key, and the entry it
    /// names is still in the chain with the same hash (the history up to it was neither cut, nor
    /// rolled back to an older copy, nor rewritten). Says what is wrong as an integrity error.
    pub fn check_audit_head(&self, anchored: &SignedHead) -> Result<()> {
        let u = self.unlocked()?;
        if anchored.vault_id != self.vault_id() || !anchored.verifies_with(&self.signing_key()?.verifying_key()) {
            return Err(Error::Integrity(
                "the anchored head is not signed by this vault's key (another vault, or edited)".into(),
            ));
        }
        let head = self.load_head(&u.keys)?;
        if head.seq < anchored.seq {
            return Err(Error::Integrity(format!(
                "the audit log ends at entry #{} but the anchored head (signed {}) names #{}: the log was cut \
                 or the vault rolled back to an older copy",
                head.seq, anchored.signed_at, anchored.seq
            )));
        }
        let key = chain::seq_key(anchored.seq);
        let sealed = self.store.get(TreeName::Audit, &key)?.ok_or_else(|| {
            Error::Integrity(format!("audit entry #{} named by the anchored head is missing", anchored.seq))
        })?;
        let (_, hash) = chain::open_entry(&u.keys, &self.vault_id, &key, &sealed)?;
        if !bool::from(subtle::ConstantTimeEq::ct_eq(hash.as_bytes(), anchored.hash.as_bytes())) {
            return Err(Error::Integrity(format!(
                "audit entry #{} is not the one the anchored head names: history was rewritten",
                anchored.seq
            )));
        }
        let report = self.verify_audit()?;
        if !report.ok {
            return Err(Error::Integrity("the audit chain after the anchored head is broken (`audit verify`)".into()));
        }
        Ok(())
    }
}
