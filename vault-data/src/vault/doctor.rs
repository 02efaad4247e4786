//! `doctor`: check every record, the audit chain and the snapshot; restore from the newest good
//! snapshot when the database is damaged or gone.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::chain::{self, HEAD_KEY};
use crate::audit::AuditEvent;
use crate::audit::AuditReport;
use crate::crypto::keys::{VaultId, VaultKeys, VAULT_ID_LEN};
use crate::crypto::seal::{self, Location};
use crate::crypto::slots::{SlotKind, SlotRecord};
use crate::error::{Error, Result};
use crate::model::ObjectRecord;
use crate::store::lockfile::LockFile;
use crate::store::record_set::RecordSet;
use crate::store::snapshot::{self, Entry, Snapshot};
use crate::store::{guard, journal, slots_file, Store, TreeName, DB_DIR};
use crate::vault::unlock::{kind_of, open_slots, Unlock};
use crate::vault::{migrate, Vault, META_SIGNING_KEY, META_VAULT_ID};

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
    /// The anti-rollback checks (record set, anchor).
    pub rollback: super::RollbackCheck,
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
        let (mut checked, damaged) = check_records(&self.store, keys, &self.vault_id)?;
        let audit_records = self.store.scan(TreeName::Audit)?;
        checked += audit_records.len();
        let head = self.load_head(keys)?;
        let audit = chain::verify(keys, &self.vault_id, &head, &audit_records);
        let snapshot = self.check_snapshot(keys, head.seq)?;
        let rollback = self.rollback_check(keys, &head)?;
        let ok = damaged.is_empty() && audit.ok && snapshot.authentic && snapshot.differences == 0 && rollback.ok;
        Ok(DoctorReport { ok, records_checked: checked, damaged, audit, snapshot, rollback })
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
        let (entries, seq) = with_journal(&snap, &self.store.dir().join(journal::CURRENT), keys)?;
        check.audit_seq = Some(seq);
        let snap_entries: BTreeSet<Entry> = entries.into_iter().collect();
        let db_entries: BTreeSet<Entry> = self.store.dump()?.into_iter().collect();
        check.differences = snap_entries.symmetric_difference(&db_entries).count();
        check.verdict = if check.differences == 0 {
            "database and snapshot agree".into()
        } else if seq < db_seq {
            // Expected while the vault is open with unsaved changes: the snapshot is refreshed on close.
            check.differences = 0;
            format!("snapshot reflects audit entry #{seq}; the database has moved on to #{db_seq}")
        } else {
            format!("database and snapshot differ in {} records at the same audit entry", check.differences)
        };
        Ok(check)
    }

    /// Unlocks without loading the index, so `doctor` can inspect a vault whose records are damaged.
    pub fn unlock_keys_only(&mut self, method: Unlock) -> Result<()> {
        let slots = self.slots()?;
        let sealed = self.store.get(TreeName::Meta, META_SIGNING_KEY)?;
        let keys = open_slots(&slots, &method, &self.vault_id())?
            .into_iter()
            .map(|vk| VaultKeys::derive(vk, &self.vault_id))
            .find(|k| match &sealed {
                Some(s) => {
                    seal::open(&k.meta, &self.vault_id, Location { tree: "meta", key: META_SIGNING_KEY }, s).is_ok()
                }
                None => true,
            })
            .ok_or(Error::WrongKey)?;
        let head = self.load_head(&keys)?;
        self.unlocked =
            Some(super::Unlocked { keys, index: super::index::Index::default(), head, unlocked_by: kind_of(&method) });
        Ok(())
    }
}

/// A snapshot's entries with its journal applied, and the audit entry they reach. A journal cut
/// short or damaged counts up to its last good frame.
fn with_journal(snap: &Snapshot, journal_path: &Path, keys: &VaultKeys) -> Result<(Vec<Entry>, u64)> {
    let entries = snap.entries()?;
    let Some(id) = snap.header.journal_id() else { return Ok((entries, snap.header.audit_seq)) };
    match journal::read(journal_path, &id, &keys.snapshot)? {
        Some(replay) => {
            let seq = replay.head.as_ref().map_or(snap.header.audit_seq, |h| h.0);
            Ok((replay.apply(entries), seq))
        }
        None => Ok((entries, snap.header.audit_seq)),
    }
}

