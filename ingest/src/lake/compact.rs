//! Compaction: a partition's small files (each append writes one per
//! partition it touches, so webhooks leave one per delivery) merged into
//! sorted files of the normal size, under the writer lock.
//!
//! The new partition folder is built beside the lake, in
//! `_devex/compaction/<table>/<partition>/`: the merged files, plus hard
//! links to the files kept as they are. Then one `renameat2(RENAME_EXCHANGE)`
//! swaps it with the live folder, so readers see either every old file or
//! every new one, never both (no duplicate rows) and never neither (no
//! missing rows). What a crash leaves in `_devex/compaction/` (the new
//! folder before the swap, the old one after it) is removed by the next
//! writer. Merged files keep content names and stay deduplicated on
//! `event_id`.

use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use arrow::compute::concat_batches;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::*;

/// A file with fewer rows than one row group is small.
const SMALL_FILE_ROWS: u64 = ROW_GROUP_SIZE as u64;
/// The most rows one merged file holds (eight row groups).
const MERGED_FILE_ROWS: usize = 8 * ROW_GROUP_SIZE;
/// Inside the state folder: partitions being built or just swapped out.
const STAGING_DIR: &str = "compaction";

/// What a compaction did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompactSummary {
    /// Partitions whose small files were merged.
    pub partitions: usize,
    pub files_before: usize,
    pub files_after: usize,
    /// Rows in the merged files.
    pub rows_merged: u64,
}

impl CompactSummary {
    pub fn add(&mut self, other: &CompactSummary) {
        self.partitions += other.partitions;
        self.files_before += other.files_before;
        self.files_after += other.files_after;
        self.rows_merged += other.rows_merged;
    }
}

impl Lake {
    /// Merges the small files of every partition of `table` that has more
    /// than one, holding the writer lock (appends wait meanwhile).
    ///
    /// Not in an object store: there no folder swap shows readers the old
    /// files or the new ones atomically (that wants a table manifest).
    pub async fn compact(&self, table: &'static TableSpec) -> Result<CompactSummary> {
        if self.remote.is_some() {
            return Err(Error::CompactionUnsupported {
                lake: self.location(),
            });
        }
        let mut indexes = self.indexes.lock().await;
        let lock = self.write_turn(&mut indexes).await?;
        let summary = self.compact_locked(table, &mut indexes).await;
        lock.release().await?;
        summary
    }

