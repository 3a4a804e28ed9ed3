//! The lake: canonical tables as Parquet files, one folder per table.
//!
//! Layout: `<lake>/<table>/month=YYYY-MM/part-<hash>.parquet` for event tables
//! (Hive-style monthly partitions on the table's partition column, in UTC) and
//! `<lake>/<table>/part-<hash>.parquet` for the small catalog tables. Files are
//! zstd-compressed, rows sorted by the table's sort key so that row-group
//! statistics prune single-service queries. `_devex/` holds devex's own state.
//!
//! The lake is a folder or a prefix in an object store (`s3://`, `gs://`,
//! `az://`; see [`location`]). `Lake` is the only code that writes to it.
//! Writes follow write -> flush -> commit: in a folder, a file is written
//! under a hidden temporary name, fsynced, then renamed into place (and the
//! folder fsynced); in an object store, one create-if-absent put. Readers
//! never see a partial file. Every append deduplicates on `event_id`,
//! against the rows already stored in the same partition and within the
//! batch, so writing the same event twice is a no-op, across writers too
//! (one writer at a time: a file lock, or a lease object). Reads go through
//! `object_store`. `docs/lake-format.md` is the published contract.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, UInt32Array};
use arrow::compute::{lexsort_to_indices, take_record_batch, SortColumn};
use arrow::datatypes::TimestampMicrosecondType;
use chrono::DateTime;
use futures::TryStreamExt;
use location::{Location, Remote};

use object_store::path::Path as StorePath;
use object_store::prefix::PrefixStore;
use object_store::{ObjectStore, ObjectStoreExt, PutMode};
use parquet::arrow::arrow_reader::ArrowReaderMetadata;
// ParquetObjectReader is deprecated in parquet 59 in favour of hand-written
// AsyncFileReaders; it still does exactly what the lake needs (ranged reads of
// footers and one column), so it stays until DataFusion moves off it too.
#[allow(deprecated)]
use parquet::arrow::async_reader::ParquetObjectReader;
use parquet::arrow::async_reader::ParquetRecordBatchStreamBuilder;
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use tokio::sync::Mutex;

use crate::error::{Error, Result};
use crate::schema::{TableSpec, PARTITION_COLUMN, TABLES};

mod aws_profile;
mod commit;
mod compact;
mod dedup;
mod derived;
mod derived_share;
mod lease;
pub mod location;
mod naming;
mod open;
#[cfg(test)]
mod properties;
mod quarantine;
mod writer;
mod writer_lease;
pub use compact::CompactSummary;
use dedup::DedupIndex;
pub use derived::{DerivedFile, DERIVED_DIR};
pub use lease::DerivedLease;
pub use naming::content_fingerprint;
use naming::{event_id_hash, file_name};

/// Rows per Parquet row group: large enough for good compression, small
/// enough that min/max statistics still prune.
const ROW_GROUP_SIZE: usize = 128 * 1024;
const STATE_DIR: &str = "_devex";
/// Where corrupt data files are moved, inside the state folder.
const QUARANTINE_DIR: &str = "quarantine";
const TEMP_PREFIX: &str = ".tmp-";
/// Test hook: when set to `lake:before-rename`, the process aborts after a
/// data file is written and fsynced but before it is renamed into place, the
/// way a crash or `kill -9` would stop it. Set to `lake:full-while:PATH`,
/// every data file write fails as on a full disk (ENOSPC) while PATH
/// exists: the full-disk test where no file system can be mounted.
pub const FAILPOINT_ENV: &str = "DEVEX_FAILPOINT";

/// The `lake:full-while:PATH` failpoint: a full disk while PATH exists.
fn failpoint_full_disk() -> Option<std::io::Error> {
    let failpoint = std::env::var(FAILPOINT_ENV).ok()?;
    let marker = failpoint.strip_prefix("lake:full-while:")?;
    Path::new(marker)
        .exists()
        .then(|| std::io::Error::from_raw_os_error(28))
}

