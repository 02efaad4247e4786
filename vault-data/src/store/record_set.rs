//! A keyed hash over the set of every record in the database, sealed in the head (anti-rollback).
//!
//! Each record (tree, key, value) becomes an element `HMAC-SHA256(K_set, tree ‖ len(key) ‖ key ‖
//! id(value))`, and the set hash is the XOR of the elements. For the sealed trees (objects,
//! payloads, audit) id(value) is the value's AEAD tag, which no one without the key can make and
//! which differs between any two sealings (random nonces); a changed ciphertext under an old tag
//! fails its AEAD check when read. For `meta`, whose records are partly clear, it is the SHA-256 of
//! the whole value. Hashing tags instead of whole values keeps the check at unlock cheap: about two
//! SHA-256 compressions per record, whatever its size. K_set is a subkey of the vault
//! key, so without it nobody can compute an element: someone holding several old copies of the
//! folder cannot solve for a mix of old and new records whose XOR matches a sealed head (which a
//! plain XOR or sum of unkeyed hashes would allow). XOR makes a commit cheap: each op takes the
//! old value's element out and puts the new one in.
//!
//! Left out are the head record itself (it holds the hash) and the locked-time audit inbox,
//! which is written without the key by design and drained into the chain at unlock.

use std::collections::HashMap;

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::crypto::keys::SubKey;
use crate::crypto::seal::{NONCE_LEN, TAG_LEN};
use crate::error::{Error, Result};
use crate::store::{Op, Store, TreeName};

/// The XOR of the elements of every counted record.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct RecordSet([u8; 32]);

impl std::fmt::Debug for RecordSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Derived from a key: nothing of it goes into logs.
        f.write_str("RecordSet(..)")
    }
}

/// Whether a record takes part in the set (see the module docs for what is left out).
pub(crate) fn counted(tree: TreeName, key: &[u8]) -> bool {
    tree != TreeName::Meta || !(key == crate::audit::chain::HEAD_KEY || crate::store::inbox::is_inbox_key(key))
}

/// The HMAC keyed with K_set, its pads absorbed once and cloned per element.
pub(crate) struct SetKey(Hmac<Sha256>);

impl SetKey {
    pub(crate) fn new(k: &SubKey) -> SetKey {
        match <Hmac<Sha256> as Mac>::new_from_slice(&k.0) {
            Ok(m) => SetKey(m),
            Err(_) => unreachable!("HMAC-SHA256 takes a key of any length"),
        }
    }
}

/// The shortest sealed value: layout byte, nonce, tag (see `crypto::seal`).
const MIN_SEALED: usize = 1 + NONCE_LEN + TAG_LEN;

fn element(k: &SetKey, tree: TreeName, key: &[u8], value: &[u8]) -> [u8; 32] {
    let mut mac = k.0.clone();
    mac.update(&[tree as u8]);
    mac.update(&(key.len() as u32).to_be_bytes());
    mac.update(key);
    if tree != TreeName::Meta && value.len() >= MIN_SEALED {
        mac.update(&value[value.len() - TAG_LEN..]);
    } else {
        mac.update(&Sha256::digest(value));
    }
    mac.finalize().into_bytes().into()
}

impl RecordSet {
    /// The hash of the empty set.
    pub(crate) fn empty() -> Self {
        RecordSet([0; 32])
    }

    fn toggle(&mut self, e: [u8; 32]) {
        for (a, b) in self.0.iter_mut().zip(e) {
            *a ^= b;
        }
    }

    /// The set hash of every counted record in `store`. The trees are read side by side (sled
    /// reads one tree on one thread), hashing values in place.
    pub(crate) fn of_store(k: &SubKey, store: &Store) -> Result<Self> {
        use rayon::prelude::*;
        let k = &SetKey::new(k);
        let parts: Vec<RecordSet> = TreeName::ALL
            .par_iter()
            .map(|&tree| {
                store.fold(tree, RecordSet::empty(), |mut set, key, value| {
                    if counted(tree, key) {
                        set.toggle(element(k, tree, key, value));
                    }
                    set
                })
            })
            .collect::<Result<_>>()?;
        Ok(parts.into_iter().fold(RecordSet::empty(), |mut all, part| {
            all.toggle(part.0);
            all
        }))
    }

