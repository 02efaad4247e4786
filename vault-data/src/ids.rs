//! Random record identifiers: the only thing about a record that is readable on disk.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// A 128-bit random identifier, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct RecordId(#[cfg_attr(feature = "ts", ts(type = "string"))] [u8; 16]);

impl RecordId {
    /// A fresh identifier from the OS random source.
    pub fn random() -> Self {
        let mut bytes = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        RecordId(bytes)
    }

    /// The raw bytes, as used for sled keys.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    /// Parses the raw bytes of a sled key.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let arr: [u8; 16] = bytes
            .try_into()
            .map_err(|_| Error::Integrity(format!("record key of {} bytes (expected 16)", bytes.len())))?;
        Ok(RecordId(arr))
    }

    /// The first 8 hex digits, enough for a person to tell records apart.
    pub fn short(&self) -> String {
        hex::encode(&self.0[..4])
    }
}

impl fmt::Display for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for RecordId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RecordId({self})")
    }
}

impl FromStr for RecordId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let bytes = hex::decode(s).map_err(|_| Error::Invalid(format!("{s:?} is not a record id (32 hex digits)")))?;
        RecordId::from_slice(&bytes).map_err(|_| Error::Invalid(format!("{s:?} is not a record id (32 hex digits)")))
    }
}

impl Serialize for RecordId {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.serialize_str(&self.to_string())
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for RecordId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = String::deserialize(d)?;
            s.parse().map_err(serde::de::Error::custom)
        } else {
            <[u8; 16]>::deserialize(d).map(RecordId)
        }
    }
}