/// What one append did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendSummary {
    pub rows_written: usize,
    /// Rows skipped because their `event_id` was already stored (or repeated in the batch).
    pub duplicates: usize,
    pub files_written: usize,
}

impl AppendSummary {
    pub fn add(&mut self, other: &AppendSummary) {
        self.rows_written += other.rows_written;
        self.duplicates += other.duplicates;
        self.files_written += other.files_written;
    }
}

/// Size of one table in the lake.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TableStats {
    pub table: String,
    pub rows: u64,
    pub files: u64,
    pub bytes: u64,
    /// Corrupt files taken out of the table (`_devex/quarantine/`): while
    /// any is there, the table is incomplete.
    pub quarantined: u64,
}

pub struct Lake {
    /// The lake's folder; for a lake in an object store, the local folder
    /// of its derived files (a cache, see [`location::cache_folder`]).
    root: PathBuf,
    /// Where the lake lies when it is in an object store.
    remote: Option<Remote>,
    /// The lake's store, with paths relative to the lake.
    store: Arc<dyn ObjectStore>,
    /// The local store at `root`, for derived files (`store` itself for a
    /// local lake).
    local: Arc<dyn ObjectStore>,
    /// Event ids already stored, by partition folder.
    indexes: Mutex<DedupIndex>,
    cleaned_temporaries: std::sync::atomic::AtomicBool,
    /// A lake in an object store: the quarantine's listing and when it was
    /// made (a server asks on every answer; a listing is a request).
    quarantine_listing: std::sync::Mutex<Option<(std::time::Instant, Vec<String>)>>,
    /// Derived files copied to a remote lake's store, and copies retired
    /// (see [`Lake::share_derived`]).
    shared_derived: std::sync::Mutex<derived_share::SharedDerived>,
}

/// How long a remote lake's quarantine listing is reused.
const QUARANTINE_LISTING_TTL: std::time::Duration = std::time::Duration::from_secs(2);

impl std::fmt::Debug for Lake {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lake")
            .field("location", &self.location())
            .finish()
    }
}

impl Lake {
    /// Appends rows to a table, skipping events already stored.
    pub async fn append(
        &self,
        table: &'static TableSpec,
        batch: &RecordBatch,
    ) -> Result<AppendSummary> {
        Ok(self.append_reporting(table, batch).await?.0)
    }

    /// [`Lake::append`], also saying of each row whether it was stored
    /// (`true`) or skipped as already in the lake or repeated earlier in the
    /// batch: one append of several webhook deliveries (a group commit)
    /// answers each delivery with its own counts.
    pub async fn append_reporting(
        &self,
        table: &'static TableSpec,
        batch: &RecordBatch,
    ) -> Result<(AppendSummary, Vec<bool>)> {
        if batch.schema().fields() != table.schema().fields() {
            return Err(Error::Internal(format!(
                "batch for {} does not have the canonical schema",
                table.name
            )));
        }
        if batch.num_rows() == 0 {
            return Ok((AppendSummary::default(), Vec::new()));
        }
        let partitions = partition_rows(table, batch)?;
        let mut indexes = self.indexes.lock().await;
        let lock = self.write_turn(&mut indexes).await?;
        self.clean_temporaries_once()?;
        let appended = self
            .append_partitions(table, batch, partitions, &mut indexes)
            .await;
        lock.release().await?;
        appended
    }