    /// The set after `ops` are applied to `store` (read for the values they replace). Ops are
    /// taken in order, so one that touches a key an earlier op of the same commit wrote sees
    /// that write.
    pub(crate) fn after(mut self, k: &SubKey, store: &Store, ops: &[Op]) -> Result<Self> {
        let k = &SetKey::new(k);
        let mut pending: HashMap<(TreeName, &[u8]), Option<&[u8]>> = HashMap::new();
        for op in ops {
            let (tree, key, new) = match op {
                Op::Put(t, k, v) => (*t, k.as_slice(), Some(v.as_slice())),
                Op::Delete(t, k) => (*t, k.as_slice(), None),
            };
            if !counted(tree, key) {
                continue;
            }
            let old = match pending.get(&(tree, key)) {
                Some(v) => v.map(<[u8]>::to_vec),
                None => store.get(tree, key)?,
            };
            if let Some(old) = old {
                self.toggle(element(k, tree, key, &old));
            }
            if let Some(new) = new {
                self.toggle(element(k, tree, key, new));
            }
            pending.insert((tree, key), new);
        }
        Ok(self)
    }

    /// Hex, as sealed in the head.
    pub(crate) fn to_hex(self) -> String {
        hex::encode(self.0)
    }

    /// Parses the sealed head's hex.
    pub(crate) fn from_hex(s: &str) -> Result<Self> {
        let bytes = hex::decode(s).ok().and_then(|b| <[u8; 32]>::try_from(b).ok());
        bytes.map(RecordSet).ok_or_else(|| Error::Integrity("the sealed head's record set cannot be decoded".into()))
    }

    /// Constant-time equality (the hash is derived from a secret key).
    pub(crate) fn same(&self, other: &RecordSet) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(b: u8) -> SetKey {
        SetKey::new(&SubKey::new([b; 32]))
    }

    /// The properties the anti-rollback check rests on: order does not matter, any added,
    /// removed or changed record changes the hash, and the hash depends on the key.
    #[test]
    fn the_set_hash_sees_every_change_and_needs_the_key() {
        let k = key(7);
        let e = |t, key: &[u8], v: &[u8]| element(&k, t, key, v);
        let mut a = RecordSet::empty();
        a.toggle(e(TreeName::Objects, b"1", b"x"));
        a.toggle(e(TreeName::Payloads, b"2", b"y"));
        let mut b = RecordSet::empty();
        b.toggle(e(TreeName::Payloads, b"2", b"y"));
        b.toggle(e(TreeName::Objects, b"1", b"x"));
        assert!(a.same(&b), "order does not matter");
        let mut stale = RecordSet::empty();
        stale.toggle(e(TreeName::Objects, b"1", b"old"));
        // Sealed values are told apart by their tags.
        let (sealed_a, sealed_b) = ([1u8; 60], {
            let mut v = [1u8; 60];
            v[59] = 2;
            v
        });
        assert_ne!(e(TreeName::Payloads, b"1", &sealed_a), e(TreeName::Payloads, b"1", &sealed_b));
        stale.toggle(e(TreeName::Payloads, b"2", b"y"));
        assert!(!a.same(&stale), "an older value of one record is seen");
        let mut fewer = RecordSet::empty();
        fewer.toggle(e(TreeName::Objects, b"1", b"x"));
        assert!(!a.same(&fewer), "a deleted record is seen");
        let mut moved = RecordSet::empty();
        moved.toggle(e(TreeName::Audit, b"1", b"x"));
        moved.toggle(e(TreeName::Payloads, b"2", b"y"));
        assert!(!a.same(&moved), "the tree is bound");
        let other = element(&key(8), TreeName::Objects, b"1", b"x");
        assert_ne!(other, e(TreeName::Objects, b"1", b"x"), "elements depend on the key");
        assert!(RecordSet::from_hex(&a.to_hex()).unwrap().same(&a));
        assert!(RecordSet::from_hex("zz").is_err());
    }

    #[test]
    fn the_head_and_the_inbox_are_not_counted() {
        assert!(!counted(TreeName::Meta, crate::audit::chain::HEAD_KEY));
        assert!(!counted(TreeName::Meta, b"pending/0001"));
        assert!(counted(TreeName::Meta, b"signing_key"));
        assert!(counted(TreeName::Audit, crate::audit::chain::HEAD_KEY));
    }
}
