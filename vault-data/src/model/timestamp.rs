//! Timestamps of stored records: RFC 3339 text in human-readable formats (JSON for the CLI and
//! the desktop app), i128 Unix nanoseconds in the binary encoding sealed on disk, where parsing
//! text for every record would dominate the time to unlock a large vault.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

/// Serializes a timestamp.
pub fn serialize<S: Serializer>(t: &OffsetDateTime, s: S) -> Result<S::Ok, S::Error> {
    if s.is_human_readable() {
        time::serde::rfc3339::serialize(t, s)
    } else {
        t.unix_timestamp_nanos().serialize(s)
    }
}

/// Deserializes a timestamp.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<OffsetDateTime, D::Error> {
    if d.is_human_readable() {
        time::serde::rfc3339::deserialize(d)
    } else {
        let nanos = i128::deserialize(d)?;
        OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(serde::de::Error::custom)
    }
}
