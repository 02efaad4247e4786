//! The three-way field merge: each field (a credential) compared as it is here, as it is on the
//! server, and as it was when the two were last synced. Only a field changed on both sides, to
//! different values, is a conflict. Values are compared by keyed digest, never by content.

use serde::Serialize;

/// A value's digest, or `None` where the field does not exist.
pub type Digest = Option<[u8; 32]>;

/// What to do with one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldMerge {
    /// Both sides agree (unchanged, or changed the same way).
    Same,
    /// Changed here only: the server takes this vault's value (or drops the field).
    TakeLocal,
    /// Changed on the server only: this vault takes the server's value (or drops the field).
    TakeRemote,
    /// Changed on both sides, differently.
    Conflict,
}

/// Decides one field from its digests at the last sync (`base`), here and on the server.
pub fn merge_field(base: Digest, local: Digest, remote: Digest) -> FieldMerge {
    if local == remote {
        FieldMerge::Same
    } else if local == base {
        FieldMerge::TakeRemote
    } else if remote == base {
        FieldMerge::TakeLocal
    } else {
        FieldMerge::Conflict
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Digest = Some([1; 32]);
    const B: Digest = Some([2; 32]);
    const C: Digest = Some([3; 32]);

    #[test]
    fn only_a_field_changed_on_both_sides_differently_conflicts() {
        assert_eq!(merge_field(A, A, A), FieldMerge::Same);
        assert_eq!(merge_field(A, B, A), FieldMerge::TakeLocal, "changed here");
        assert_eq!(merge_field(A, A, B), FieldMerge::TakeRemote, "changed there");
        assert_eq!(merge_field(A, B, B), FieldMerge::Same, "changed the same way on both");
        assert_eq!(merge_field(A, B, C), FieldMerge::Conflict);
    }

    #[test]
    fn additions_and_deletions_follow_the_same_rule() {
        assert_eq!(merge_field(None, A, None), FieldMerge::TakeLocal, "new here");
        assert_eq!(merge_field(None, None, A), FieldMerge::TakeRemote, "new there");
        assert_eq!(merge_field(None, A, B), FieldMerge::Conflict, "new on both sides, different");
        assert_eq!(merge_field(A, None, A), FieldMerge::TakeLocal, "deleted here");
        assert_eq!(merge_field(A, A, None), FieldMerge::TakeRemote, "deleted there");
        assert_eq!(merge_field(A, None, B), FieldMerge::Conflict, "deleted here, changed there");
        assert_eq!(merge_field(A, B, None), FieldMerge::Conflict, "changed here, deleted there");
        assert_eq!(merge_field(A, None, None), FieldMerge::Same);
    }
}