    async fn append_partitions(
        &self,
        table: &'static TableSpec,
        batch: &RecordBatch,
        partitions: BTreeMap<Option<String>, Vec<u32>>,
        indexes: &mut DedupIndex,
    ) -> Result<(AppendSummary, Vec<bool>)> {
        let mut stored = vec![false; batch.num_rows()];
        let mut summary = AppendSummary::default();
        let event_ids = batch.column(0).as_string::<i32>();
        for (partition, rows) in partitions {
            indexes.written();
            let dir = match &partition {
                Some(month) => format!("{}/{PARTITION_COLUMN}={month}", table.name),
                None => table.name.to_string(),
            };
            let index = indexes.partition(&dir);
            self.refresh_index(&dir, index).await?;
            let mut keep = Vec::with_capacity(rows.len());
            let mut new_ids = Vec::with_capacity(rows.len());
            for row in rows {
                let id = event_id_hash(event_ids.value(row as usize));
                // Stored before, or earlier in this batch.
                if !index.ids.insert(id) {
                    summary.duplicates += 1;
                    continue;
                }
                new_ids.push(id);
                keep.push(row);
            }
            if keep.is_empty() {
                continue;
            }
            let kept = UInt32Array::from(keep);
            let part = take_record_batch(batch, &kept)?;
            let part = sort_rows(table, &part)?;
            let name = file_name(&part);
            let bytes = encode_parquet(&part)?;
            if let Err(e) = self.commit_file(&dir, &name, &bytes, PutMode::Create).await {
                // The ids were never stored: forget them so a retry writes them.
                for id in &new_ids {
                    index.ids.remove(id);
                }
                return Err(e);
            }
            index.files.insert(format!("{dir}/{name}"));
            for row in kept.values() {
                stored[*row as usize] = true;
            }
            summary.rows_written += part.num_rows();
            summary.files_written += 1;
        }
        indexes.written();
        Ok((summary, stored))
    }

    /// Data files under a folder of the lake, with their sizes, sorted by path.
    /// The data files of a table (paths relative to the lake, with sizes), sorted.
    /// File names are content hashes, so this list identifies the table's content.
    pub async fn data_files(&self, table: &TableSpec) -> Result<Vec<(String, u64)>> {
        self.list_data_files(table.name).await
    }

    async fn list_data_files(&self, prefix: &str) -> Result<Vec<(String, u64)>> {
        let mut files = Vec::new();
        let mut listing = self.store.list(Some(&StorePath::from(prefix)));
        while let Some(meta) = listing.try_next().await.map_err(|source| Error::Storage {
            path: self.shown(prefix),
            source,
        })? {
            let path = meta.location.to_string();
            let name = path.rsplit('/').next().unwrap_or(&path);
            if name.ends_with(".parquet") && !name.starts_with('.') && !name.starts_with('_') {
                files.push((path, meta.size));
            }
        }
        files.sort();
        Ok(files)
    }

    /// Rows, files and bytes of every canonical table. Reads only footers; a
    /// corrupt file is reported by name.
    pub async fn table_stats(&self) -> Result<Vec<TableStats>> {
        let quarantined = self.quarantined_files().await?;
        let mut out = Vec::with_capacity(TABLES.len());
        for table in TABLES {
            let mut stats = TableStats {
                table: table.name.to_string(),
                rows: 0,
                files: 0,
                bytes: 0,
                quarantined: 0,
            };
            for (path, size) in self.list_data_files(table.name).await? {
                match self.read_row_count(&path).await {
                    Ok(rows) => {
                        stats.rows += rows;
                        stats.files += 1;
                        stats.bytes += size;
                    }
                    Err(Error::CorruptFile { message, .. }) => {
                        self.quarantine(&path, &message).await?;
                        stats.quarantined += 1;
                    }
                    Err(e) => return Err(e),
                }
            }
            stats.quarantined += quarantined
                .iter()
                .filter(|q| q.starts_with(&format!("{}/", table.name)))
                .count() as u64;
            out.push(stats);
        }
        Ok(out)
    }

    async fn read_row_count(&self, path: &str) -> Result<u64> {
        #[allow(deprecated)]
        let mut reader = ParquetObjectReader::new(self.store.clone(), StorePath::from(path));
        let metadata = ArrowReaderMetadata::load_async(&mut reader, Default::default())
            .await
            .map_err(|e| Error::CorruptFile {
                path: self.shown(path),
                message: e.to_string(),
            })?;
        Ok(metadata.metadata().file_metadata().num_rows().max(0) as u64)
    }

