//! The vault: opening, unlocking, locking, and the commit path every mutation goes through.
//! What a vault holds is reached through one handle per feature (`vault.services()`,
//! `vault.certs_mut()`, ...), each declared in that feature's file, so `Vault` itself stays the
//! vault's life cycle (create, open, unlock, lock, commit, audit) and the features stay apart.

/// Declares a feature's handle: a borrow of the vault, read-only (`Type<&Vault>`) or changing
/// (`Type<&mut Vault>`). Reading methods work through both; changing ones need `&mut`.
macro_rules! feature_handle {
    ($(#[$doc:meta])* $handle:ident, $read:ident) => {
        $(#[$doc])*
        pub struct $handle<V> {
            // Visible to the vault's feature files: one feature's operations may live in more
            // than one file (the export plan next to the writers, slots next to key changes).
            pub(super) vault: V,
        }

        impl Vault {
            #[doc = concat!("Reads through [`", stringify!($handle), "`].")]
            pub fn $read(&self) -> $handle<&Vault> {
                $handle { vault: self }
            }
        }
    };
    ($(#[$doc:meta])* $handle:ident, $read:ident, $write:ident) => {
        feature_handle!($(#[$doc])* $handle, $read);

        impl Vault {
            #[doc = concat!("Reads and changes through [`", stringify!($handle), "`].")]
            pub fn $write(&mut self) -> $handle<&mut Vault> {
                $handle { vault: self }
            }
        }
    };
}

mod anchor;
mod audit_log;
mod backup;
mod cas;
mod certs;
mod doctor;
mod export_ops;
mod export_plan;
mod graph_ops;
pub(crate) mod index;
mod intents;
mod issue_defaults;
mod key_admin;
mod linked_ca;
mod migrate;
mod name_problems;
pub(crate) mod pending;
mod pins;
mod remote_tls;
mod remotes;
mod rollback;
mod sealing;
mod secrets;
mod services;
mod slot_admin;
mod tokens;
mod trust;
mod unlock;

use std::path::{Path, PathBuf};

use serde::Serialize;
use time::OffsetDateTime;

use crate::audit::chain::{self, HEAD_KEY};
use crate::audit::{AuditEvent, AuditHead, AuditObject};
use crate::crypto::keys::{VaultId, VaultKey, VaultKeys, VAULT_ID_LEN};
use crate::crypto::passphrase::KdfCost;
use crate::crypto::seal::{self, Location};
use crate::crypto::slots::{self, SlotInfo, SlotKind, SlotRecord};
use crate::error::{Error, Result};
use crate::ids::RecordId;
use crate::model::ObjectRecord;
use crate::store::record_set::RecordSet;
use crate::store::slots_file;
use crate::store::{journal, snapshot};
use crate::store::{Op, Store, TreeName};
use crate::FORMAT_VERSION;

pub use backup::restore_backup;
pub use cas::{to_pem, CaRemoval, CaView};
pub use certs::{CertRemoval, CertView, IssueRequest, ServiceIdentity, VerifyReport, DEFAULT_LEAF_DAYS};
pub use doctor::{restore as doctor_restore, restore_wait, DoctorReport, RestoreReport, SnapshotCheck};
pub use export_ops::{
    BundlePreview, Destination, ExportOptions, ExportStage, ExportTarget, ExportView, Exported, PreviewFile,
};
pub use export_plan::{destination_for, ExportPlan, ExportRequest};
pub use index::Counts;
pub use intents::IntentView;
pub use issue_defaults::IssueDefaults;
pub use key_admin::RekeyReport;
pub use linked_ca::CaLink;
pub use name_problems::{NameFix, NameProblem};
pub use pins::{PinFormat, PinSet};
pub use remote_tls::TlsSynced;
pub use rollback::RollbackCheck;
pub use sealing::{MemberRemoval, MemberView, SealIdentity, SealedSpec};
pub use secrets::{NewSecret, SecretOptions, SecretPolicy, SecretSummary};
pub use services::{RevokedCert, ServiceRemoval};
pub use tokens::{parse_alg, GrantView, IssuerView, MintRequest, MintedToken, TokenKeyView, Tokens, MAX_MINT_TTL};
pub use trust::{Direction, TrustView};
pub use unlock::Unlock;

pub use cas::Authorities;
pub use certs::Certificates;
pub use export_ops::Exports;
pub use graph_ops::TrustGraph;
pub use intents::Intents;
pub use key_admin::Keys;
pub use remotes::{
    ConflictView, RemoteLogin, RemoteSpec, RemoteStatus, RemoteView, Remotes, ServiceSync, SyncFailure, SyncItem,
    SyncMode, SyncReport, Take,
};
pub use secrets::Secrets;
pub use services::Services;
pub use trust::TrustStores;

pub(crate) const META_FORMAT: &[u8] = b"format_version";
pub(crate) const META_VAULT_ID: &[u8] = b"vault_id";
pub(crate) const META_CREATED: &[u8] = b"created";
pub(crate) const META_SIGNING_KEY: &[u8] = b"signing_key";
/// Present (clear) in demo vaults, so every front end can label them.
pub(crate) const META_DEMO: &[u8] = b"demo";
/// Where vaults made before the slots file kept their unlock slots (migrated away at open).
pub(crate) const LEGACY_SLOT_PREFIX: &[u8] = b"slot/";

/// The recovery key printed once at creation. `Debug` hides it.
pub struct RecoveryKey(pub age::secrecy::SecretString);

impl std::fmt::Debug for RecoveryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryKey(..)")
    }
}

/// Public facts about a vault, for `status`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VaultStatus {
    /// The vault's random id (hex).
    pub vault_id: String,
    /// On-disk format version.
    pub format_version: u32,
    /// The vault directory.
    pub path: PathBuf,
    /// Whether this handle is unlocked.
    pub locked: bool,
    /// Unlock slots.
    pub slots: Vec<SlotInfo>,
    /// Record counts (known only when unlocked).
    pub counts: Option<Counts>,
    /// Audit entries recorded so far (known only when unlocked).
    #[cfg_attr(feature = "ts", ts(type = "number | null"))]
    pub audit_entries: Option<u64>,
    /// Whether this is a demo vault made by `keyloom demo`.
    pub demo: bool,
    /// Failed unlocks since the last successful one (readable while locked).
    pub failed_unlocks: crate::store::failures::FailedUnlocks,
}

struct Unlocked {
    keys: VaultKeys,
    index: index::Index,
    head: AuditHead,
    unlocked_by: SlotKind,
}

/// An open vault. Dropping it writes a snapshot if anything changed, then zeroizes its keys.
pub struct Vault {
    store: Store,
    vault_id: VaultId,
    actor: String,
    unlocked: Option<Unlocked>,
    /// Changes committed since the last checkpoint (journal synced or full snapshot written).
    dirty: bool,
    /// The journal continuing the current snapshot, while unlocked (None: the next checkpoint
    /// writes a full snapshot).
    journal: Option<journal::Writer>,
    /// Size of the current full snapshot, to decide when the journal has grown enough to fold.
    snapshot_len: u64,
    /// Failed unlocks counted before this handle's successful unlock (to tell the user).
    failed_before: crate::store::failures::FailedUnlocks,
    /// Trust-graph facts derived from the index (names, not secrets), dropped at lock.
    graph_cache: std::sync::Mutex<Option<graph_ops::GraphCache>>,
    /// Where the head is anchored outside the folder (None: no home directory, no anchoring).
    anchor_file: Option<PathBuf>,
    /// Things the last unlock wants the user told (an adopted anchor, an accepted rollback).
    notices: Vec<String>,
    /// Set only for the length of [`Vault::unlock_accepting_rollback`].
    accept_rollback: bool,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("path", &self.store.dir())
            .field("vault_id", &hex::encode(self.vault_id))
            .field("locked", &self.unlocked.is_none())
            .finish()
    }
}

/// Options for a new vault.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    /// Cost of the passphrase slot's key derivation.
    pub kdf: KdfCost,
    /// With a key file, the vault's daily slot is two-factor (passphrase AND this file) and
    /// there is no passphrase-only slot.
    pub key_file: Option<crate::crypto::slots::KeyFile>,
}