/// Opens every object and payload record (and checks each credential version's payload is
/// there). Returns how many records were checked and what is damaged.
pub(crate) fn check_records(store: &Store, keys: &VaultKeys, vault_id: &VaultId) -> Result<(usize, Vec<String>)> {
    let mut damaged = Vec::new();
    let mut checked = 0usize;
    let mut payload_refs = Vec::new();
    for (tree, name, key) in
        [(TreeName::Objects, "objects", &keys.objects), (TreeName::Payloads, "payloads", &keys.payloads)]
    {
        for (k, v) in store.scan(tree)? {
            checked += 1;
            match seal::open(key, vault_id, Location { tree: name, key: &k }, &v) {
                Ok(pt) if tree == TreeName::Objects => match ObjectRecord::decode(&pt).ok_or(()) {
                    Ok(ObjectRecord::Credential(c)) => payload_refs.extend(
                        c.versions.iter().map(|v| (v.payload_id, format!("secret {} version {}", c.name, v.version))),
                    ),
                    Ok(_) => {}
                    Err(_) => damaged.push(format!("record {} in tree 'objects' cannot be decoded", hex::encode(&k))),
                },
                Ok(_) => {}
                Err(e) => damaged.push(e.to_string()),
            }
        }
    }
    for (id, what) in payload_refs {
        if store.get(TreeName::Payloads, id.as_bytes())?.is_none() {
            damaged.push(format!("payload record {id} ({what}) is missing"));
        }
    }
    Ok((checked, damaged))
}

/// Whether the database at `dir` opens, every record, the audit chain and the head authenticate
/// under `keys`, the records are the set the head seals, and it is not behind `snapshot_seq`.
fn database_is_healthy(store: &Store, keys: &VaultKeys, vault_id: &VaultId, snapshot_seq: u64) -> bool {
    let check = || -> Result<bool> {
        let (_, damaged) = check_records(store, keys, vault_id)?;
        let sealed = store.get(TreeName::Meta, HEAD_KEY)?.ok_or_else(|| Error::Integrity("no head".into()))?;
        let head = chain::open_head(keys, vault_id, &sealed)?;
        let audit = chain::verify(keys, vault_id, &head, &store.scan(TreeName::Audit)?);
        let set_ok = match &head.set {
            Some(hex) => RecordSet::from_hex(hex)?.same(&RecordSet::of_store(&keys.record_set, store)?),
            None => true,
        };
        Ok(damaged.is_empty() && audit.ok && set_ok && head.seq >= snapshot_seq)
    };
    check().unwrap_or(false)
}

/// Rebuilds the database of the vault at `dir` from its newest snapshot that `method` opens and
/// that authenticates. The damaged database is moved aside, never deleted. This is an explicit
/// rollback, so it needs a real factor (the passphrase or the recovery key), refuses a healthy
/// vault unless `force`, and is audited in the restored vault.
///
/// The slots come from `vault.slots` when it is there and readable, so a snapshot can only be
/// opened with today's factors; only when that file is lost does the snapshot's own (MACed)
/// copy of the slots serve, and it is written back.
pub fn restore(dir: &Path, method: Unlock, force: bool) -> Result<RestoreReport> {
    restore_wait(dir, method, force, std::time::Duration::ZERO)
}

