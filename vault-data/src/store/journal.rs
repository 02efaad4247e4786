//! The snapshot journal: what changed since the last full snapshot, so a write costs what it
//! changes instead of a rewrite of the whole vault.
//!
//! `vault.journal` belongs to one full snapshot (its header names the journal's random id). Each
//! commit appends a frame with the raw (still sealed) records it put or deleted and the audit
//! head it reached; frames are chained with HMAC-SHA256 under the snapshot subkey, so a frame
//! cannot be changed, dropped from the middle or moved to another journal. A frame cut short by a
//! crash ends the journal; the next writer truncates it there. The journal is fsynced when the
//! vault checkpoints (lock, close, bulk operations), the same moments the full snapshot used to be
//! written; when it grows past a quarter of the snapshot, the next checkpoint writes a new full
//! snapshot and starts an empty journal.
//!
//! Layout: `KLJRNL01` ‖ journal id (16 bytes) ‖ frames; a frame is u32 length ‖ postcard body ‖
//! MAC = HMAC(previous MAC ‖ length ‖ body), the first previous MAC being HMAC(magic ‖ id).

use std::fs::{File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::crypto::keys::SubKey;
use crate::error::{Error, Result};
use crate::fs as durable;
use crate::store::snapshot::Entry;
use crate::store::{Op, TreeName};

const MAGIC: &[u8; 8] = b"KLJRNL01";
/// The journal of the current snapshot.
pub(crate) const CURRENT: &str = "vault.journal";
/// The journal of the previous snapshot generation.
pub(crate) const PREVIOUS: &str = "vault.journal.prev";
const MAX_FRAME: usize = 512 * 1024 * 1024;

/// A journal's id: random, named by the snapshot it belongs to.
pub(crate) type JournalId = [u8; 16];

#[derive(Serialize, Deserialize)]
struct Frame {
    audit_seq: u64,
    audit_hash: String,
    ops: Vec<FrameOp>,
}

#[derive(Serialize, Deserialize)]
struct FrameOp {
    tree: TreeName,
    #[serde(with = "serde_bytes")]
    key: Vec<u8>,
    value: Option<serde_bytes::ByteBuf>,
}

fn mac(key: &SubKey, parts: &[&[u8]]) -> [u8; 32] {
    let mut m = match <Hmac<Sha256> as Mac>::new_from_slice(&key.0) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    for p in parts {
        m.update(p);
    }
    m.finalize().into_bytes().into()
}

/// What a journal says once its frames are checked.
pub(crate) struct Replay {
    /// Raw record changes, oldest first.
    ops: Vec<FrameOp>,
    /// The audit head after the last valid frame (None: no frame).
    pub head: Option<(u64, String)>,
    /// Bytes of the file up to the end of the last valid frame.
    valid_len: u64,
    /// The MAC of the last valid frame (what the next frame chains to).
    last_mac: [u8; 32],
    /// Whether something after the valid frames was cut off or damaged.
    pub damaged_tail: bool,
}

impl Replay {
    /// Applies the journal's changes to a snapshot's entries.
    pub(crate) fn apply(&self, entries: Vec<Entry>) -> Vec<Entry> {
        let mut map: std::collections::BTreeMap<(TreeName, Vec<u8>), Vec<u8>> =
            entries.into_iter().map(|e| ((e.tree, e.key), e.value)).collect();
        for op in &self.ops {
            match &op.value {
                Some(v) => map.insert((op.tree, op.key.clone()), v.to_vec()),
                None => map.remove(&(op.tree, op.key.clone())),
            };
        }
        map.into_iter().map(|((tree, key), value)| Entry { tree, key, value }).collect()
    }
}

/// Reads and checks the journal at `path` for the snapshot naming `id`. `Ok(None)` when there is
/// no journal or it belongs to another snapshot (then the snapshot alone is complete).
pub(crate) fn read(path: &Path, id: &JournalId, key: &SubKey) -> Result<Option<Replay>> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { action: "cannot read", path: path.to_path_buf(), source: e }),
    };
    if bytes.len() < 24 || &bytes[..8] != MAGIC || bytes[8..24] != id[..] {
        return Ok(None);
    }
    let mut last_mac = mac(key, &[MAGIC, id]);
    let mut at = 24usize;
    let mut ops = Vec::new();
    let mut head = None;
    let mut damaged_tail = false;
    while at < bytes.len() {
        let Some(len_bytes) = bytes.get(at..at + 4) else {
            damaged_tail = true;
            break;
        };
        let len = u32::from_be_bytes([len_bytes[0], len_bytes[1], len_bytes[2], len_bytes[3]]) as usize;
        let end = at + 4 + len;
        let Some(body) = bytes.get(at + 4..end).filter(|_| len <= MAX_FRAME) else {
            damaged_tail = true;
            break;
        };
        let Some(tag) = bytes.get(end..end + 32) else {
            damaged_tail = true;
            break;
        };
        let expect = mac(key, &[&last_mac, len_bytes, body]);
        if !bool::from(subtle::ConstantTimeEq::ct_eq(&expect[..], tag)) {
            damaged_tail = true;
            break;
        }
        let Ok(frame) = postcard::from_bytes::<Frame>(body) else {
            damaged_tail = true;
            break;
        };
        head = Some((frame.audit_seq, frame.audit_hash));
        ops.extend(frame.ops);
        last_mac = expect;
        at = end + 32;
    }
    Ok(Some(Replay { ops, head, valid_len: at as u64, last_mac, damaged_tail }))
}