impl Vault {
    /// Creates a vault at `dir`, unlocked, and returns the recovery key to show the user once.
    pub fn create(
        dir: &Path,
        passphrase: &age::secrecy::SecretString,
        options: CreateOptions,
    ) -> Result<(Vault, RecoveryKey)> {
        let existed = dir.exists();
        if existed && !Store::exists(dir) {
            let mut entries = std::fs::read_dir(dir).map_err(Error::io("cannot read", dir))?;
            if entries.next().is_some() {
                return Err(Error::Invalid(format!(
                    "{} is not empty and holds no vault; choose an empty or new directory",
                    dir.display()
                )));
            }
        }
        let store = Store::open(dir, true)?;
        let mut vault_id = [0u8; VAULT_ID_LEN];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut vault_id);
        let result = Vault::initialise(store, vault_id, passphrase, options);
        if result.is_err() {
            // Nothing was acknowledged: leave no half-made vault behind, and never touch more
            // than this call created.
            if existed {
                let _ = std::fs::remove_dir_all(dir.join(crate::store::DB_DIR));
                for name in
                    [snapshot::CURRENT, snapshot::PREVIOUS, slots_file::SLOTS_FILE, crate::store::lockfile::LOCK_FILE]
                {
                    let _ = std::fs::remove_file(dir.join(name));
                }
            } else {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        result
    }

    fn initialise(
        store: Store,
        vault_id: VaultId,
        passphrase: &age::secrecy::SecretString,
        options: CreateOptions,
    ) -> Result<(Vault, RecoveryKey)> {
        let vk = VaultKey::generate();
        let keys = VaultKeys::derive(vk.clone(), &vault_id);
        let now = OffsetDateTime::now_utc();

        let pass_slot = match &options.key_file {
            Some(file) => slots::wrap_two_factor(&vk, passphrase, file, options.kdf)?,
            None => slots::wrap_passphrase(&vk, passphrase, options.kdf)?,
        };
        let first_kind = pass_slot.kind;
        let (recovery_identity, recovery_recipient) = slots::new_identity();
        let recovery_slot = slots::wrap_recipient(&vk, SlotKind::Recovery, &recovery_recipient, None)?;

        let signing = ed25519_dalek::SigningKey::generate(&mut rand::rngs::OsRng);
        let mut ops = vec![
            Op::Put(TreeName::Meta, META_FORMAT.to_vec(), FORMAT_VERSION.to_be_bytes().to_vec()),
            Op::Put(TreeName::Meta, META_VAULT_ID.to_vec(), vault_id.to_vec()),
            Op::Put(TreeName::Meta, META_CREATED.to_vec(), now.unix_timestamp().to_be_bytes().to_vec()),
            seal_meta(&keys, &vault_id, META_SIGNING_KEY, signing.as_bytes()),
        ];
        slots_file::write(store.dir(), &hex::encode(vault_id), &[pass_slot, recovery_slot])?;
        ops.extend(pending::init_ops(&keys, &vault_id)?);
        let mut vault = Vault::handle(
            store,
            vault_id,
            Some(Unlocked {
                keys,
                index: index::Index::default(),
                head: AuditHead::genesis(),
                unlocked_by: first_kind,
            }),
        );
        vault.commit(ops, vec![AuditEvent::success("vault.create", vec![vault.vault_object()])])?;
        vault.write_snapshot()?;
        Ok((vault, RecoveryKey(recovery_identity)))
    }

    /// A new vault at `dir` with a chosen id: what anyone can make, since the id is public. Only
    /// the attack tests use it (feature `forge`), to show a substitute is refused.
    #[cfg(feature = "forge")]
    pub(crate) fn create_with_id(
        dir: &Path,
        vault_id: VaultId,
        passphrase: &age::secrecy::SecretString,
    ) -> Result<Vault> {
        let store = Store::open(dir, true)?;
        Vault::initialise(store, vault_id, passphrase, CreateOptions { kdf: KdfCost::LogN(10), key_file: None })
            .map(|(v, _)| v)
    }

    /// Whether `dir` holds a vault.
    pub fn exists(dir: &Path) -> bool {
        Store::exists(dir)
    }

    /// Opens the vault at `dir`, locked. Fails at once if another process holds it.
    pub fn open(dir: &Path) -> Result<Vault> {
        Vault::open_wait(dir, std::time::Duration::ZERO)
    }

    /// Opens the vault at `dir`, locked, waiting up to `wait` for another process to close it.
    /// A vault made before slots moved out of the database is migrated here (see `migrate`).
    pub fn open_wait(dir: &Path, wait: std::time::Duration) -> Result<Vault> {
        let store = Store::open_wait(dir, false, wait)?;
        let format = store
            .get(TreeName::Meta, META_FORMAT)?
            .ok_or_else(|| Error::Integrity("the vault has no format version record".into()))?;
        let format = <[u8; 4]>::try_from(format.as_slice())
            .map(u32::from_be_bytes)
            .map_err(|_| Error::Integrity("the format version record is damaged".into()))?;
        if format != FORMAT_VERSION {
            return Err(Error::UnsupportedFormat { found: format, supported: FORMAT_VERSION });
        }
        let id = store
            .get(TreeName::Meta, META_VAULT_ID)?
            .ok_or_else(|| Error::Integrity("the vault has no id record".into()))?;
        let vault_id = <[u8; VAULT_ID_LEN]>::try_from(id.as_slice())
            .map_err(|_| Error::Integrity("the vault id record is damaged".into()))?;
        let store = migrate::move_slots_out_of_database(store, &hex::encode(vault_id))?;
        Ok(Vault::handle(store, vault_id, None))
    }

    /// A handle on an open store.
    fn handle(store: Store, vault_id: VaultId, unlocked: Option<Unlocked>) -> Vault {
        let anchor_file = anchor::file_for(&hex::encode(vault_id), store.dir());
        Vault {
            store,
            vault_id,
            actor: current_user(),
            unlocked,
            dirty: false,
            journal: None,
            snapshot_len: 0,
            failed_before: Default::default(),
            graph_cache: Default::default(),
            anchor_file,
            notices: Vec::new(),
            accept_rollback: false,
        }
    }

    /// What the last unlock asks to tell the user (e.g. "no anchor for this vault on this
    /// machine yet: adopted entry #12"). Front ends show these once.
    pub fn notices(&self) -> &[String] {
        &self.notices
    }

    /// The vault directory.
    pub fn path(&self) -> &Path {
        self.store.dir()
    }

    /// The vault id as hex.
    pub fn vault_id(&self) -> String {
        hex::encode(self.vault_id)
    }

    /// Whether this handle holds the vault key.
    pub fn is_unlocked(&self) -> bool {
        self.unlocked.is_some()
    }

    /// Failed unlocks (through any front end) between the previous successful unlock and this
    /// handle's; the counter is cleared by the unlock, so this is the one chance to say so.
    pub fn failed_unlocks_before(&self) -> crate::store::failures::FailedUnlocks {
        self.failed_before
    }

    /// Which kind of slot unlocked this handle.
    pub fn unlocked_by(&self) -> Option<SlotKind> {
        self.unlocked.as_ref().map(|u| u.unlocked_by)
    }

    /// Public facts, plus counts when unlocked.
    pub fn status(&self) -> Result<VaultStatus> {
        let slots = self.slots()?.iter().map(SlotInfo::from).collect();
        Ok(VaultStatus {
            vault_id: self.vault_id(),
            format_version: FORMAT_VERSION,
            path: self.path().to_path_buf(),
            locked: self.unlocked.is_none(),
            slots,
            counts: self.unlocked.as_ref().map(|u| u.index.counts()),
            audit_entries: self.unlocked.as_ref().map(|u| u.head.seq),
            demo: self.store.get(TreeName::Meta, META_DEMO)?.is_some(),
            failed_unlocks: crate::store::failures::read(self.store.dir()),
        })
    }

    /// Marks the vault as a demo (shown by `status` and the desktop app).
    pub(crate) fn mark_demo(&mut self) -> Result<()> {
        let obj = self.vault_object();
        self.commit(
            vec![Op::Put(TreeName::Meta, META_DEMO.to_vec(), b"1".to_vec())],
            vec![AuditEvent::success("vault.demo", vec![obj]).with_detail("filled with the demo estate")],
        )
    }

    /// Drops the vault key, every derived key and the decrypted index (all zeroized), after
    /// writing a snapshot if anything changed.
    pub fn lock(&mut self) -> Result<()> {
        let snap = if self.unlocked.is_some() { self.checkpoint() } else { Ok(()) };
        self.journal = None;
        self.unlocked = None;
        self.graph().clear_cache();
        snap
    }

    /// Locks and closes, reporting any error from the final snapshot.
    pub fn close(mut self) -> Result<()> {
        self.lock()
    }

    // ----- internals shared by the operation modules -----

    fn unlocked(&self) -> Result<&Unlocked> {
        self.unlocked.as_ref().ok_or(Error::Locked)
    }

    fn unlocked_mut(&mut self) -> Result<&mut Unlocked> {
        self.unlocked.as_mut().ok_or(Error::Locked)
    }

    fn slots(&self) -> Result<Vec<SlotRecord>> {
        slots_file::read(self.store.dir(), &self.vault_id())?.ok_or_else(|| {
            Error::Damaged(format!(
                "the unlock slots file {} is missing; the snapshot holds a copy of the slots",
                slots_file::path(self.store.dir()).display()
            ))
        })
    }

    /// Replaces the unlock slots: the slots file first, then both snapshot generations, so no
    /// file in the vault folder keeps a slot that was removed or replaced. Needs the vault
    /// unlocked (the snapshots are authenticated under its key).
    fn write_slots(&mut self, slots: &[SlotRecord]) -> Result<()> {
        self.unlocked()?;
        slots_file::write(self.store.dir(), &self.vault_id(), slots)?;
        self.write_snapshot()?;
        self.write_snapshot()
    }

    fn vault_object(&self) -> AuditObject {
        AuditObject::new("vault", None, self.vault_id())
    }

    /// Commits `ops` with audit entries for `events` in one transaction, then a durable flush.
    /// If the audit entries cannot be built or written, nothing is written (fail closed).
    fn commit(&mut self, mut ops: Vec<Op>, events: Vec<AuditEvent>) -> Result<()> {
        let u = self.unlocked.as_mut().ok_or(Error::Locked)?;
        let (audit_ops, mut head) = chain::append(&u.keys, &self.vault_id, &u.head, &self.actor, events)?;
        ops.extend(audit_ops);
        let before = match &u.head.set {
            Some(hex) => RecordSet::from_hex(hex)?,
            // A head from before record sets, or one a rekey reset: computed once, in full.
            None => RecordSet::of_store(&u.keys.record_set, &self.store)?,
        };
        head.set = Some(before.after(&u.keys.record_set, &self.store, &ops)?.to_hex());
        ops.push(chain::seal_head(&u.keys, &self.vault_id, &head)?);
        self.store.commit(&ops)?;
        // Durable; now the outside anchor follows (see `anchor` for why it is not fsynced).
        if let Some(file) = &self.anchor_file {
            if let Err(e) = anchor::write(file, &u.keys.anchor, &hex::encode(self.vault_id), head.seq, &head.hash) {
                tracing::warn!(error = %e, "could not update the vault's anchor");
            }
        }
        // The commit is durable; the journal only keeps the snapshot up to date. If it cannot be
        // written, the next checkpoint writes a full snapshot instead.
        if let Some(j) = self.journal.as_mut() {
            if let Err(e) = j.append(&u.keys.snapshot, &ops, head.seq, &head.hash) {
                tracing::warn!(error = %e, "could not append to the snapshot journal");
                self.journal = None;
            }
        }
        u.head = head;
        self.dirty = true;
        Ok(())
    }

    /// Brings the on-disk snapshot up to date with what was committed: fsyncs the journal, or
    /// writes a full snapshot when there is no journal or it has grown past a quarter of the
    /// snapshot (at least 1 MiB). Called at lock, close and after bulk operations.
    pub(crate) fn checkpoint(&mut self) -> Result<()> {
        if !self.dirty {
            return Ok(());
        }
        let limit = (self.snapshot_len / 4).max(1 << 20);
        match self.journal.as_mut() {
            Some(j) if j.len() <= limit => {
                j.sync()?;
                self.dirty = false;
                Ok(())
            }
            _ => self.write_snapshot(),
        }
    }

    /// Writes a full sealed snapshot of every tree now, and starts an empty journal after it. The
    /// previous snapshot and its journal become the previous generation.
    pub fn write_snapshot(&mut self) -> Result<()> {
        let mut journal_id = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut journal_id);
        self.journal = None;
        journal::keep_as_previous(self.store.dir())?;
        let u = self.unlocked()?;
        let entries = self.store.dump()?;
        let header = snapshot::Header {
            vault_id: self.vault_id(),
            format_version: FORMAT_VERSION,
            created: OffsetDateTime::now_utc(),
            audit_seq: u.head.seq,
            audit_hash: u.head.hash.clone(),
            records: 0,
            body_len: 0,
            body_sha256: String::new(),
            slots: Some(self.slots()?),
            journal_id: Some(hex::encode(journal_id)),
        };
        snapshot::write(self.store.dir(), &u.keys.snapshot, header, &entries)?;
        let writer = journal::Writer::create(self.store.dir(), &journal_id, &u.keys.snapshot)?;
        self.snapshot_len = std::fs::metadata(self.store.dir().join(snapshot::CURRENT)).map(|m| m.len()).unwrap_or(0);
        self.journal = Some(writer);
        self.dirty = false;
        Ok(())
    }