/// Like [`restore`], waiting up to `wait` for another process (an agent that is just locking) to
/// close the vault.
pub fn restore_wait(dir: &Path, method: Unlock, force: bool, wait: std::time::Duration) -> Result<RestoreReport> {
    if !method.is_real_factor() {
        return Err(Error::NeedsRealFactor("restoring from a snapshot".into()));
    }
    if !dir.join(snapshot::CURRENT).exists() && !dir.join(snapshot::PREVIOUS).exists() {
        return Err(Error::NotFound(dir.to_path_buf()));
    }
    let mut lock = LockFile::acquire_wait(dir, wait)?;
    let mut last_err = Error::Integrity("no usable snapshot was found".into());
    let mut chosen: Option<Chosen> = None;
    for (file, jfile, generation) in
        [(snapshot::CURRENT, journal::CURRENT, "current"), (snapshot::PREVIOUS, journal::PREVIOUS, "previous")]
    {
        let snap = match snapshot::read(&dir.join(file)) {
            Ok(Some(s)) => s,
            Ok(None) => continue,
            Err(e) => {
                last_err = e;
                continue;
            }
        };
        let opened = open_snapshot(dir, &snap, &method).and_then(|(_, keys, vault_id, slots, slots_file_ok)| {
            let (entries, seq) = with_journal(&snap, &dir.join(jfile), &keys)?;
            Ok((entries, seq, keys, vault_id, slots, slots_file_ok))
        });
        match opened {
            Ok((entries, seq, keys, vault_id, slots, slots_file_ok)) => {
                chosen = Some(Chosen { snap, entries, seq, keys, vault_id, slots, slots_file_ok, generation });
                break;
            }
            Err(e) => last_err = e,
        }
    }
    let Some(Chosen { snap, entries, seq, keys, vault_id, slots, slots_file_ok, generation }) = chosen else {
        return Err(last_err);
    };

    let db_dir = dir.join(DB_DIR);
    if db_dir.exists() {
        let mut healthy = false;
        match Store::open_locked(dir, lock) {
            Ok(store) => {
                // Where the database can tell, the snapshot's key must be the vault's current
                // key: a snapshot from before a rekey must not roll the key (and the factors
                // that rekey revoked) back.
                if let Ok(Some(sealed)) = store.get(TreeName::Meta, META_SIGNING_KEY) {
                    let loc = Location { tree: "meta", key: META_SIGNING_KEY };
                    if seal::open(&keys.meta, &vault_id, loc, &sealed).is_err() {
                        return Err(Error::Integrity(format!(
                            "the {generation} snapshot holds another vault key than the database (from before a \
                             rekey?); restoring it would bring back what the rekey revoked"
                        )));
                    }
                }
                healthy = database_is_healthy(&store, &keys, &vault_id, seq);
                lock = store.into_lock();
            }
            Err(_) => lock = LockFile::acquire(dir)?,
        }
        if healthy && slots_file_ok && !force {
            return Err(Error::NeedsForce {
                refusal: "nothing is damaged: the database opens and every record and the audit chain authenticate"
                    .into(),
                anyway: "restoring anyway rolls the vault back to its snapshot".into(),
            });
        }
    }

    let (lost, lost_is_known) = if db_dir.exists() {
        match read_newer_entries(&db_dir, &keys, &vault_id, seq) {
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
    if !slots_file_ok {
        slots_file::write(dir, &hex::encode(vault_id), &slots)?;
    }
    let entries: Vec<Entry> = entries.into_iter().filter(|e| !migrate::is_legacy_slot(e)).collect();
    let store = Store::open_locked(dir, lock)?;
    store.load(&entries)?;
    let report = RestoreReport {
        snapshot: snap.path.clone(),
        generation: generation.to_string(),
        snapshot_created: snap.header.created,
        records: entries.len(),
        audit_seq: seq,
        damaged_copy,
        lost,
        lost_is_known,
    };
    audit_restore(store, keys, vault_id, kind_of(&method), &report)?;
    Ok(report)
}

struct Chosen {
    snap: Snapshot,
    entries: Vec<Entry>,
    /// The audit entry the snapshot and its journal reach.
    seq: u64,
    keys: VaultKeys,
    vault_id: VaultId,
    slots: Vec<SlotRecord>,
    slots_file_ok: bool,
    generation: &'static str,
}

type Opened = (Vec<Entry>, VaultKeys, VaultId, Vec<SlotRecord>, bool);

/// Opens one snapshot with `method`: slots from `vault.slots` when it is readable (today's
/// factors), else the snapshot's own; the key kept is the one the snapshot authenticates under.
fn open_snapshot(dir: &Path, snap: &Snapshot, method: &Unlock) -> Result<Opened> {
    let entries = snap.entries()?;
    let vault_id = entries
        .iter()
        .find(|e| e.tree == TreeName::Meta && e.key == META_VAULT_ID)
        .and_then(|e| <[u8; VAULT_ID_LEN]>::try_from(e.value.as_slice()).ok())
        .ok_or_else(|| Error::Integrity(format!("snapshot {} has no vault id", snap.path.display())))?;
    let id_hex = hex::encode(vault_id);
    // Today's slots when the file is there and sound. Only a lost or damaged file falls back to
    // the copy in the snapshot header (current as of the last slot change): a secret that simply
    // opens nothing in a sound file is wrong, whatever an older header says. A slot damaged inside
    // its ciphertext cannot be told from a wrong secret, so that one case tries the header too,
    // when it differs; the database check in `restore` still stops an older vault key.
    let header_slots = migrate::snapshot_slots(&snap.header, &entries)?;
    let from_file = match slots_file::read(dir, &id_hex) {
        Ok(Some(slots)) => match open_slots(&slots, method, &id_hex) {
            Ok(opened) if !opened.is_empty() => Some((slots, opened)),
            Ok(_) if slots_file::same(&slots, &header_slots) => return Err(Error::WrongKey),
            Ok(_) | Err(Error::Integrity(_) | Error::Damaged(_)) => None,
            Err(e) => return Err(e),
        },
        _ => None,
    };
    let (slots, opened, from_file) = match from_file {
        Some((slots, opened)) => (slots, opened, true),
        None => {
            let opened = open_slots(&header_slots, method, &id_hex)?;
            (header_slots, opened, false)
        }
    };
    if opened.is_empty() {
        return Err(Error::WrongKey);
    }
    let mut last = Error::WrongKey;
    for vk in opened {
        let keys = VaultKeys::derive(vk, &vault_id);
        match snap.verify(&keys.snapshot) {
            Ok(()) => return Ok((entries, keys, vault_id, slots, from_file)),
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Records the restore in the restored vault's audit chain (a rollback must leave a trace).
fn audit_restore(store: Store, keys: VaultKeys, vault_id: VaultId, kind: SlotKind, r: &RestoreReport) -> Result<()> {
    let sealed = store
        .get(TreeName::Meta, HEAD_KEY)?
        .ok_or_else(|| Error::Integrity("the restored vault has no audit head".into()))?;
    let head = chain::open_head(&keys, &vault_id, &sealed)?;
    let mut vault = Vault::handle(
        store,
        vault_id,
        Some(super::Unlocked { keys, index: super::index::Index::default(), head, unlocked_by: kind }),
    );
    let past_anchor = vault
        .unlocked()
        .ok()
        .and_then(|u| vault.anchored_beyond(&u.keys, r.audit_seq))
        .map(|seq| format!("; an explicit rollback past this machine's anchor at entry #{seq}"))
        .unwrap_or_default();
    let detail = format!(
        "restored from the {} snapshot (audit entry #{}, written {}); {} later operation(s) lost{}{past_anchor}",
        r.generation,
        r.audit_seq,
        r.snapshot_created,
        r.lost.len(),
        if r.lost_is_known { "" } else { " (the damaged database could not be read to list them)" }
    );
    let obj = vault.vault_object();
    vault.commit(vec![], vec![AuditEvent::success("vault.restore", vec![obj]).with_detail(detail)])?;
    vault.close()
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
    crate::fs::create_private_dir(&tmp)?;
    Ok(tmp)
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    crate::fs::create_private_dir(to)?;
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