    async fn compact_locked(
        &self,
        table: &'static TableSpec,
        indexes: &mut dedup::DedupIndex,
    ) -> Result<CompactSummary> {
        self.clean_temporaries_once()?;
        self.remove_staging(true)?;
        let mut by_folder: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (path, _) in self.list_data_files(table.name).await? {
            if let Some((folder, _)) = path.rsplit_once('/') {
                by_folder.entry(folder.to_string()).or_default().push(path);
            }
        }
        let mut summary = CompactSummary::default();
        'partitions: for (folder, paths) in by_folder {
            let mut small = Vec::new();
            let mut kept = Vec::new();
            for path in paths {
                match self.read_row_count(&path).await {
                    Ok(rows) if rows < SMALL_FILE_ROWS => small.push(path),
                    Ok(_) => kept.push(path),
                    // A corrupt file is the quarantine's business (the next
                    // read of the table moves it out); the other partitions
                    // are still compacted.
                    Err(e @ Error::CorruptFile { .. }) => {
                        tracing::warn!(error = %e, partition = %folder, "Not compacting a partition with a corrupt file.");
                        continue 'partitions;
                    }
                    Err(e) => return Err(e),
                }
            }
            if small.len() < 2 {
                continue;
            }
            let (merged, rows) = self.swap_in_merged(table, &folder, &small, &kept)?;
            // The ids are unchanged; only the files they live in are.
            if let Some(index) = indexes.loaded(&folder) {
                for path in &small {
                    index.files.remove(path);
                }
                index
                    .files
                    .extend(merged.iter().map(|name| format!("{folder}/{name}")));
            }
            summary.add(&CompactSummary {
                partitions: 1,
                files_before: small.len() + kept.len(),
                files_after: merged.len() + kept.len(),
                rows_merged: rows,
            });
        }
        self.remove_staging(false)?;
        Ok(summary)
    }

    /// Builds `folder` anew with `small` merged and `kept` linked, swaps it
    /// with the live one, then removes the old. Returns the merged files'
    /// names and their rows.
    fn swap_in_merged(
        &self,
        table: &TableSpec,
        folder: &str,
        small: &[String],
        kept: &[String],
    ) -> Result<(Vec<String>, u64)> {
        let live = self.root.join(folder);
        let staging = self.root.join(STATE_DIR).join(STAGING_DIR).join(folder);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(&staging).map_err(io(&staging))?;
        for path in kept {
            let name = path.rsplit('/').next().unwrap_or(path);
            std::fs::hard_link(self.root.join(path), staging.join(name)).map_err(io(&staging))?;
        }
        let mut seen = HashSet::new();
        let mut pending: Vec<RecordBatch> = Vec::new();
        let mut pending_rows = 0;
        let mut merged = Vec::new();
        let mut rows = 0u64;
        for path in small {
            let file = File::open(self.root.join(path)).map_err(io(&self.root.join(path)))?;
            let corrupt = |message: String| Error::CorruptFile {
                path: self.root.join(path).display().to_string(),
                message,
            };
            let reader = ParquetRecordBatchReaderBuilder::try_new(file)
                .and_then(|b| b.build())
                .map_err(|e| corrupt(e.to_string()))?;
            for batch in reader {
                let batch = batch.map_err(|e| corrupt(e.to_string()))?;
                // The stored schema, as appends write it (metadata included).
                let batch = RecordBatch::try_new(table.schema(), batch.columns().to_vec())
                    .map_err(|e| corrupt(format!("not the canonical schema: {e}")))?;
                let ids = batch.column(0).as_string::<i32>();
                let first: Vec<u32> = (0..batch.num_rows() as u32)
                    .filter(|&row| seen.insert(event_id_hash(ids.value(row as usize))))
                    .collect();
                let batch = take_record_batch(&batch, &UInt32Array::from(first))?;
                pending_rows += batch.num_rows();
                pending.push(batch);
                if pending_rows >= MERGED_FILE_ROWS {
                    rows += pending_rows as u64;
                    merged.push(write_merged(
                        table,
                        &staging,
                        &std::mem::take(&mut pending),
                    )?);
                    pending_rows = 0;
                }
            }
        }
        if pending_rows > 0 {
            rows += pending_rows as u64;
            merged.push(write_merged(table, &staging, &pending)?);
        }
        sync_folder(&staging)?;
        if std::env::var(FAILPOINT_ENV).as_deref() == Ok("lake:compact-before-swap") {
            std::process::abort();
        }
        exchange(&staging, &live)?;
        sync_folder(&live)?;
        if let Some(parent) = staging.parent() {
            sync_folder(parent)?;
        }
        if std::env::var(FAILPOINT_ENV).as_deref() == Ok("lake:compact-after-swap") {
            std::process::abort();
        }
        // The staging path now holds the old folder.
        std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        Ok((merged, rows))
    }

    /// Removes the staging folder: before a compaction, what an interrupted
    /// one left (`left_over`); after it, the emptied folders. Under the
    /// writer lock, so no compaction is running.
    fn remove_staging(&self, left_over: bool) -> Result<()> {
        let staging = self.root.join(STATE_DIR).join(STAGING_DIR);
        match std::fs::remove_dir_all(&staging) {
            Ok(()) => {
                if left_over {
                    tracing::warn!(path = %staging.display(), "Removed what an interrupted compaction left.");
                }
                Ok(())
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io {
                path: staging,
                source,
            }),
        }
    }
}

