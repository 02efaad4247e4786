//! Reading and verifying the audit log.

use crate::audit::chain;
use crate::audit::{AuditEntry, AuditReport};
use crate::error::Result;
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
}
