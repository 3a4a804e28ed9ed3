//! Derived generations copied into a remote lake's store, for query engines
//! on other machines (Ballista executors) that cannot read this machine's
//! cache. A generation's files never change once written (a new content is
//! a new generation folder), so each is copied once.

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
        let todo: Vec<StorePath> = match self.shared_derived.lock() {
            Ok(done) => files
                .into_iter()
                .filter(|f| !done.contains(f.as_ref()))
                .collect(),
            Err(_) => files,
        };
        futures::stream::iter(todo)
            .map(|path| async move { self.copy_derived(&path).await.map(|()| path) })
            .buffer_unordered(COPIES_AT_ONCE)
            .try_for_each(|path| async move {
                if let Ok(mut done) = self.shared_derived.lock() {
                    done.insert(path.to_string());
                }
                Ok(())
            })
            .await?;
        Ok(url)
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
