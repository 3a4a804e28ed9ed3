//! Content names: a data file is named after the rows it holds, so the same
//! rows give the same name (two lakes built from the same input are
//! identical file for file), and names add up, so a table's fingerprint is
//! the same however its rows are split into files.

use arrow::array::{AsArray, RecordBatch};
use sha2::{Digest, Sha256};

/// A 128-bit hash of an event id: compact enough to keep every id of a
/// partition in memory, wide enough that collisions do not happen in practice.
pub(super) fn event_id_hash(id: &str) -> u128 {
    let digest = Sha256::digest(id.as_bytes());
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    u128::from_le_bytes(bytes)
}

/// Bits of a content name: 96, as 24 hex digits.
const CONTENT_BITS: u32 = 96;

/// Names a file after its content, so the same rows give the same name and
/// two lakes built from the same input are identical file for file. The
/// name is the sum of its rows' event-id hashes (mod 2^96): adding, so the
/// names of a table's files sum to the same value however its rows are
/// grouped into files ([`content_fingerprint`]); compaction does not change
/// it.
pub(super) fn file_name(batch: &RecordBatch) -> String {
    let ids = batch.column(0).as_string::<i32>();
    let sum = ids
        .iter()
        .flatten()
        .fold(0u128, |sum, id| sum.wrapping_add(event_id_hash(id)));
    format!("part-{:024x}.parquet", sum & ((1u128 << CONTENT_BITS) - 1))
}

/// What a table's data files hold, whatever files hold it: the sum of their
/// content names (see `file_name`), so merging or splitting files keeps it
/// and any row added or removed changes it. A file not named that way
/// counts by its path and size.
pub fn content_fingerprint(files: &[(String, u64)]) -> String {
    let mask = (1u128 << CONTENT_BITS) - 1;
    let mut sum = 0u128;
    let mut others = Sha256::new();
    for (path, size) in files {
        let name = path.rsplit('/').next().unwrap_or(path);
        let value = name
            .strip_prefix("part-")
            .and_then(|n| n.strip_suffix(".parquet"))
            .filter(|hex| hex.len() == 24)
            .and_then(|hex| u128::from_str_radix(hex, 16).ok());
        match value {
            Some(value) => sum = sum.wrapping_add(value) & mask,
            None => {
                others.update(path.as_bytes());
                others.update(size.to_le_bytes());
            }
        }
    }
    format!("{sum:024x}-{}", hex::encode(&others.finalize()[..8]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{TableBuilder, Value};
    use crate::schema::TEAMS;

    fn teams(names: &[&str]) -> RecordBatch {
        let mut b = TableBuilder::new(&TEAMS);
        for name in names {
            let mut row: Vec<Value> = TEAMS.columns.iter().map(|_| Value::Null).collect();
            row[0] = Value::text(format!("team:{name}"));
            row[1] = Value::text(*name);
            b.push(row).unwrap();
        }
        b.finish().unwrap()
    }

    #[test]
    fn names_add_up_however_rows_are_split_and_differ_when_rows_do() {
        let whole = [(format!("teams/{}", file_name(&teams(&["a", "b", "c"]))), 10)];
        let split = [
            (format!("teams/{}", file_name(&teams(&["c"]))), 3),
            (format!("teams/{}", file_name(&teams(&["b", "a"]))), 7),
        ];
        assert_eq!(content_fingerprint(&whole), content_fingerprint(&split));
        let other = [(format!("teams/{}", file_name(&teams(&["a", "b", "d"]))), 10)];
        assert_ne!(content_fingerprint(&whole), content_fingerprint(&other));
        // A name of another shape counts by path and size.
        let foreign = [("teams/export.parquet".to_string(), 10)];
        assert_ne!(
            content_fingerprint(&foreign),
            content_fingerprint(&[("teams/export.parquet".to_string(), 11)])
        );
        assert!(file_name(&teams(&["a"])).len() == "part-.parquet".len() + 24);
    }
}
