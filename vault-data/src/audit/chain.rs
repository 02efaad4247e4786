//! Appending to and verifying the audit hash chain.

use serde::Serialize;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::audit::{AuditEntry, AuditEvent, AuditHead};
use crate::crypto::keys::{VaultId, VaultKeys};
use crate::crypto::seal::{self, Location};
use crate::error::{Error, Result};
use crate::store::{Op, TreeName};

/// Meta key of the sealed audit head.
pub(crate) const HEAD_KEY: &[u8] = b"audit_head";

pub(crate) fn seq_key(seq: u64) -> [u8; 8] {
    seq.to_be_bytes()
}

pub(crate) fn seal_head(keys: &VaultKeys, vault_id: &VaultId, head: &AuditHead) -> Result<Op> {
    let pt = serde_json::to_vec(head).map_err(|e| Error::Storage(format!("cannot encode audit head: {e}")))?;
    let sealed = seal::seal(&keys.meta, vault_id, Location { tree: "meta", key: HEAD_KEY }, &pt);
    Ok(Op::Put(TreeName::Meta, HEAD_KEY.to_vec(), sealed))
}

pub(crate) fn open_head(keys: &VaultKeys, vault_id: &VaultId, sealed: &[u8]) -> Result<AuditHead> {
    let pt = seal::open(&keys.meta, vault_id, Location { tree: "meta", key: HEAD_KEY }, sealed)?;
    serde_json::from_slice(&pt).map_err(|_| Error::Integrity("the audit head cannot be decoded".into()))
}

/// Builds the ops that append `events` after `head`; returns them with the new head, whose record
/// set is left for the caller to fill in and seal ([`seal_head`]) once every op is known.
pub(crate) fn append(
    keys: &VaultKeys,
    vault_id: &VaultId,
    head: &AuditHead,
    user: &str,
    events: Vec<AuditEvent>,
) -> Result<(Vec<Op>, AuditHead)> {
    let mut ops = Vec::with_capacity(events.len() + 1);
    let mut head = head.clone();
    for ev in events {
        let entry = AuditEntry {
            seq: head.seq + 1,
            time: ev.time.unwrap_or_else(OffsetDateTime::now_utc),
            user: ev.user.unwrap_or_else(|| user.to_string()),
            action: ev.action,
            objects: ev.objects,
            outcome: ev.outcome,
            detail: ev.detail,
            prev_hash: head.hash.clone(),
        };
        let pt = serde_json::to_vec(&entry).map_err(|e| Error::Storage(format!("cannot encode audit entry: {e}")))?;
        let key = seq_key(entry.seq);
        ops.push(Op::Put(
            TreeName::Audit,
            key.to_vec(),
            seal::seal(&keys.audit, vault_id, Location { tree: "audit", key: &key }, &pt),
        ));
        head = AuditHead { seq: entry.seq, hash: hex::encode(Sha256::digest(&pt)), set: None };
    }
    Ok((ops, head))
}

/// Opens one sealed entry, returning it and its chain hash.
pub(crate) fn open_entry(
    keys: &VaultKeys,
    vault_id: &VaultId,
    key: &[u8],
    sealed: &[u8],
) -> Result<(AuditEntry, String)> {
    let seq = key_seq(key);
    let pt = seal::open(&keys.audit, vault_id, Location { tree: "audit", key }, sealed)
        .map_err(|_| Error::Integrity(format!("audit entry #{seq} is damaged or was tampered with")))?;
    let entry: AuditEntry =
        serde_json::from_slice(&pt).map_err(|_| Error::Integrity(format!("audit entry #{seq} cannot be decoded")))?;
    Ok((entry, hex::encode(Sha256::digest(&pt))))
}

fn key_seq(key: &[u8]) -> u64 {
    <[u8; 8]>::try_from(key).map(u64::from_be_bytes).unwrap_or(0)
}

/// The first problem found in the chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditProblem {
    /// Sequence number where the chain breaks.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// What is wrong there.
    pub problem: String,
}

/// Result of `audit verify`.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AuditReport {
    /// True when every entry authenticates and the chain is whole up to the head.
    pub ok: bool,
    /// Entries checked.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub entries: u64,
    /// The head's sequence number.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub head_seq: u64,
    /// The first break, if any.
    pub first_problem: Option<AuditProblem>,
}

/// Walks the chain from entry 1 to the head.
pub(crate) fn verify(
    keys: &VaultKeys,
    vault_id: &VaultId,
    head: &AuditHead,
    records: &[(Vec<u8>, Vec<u8>)],
) -> AuditReport {
    let mut prev_hash = AuditHead::genesis().hash;
    let mut expected = 1u64;
    let fail = |seq: u64, problem: String, entries: u64| AuditReport {
        ok: false,
        entries,
        head_seq: head.seq,
        first_problem: Some(AuditProblem { seq, problem }),
    };
    for (key, sealed) in records {
        let seq = key_seq(key);
        if key.len() != 8 || seq < expected {
            return fail(expected, format!("unexpected audit record key {}", hex::encode(key)), expected - 1);
        }
        if seq > expected {
            return fail(expected, format!("entry #{expected} is missing"), expected - 1);
        }
        let (entry, hash) = match open_entry(keys, vault_id, key, sealed) {
            Ok(x) => x,
            Err(e) => return fail(seq, e.to_string(), expected - 1),
        };
        if entry.seq != seq {
            return fail(seq, format!("entry #{seq} claims to be #{}", entry.seq), expected - 1);
        }
        if entry.prev_hash != prev_hash {
            return fail(seq, format!("entry #{seq} does not follow entry #{} (chain broken)", seq - 1), expected - 1);
        }
        prev_hash = hash;
        expected += 1;
    }
    let last = expected - 1;
    if head.seq > last {
        return fail(
            last + 1,
            format!("entries #{}..#{} are missing (the head names #{})", last + 1, head.seq, head.seq),
            last,
        );
    }
    if head.seq < last || head.hash != prev_hash {
        return fail(last, format!("the audit head does not match entry #{last}"), last);
    }
    AuditReport { ok: true, entries: last, head_seq: head.seq, first_problem: None }
}
