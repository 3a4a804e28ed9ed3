//! Committing a file: durably and atomically in a folder, as one
//! (conditional) put in an object store.

use object_store::local::LocalFileSystem;
use object_store::{PutOptions, PutPayload};

use super::*;

impl Lake {
    /// Commits `bytes` as `dir/name`: in a folder, written under a temporary
    /// name, fsynced, moved into place and the folder fsynced; in an object
    /// store, one put. With [`PutMode::Create`] an existing file is kept
    /// and `false` returned (data files are named by their content, so the
    /// one there holds the same rows; two writers never overwrite each
    /// other).
    pub(super) async fn commit_file(
        &self,
        dir: &str,
        name: &str,
        bytes: &[u8],
        mode: PutMode,
    ) -> Result<bool> {
        if self.remote.is_none() {
            return self.commit_local_file(dir, name, bytes, mode);
        }
        let location = StorePath::from(format!("{dir}/{name}"));
        let options = PutOptions {
            mode,
            ..Default::default()
        };
        let payload = PutPayload::from(bytes::Bytes::copy_from_slice(bytes));
        match self.store.put_opts(&location, payload, options).await {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. }) => Ok(false),
            Err(source) => Err(Error::Storage {
                path: self.shown(location.as_ref()),
                source,
            }),
        }
    }

    pub(super) fn commit_local_file(
        &self,
        dir: &str,
        name: &str,
        bytes: &[u8],
        mode: PutMode,
    ) -> Result<bool> {
        let folder = self.root.join(dir);
        let not_writable = |source| Error::LakeNotWritable {
            path: folder.clone(),
            source,
        };
        std::fs::create_dir_all(&folder).map_err(not_writable)?;
        let final_path = folder.join(name);
        let temp_path = folder.join(format!("{TEMP_PREFIX}{name}.{}", std::process::id()));
        let mut file = File::create(&temp_path).map_err(not_writable)?;
        let io = |source| Error::Io {
            path: temp_path.clone(),
            source,
        };
        let written = match failpoint_full_disk() {
            Some(full) => Err(full),
            None => file.write_all(bytes).and_then(|()| file.sync_all()),
        };
        if let Err(e) = written {
            // A full disk must not keep the partial file's blocks.
            drop(file);
            let _ = std::fs::remove_file(&temp_path);
            return Err(if is_storage_full(&e) {
                not_writable(e)
            } else {
                io(e)
            });
        }
        drop(file);
        if std::env::var(FAILPOINT_ENV).as_deref() == Ok("lake:before-rename") {
            std::process::abort();
        }
        let created = match mode {
            // A hard link never replaces an existing file.
            PutMode::Create => {
                let linked = std::fs::hard_link(&temp_path, &final_path);
                let _ = std::fs::remove_file(&temp_path);
                match linked {
                    Ok(()) => true,
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => false,
                    Err(e) => return Err(io(e)),
                }
            }
            _ => {
                std::fs::rename(&temp_path, &final_path).map_err(io)?;
                true
            }
        };
        File::open(&folder)
            .and_then(|dir| dir.sync_all())
            .map_err(|source| Error::Io {
                path: folder.clone(),
                source,
            })?;
        Ok(created)
    }
}

pub(super) fn local_store(root: &Path) -> Result<LocalFileSystem> {
    LocalFileSystem::new_with_prefix(root).map_err(|source| Error::Storage {
        path: root.display().to_string(),
        source,
    })
}
