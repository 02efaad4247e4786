//! `doctor`: check every record, the audit chain and the snapshot; restore from the newest good
//! snapshot when the database is damaged or gone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::chain::{self, HEAD_KEY};
use crate::audit::AuditReport;
use crate::crypto::keys::{VaultId, VaultKeys, VAULT_ID_LEN};
use crate::crypto::seal::{self, Location};
use crate::crypto::slots::SlotRecord;
use crate::error::{Error, Result};
use crate::model::ObjectRecord;
use crate::store::lockfile::LockFile;
use crate::store::snapshot::{self, Entry, Snapshot};
use crate::store::{guard, Store, TreeName, DB_DIR};
use crate::vault::unlock::{kind_of, open_slots, Unlock};
use crate::vault::{Vault, META_VAULT_ID, SLOT_PREFIX};

/// What `doctor` found.
#[derive(Debug, Serialize)]
pub struct DoctorReport {
    /// True when nothing is wrong.
    pub ok: bool,
    /// Sealed records checked (objects, payloads, audit entries).
    pub records_checked: usize,
    /// Records that failed authentication or decoding, or are missing.
    pub damaged: Vec<String>,
    /// The audit chain.
    pub audit: AuditReport,
    /// The snapshot.
    pub snapshot: SnapshotCheck,
}

/// The snapshot part of a doctor report.
#[derive(Debug, Serialize)]
pub struct SnapshotCheck {
    /// A current snapshot exists.
    pub present: bool,
    /// It authenticates under this vault's key and its body is intact.
    pub authentic: bool,
    /// Audit entry it reflects.
    pub audit_seq: Option<u64>,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339::option")]
    pub created: Option<OffsetDateTime>,
    /// Records that differ between database and snapshot.
    pub differences: usize,
    /// A readable verdict.
    pub verdict: String,
}

/// What `doctor --restore` did.
#[derive(Debug, Serialize)]
pub struct RestoreReport {
    /// The snapshot file used.
    pub snapshot: PathBuf,
    /// "current" or "previous".
    pub generation: String,
    /// When it was written.
    #[serde(with = "time::serde::rfc3339")]
    pub snapshot_created: OffsetDateTime,
    /// Records restored.
    pub records: usize,
    /// Newest audit entry restored.
    pub audit_seq: u64,
    /// Where the damaged database was moved, if there was one.
    pub damaged_copy: Option<PathBuf>,
    /// Operations newer than the snapshot that are lost (from the damaged database's audit log).
    pub lost: Vec<String>,
    /// Whether `lost` is complete (false when the damaged database could not be read).
    pub lost_is_known: bool,
}

impl Vault {
    /// Checks every sealed record, the audit chain and the snapshot. The vault must be unlocked
    /// through [`Vault::unlock_keys_only`] or [`Vault::unlock`].
    pub fn doctor(&self) -> Result<DoctorReport> {
        let u = self.unlocked()?;
        let keys = &u.keys;
        let mut damaged = Vec::new();
        let mut checked = 0usize;
        let mut payload_refs = Vec::new();
        for (tree, name, key) in
            [(TreeName::Objects, "objects", &keys.objects), (TreeName::Payloads, "payloads", &keys.payloads)]
        {
            for (k, v) in self.store.scan(tree)? {
                checked += 1;
                match seal::open(key, &self.vault_id, Location { tree: name, key: &k }, &v) {
                    Ok(pt) if tree == TreeName::Objects => match ObjectRecord::decode(&pt).ok_or(()) {
                        Ok(ObjectRecord::Credential(c)) => payload_refs.extend(
                            c.versions
                                .iter()
                                .map(|v| (v.payload_id, format!("secret {} version {}", c.name, v.version))),
                        ),
                        Ok(_) => {}
                        Err(_) => {
                            damaged.push(format!("record {} in tree 'objects' cannot be decoded", hex::encode(&k)))
                        }
                    },
                    Ok(_) => {}
                    Err(e) => damaged.push(e.to_string()),
                }
            }
        }
        for (id, what) in payload_refs {
            if self.store.get(TreeName::Payloads, id.as_bytes())?.is_none() {
                damaged.push(format!("payload record {id} ({what}) is missing"));
            }
        }
        let audit_records = self.store.scan(TreeName::Audit)?;
        checked += audit_records.len();
        let head = self.load_head(keys)?;
        let audit = chain::verify(keys, &self.vault_id, &head, &audit_records);
        let snapshot = self.check_snapshot(keys, head.seq)?;
        let ok = damaged.is_empty() && audit.ok && snapshot.authentic && snapshot.differences == 0;
        Ok(DoctorReport { ok, records_checked: checked, damaged, audit, snapshot })
    }

