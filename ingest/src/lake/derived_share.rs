//! Derived generations copied into a remote lake's store, for query engines
//! on other machines (Ballista executors) that cannot read this machine's
//! cache. A generation's files never change once written (a new content is
//! a new generation folder), so each is copied once. When the local
//! generation is removed (a newer one replaced it), its copies are retired
//! and deleted from the store after [`SHARED_COPY_GRACE`]: a query planned
//! on the old generation just before may still be reading them.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use object_store::buffered::BufWriter;
use object_store::path::Path as StorePath;
use object_store::{ObjectStore, ObjectStoreExt};
use tokio::io::AsyncWriteExt;

use super::derived::DERIVED_DIR;
use super::Lake;
use crate::error::{Error, Result};

/// Files copied at the same time.
const COPIES_AT_ONCE: usize = 8;

/// How long a retired copy stays in the store: longer than any query.
pub const SHARED_COPY_GRACE: Duration = Duration::from_secs(600);

/// What this process copied to the store, and which copies await deletion.
#[derive(Default)]
pub(super) struct SharedDerived {
    /// Store paths (`_derived/...`) copied and current.
    copied: HashSet<String>,
    /// Store paths whose local generation is gone, and since when.
    retired: Vec<(String, Instant)>,
}

impl Lake {
    /// The URL at which other machines read the derived file or folder
    /// `relative` (relative to `_derived/`; a folder ends in `/`). For a lake
    /// in an object store: its copy under the lake's `_derived/`, made now
    /// unless made before. For a local lake: where it lies, so the readers
    /// must share the lake's folder (the same machine, or a shared mount).
    pub async fn share_derived(&self, relative: &str) -> Result<String> {
        let url = self.data_url(&format!("{DERIVED_DIR}/{relative}"));
        if self.remote.is_none() {
            return Ok(url);
        }
        let prefix = StorePath::from(format!("{DERIVED_DIR}/{relative}"));
        let files: Vec<StorePath> = if relative.ends_with('/') {
            self.local
                .list(Some(&prefix))
                .map_ok(|meta| meta.location)
                .try_collect::<Vec<_>>()
                .await
                .map_err(|source| Error::Storage {
                    path: prefix.to_string(),
                    source,
                })?
                .into_iter()
                // Temporaries of a write under way are not the generation's.
                .filter(|path| path.filename().is_some_and(|n| !n.starts_with('.')))
                .collect()
        } else {
            vec![prefix]
        };
        self.prune_shared_derived().await;
        let todo: Vec<StorePath> = match self.shared_derived.lock() {
            Ok(done) => files
                .into_iter()
                .filter(|f| !done.copied.contains(f.as_ref()))
                .collect(),
            Err(_) => files,
        };
        futures::stream::iter(todo)
            .map(|path| async move { self.copy_derived(&path).await.map(|()| path) })
            .buffer_unordered(COPIES_AT_ONCE)
            .try_for_each(|path| async move {
                if let Ok(mut done) = self.shared_derived.lock() {
                    // Derived again after it was retired: current once more.
                    done.retired.retain(|(retired, _)| retired != path.as_ref());
                    done.copied.insert(path.to_string());
                }
                Ok(())
            })
            .await?;
        Ok(url)
    }

    /// Marks the copies of the derived files `paths` (store paths under
    /// `_derived/`), whose local files were just removed, for deletion after
    /// the grace. Files never copied are ignored.
    pub(super) fn retire_shared(&self, paths: impl Iterator<Item = String>) {
        if self.remote.is_none() {
            return;
        }
        if let Ok(mut shared) = self.shared_derived.lock() {
            let now = Instant::now();
            for path in paths {
                if shared.copied.remove(&path) {
                    shared.retired.push((path, now));
                }
            }
        }
    }

    /// Deletes the retired copies whose grace has passed.
    pub(super) async fn prune_shared_derived(&self) {
        self.prune_shared_retired_before(SHARED_COPY_GRACE).await
    }