/// Sorts `batches` as one file (by the table's sort key, then `event_id`,
/// so the same rows always give the same file), names it by content and
/// writes it, fsynced.
fn write_merged(table: &TableSpec, folder: &Path, batches: &[RecordBatch]) -> Result<String> {
    let batch = concat_batches(&table.schema(), batches)?;
    let columns: Vec<SortColumn> = table
        .sort_by
        .iter()
        .filter_map(|name| table.column(name).map(|(i, _)| i))
        .chain([0])
        .map(|i| SortColumn {
            values: batch.column(i).clone(),
            options: None,
        })
        .collect();
    let batch = take_record_batch(&batch, &lexsort_to_indices(&columns, None)?)?;
    let name = file_name(&batch);
    let path = folder.join(&name);
    let mut file = File::create(&path).map_err(|source| Error::Io {
        path: path.clone(),
        source,
    })?;
    file.write_all(&encode_parquet(&batch)?)
        .and_then(|()| file.sync_all())
        .map_err(|source| Error::Io { path, source })?;
    Ok(name)
}

fn sync_folder(folder: &Path) -> Result<()> {
    File::open(folder)
        .and_then(|dir| dir.sync_all())
        .map_err(|source| Error::Io {
            path: folder.to_path_buf(),
            source,
        })
}