    fn check_snapshot(&self, keys: &VaultKeys, db_seq: u64) -> Result<SnapshotCheck> {
        let snap = match snapshot::read(&self.store.dir().join(snapshot::CURRENT)) {
            Ok(Some(s)) => s,
            Ok(None) => {
                return Ok(SnapshotCheck {
                    present: false,
                    authentic: false,
                    audit_seq: None,
                    created: None,
                    differences: 0,
                    verdict: "no snapshot yet; one is written when the vault is closed".into(),
                })
            }
            Err(e) => {
                return Ok(SnapshotCheck {
                    present: true,
                    authentic: false,
                    audit_seq: None,
                    created: None,
                    differences: 0,
                    verdict: e.to_string(),
                })
            }
        };
        let mut check = SnapshotCheck {
            present: true,
            authentic: false,
            audit_seq: Some(snap.header.audit_seq),
            created: Some(snap.header.created),
            differences: 0,
            verdict: String::new(),
        };
        if let Err(e) = snap.verify(&keys.snapshot) {
            check.verdict = e.to_string();
            return Ok(check);
        }
        check.authentic = true;
        let snap_entries: BTreeSet<Entry> = snap.entries()?.into_iter().collect();
        let db_entries: BTreeSet<Entry> = self.store.dump()?.into_iter().collect();
        check.differences = snap_entries.symmetric_difference(&db_entries).count();
        check.verdict = if check.differences == 0 {
            "database and snapshot agree".into()
        } else if snap.header.audit_seq < db_seq {
            // Expected while the vault is open with unsaved changes: the snapshot is refreshed on close.
            check.differences = 0;
            format!("snapshot reflects audit entry #{}; the database has moved on to #{db_seq}", snap.header.audit_seq)
        } else {
            format!("database and snapshot differ in {} records at the same audit entry", check.differences)
        };
        Ok(check)
    }

    /// Unlocks without loading the index, so `doctor` can inspect a vault whose records are damaged.
    pub fn unlock_keys_only(&mut self, method: Unlock) -> Result<()> {
        let slots = self.slots()?;
        let keys = unlock_slots(&slots, &method, &self.vault_id)?;
        let head = self.load_head(&keys)?;
        self.unlocked =
            Some(super::Unlocked { keys, index: super::index::Index::default(), head, unlocked_by: kind_of(&method) });
        Ok(())
    }
}

/// Opens one of `slots` with `method` and derives the vault keys.
fn unlock_slots(slots: &[SlotRecord], method: &Unlock, vault_id: &VaultId) -> Result<VaultKeys> {
    let vk = open_slots(slots, method, &hex::encode(vault_id))?.ok_or(Error::WrongKey)?;
    Ok(VaultKeys::derive(vk, vault_id))
}

fn slots_in(entries: &[Entry]) -> Vec<SlotRecord> {
    entries
        .iter()
        .filter(|e| e.tree == TreeName::Meta && e.key.starts_with(SLOT_PREFIX))
        .filter_map(|e| serde_json::from_slice(&e.value).ok())
        .collect()
}