    async fn prune_shared_retired_before(&self, grace: Duration) {
        let due: Vec<String> = match self.shared_derived.lock() {
            Ok(mut shared) => {
                let (due, waiting) = std::mem::take(&mut shared.retired)
                    .into_iter()
                    .partition(|(_, since)| since.elapsed() >= grace);
                shared.retired = waiting;
                due.into_iter().map(|(path, _)| path).collect()
            }
            Err(_) => return,
        };
        for path in due {
            match self.store.delete(&StorePath::from(path.as_str())).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                // Left in the store: an unused copy costs space, not answers.
                Err(error) => tracing::warn!(
                    file = %self.shown(&path),
                    %error,
                    "A retired derived copy could not be deleted; it is unused and can be removed by hand."
                ),
            }
        }
    }

    /// Streams one derived file from the local cache into the lake's store
    /// (in parts when large, so memory stays small).
    async fn copy_derived(&self, path: &StorePath) -> Result<()> {
        let storage = |source| Error::Storage {
            path: self.shown(path.as_ref()),
            source,
        };
        let mut reader = self.local.get(path).await.map_err(storage)?.into_stream();
        let mut writer = BufWriter::new(self.store.clone(), path.clone());
        let io = |source| Error::Io {
            path: self.derived_path(path.as_ref().trim_start_matches(&format!("{DERIVED_DIR}/"))),
            source,
        };
        while let Some(chunk) = reader.try_next().await.map_err(storage)? {
            writer.write_all(&chunk).await.map_err(io)?;
        }
        writer.shutdown().await.map_err(io)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use object_store::memory::InMemory;

    use super::*;
    use crate::lake::location::Remote;

    fn lake_in_memory(cache: &std::path::Path) -> (Lake, Arc<dyn ObjectStore>) {
        let bucket: Arc<dyn ObjectStore> = Arc::new(InMemory::new());
        let remote = Remote {
            url: "s3://bucket/lake".into(),
            bucket_url: url::Url::parse("s3://bucket").unwrap(),
            bucket: bucket.clone(),
            prefix: "lake".into(),
        };
        let lake = Lake::open_remote_cached_at(remote, cache.to_path_buf()).unwrap();
        (lake, bucket)
    }

    fn write_derived(lake: &Lake, name: &str) {
        let mut file = lake.create_derived_file(name).unwrap();
        file.write_all(b"parquet").unwrap();
        file.commit().unwrap();
    }

    async fn in_bucket(bucket: &Arc<dyn ObjectStore>) -> Vec<String> {
        let mut paths: Vec<String> = bucket
            .list(None)
            .map_ok(|meta| meta.location.to_string())
            .try_collect()
            .await
            .unwrap();
        paths.sort();
        paths
    }

    #[tokio::test]
    async fn a_copy_is_made_once_and_deleted_after_its_generation_and_the_grace() {
        let cache = tempfile::tempdir().unwrap();
        let (lake, bucket) = lake_in_memory(cache.path());
        write_derived(&lake, "materialized/old/deployments/part-0.parquet");
        write_derived(&lake, "materialized/new/deployments/part-0.parquet");

        let url = lake.share_derived("materialized/old/").await.unwrap();
        assert_eq!(url, "s3://bucket/lake/_derived/materialized/old/");
        lake.share_derived("materialized/new/").await.unwrap();
        assert_eq!(
            in_bucket(&bucket).await,
            [
                "lake/_derived/materialized/new/deployments/part-0.parquet",
                "lake/_derived/materialized/old/deployments/part-0.parquet"
            ]
        );

        // The old generation is replaced: its copy stays for the grace.
        lake.remove_derived_files("materialized", |path| path.starts_with("new/"))
            .await
            .unwrap();
        assert_eq!(in_bucket(&bucket).await.len(), 2);
        lake.prune_shared_retired_before(Duration::ZERO).await;
        assert_eq!(
            in_bucket(&bucket).await,
            ["lake/_derived/materialized/new/deployments/part-0.parquet"]
        );
    }

    #[tokio::test]
    async fn a_generation_derived_again_before_its_copy_is_deleted_keeps_it() {
        let cache = tempfile::tempdir().unwrap();
        let (lake, bucket) = lake_in_memory(cache.path());
        write_derived(&lake, "materialized/g/t/part-0.parquet");
        lake.share_derived("materialized/g/").await.unwrap();
        lake.remove_derived_files("materialized", |_| false)
            .await
            .unwrap();
        write_derived(&lake, "materialized/g/t/part-0.parquet");
        lake.share_derived("materialized/g/").await.unwrap();
        lake.prune_shared_retired_before(Duration::ZERO).await;
        assert_eq!(
            in_bucket(&bucket).await,
            ["lake/_derived/materialized/g/t/part-0.parquet"]
        );
    }
}