    fn seal_object(&self, id: RecordId, record: &ObjectRecord) -> Result<Op> {
        let u = self.unlocked()?;
        let pt = record.encode()?;
        let sealed = seal::seal(&u.keys.objects, &self.vault_id, Location { tree: "objects", key: id.as_bytes() }, &pt);
        Ok(Op::Put(TreeName::Objects, id.as_bytes().to_vec(), sealed))
    }

    fn seal_payload(&self, id: RecordId, value: &[u8]) -> Result<Op> {
        let u = self.unlocked()?;
        let sealed =
            seal::seal(&u.keys.payloads, &self.vault_id, Location { tree: "payloads", key: id.as_bytes() }, value);
        Ok(Op::Put(TreeName::Payloads, id.as_bytes().to_vec(), sealed))
    }

    /// The operation that deletes object record `id`: feature code names records, never trees.
    fn delete_object(id: RecordId) -> Op {
        Op::Delete(TreeName::Objects, id.as_bytes().to_vec())
    }

    /// The operation that deletes payload `id` (a secret value or a private key).
    fn delete_payload(id: RecordId) -> Op {
        Op::Delete(TreeName::Payloads, id.as_bytes().to_vec())
    }

    /// Every object record that opens under this vault's key, decoded (skipping any that does not:
    /// `doctor` reports those).
    fn readable_objects(&self) -> Result<Vec<ObjectRecord>> {
        let u = self.unlocked()?;
        let mut out = Vec::new();
        for (k, v) in self.store.scan(TreeName::Objects)? {
            let Ok(pt) = seal::open(&u.keys.objects, &self.vault_id, Location { tree: "objects", key: &k }, &v) else {
                continue;
            };
            out.extend(ObjectRecord::decode(&pt));
        }
        Ok(out)
    }

