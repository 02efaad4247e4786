//! Opening vaults made before unlock slots moved out of the database.
//!
//! Those vaults kept their slots as `slot/<id>` records in sled's `meta` tree, session slots
//! included. Moving them means more than writing `vault.slots`: sled keeps old values in its log,
//! so the database is rebuilt from its live records without any slot, and nothing in `db/` opens
//! with a slot's secret afterwards. Session slots are dropped: sessions are gone (the agent holds
//! an unlocked vault instead), and a session token must not outlive the release that issued it.
//! The snapshots still carry the old slot records until the first unlock rewrites them (they are
//! authenticated under the vault key, which a locked open does not have); see
//! [`Vault::refresh_snapshot_slots`].

use serde_json::Value;

use crate::crypto::slots::SlotRecord;
use crate::error::{Error, Result};
use crate::store::snapshot::{self, Entry};
use crate::store::{slots_file, Store, TreeName};
use crate::vault::{Vault, LEGACY_SLOT_PREFIX};

/// Moves legacy slot records (if any) into `vault.slots`, dropping sessions, and rebuilds the
/// database without them. A no-op for current vaults.
pub(crate) fn move_slots_out_of_database(store: Store, vault_id_hex: &str) -> Result<Store> {
    let legacy = store.scan_prefix(TreeName::Meta, LEGACY_SLOT_PREFIX)?;
    if legacy.is_empty() {
        return Ok(store);
    }
    // A migration interrupted after writing the slots file (but before the rebuild finished)
    // already wrote the current slots; never replace them with the database's older copy.
    if !slots_file::exists(store.dir()) {
        let slots = legacy_slots(legacy.iter().map(|(k, v)| (k.as_slice(), v.as_slice())))?;
        if slots.is_empty() {
            return Err(Error::Integrity("the vault has no unlock slot other than sessions".into()));
        }
        slots_file::write(store.dir(), vault_id_hex, &slots)?;
    }
    let entries: Vec<Entry> = store.dump()?.into_iter().filter(|e| !is_legacy_slot(e)).collect();
    tracing::info!(slots = legacy.len(), "moving unlock slots out of the database");
    store.rebuild(&entries)
}

/// Whether a raw record is a slot kept the old way.
pub(crate) fn is_legacy_slot(e: &Entry) -> bool {
    e.tree == TreeName::Meta && e.key.starts_with(LEGACY_SLOT_PREFIX)
}

/// Parses legacy slot records, leaving out session slots.
pub(crate) fn legacy_slots<'a>(records: impl Iterator<Item = (&'a [u8], &'a [u8])>) -> Result<Vec<SlotRecord>> {
    let mut out = Vec::new();
    for (key, value) in records {
        let damaged = || Error::Integrity(format!("unlock slot record {} is damaged", String::from_utf8_lossy(key)));
        let v: Value = serde_json::from_slice(value).map_err(|_| damaged())?;
        if v.get("kind").and_then(Value::as_str) == Some("session") {
            continue;
        }
        out.push(serde_json::from_value(v).map_err(|_| damaged())?);
    }
    Ok(out)
}

/// The slots a snapshot carries: in its header, or (made before the slots file) as records.
pub(crate) fn snapshot_slots(header: &snapshot::Header, entries: &[Entry]) -> Result<Vec<SlotRecord>> {
    match &header.slots {
        Some(slots) => Ok(slots.clone()),
        None => legacy_slots(entries.iter().filter(|e| is_legacy_slot(e)).map(|e| (&e.key[..], &e.value[..]))),
    }
}

impl Vault {
    /// Rewrites both snapshot generations when either carries other slots than `vault.slots`
    /// (a vault from before the slots file, or a crash between the two writes of a slot change),
    /// so an old passphrase or session opens no snapshot. Called right after unlock.
    pub(crate) fn refresh_snapshot_slots(&mut self) -> Result<()> {
        let current = self.slots()?;
        let same = |theirs: &Option<Vec<SlotRecord>>| theirs.as_ref().is_some_and(|t| slots_file::same(t, &current));
        let mut stale = false;
        for name in [snapshot::CURRENT, snapshot::PREVIOUS] {
            match snapshot::read_header_at(&self.store.dir().join(name)) {
                Ok(Some(h)) => stale |= !same(&h.header.slots),
                Ok(None) => {}
                // A damaged snapshot is doctor's business; rewriting both replaces it anyway.
                Err(_) => stale = true,
            }
        }
        if stale {
            tracing::info!("rewriting the snapshots so they carry only the current unlock slots");
            self.write_snapshot()?;
            self.write_snapshot()?;
        }
        Ok(())
    }
}
