//! The audit log: entries appended to the lake's `audit` table (see
//! [`crate::schema::AUDIT`]), each with a random id so that no entry is ever
//! taken for a duplicate of another.

use crate::canonical::{AuditEntry, Micros, Row};
use crate::error::Result;
use crate::lake::Lake;

/// One entry, at `now`.
pub fn entry(
    actor: &str,
    action: &str,
    target: Option<&str>,
    origin: Option<&str>,
    outcome: &str,
) -> Row {
    let id: [u8; 16] = rand::random();
    AuditEntry {
        event_id: format!("audit:{}", hex::encode(id)),
        at: Micros(chrono::Utc::now().timestamp_micros()),
        actor: actor.to_string(),
        action: action.to_string(),
        target: target.map(str::to_string),
        origin: origin.map(str::to_string),
        outcome: outcome.to_string(),
    }
    .into()
}

/// The actor of a command run on this machine: `local:<user>`.
pub fn local_actor() -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "unknown".into());
    format!("local:{user}")
}

/// Appends entries durably.
pub async fn record(lake: &Lake, entries: Vec<Row>) -> Result<()> {
    crate::sources::append_rows(lake, entries).await.map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn two_identical_entries_are_both_kept() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let same = || entry("ops", "token.revoke", Some("old"), Some("cli"), "ok");
        record(&lake, vec![same(), same()]).await.unwrap();
        record(&lake, vec![same()]).await.unwrap();
        let files = lake.data_files(&crate::schema::AUDIT).await.unwrap();
        assert!(!files.is_empty());
        let rows: usize = files
            .iter()
            .map(|(path, _)| {
                let file = std::fs::File::open(dir.path().join(path)).unwrap();
                parquet::file::reader::SerializedFileReader::new(file)
                    .map(|r| {
                        use parquet::file::reader::FileReader;
                        r.metadata().file_metadata().num_rows() as usize
                    })
                    .unwrap()
            })
            .sum();
        assert_eq!(rows, 3);
    }
}
