//! The dedup index: the event ids already stored, per partition folder,
//! loaded from the partition's files on its first write and kept up to date
//! by later ones.
//!
//! It is bounded: past [`ID_BUDGET`] ids the partitions written least
//! recently are forgotten after each partition written, and read again on
//! their next write. A server's
//! webhooks keep writing the current months, whose indexes stay; a bulk
//! writer (the demo, a large import) that touches every month of every table
//! no longer holds the whole lake's ids (76 million at scale 75, about 2.5 GiB).

use super::*;

/// Ids the index holds at most across partitions (about 30 bytes each).
const ID_BUDGET: usize = 8_000_000;

/// The event ids already stored in one partition, and which files they came from.
#[derive(Default)]
pub(super) struct PartitionIndex {
    pub(super) files: HashSet<String>,
    pub(super) ids: HashSet<u128>,
    /// When it was last written (the index's own clock), for eviction.
    used: u64,
    /// Its folder was listed since another process last wrote to the lake.
    listed: bool,
}

#[derive(Default)]
pub(super) struct DedupIndex {
    partitions: HashMap<String, PartitionIndex>,
    clock: u64,
    /// The lake's write-turn count after this process's last turn.
    own_turn: Option<u64>,
}

impl DedupIndex {
    /// The index of one partition (empty when not loaded yet), marked as the
    /// one being written.
    pub(super) fn partition(&mut self, folder: &str) -> &mut PartitionIndex {
        self.clock += 1;
        let clock = self.clock;
        let index = self.partitions.entry(folder.to_string()).or_default();
        index.used = clock;
        index
    }

    /// The index of one partition if it is loaded.
    pub(super) fn loaded(&mut self, folder: &str) -> Option<&mut PartitionIndex> {
        self.partitions.get_mut(folder)
    }

    /// A write turn begins with the lake's count of turns `taken`: when
    /// another process took one since ours, every folder is listed again.
    pub(super) fn taking_turn(&mut self, taken: u64) {
        if self.own_turn != Some(taken) {
            for index in self.partitions.values_mut() {
                index.listed = false;
            }
        }
        self.own_turn = Some(taken + 1);
    }

    /// Called after each partition written: forgets the partitions written
    /// least recently until the index holds at most [`ID_BUDGET`] ids. The
    /// one just written stays, so a write to a single large partition still
    /// deduplicates against all of it.
    pub(super) fn written(&mut self) {
        self.evict_over(ID_BUDGET);
    }

    fn evict_over(&mut self, budget: usize) {
        let mut held: usize = self.partitions.values().map(|p| p.ids.len()).sum();
        if held <= budget {
            return;
        }
        let mut by_age: Vec<(u64, String)> = self
            .partitions
            .iter()
            .filter(|(_, p)| p.used < self.clock)
            .map(|(folder, p)| (p.used, folder.clone()))
            .collect();
        by_age.sort();
        for (_, folder) in by_age {
            if held <= budget {
                break;
            }
            if let Some(evicted) = self.partitions.remove(&folder) {
                held -= evicted.ids.len();
            }
        }
    }
}

impl Lake {
    /// Loads the event ids of files in `dir` that the index has not seen yet
    /// (another process may have written since, or the partition was forgotten).
    pub(super) async fn refresh_index(&self, dir: &str, index: &mut PartitionIndex) -> Result<()> {
        if index.listed {
            return Ok(());
        }
        let files = self.list_data_files(dir).await?;
        for (path, _size) in files {
            // Only files directly in this folder belong to this partition.
            if path.rsplit_once('/').map(|(d, _)| d) != Some(dir) || index.files.contains(&path) {
                continue;
            }
            for id in self.read_event_ids(&path).await? {
                index.ids.insert(id);
            }
            index.files.insert(path);
        }
        index.listed = true;
        Ok(())
    }

    async fn read_event_ids(&self, path: &str) -> Result<Vec<u128>> {
        let corrupt = |message: String| Error::CorruptFile {
            path: self.shown(path),
            message,
        };
        #[allow(deprecated)]
        let reader = ParquetObjectReader::new(self.store.clone(), StorePath::from(path));
        let builder = ParquetRecordBatchStreamBuilder::new(reader)
            .await
            .map_err(|e| corrupt(e.to_string()))?;
        let mask = ProjectionMask::roots(builder.parquet_schema(), [0]);
        let mut stream = builder
            .with_projection(mask)
            .build()
            .map_err(|e| corrupt(e.to_string()))?;
        let mut ids = Vec::new();
        while let Some(batch) = stream
            .try_next()
            .await
            .map_err(|e| corrupt(e.to_string()))?
        {
            let column = batch
                .column(0)
                .as_string_opt::<i32>()
                .ok_or_else(|| corrupt("event_id is not a string column".into()))?;
            ids.extend(column.iter().flatten().map(event_id_hash));
        }
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_ids(index: &mut DedupIndex, folder: &str, ids: std::ops::Range<u128>) {
        index.partition(folder).ids.extend(ids);
    }

    #[test]
    fn the_least_recently_written_partitions_are_forgotten_first() {
        let mut index = DedupIndex::default();
        for (folder, ids) in [("t/month=2026-01", 0..10), ("t/month=2026-02", 10..20)] {
            with_ids(&mut index, folder, ids);
            index.evict_over(25);
        }
        // January is written again: February is now the oldest.
        with_ids(&mut index, "t/month=2026-01", 20..21);
        index.evict_over(25);
        with_ids(&mut index, "t/month=2026-03", 30..40);
        index.evict_over(25);
        assert!(index.loaded("t/month=2026-02").is_none());
        assert_eq!(index.loaded("t/month=2026-01").unwrap().ids.len(), 11);
        assert_eq!(index.loaded("t/month=2026-03").unwrap().ids.len(), 10);
    }

    #[test]
    fn the_partition_just_written_stays_even_over_budget() {
        let mut index = DedupIndex::default();
        with_ids(&mut index, "a", 0..10);
        index.evict_over(5);
        assert!(index.loaded("a").is_some());
        with_ids(&mut index, "b", 10..20);
        index.evict_over(5);
        assert!(index.loaded("a").is_none());
        assert!(index.loaded("b").is_some());
    }
}