    /// A sealed record of the `meta` tree, opened.
    fn open_meta(&self, key: &[u8]) -> Result<Option<zeroize::Zeroizing<Vec<u8>>>> {
        let u = self.unlocked()?;
        let Some(sealed) = self.store.get(TreeName::Meta, key)? else { return Ok(None) };
        seal::open(&u.keys.meta, &self.vault_id, Location { tree: "meta", key }, &sealed).map(Some)
    }

    fn open_payload(&self, id: RecordId) -> Result<zeroize::Zeroizing<Vec<u8>>> {
        let u = self.unlocked()?;
        let sealed = self
            .store
            .get(TreeName::Payloads, id.as_bytes())?
            .ok_or_else(|| Error::Integrity(format!("payload record {id} is missing")))?;
        seal::open(&u.keys.payloads, &self.vault_id, Location { tree: "payloads", key: id.as_bytes() }, &sealed)
    }

    fn load_head(&self, keys: &VaultKeys) -> Result<AuditHead> {
        let sealed = self
            .store
            .get(TreeName::Meta, HEAD_KEY)?
            .ok_or_else(|| Error::Integrity("the audit head record is missing".into()))?;
        chain::open_head(keys, &self.vault_id, &sealed)
    }
}

impl Drop for Vault {
    fn drop(&mut self) {
        if let Err(e) = self.lock() {
            tracing::warn!(error = %e, "could not write the vault snapshot on close");
        }
    }
}

pub(crate) fn seal_meta(keys: &VaultKeys, vault_id: &VaultId, key: &[u8], value: &[u8]) -> Op {
    let sealed = seal::seal(&keys.meta, vault_id, Location { tree: "meta", key }, value);
    Op::Put(TreeName::Meta, key.to_vec(), sealed)
}

pub(crate) fn current_user() -> String {
    whoami::fallible::username().unwrap_or_else(|_| format!("uid:{}", rustix::process::getuid().as_raw()))
}
