//! What every metric module needs to run its SQL files: filling `{{name}}`
//! template values safely, windows of local days as UTC instants, and
//! per-row tables materialized once per lake content.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::LakeQueries;

/// Materialized contexts kept per process (lake content x settings).
const KEPT_MATERIALIZED: usize = 6;

/// Where materialized tables are kept for the next process, one folder per
/// key (lake content x settings), so a cold CLI reads them instead of
/// recomputing them.
/// Folder of materialized tables, relative to the lake's `_derived/`.
pub(crate) const MATERIALIZED_FOLDER: &str = "materialized";

/// Folders of kept tables left in the lake; older ones are removed.
const KEPT_FOLDERS: usize = 8;

/// Quotes a value as a SQL string literal.
pub fn sql_text(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

/// A UTC instant as a SQL timestamp literal of the lake's type.
pub(crate) fn sql_instant(at: DateTime<Utc>) -> String {
    format!(
        "arrow_cast({}, 'Timestamp(µs, \"UTC\")')",
        at.timestamp_micros()
    )
}

/// Fills `{{name}}` placeholders; every placeholder must get a value.
pub(crate) fn fill(template: &str, values: &[(&str, String)]) -> Result<String> {
    let mut sql = template.to_string();
    for (name, value) in values {
        sql = sql.replace(&format!("{{{{{name}}}}}"), value);
    }
    match sql.find("{{") {
        Some(at) => Err(Error::Internal(format!(
            "unfilled template value near `{}`",
            &sql[at..(at + 40).min(sql.len())]
        ))),
        None => Ok(sql),
    }
}

/// The `from` and `to` (local midnights of `tz`, as SQL instants) and `tz`
/// template values of a window of local days.
pub(crate) fn window_values(tz: Tz, from: NaiveDate, to: NaiveDate) -> Vec<(&'static str, String)> {
    vec![
        ("from", sql_instant(local_midnight(tz, from))),
        ("to", sql_instant(local_midnight(tz, to))),
        ("tz", tz.name().to_string()),
    ]
}

/// The first instant of a local calendar day. Where midnight does not exist
/// (a DST gap at midnight), the first minute that does.
pub fn local_midnight(tz: Tz, day: NaiveDate) -> DateTime<Utc> {
    let midnight = day.and_hms_opt(0, 0, 0).unwrap_or_default();
    (0..=24 * 60)
        .find_map(|minute| {
            tz.from_local_datetime(&(midnight + chrono::Duration::minutes(minute)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| Utc.from_utc_datetime(&midnight))
}

/// A hash of the content of `tables`: changes whenever any of them gains or
/// loses rows (files are named by content), not when files are merged.
pub(crate) async fn content_key(
    queries: &LakeQueries,
    tables: &[&ingest::schema::TableSpec],
) -> Result<String> {
    use sha2::{Digest, Sha256};
    let mut key = Sha256::new();
    for table in tables {
        key.update(table.name.as_bytes());
        // The rows, not the files: a compaction keeps the key.
        let files = queries.lake().data_files(table).await?;
        key.update(ingest::lake::content_fingerprint(&files).as_bytes());
    }
    Ok(hex::encode(key.finalize()))
}

/// The context materialized under `key`, when this process has it.
pub(crate) async fn materialized(queries: &LakeQueries, key: &str) -> Option<SessionContext> {
    let cache = queries.materialized().lock().await;
    cache
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, context)| context.clone())
}

/// Removes all but the newest kept folders (those in use stay).
pub(crate) async fn remove_old_generations(queries: &LakeQueries) {
    kept::remove_old_folders(queries.lake(), KEPT_FOLDERS).await;
}

/// Forgets the oldest materialized contexts beyond those kept per process.
pub(crate) fn trim_materialized(cache: &mut Vec<(String, SessionContext)>) {
    while cache.len() > KEPT_MATERIALIZED {
        cache.remove(0);
    }
}

/// Materialized tables kept as Parquet files in the lake's `_derived` folder.
mod kept {
    /// Keeps the `keep` most recently written folders, removes the rest:
    /// each new lake content makes a new folder.
    pub async fn remove_old_folders(lake: &ingest::lake::Lake, keep: usize) {
        let Ok(files) = lake.derived_files(super::MATERIALIZED_FOLDER).await else {
            return;
        };
        let mut folders: std::collections::HashMap<String, chrono::DateTime<chrono::Utc>> =
            std::collections::HashMap::new();
        for (path, written) in &files {
            if let Some((folder, _)) = path.split_once('/') {
                let newest = folders.entry(folder.to_string()).or_insert(*written);
                *newest = (*newest).max(*written);
            }
        }
        let mut by_age: Vec<(chrono::DateTime<chrono::Utc>, String)> =
            folders.into_iter().map(|(f, t)| (t, f)).collect();
        by_age.sort_by(|a, b| b.cmp(a));
        let kept: std::collections::HashSet<String> =
            by_age.into_iter().take(keep).map(|(_, f)| f).collect();
        let _ = lake
            .remove_derived_files(super::MATERIALIZED_FOLDER, |path| {
                path.split_once('/')
                    .is_some_and(|(folder, _)| kept.contains(folder))
            })
            .await;
    }
}