/// Appends frames to the current journal.
pub(crate) struct Writer {
    file: File,
    path: PathBuf,
    last_mac: [u8; 32],
    len: u64,
}

impl Writer {
    /// Starts an empty journal with `id` (replacing any other), durably.
    pub(crate) fn create(dir: &Path, id: &JournalId, key: &SubKey) -> Result<Writer> {
        let path = dir.join(CURRENT);
        let mut start = MAGIC.to_vec();
        start.extend_from_slice(id);
        durable::write_atomic(&path, &start)?;
        let file = OpenOptions::new().append(true).mode(0o600).open(&path).map_err(Error::io("cannot open", &path))?;
        Ok(Writer { file, path, last_mac: mac(key, &[MAGIC, id]), len: start.len() as u64 })
    }

    /// Continues the journal of the snapshot naming `id`, cutting off a torn or damaged tail;
    /// also returns the audit head its last frame reached. `Ok(None)` when there is no journal
    /// for it.
    #[allow(clippy::type_complexity)]
    pub(crate) fn resume(dir: &Path, id: &JournalId, key: &SubKey) -> Result<Option<(Writer, Option<(u64, String)>)>> {
        let path = dir.join(CURRENT);
        let Some(replay) = read(&path, id, key)? else { return Ok(None) };
        let mut file = OpenOptions::new().write(true).open(&path).map_err(Error::io("cannot open", &path))?;
        if replay.damaged_tail {
            file.set_len(replay.valid_len).map_err(Error::io("cannot truncate", &path))?;
        }
        file.seek(SeekFrom::Start(replay.valid_len)).map_err(Error::io("cannot seek", &path))?;
        Ok(Some((Writer { file, path, last_mac: replay.last_mac, len: replay.valid_len }, replay.head)))
    }

    /// Appends the raw changes of one commit (not yet fsynced: see [`Writer::sync`]).
    pub(crate) fn append(&mut self, key: &SubKey, ops: &[Op], audit_seq: u64, audit_hash: &str) -> Result<()> {
        let frame = Frame {
            audit_seq,
            audit_hash: audit_hash.to_string(),
            ops: ops
                .iter()
                .map(|op| match op {
                    Op::Put(t, k, v) => {
                        FrameOp { tree: *t, key: k.clone(), value: Some(serde_bytes::ByteBuf::from(v.clone())) }
                    }
                    Op::Delete(t, k) => FrameOp { tree: *t, key: k.clone(), value: None },
                })
                .collect(),
        };
        let body = postcard::to_stdvec(&frame).map_err(|e| Error::Storage(format!("cannot encode journal: {e}")))?;
        let len = (body.len() as u32).to_be_bytes();
        let tag = mac(key, &[&self.last_mac, &len, &body]);
        let mut out = Vec::with_capacity(4 + body.len() + 32);
        out.extend_from_slice(&len);
        out.extend_from_slice(&body);
        out.extend_from_slice(&tag);
        self.file.write_all(&out).map_err(Error::io("cannot write", &self.path))?;
        self.last_mac = tag;
        self.len += out.len() as u64;
        Ok(())
    }

    /// Makes every appended frame durable.
    pub(crate) fn sync(&mut self) -> Result<()> {
        self.file.sync_data().map_err(Error::io("cannot sync", &self.path))
    }

    /// Bytes in the journal.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }
}

/// Keeps the current journal as the previous generation's (a hard link, like the snapshot's).
pub(crate) fn keep_as_previous(dir: &Path) -> Result<()> {
    let current = dir.join(CURRENT);
    let prev = dir.join(PREVIOUS);
    if !current.exists() {
        let _ = std::fs::remove_file(&prev);
        return Ok(());
    }
    durable::keep_as_previous(&current, &prev)
}
