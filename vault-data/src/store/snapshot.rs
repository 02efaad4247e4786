//! The sealed snapshot: every raw tree of the vault in one file, authenticated under a vault
//! subkey, written atomically and kept with its previous generation.
//!
//! Layout: `KLSNAP01` ‖ u32 header length ‖ header (JSON) ‖ HMAC-SHA256(header) ‖ body (postcard).
//! The header names the audit head the snapshot reflects and the SHA-256 of the body, so opening a
//! vault can check "is the database at least as new as its snapshot?" by reading the header only.
//! Records inside are still sealed individually; the MAC makes the set of records authentic.

use std::fs;
use std::path::{Path, PathBuf};

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::crypto::keys::SubKey;
use crate::error::{Error, Result};
use crate::fs as durable;
use crate::store::TreeName;

const MAGIC: &[u8; 8] = b"KLSNAP01";
/// The newest snapshot.
pub(crate) const CURRENT: &str = "vault.snapshot";
/// The generation before it.
pub(crate) const PREVIOUS: &str = "vault.snapshot.prev";
const MAX_HEADER: usize = 64 * 1024;

/// One raw record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Entry {
    pub tree: TreeName,
    #[serde(with = "serde_bytes")]
    pub key: Vec<u8>,
    #[serde(with = "serde_bytes")]
    pub value: Vec<u8>,
}

/// What a snapshot says about itself (authenticated by the header MAC).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Header {
    pub vault_id: String,
    pub format_version: u32,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
    /// Sequence number of the newest audit entry inside.
    pub audit_seq: u64,
    /// Its chain hash (hex).
    pub audit_hash: String,
    pub records: u64,
    pub body_len: u64,
    pub body_sha256: String,
    /// The unlock slots current when this snapshot was written (authenticated with the header),
    /// so a lost or damaged `vault.slots` can be restored. `None` in snapshots made before slots
    /// moved out of the database: those still hold them as `meta` records.
    #[serde(default)]
    pub slots: Option<Vec<crate::crypto::slots::SlotRecord>>,
    /// The id of the journal that continues this snapshot (hex; see `journal`).
    #[serde(default)]
    pub journal_id: Option<String>,
}

impl Header {
    /// The journal id this snapshot names, if any.
    pub(crate) fn journal_id(&self) -> Option<super::journal::JournalId> {
        self.journal_id.as_deref().and_then(|h| hex::decode(h).ok()).and_then(|b| b.try_into().ok())
    }
}

/// A snapshot read from disk; not yet authenticated.
pub(crate) struct Snapshot {
    pub path: PathBuf,
    pub header: Header,
    header_bytes: Vec<u8>,
    mac: [u8; 32],
    body: Vec<u8>,
}

fn mac_of(key: &SubKey, header_bytes: &[u8]) -> [u8; 32] {
    let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&key.0) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts any key length"),
    };
    mac.update(header_bytes);
    mac.finalize().into_bytes().into()
}