/// Rebuilds the database of the vault at `dir` from its newest snapshot that `method` opens and
/// that authenticates. The damaged database is moved aside, never deleted.
pub fn restore(dir: &Path, method: Unlock) -> Result<RestoreReport> {
    if !dir.join(snapshot::CURRENT).exists() && !dir.join(snapshot::PREVIOUS).exists() {
        return Err(Error::NotFound(dir.to_path_buf()));
    }
    let lock = LockFile::acquire(dir)?;
    let mut last_err = Error::Integrity("no usable snapshot was found".into());
    let mut chosen: Option<(Snapshot, Vec<Entry>, VaultKeys, VaultId, &str)> = None;
    for (file, generation) in [(snapshot::CURRENT, "current"), (snapshot::PREVIOUS, "previous")] {
        let snap = match snapshot::read(&dir.join(file)) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                last_err = e;
                continue;
            }
        };
        let attempt = (|| {
            let entries = snap.entries()?;
            let vault_id = entries
                .iter()
                .find(|e| e.tree == TreeName::Meta && e.key == META_VAULT_ID)
                .and_then(|e| <[u8; VAULT_ID_LEN]>::try_from(e.value.as_slice()).ok())
                .ok_or_else(|| Error::Integrity(format!("snapshot {} has no vault id", snap.path.display())))?;
            let keys = unlock_slots(&slots_in(&entries), &method, &vault_id)?;
            snap.verify(&keys.snapshot)?;
            Ok::<_, Error>((entries, keys, vault_id))
        })();
        match attempt {
            Ok((entries, keys, vault_id)) => {
                chosen = Some((snap, entries, keys, vault_id, generation));
                break;
            }
            Err(e) => last_err = e,
        }
    }
    let Some((snap, entries, keys, vault_id, generation)) = chosen else {
        return Err(last_err);
    };

    let db_dir = dir.join(DB_DIR);
    let (lost, lost_is_known) = if db_dir.exists() {
        match read_newer_entries(&db_dir, &keys, &vault_id, snap.header.audit_seq) {
            Ok(lost) => (lost, true),
            Err(_) => (Vec::new(), false),
        }
    } else {
        (Vec::new(), false)
    };
    let damaged_copy = if db_dir.exists() {
        let stamp = OffsetDateTime::now_utc().unix_timestamp();
        let aside = dir.join(format!("{DB_DIR}.damaged-{stamp}"));
        std::fs::rename(&db_dir, &aside).map_err(Error::io("cannot move aside", &db_dir))?;
        Some(aside)
    } else {
        None
    };
    let store = Store::open_locked(dir, lock)?;
    store.load(&entries)?;
    Ok(RestoreReport {
        snapshot: snap.path.clone(),
        generation: generation.to_string(),
        snapshot_created: snap.header.created,
        records: entries.len(),
        audit_seq: snap.header.audit_seq,
        damaged_copy,
        lost,
        lost_is_known,
    })
}

/// Reads audit entries newer than `after` from a (possibly damaged) database, on a copy so the
/// original stays as it was found.
fn read_newer_entries(db_dir: &Path, keys: &VaultKeys, vault_id: &VaultId, after: u64) -> Result<Vec<String>> {
    let tmp = tempdir_beside(db_dir)?;
    let copy = tmp.join("db");
    copy_dir(db_dir, &copy)?;
    let result = guard("reading the damaged database", || {
        let db = sled::Config::new().path(&copy).open().map_err(crate::store::sled_err)?;
        let audit = db.open_tree(TreeName::Audit.name()).map_err(crate::store::sled_err)?;
        let meta = db.open_tree(TreeName::Meta.name()).map_err(crate::store::sled_err)?;
        if let Some(h) = meta.get(HEAD_KEY).map_err(crate::store::sled_err)? {
            chain::open_head(keys, vault_id, &h)?;
        }
        let mut lost = Vec::new();
        for kv in audit.range(chain::seq_key(after + 1)..) {
            let (k, v) = kv.map_err(crate::store::sled_err)?;
            match chain::open_entry(keys, vault_id, &k, &v) {
                Ok((e, _)) => {
                    let names: Vec<_> = e.objects.iter().map(|o| o.name.as_str()).collect();
                    lost.push(format!("#{} {} {} {}", e.seq, e.time, e.action, names.join(", ")));
                }
                Err(err) => lost.push(err.to_string()),
            }
        }
        Ok(lost)
    });
    let _ = std::fs::remove_dir_all(&tmp);
    result
}

fn tempdir_beside(dir: &Path) -> Result<PathBuf> {
    let parent = dir.parent().unwrap_or(Path::new("."));
    let tmp = parent.join(format!(".doctor-{}", crate::ids::RecordId::random().short()));
    crate::store::durable::create_private_dir(&tmp)?;
    Ok(tmp)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    crate::store::durable::create_private_dir(to)?;
    for entry in std::fs::read_dir(from).map_err(Error::io("cannot read directory", from))? {
        let entry = entry.map_err(Error::io("cannot read directory", from))?;
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target).map_err(Error::io("cannot copy", entry.path()))?;
        }
    }
    Ok(())
}