    /// Reads every data file's footer and returns the corrupt ones, so that an
    /// error from a query engine can name the file at fault.
    pub async fn find_corrupt_files(&self) -> Result<Vec<Error>> {
        let mut corrupt = Vec::new();
        for table in TABLES {
            for (path, _) in self.list_data_files(table.name).await? {
                match self.read_row_count(&path).await {
                    Ok(_) => {}
                    Err(e @ Error::CorruptFile { .. }) => corrupt.push(e),
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(corrupt)
    }

    /// True when no table holds any data file.
    pub async fn is_empty(&self) -> Result<bool> {
        for table in TABLES {
            if !self.list_data_files(table.name).await?.is_empty() {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// Whether an I/O error says the file system (or the quota) is full.
pub fn is_storage_full(error: &std::io::Error) -> bool {
    error.kind() == std::io::ErrorKind::StorageFull
        || error.kind() == std::io::ErrorKind::QuotaExceeded
        // ENOSPC and EDQUOT (Linux), whatever kind std gives them.
        || matches!(error.raw_os_error(), Some(28 | 122))
}

/// Groups row indices by partition (`YYYY-MM` of the partition column).
fn partition_rows(
    table: &TableSpec,
    batch: &RecordBatch,
) -> Result<BTreeMap<Option<String>, Vec<u32>>> {
    let mut out: BTreeMap<Option<String>, Vec<u32>> = BTreeMap::new();
    let Some(column) = table.partition_by else {
        out.insert(None, (0..batch.num_rows() as u32).collect());
        return Ok(out);
    };
    let (index, _) = table
        .column(column)
        .ok_or_else(|| Error::Internal(format!("{} has no column {column}", table.name)))?;
    // A day column partitions as its midnight (UTC) would; a timestamp
    // column is read as it is (no copy on the webhook path).
    let column_values = batch.column(index);
    let as_micros = match column_values.data_type() {
        arrow::datatypes::DataType::Date32 => arrow::compute::cast(
            column_values,
            &arrow::datatypes::DataType::Timestamp(arrow::datatypes::TimeUnit::Microsecond, None),
        )?,
        _ => column_values.clone(),
    };
    let times = as_micros
        .as_primitive_opt::<TimestampMicrosecondType>()
        .ok_or_else(|| Error::Internal(format!("{}.{column} is not a timestamp", table.name)))?;
    let mut current: Option<(i64, i64, String)> = None;
    for row in 0..batch.num_rows() {
        if times.is_null(row) {
            return Err(Error::Internal(format!("{}.{column} is null", table.name)));
        }
        let micros = times.value(row);
        // Rows usually arrive in time order: reuse the month while it fits.
        let month = match &current {
            Some((start, end, month)) if micros >= *start && micros < *end => month.clone(),
            _ => {
                let (start, end, month) = month_bounds(micros)?;
                current = Some((start, end, month.clone()));
                month
            }
        };
        out.entry(Some(month)).or_default().push(row as u32);
    }
    Ok(out)
}

fn month_bounds(micros: i64) -> Result<(i64, i64, String)> {
    use chrono::{Datelike, NaiveDate};
    let at = DateTime::from_timestamp_micros(micros)
        .ok_or_else(|| Error::Internal(format!("timestamp {micros} is out of range")))?;
    let first = NaiveDate::from_ymd_opt(at.year(), at.month(), 1)
        .ok_or_else(|| Error::Internal("bad month".into()))?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .ok_or_else(|| Error::Internal("bad month".into()))?;
    let micros_of = |d: NaiveDate| {
        d.and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp_micros())
    };
    match (micros_of(first), micros_of(next)) {
        (Some(s), Some(e)) => Ok((s, e, at.format("%Y-%m").to_string())),
        _ => Err(Error::Internal("bad month".into())),
    }
}

fn sort_rows(table: &TableSpec, batch: &RecordBatch) -> Result<RecordBatch> {
    let columns: Vec<SortColumn> = table
        .sort_by
        .iter()
        .filter_map(|name| table.column(name))
        .map(|(i, _)| SortColumn {
            values: batch.column(i).clone(),
            options: None,
        })
        .collect();
    if columns.is_empty() {
        return Ok(batch.clone());
    }
    let indices = lexsort_to_indices(&columns, None)?;
    Ok(take_record_batch(batch, &indices)?)
}

/// Below this many rows a file is written with Snappy instead of zstd: a
/// zstd context per column costs more than the whole file is worth (48% of
/// the webhook group-commit writer's CPU in a profile). Such files come
/// from webhook commits, and compaction merges them into zstd files later.
const SMALL_FILE_ROWS_FOR_ZSTD: usize = 4096;

fn encode_parquet(batch: &RecordBatch) -> Result<Vec<u8>> {
    let compression = if batch.num_rows() < SMALL_FILE_ROWS_FOR_ZSTD {
        Compression::SNAPPY
    } else {
        // Levels above 1 buy almost nothing in size at several times the cost.
        Compression::ZSTD(ZstdLevel::try_new(1)?)
    };
    let properties = WriterProperties::builder()
        .set_compression(compression)
        .set_max_row_group_row_count(Some(ROW_GROUP_SIZE))
        .set_statistics_enabled(EnabledStatistics::Page)
        .build();
    let mut buffer = Vec::new();
    let mut writer = ArrowWriter::try_new(&mut buffer, batch.schema(), Some(properties))?;
    writer.write(batch)?;
    writer.close()?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{TableBuilder, Value};
    use crate::schema::{INCIDENTS, TEAMS};

    #[test]
    fn a_lake_url_is_refused_not_made_a_folder() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("ftp://{}/lake", dir.path().display());
        let error = Lake::create_or_open(&url).unwrap_err().to_string();
        assert!(error.contains("`ftp://` are not supported"), "{error}");
        assert!(!std::path::Path::new("ftp:").exists());
        assert!(Lake::open_existing("hdfs://bucket/x").is_err());
    }

    fn incident(id: &str, opened_at: &str) -> Vec<Value> {
        let micros = DateTime::parse_from_rfc3339(opened_at)
            .unwrap()
            .timestamp_micros();
        vec![
            Value::text(id),
            Value::text("payments"),
            Value::text(id),
            Value::Null,
            Value::Timestamp(micros),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ]
    }

    fn batch(rows: Vec<Vec<Value>>) -> RecordBatch {
        let mut b = TableBuilder::new(&INCIDENTS);
        for r in rows {
            b.push(r).unwrap();
        }
        b.finish().unwrap()
    }

    fn row_count(stats: &[TableStats], table: &str) -> u64 {
        stats.iter().find(|s| s.table == table).unwrap().rows
    }

    #[tokio::test]
    async fn writes_monthly_partitions_and_dedups() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let rows = vec![
            incident("a", "2026-01-31T23:30:00-01:00"), // 2026-02-01 in UTC
            incident("b", "2026-01-15T10:00:00Z"),
            incident("b", "2026-01-15T10:00:00Z"), // repeated in the batch
        ];
        let first = lake.append(&INCIDENTS, &batch(rows.clone())).await.unwrap();
        assert_eq!(
            first,
            AppendSummary {
                rows_written: 2,
                duplicates: 1,
                files_written: 2
            }
        );
        assert!(dir.path().join("incidents/month=2026-02").is_dir());
        assert!(dir.path().join("incidents/month=2026-01").is_dir());

        // Same events again, from this and from a fresh Lake (another process).
        let again = lake.append(&INCIDENTS, &batch(rows.clone())).await.unwrap();
        assert_eq!(
            again,
            AppendSummary {
                rows_written: 0,
                duplicates: 3,
                files_written: 0
            }
        );
        let other = Lake::open_existing(dir.path()).unwrap();
        let mixed = other
            .append(
                &INCIDENTS,
                &batch(vec![
                    incident("a", "2026-01-31T23:30:00-01:00"),
                    incident("c", "2026-01-02T00:00:00Z"),
                ]),
            )
            .await
            .unwrap();
        assert_eq!(
            mixed,
            AppendSummary {
                rows_written: 1,
                duplicates: 1,
                files_written: 1
            }
        );
        // The first handle has listed January before; it learns from the
        // lock file's turn count that another process wrote "c" since.
        let after_other = lake
            .append(
                &INCIDENTS,
                &batch(vec![incident("c", "2026-01-02T00:00:00Z")]),
            )
            .await
            .unwrap();
        assert_eq!(after_other.duplicates, 1);

        let stats = lake.table_stats().await.unwrap();
        assert_eq!(row_count(&stats, "incidents"), 3);
        assert_eq!(
            stats.iter().find(|s| s.table == "incidents").unwrap().files,
            3
        );
        assert_eq!(row_count(&stats, "commits"), 0);
    }

    #[tokio::test]
    async fn catalog_tables_are_not_partitioned() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let mut b = TableBuilder::new(&TEAMS);
        b.push(vec![
            Value::text("t1"),
            Value::text("core"),
            Value::Null,
            Value::Integer(5),
            Value::Null,
        ])
        .unwrap();
        lake.append(&TEAMS, &b.finish().unwrap()).await.unwrap();
        let files: Vec<_> = std::fs::read_dir(dir.path().join("teams"))
            .unwrap()
            .collect();
        assert_eq!(files.len(), 1);
        assert!(!lake.is_empty().await.unwrap());
    }

    #[tokio::test]
    async fn corrupt_file_is_named_and_the_rest_survives() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        lake.append(
            &INCIDENTS,
            &batch(vec![incident("a", "2026-03-01T00:00:00Z")]),
        )
        .await
        .unwrap();
        let bad = dir.path().join("incidents/month=2026-03/part-bad.parquet");
        std::fs::write(&bad, b"not parquet at all").unwrap();
        // A writer refuses to append next to it, naming it.
        let fresh = Lake::open_existing(dir.path()).unwrap();
        let err = fresh
            .append(
                &INCIDENTS,
                &batch(vec![incident("b", "2026-03-02T00:00:00Z")]),
            )
            .await
            .unwrap_err()
            .to_string();
        assert!(err.contains("part-bad.parquet"), "{err}");
        assert_eq!(fresh.find_corrupt_files().await.unwrap().len(), 1);
        // Reading the stats quarantines it; the rest is intact.
        let stats = fresh.table_stats().await.unwrap();
        assert_eq!(row_count(&stats, "incidents"), 1);
        let incidents = stats.iter().find(|s| s.table == "incidents").unwrap();
        assert_eq!((incidents.files, incidents.quarantined), (1, 1));
        assert!(!bad.exists());
        assert!(dir
            .path()
            .join("_devex/quarantine/incidents/month=2026-03/part-bad.parquet")
            .exists());
        assert!(fresh.find_corrupt_files().await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn lake_under_a_file_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("plain-file");
        std::fs::write(&file, b"x").unwrap();
        let err = Lake::create_or_open(file.join("lake")).unwrap_err();
        assert!(matches!(err, Error::LakeNotWritable { .. }), "{err}");
        assert!(err.to_string().contains("--lake"), "{err}");
    }

    #[tokio::test]
    async fn leftover_temporary_files_are_invisible_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let folder = dir.path().join("incidents/month=2026-03");
        std::fs::create_dir_all(&folder).unwrap();
        let temp = folder.join(".tmp-part-x.parquet.99");
        std::fs::write(&temp, b"half a file").unwrap();
        assert_eq!(
            row_count(&lake.table_stats().await.unwrap(), "incidents"),
            0
        );
        lake.append(
            &INCIDENTS,
            &batch(vec![incident("a", "2026-03-01T00:00:00Z")]),
        )
        .await
        .unwrap();
        assert!(!temp.exists());
    }
}