/// Writes `entries` as the current snapshot; the former current one becomes the previous.
pub(crate) fn write(dir: &Path, key: &SubKey, mut header: Header, entries: &[Entry]) -> Result<()> {
    let body = postcard::to_stdvec(entries).map_err(|e| Error::Storage(format!("cannot encode snapshot: {e}")))?;
    header.records = entries.len() as u64;
    header.body_len = body.len() as u64;
    header.body_sha256 = hex::encode(Sha256::digest(&body));
    let header_bytes =
        serde_json::to_vec(&header).map_err(|e| Error::Storage(format!("cannot encode snapshot: {e}")))?;
    let mut out = Vec::with_capacity(8 + 4 + header_bytes.len() + 32 + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(header_bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(&header_bytes);
    out.extend_from_slice(&mac_of(key, &header_bytes));
    out.extend_from_slice(&body);

    let current = dir.join(CURRENT);
    if current.exists() {
        durable::keep_as_previous(&current, &dir.join(PREVIOUS))?;
    }
    durable::write_atomic(&current, &out)
}

fn parse_prefix(bytes: &[u8], path: &Path) -> Result<(Header, Vec<u8>, [u8; 32], usize)> {
    let bad = |why: &str| Error::Integrity(format!("snapshot {} is damaged: {why}", path.display()));
    if bytes.len() < 12 || &bytes[..8] != MAGIC {
        return Err(bad("not a Keyloom snapshot"));
    }
    let mut len = [0u8; 4];
    len.copy_from_slice(&bytes[8..12]);
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_HEADER || bytes.len() < 12 + len + 32 {
        return Err(bad("truncated header"));
    }
    let header_bytes = bytes[12..12 + len].to_vec();
    let header: Header = serde_json::from_slice(&header_bytes).map_err(|_| bad("unreadable header"))?;
    let mut mac = [0u8; 32];
    mac.copy_from_slice(&bytes[12 + len..12 + len + 32]);
    Ok((header, header_bytes, mac, 12 + len + 32))
}

/// Reads a whole snapshot file; `Ok(None)` if it does not exist.
pub(crate) fn read(path: &Path) -> Result<Option<Snapshot>> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { action: "cannot read", path: path.to_path_buf(), source: e }),
    };
    let (header, header_bytes, mac, body_at) = parse_prefix(&bytes, path)?;
    Ok(Some(Snapshot { path: path.to_path_buf(), header, header_bytes, mac, body: bytes[body_at..].to_vec() }))
}

impl Snapshot {
    /// Checks the header MAC (constant time) and the body hash.
    pub(crate) fn verify(&self, key: &SubKey) -> Result<()> {
        let bad = |why: &str| Error::Integrity(format!("snapshot {} {why}", self.path.display()));
        if !header_is_authentic(key, &self.header_bytes, &self.mac) {
            return Err(bad("failed authentication (wrong vault key, or tampered)"));
        }
        if self.body.len() as u64 != self.header.body_len
            || hex::encode(Sha256::digest(&self.body)) != self.header.body_sha256
        {
            return Err(bad("body is damaged (hash mismatch)"));
        }
        Ok(())
    }

    /// Decodes the records. Call `verify` first when the result is to be trusted.
    pub(crate) fn entries(&self) -> Result<Vec<Entry>> {
        postcard::from_bytes(&self.body)
            .map_err(|_| Error::Integrity(format!("snapshot {} body cannot be decoded", self.path.display())))
    }
}

/// A snapshot header with the bytes and MAC needed to authenticate it.
pub(crate) struct SignedHeader {
    pub header: Header,
    bytes: Vec<u8>,
    mac: [u8; 32],
}

impl SignedHeader {
    /// Checks the header MAC in constant time.
    pub(crate) fn is_authentic(&self, key: &SubKey) -> bool {
        header_is_authentic(key, &self.bytes, &self.mac)
    }
}

/// Reads only the header of the current snapshot (for the open-time freshness check).
pub(crate) fn read_header(dir: &Path) -> Result<Option<SignedHeader>> {
    read_header_at(&dir.join(CURRENT))
}

/// Reads only the header of the snapshot at `path`.
pub(crate) fn read_header_at(path: &Path) -> Result<Option<SignedHeader>> {
    use std::io::Read;
    let path = path.to_path_buf();
    let mut f = match fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::Io { action: "cannot read", path, source: e }),
    };
    let mut buf = Vec::new();
    f.by_ref().take((12 + MAX_HEADER + 32) as u64).read_to_end(&mut buf).map_err(Error::io("cannot read", &path))?;
    let (header, bytes, mac, _) = parse_prefix(&buf, &path)?;
    Ok(Some(SignedHeader { header, bytes, mac }))
}

fn header_is_authentic(key: &SubKey, header_bytes: &[u8], mac: &[u8; 32]) -> bool {
    bool::from(subtle::ConstantTimeEq::ct_eq(&mac_of(key, header_bytes)[..], &mac[..]))
}
