//! The derive stage's files under `_derived/`, written through the lake's
//! commit path like data files: a hidden temporary name, fsync, rename into
//! place, folder fsync. Readers never see half a file, and only `Lake`
//! writes or removes anything in the lake folder.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};

use futures::TryStreamExt;
use object_store::path::Path as StorePath;
use object_store::ObjectStore;

use super::{Lake, FAILPOINT_ENV, TEMP_PREFIX};
use crate::error::{Error, Result};

/// The folder of derived files inside the lake.
pub const DERIVED_DIR: &str = "_derived";

/// A derived file being written; invisible until [`DerivedFile::commit`].
/// Dropped without a commit, its temporary is removed.
pub struct DerivedFile {
    folder: PathBuf,
    temporary: PathBuf,
    destination: PathBuf,
    file: Option<File>,
}

impl Write for DerivedFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match &mut self.file {
            Some(file) => file.write(buf),
            None => Err(std::io::Error::other("derived file already committed")),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match &mut self.file {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

impl DerivedFile {
    /// Makes the file durable and visible under its name.
    pub fn commit(mut self) -> Result<()> {
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if let Some(file) = self.file.take() {
            file.sync_all().map_err(io(&self.temporary))?;
        }
        if std::env::var(FAILPOINT_ENV).as_deref() == Ok("lake:before-rename") {
            std::process::abort();
        }
        std::fs::rename(&self.temporary, &self.destination).map_err(io(&self.temporary))?;
        File::open(&self.folder)
            .and_then(|dir| dir.sync_all())
            .map_err(io(&self.folder))?;
        Ok(())
    }
}

impl Drop for DerivedFile {
    fn drop(&mut self) {
        if self.file.is_some() {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

impl Lake {
    /// Where the derived file `name` (relative to `_derived/`) lies, for reading.
    pub fn derived_path(&self, name: &str) -> PathBuf {
        self.root.join(DERIVED_DIR).join(name)
    }

    /// Starts writing the derived file `name` (relative to `_derived/`, may
    /// hold folders), e.g. `materialized/<key>/deployment_outcomes.parquet`.
    pub fn create_derived_file(&self, name: &str) -> Result<DerivedFile> {
        let destination = self.derived_path(name);
        let folder = destination
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.root.join(DERIVED_DIR));
        let not_writable = |source| Error::LakeNotWritable {
            path: folder.clone(),
            source,
        };
        std::fs::create_dir_all(&folder).map_err(not_writable)?;
        let file_name = destination
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let temporary = folder.join(format!("{TEMP_PREFIX}{file_name}.{}", std::process::id()));
        let file = File::create(&temporary).map_err(not_writable)?;
        Ok(DerivedFile {
            folder,
            temporary,
            destination,
            file: Some(file),
        })
    }

    /// Writes the whole derived file `name` at once.
    pub fn write_derived_file(&self, name: &str, bytes: &[u8]) -> Result<()> {
        let mut file = self.create_derived_file(name)?;
        file.write_all(bytes).map_err(|source| Error::Io {
            path: self.derived_path(name),
            source,
        })?;
        file.commit()
    }

    /// Makes the derived file `from` also readable as `to` (both relative to
    /// `_derived/`) without copying it: a new generation takes over the
    /// parts of the previous one that did not change, and stays whole when
    /// that one is removed. Copies where links are not possible.
    pub fn link_derived_file(&self, from: &str, to: &str) -> Result<()> {
        let source = self.derived_path(from);
        let destination = self.derived_path(to);
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        if let Some(folder) = destination.parent() {
            std::fs::create_dir_all(folder).map_err(|source| Error::LakeNotWritable {
                path: folder.to_path_buf(),
                source,
            })?;
        }
        match std::fs::hard_link(&source, &destination) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
            Err(_) => {
                let bytes = std::fs::read(&source).map_err(io(&source))?;
                self.write_derived_file(to, &bytes)
            }
        }
    }

    /// Empties the derived folder `folder` (relative to `_derived/`) that
    /// the caller holds a lease on and is about to write again: a
    /// generation found broken is derived anew, without its old parts.
    pub fn clear_derived_folder(&self, folder: &str) -> Result<()> {
        let path = self.derived_path(folder);
        match std::fs::remove_dir_all(&path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(source) => Err(Error::Io { path, source }),
        }
    }

    /// Removes the derived files under `folder` (relative to `_derived/`),
    /// except those `keep` says to keep (given each file's path relative to
    /// `folder`). A generation (the first component of that path: a folder
    /// or a file) that a process holds a lease on (see
    /// [`Lake::lease_derived`]) is left whole for a later removal.
    pub async fn remove_derived_files(
        &self,
        folder: &str,
        keep: impl Fn(&str) -> bool,
    ) -> Result<usize> {
        let mut generations: std::collections::BTreeMap<String, (Vec<String>, bool)> =
            Default::default();
        for (relative, _) in self.derived_files(folder).await? {
            let unit = relative.split('/').next().unwrap_or(&relative).to_string();
            let entry = generations.entry(unit).or_default();
            if keep(&relative) {
                entry.1 = true;
            } else {
                entry.0.push(relative);
            }
        }
        let mut removed = 0;
        for (unit, (files, partly_kept)) in generations {
            if files.is_empty() {
                continue;
            }
            let unit = format!("{folder}/{unit}");
            let Some((lease, lease_path)) = self.try_lease_exclusive(&unit)? else {
                tracing::debug!(generation = %unit, "Derived generation in use; removed later.");
                continue;
            };
            // Synchronous while the lock is held: a reader of this process
            // blocks its thread on the lock (see `lease_derived`), and a task
            // that awaited here might need that thread to go on.
            for relative in &files {
                if std::fs::remove_file(self.derived_path(&format!("{folder}/{relative}"))).is_ok()
                {
                    removed += 1;
                }
            }
            self.retire_shared(files.iter().map(|r| format!("{DERIVED_DIR}/{folder}/{r}")));
            if !partly_kept {
                // The emptied folder and its emptied table folders (a file
                // generation is gone already); held exclusively, so nobody
                // writes there.
                let _ = std::fs::remove_dir_all(self.derived_path(&unit));
                // Unlinked while held: a reader waiting on it starts over.
                let _ = std::fs::remove_file(&lease_path);
            }
            drop(lease);
        }
        self.prune_shared_derived().await;
        Ok(removed)
    }

    /// Every derived file under `folder` (relative to `_derived/`): its path
    /// relative to `folder` and when it was last written.
    pub async fn derived_files(
        &self,
        folder: &str,
    ) -> Result<Vec<(String, chrono::DateTime<chrono::Utc>)>> {
        let prefix = StorePath::from(format!("{DERIVED_DIR}/{folder}"));
        let files: Vec<_> =
            self.local
                .list(Some(&prefix))
                .try_collect()
                .await
                .map_err(|source| Error::Storage {
                    path: prefix.to_string(),
                    source,
                })?;
        Ok(files
            .into_iter()
            .map(|meta| {
                let relative = meta
                    .location
                    .as_ref()
                    .strip_prefix(&format!("{prefix}/"))
                    .unwrap_or(meta.location.as_ref())
                    .to_string();
                (relative, meta.last_modified)
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_derived_file_is_invisible_until_committed() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let mut file = lake
            .create_derived_file("materialized/k/t.parquet")
            .unwrap();
        file.write_all(b"abc").unwrap();
        assert!(!lake.derived_path("materialized/k/t.parquet").exists());
        file.commit().unwrap();
        assert_eq!(
            std::fs::read(lake.derived_path("materialized/k/t.parquet")).unwrap(),
            b"abc"
        );
        // Dropped without a commit: nothing left behind.
        drop(
            lake.create_derived_file("materialized/k/u.parquet")
                .unwrap(),
        );
        let left: Vec<_> = std::fs::read_dir(lake.derived_path("materialized/k"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, vec![std::ffi::OsString::from("t.parquet")]);
    }

    #[tokio::test]
    async fn derived_files_are_listed_and_removed_by_folder() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        lake.write_derived_file("m/a/x.parquet", b"1").unwrap();
        lake.write_derived_file("m/b/x.parquet", b"2").unwrap();
        let mut listed: Vec<String> = lake
            .derived_files("m")
            .await
            .unwrap()
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        listed.sort();
        assert_eq!(listed, vec!["a/x.parquet", "b/x.parquet"]);
        let removed = lake
            .remove_derived_files("m", |p| p.starts_with("a/"))
            .await
            .unwrap();
        assert_eq!(removed, 1);
        assert!(lake.derived_path("m/a/x.parquet").exists());
        assert!(!lake.derived_path("m/b/x.parquet").exists());
    }
}
