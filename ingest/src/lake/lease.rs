//! Leases on derived generations: a process reading a generation of derived
//! files (a `materialized/<key>` folder, a `deployment_changes/<file>`)
//! holds a shared `flock` on its lease file under `_devex/leases/`, and
//! [`Lake::remove_derived_files`] removes a generation only when it can take
//! the lease exclusively, that is when no query of any process still reads
//! it. A generation it cannot take is left for the next removal.

use std::fs::{File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::{Lake, STATE_DIR};
use crate::error::{Error, Result};

const LEASE_DIR: &str = "leases";

/// A shared hold on one derived generation; released when dropped.
#[derive(Debug)]
pub struct DerivedLease {
    _file: File,
}

impl Lake {
    fn lease_path(&self, unit: &str) -> PathBuf {
        self.root
            .join(STATE_DIR)
            .join(LEASE_DIR)
            .join(format!("{}.lock", unit.replace('/', "~")))
    }

    /// Holds the derived generation `unit` (relative to `_derived/`, e.g.
    /// `materialized/<key>`): it is not removed while the lease lives. Waits
    /// while a removal of it is under way.
    pub fn lease_derived(&self, unit: &str) -> Result<DerivedLease> {
        let path = self.lease_path(unit);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        loop {
            let file = open_lease_file(&path).map_err(io)?;
            file.lock_shared().map_err(io)?;
            // A removal may have unlinked the file while this one waited:
            // a lock on the unlinked file protects nothing, so start over.
            let held = file.metadata().map_err(io)?.ino();
            match std::fs::metadata(&path) {
                Ok(current) if current.ino() == held => return Ok(DerivedLease { _file: file }),
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }

    /// Takes the lease of `unit` exclusively when nobody holds it; `None`
    /// while some process reads the generation.
    pub(super) fn try_lease_exclusive(&self, unit: &str) -> Result<Option<(File, PathBuf)>> {
        let path = self.lease_path(unit);
        let io = |source| Error::Io {
            path: path.clone(),
            source,
        };
        let file = open_lease_file(&path).map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Some((file, path))),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(io(e)),
        }
    }
}

/// Opens (creating it and its folder) the lease file at `path`.
fn open_lease_file(path: &Path) -> std::io::Result<File> {
    if let Some(folder) = path.parent() {
        std::fs::create_dir_all(folder)?;
    }
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_leased_generation_outlives_its_removal_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        lake.write_derived_file("m/old/t.parquet", b"1").unwrap();
        lake.write_derived_file("m/new/t.parquet", b"2").unwrap();
        let held = lake.lease_derived("m/old").unwrap();
        let removed = lake
            .remove_derived_files("m", |path| path.starts_with("new/"))
            .await
            .unwrap();
        assert_eq!(removed, 0);
        assert!(lake.derived_path("m/old/t.parquet").exists());
        drop(held);
        let removed = lake
            .remove_derived_files("m", |path| path.starts_with("new/"))
            .await
            .unwrap();
        assert_eq!(removed, 1);
        assert!(!lake.derived_path("m/old/t.parquet").exists());
        assert!(lake.derived_path("m/new/t.parquet").exists());
        // The removed generation's lease file went with it; leasing it again
        // (a reader that waited) works on a fresh file.
        assert!(!dir.path().join("_devex/leases/m~old.lock").exists());
        drop(lake.lease_derived("m/old").unwrap());
    }
}
