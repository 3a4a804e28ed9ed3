//! The writer lock: one writing process at a time, and the count of write
//! turns that tells a process whether another one wrote since its own last
//! turn. Also the clean-up of what an interrupted writer left.

use std::fs::{File, OpenOptions};
use std::path::Path;

use super::dedup::DedupIndex;
use super::writer_lease::WriterLease;
use super::{Lake, DERIVED_DIR, STATE_DIR, TEMP_PREFIX};
use crate::error::{Error, Result};

/// The held writer lock: a locked file in a folder, a lease object in an
/// object store. Give it back with [`WriterLock::release`].
pub(super) enum WriterLock {
    File(File),
    Lease(WriterLease),
}

impl WriterLock {
    pub(super) async fn release(self) -> Result<()> {
        match self {
            WriterLock::File(file) => {
                drop(file);
                Ok(())
            }
            WriterLock::Lease(lease) => lease.release().await,
        }
    }
}

impl Lake {
    /// Takes the lake's writer lock (one writing process at a time), waiting
    /// for another writer to finish, and counts this turn in the lock file.
    ///
    /// The lock file holds the number of write turns taken by any process.
    /// When it moved since this process's own last turn, another process
    /// wrote (an import, `devex compact`): every partition's index lists its
    /// folder again on its next write. Otherwise the index already knows
    /// every file, and a webhook commit skips a listing that grows with the
    /// partition's files.
    ///
    /// In an object store the lease object holds the count (see
    /// [`super::writer_lease`]).
    pub(super) async fn write_turn(&self, indexes: &mut DedupIndex) -> Result<WriterLock> {
        use std::os::unix::fs::FileExt;
        if self.remote.is_some() {
            let (lease, taken) = WriterLease::acquire(self.store.clone()).await?;
            indexes.taking_turn(taken);
            return Ok(WriterLock::Lease(lease));
        }
        let lock = self.writer_lock().await?;
        let path = self.root.join(STATE_DIR).join("writer.lock");
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let mut turns = [0u8; 8];
        let read = lock.read_at(&mut turns, 0).map_err(io)?;
        // An older lake's empty lock file counts as turn 0.
        let taken = if read == turns.len() {
            u64::from_le_bytes(turns)
        } else {
            0
        };
        indexes.taking_turn(taken);
        // No fsync: the count only tells live processes apart; after a crash
        // every index starts empty anyway.
        lock.write_all_at(&(taken + 1).to_le_bytes(), 0)
            .map_err(io)?;
        Ok(WriterLock::File(lock))
    }

    /// Takes the lake's writer lock (one writing process at a time), waiting
    /// for another writer to finish.
    pub(super) async fn writer_lock(&self) -> Result<File> {
        let path = self.root.join(STATE_DIR).join("writer.lock");
        let not_writable = |source| Error::LakeNotWritable {
            path: self.root.clone(),
            source,
        };
        std::fs::create_dir_all(self.root.join(STATE_DIR)).map_err(not_writable)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .read(true)
            .write(true)
            .open(&path)
            .map_err(not_writable)?;
        // Uncontended (one writing process, the usual case) the lock is
        // taken at once, without a hop to a blocking thread.
        if file.try_lock().is_ok() {
            return Ok(file);
        }
        tokio::task::spawn_blocking(move || file.lock().map(|()| file))
            .await
            .map_err(|e| Error::Internal(format!("lock task failed: {e}")))?
            .map_err(|source| Error::Io { path, source })
    }

    /// Removes temporary files left by a writer that died mid-write. Runs under
    /// the writer lock, so no live writer owns them. (An object store has
    /// none: a put is whole or absent.)
    pub(super) fn clean_temporaries_once(&self) -> Result<()> {
        use std::sync::atomic::Ordering;
        if self.remote.is_some() || self.cleaned_temporaries.swap(true, Ordering::SeqCst) {
            return Ok(());
        }
        fn walk(dir: &Path) -> std::io::Result<()> {
            for entry in std::fs::read_dir(dir)? {
                let entry = entry?;
                let path = entry.path();
                // The derive stage writes without the writer lock, for
                // minutes on a large lake: its temporaries may be in use.
                if entry.file_type()?.is_dir() && entry.file_name() == DERIVED_DIR {
                    continue;
                }
                if entry.file_type()?.is_dir() {
                    walk(&path)?;
                } else if entry.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
                    tracing::warn!(path = %path.display(), "Removing a temporary file left by an interrupted write.");
                    std::fs::remove_file(&path)?;
                }
            }
            Ok(())
        }
        walk(&self.root).map_err(|source| Error::Io {
            path: self.root.clone(),
            source,
        })
    }
}