/// Swaps two folders in one step (Linux `renameat2` with `RENAME_EXCHANGE`).
fn exchange(a: &Path, b: &Path) -> Result<()> {
    let c_path = |path: &Path| {
        CString::new(path.as_os_str().as_bytes())
            .map_err(|e| Error::Internal(format!("{}: {e}", path.display())))
    };
    let (ca, cb) = (c_path(a)?, c_path(b)?);
    // SAFETY: two valid NUL-terminated paths; the call only reads them.
    let status = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            ca.as_ptr(),
            libc::AT_FDCWD,
            cb.as_ptr(),
            libc::RENAME_EXCHANGE,
        )
    };
    if status == 0 {
        Ok(())
    } else {
        Err(Error::Io {
            path: b.to_path_buf(),
            source: std::io::Error::last_os_error(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::{TableBuilder, Value};
    use crate::schema::INCIDENTS;

    /// Incident `id`, opened at 10:00 UTC on March `day`.
    fn incident(id: usize, day: u32) -> RecordBatch {
        let at = chrono::NaiveDate::from_ymd_opt(2026, 3, day)
            .unwrap()
            .and_hms_opt(10, 0, 0)
            .unwrap()
            .and_utc()
            .timestamp_micros();
        incident_at(&id.to_string(), at)
    }

    /// Incident `id` (event `inc-<id>`) opened at `at` (microseconds).
    fn incident_at(id: &str, at: i64) -> RecordBatch {
        let mut b = TableBuilder::new(&INCIDENTS);
        b.push(vec![
            Value::text(format!("inc-{id}")),
            Value::text("payments"),
            Value::text(id),
            Value::Null,
            Value::Timestamp(at),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::Null,
        ])
        .unwrap();
        b.finish().unwrap()
    }

    fn files(lake: &Lake) -> Vec<String> {
        let mut out: Vec<String> = std::fs::read_dir(lake.root().join("incidents/month=2026-03"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        out.sort();
        out
    }

    #[tokio::test]
    async fn small_files_merge_into_one_sorted_file_with_every_row_once() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        // Thirty deliveries, newest first: thirty files.
        for id in 0..30 {
            lake.append(&INCIDENTS, &incident(id, 28 - (id as u32 % 28)))
                .await
                .unwrap();
        }
        assert_eq!(files(&lake).len(), 30);
        let before = content_fingerprint(&lake.data_files(&INCIDENTS).await.unwrap());
        let summary = lake.compact(&INCIDENTS).await.unwrap();
        // The same rows: the same content fingerprint, so derived tables
        // keyed by it are not computed again.
        assert_eq!(
            content_fingerprint(&lake.data_files(&INCIDENTS).await.unwrap()),
            before
        );
        assert_eq!(
            summary,
            CompactSummary {
                partitions: 1,
                files_before: 30,
                files_after: 1,
                rows_merged: 30
            }
        );
        assert_eq!(files(&lake).len(), 1);
        assert!(!dir
            .path()
            .join("_devex/compaction")
            .join("incidents")
            .exists());
        // Deduplication still knows every id, in this process and a new one.
        let again = lake.append(&INCIDENTS, &incident(7, 21)).await.unwrap();
        assert_eq!(again.duplicates, 1);
        assert_eq!(
            content_fingerprint(&lake.data_files(&INCIDENTS).await.unwrap()),
            before
        );
        let fresh = Lake::open_existing(dir.path()).unwrap();
        assert_eq!(
            fresh
                .append(&INCIDENTS, &incident(8, 20))
                .await
                .unwrap()
                .duplicates,
            1
        );
        let stats = fresh.table_stats().await.unwrap();
        let incidents = stats.iter().find(|t| t.table == "incidents").unwrap();
        assert_eq!((incidents.rows, incidents.files), (30, 1));
        // Sorted by the table's sort key; a second compaction has nothing to do.
        assert_eq!(lake.compact(&INCIDENTS).await.unwrap().partitions, 0);
        // A new row is new content.
        let other_lake_dir = tempfile::tempdir().unwrap();
        let grown = Lake::create_or_open(other_lake_dir.path()).unwrap();
        for id in 0..31 {
            grown
                .append(&INCIDENTS, &incident(id, 28 - (id as u32 % 28)))
                .await
                .unwrap();
        }
        assert_ne!(
            content_fingerprint(&grown.data_files(&INCIDENTS).await.unwrap()),
            before
        );
        // Named by content: the same rows compacted in another lake give the
        // same file.
        let other = tempfile::tempdir().unwrap();
        let twin = Lake::create_or_open(other.path()).unwrap();
        for id in (0..30).rev() {
            twin.append(&INCIDENTS, &incident(id, 28 - (id as u32 % 28)))
                .await
                .unwrap();
        }
        twin.compact(&INCIDENTS).await.unwrap();
        assert_eq!(files(&twin), files(&lake));
    }

    #[tokio::test]
    async fn a_partition_with_a_corrupt_file_is_left_and_the_others_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        for id in 0..3 {
            lake.append(&INCIDENTS, &incident(id, 2 + id as u32))
                .await
                .unwrap();
        }
        let april = |id: usize| {
            let at = chrono::DateTime::parse_from_rfc3339("2026-04-03T10:00:00Z")
                .unwrap()
                .timestamp_micros();
            incident_at(&format!("apr-{id}"), at + id as i64)
        };
        lake.append(&INCIDENTS, &april(1)).await.unwrap();
        lake.append(&INCIDENTS, &april(2)).await.unwrap();
        std::fs::write(
            dir.path()
                .join("incidents/month=2026-03/part-broken.parquet"),
            b"not parquet",
        )
        .unwrap();
        let summary = lake.compact(&INCIDENTS).await.unwrap();
        assert_eq!((summary.partitions, summary.files_after), (1, 1));
        assert_eq!(files(&lake).len(), 4, "March untouched: {:?}", files(&lake));
    }

    #[tokio::test]
    async fn what_an_interrupted_compaction_left_is_removed_by_the_next_writer() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let left = dir.path().join("_devex/compaction/incidents/month=2026-03");
        std::fs::create_dir_all(&left).unwrap();
        std::fs::write(left.join("part-old.parquet"), b"old").unwrap();
        lake.append(&INCIDENTS, &incident(1, 2)).await.unwrap();
        lake.append(&INCIDENTS, &incident(2, 3)).await.unwrap();
        lake.compact(&INCIDENTS).await.unwrap();
        assert!(!dir.path().join("_devex/compaction").exists());
        assert_eq!(files(&lake).len(), 1);
    }
}
