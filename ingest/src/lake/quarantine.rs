//! The quarantine: corrupt data files moved out of their tables, to
//! `_devex/quarantine/`, so that queries read the rest.

use super::*;

impl Lake {
    /// Moves a corrupt data file (a path below the lake) out of its table,
    /// to `_devex/quarantine/` under the same path, so that queries read the
    /// rest; says so in the log.
    pub async fn quarantine(&self, path: &str, reason: &str) -> Result<()> {
        let to = format!("{STATE_DIR}/{QUARANTINE_DIR}/{path}");
        self.store
            .rename(&StorePath::from(path), &StorePath::from(to.as_str()))
            .await
            .map_err(|source| Error::Storage {
                path: self.shown(path),
                source,
            })?;
        if let Ok(mut kept) = self.quarantine_listing.lock() {
            *kept = None;
        }
        tracing::error!(
            file = %self.shown(path),
            quarantined = %self.shown(&to),
            reason,
            "A corrupt lake file was moved to the quarantine; its table is incomplete until it is re-imported or re-synced."
        );
        Ok(())
    }

    /// Finds the data files whose footers cannot be read and quarantines
    /// them; returns their paths.
    pub async fn quarantine_corrupt_files(&self) -> Result<Vec<String>> {
        let mut moved = Vec::new();
        for corrupt in self.find_corrupt_files().await? {
            if let Error::CorruptFile { path, message } = corrupt {
                let relative = path
                    .strip_prefix(&format!("{}/", self.location()))
                    .map(str::to_string)
                    .unwrap_or(path);
                self.quarantine(&relative, &message).await?;
                moved.push(relative);
            }
        }
        Ok(moved)
    }

    /// The files in quarantine, as paths below the lake (`incidents/...`).
    pub async fn quarantined_files(&self) -> Result<Vec<String>> {
        if self.remote.is_some() {
            if let Ok(kept) = self.quarantine_listing.lock() {
                if let Some((at, files)) = kept.as_ref() {
                    if at.elapsed() < QUARANTINE_LISTING_TTL {
                        return Ok(files.clone());
                    }
                }
            }
        }
        let files = self.list_quarantine().await?;
        if self.remote.is_some() {
            if let Ok(mut kept) = self.quarantine_listing.lock() {
                *kept = Some((std::time::Instant::now(), files.clone()));
            }
        }
        Ok(files)
    }

    async fn list_quarantine(&self) -> Result<Vec<String>> {
        let folder = format!("{STATE_DIR}/{QUARANTINE_DIR}");
        let listed: Vec<_> = self
            .store
            .list(Some(&StorePath::from(folder.as_str())))
            .try_collect()
            .await
            .map_err(|source| Error::Storage {
                path: self.shown(&folder),
                source,
            })?;
        let mut out: Vec<String> = listed
            .into_iter()
            .filter_map(|meta| {
                meta.location
                    .as_ref()
                    .strip_prefix(&format!("{folder}/"))
                    .map(str::to_string)
            })
            .collect();
        out.sort();
        Ok(out)
    }
}
