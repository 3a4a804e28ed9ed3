//! Backstage user aliases: which developer id a Backstage user entity
//! (`user:default/jane`) is, kept under `_devex/catalog/backstage-users.json`.
//!
//! The catalog import names a developer by their e-mail (else
//! `backstage-user:<name>`); Backstage analytics events name the user by
//! entity ref only. Both sides are pseudonyms, so the file holds no
//! personal data: the pseudonym of `backstage-user:<name>` -> the developer
//! id the catalog gave that user.

use std::collections::BTreeMap;

use crate::error::{Error, Result};
use crate::lake::Lake;

const FILE: &str = "catalog/backstage-users.json";

/// The identity of a Backstage user without an e-mail, from its name.
pub fn user_identity(name: &str) -> String {
    format!("backstage-user:{name}")
}

/// The aliases kept in the lake (none before the first import).
pub fn load(lake: &Lake) -> Result<BTreeMap<String, String>> {
    let path = lake.state_path(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
            file: path.display().to_string(),
            message: format!("not a JSON object of ids ({e}); a catalog import writes it again"),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
        Err(source) => Err(Error::Io { path, source }),
    }
}

/// Adds `aliases` to the kept ones (a user's newest id wins), durably.
pub fn save(lake: &Lake, aliases: &BTreeMap<String, String>) -> Result<()> {
    if aliases.is_empty() {
        return Ok(());
    }
    let mut kept = load(lake)?;
    kept.extend(aliases.iter().map(|(k, v)| (k.clone(), v.clone())));
    let bytes = serde_json::to_vec_pretty(&kept).map_err(|e| Error::InvalidFile {
        file: FILE.into(),
        message: e.to_string(),
    })?;
    lake.write_state_file(FILE, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_add_up_across_imports() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        assert!(load(&lake).unwrap().is_empty());
        save(&lake, &BTreeMap::from([("a".into(), "x".into())])).unwrap();
        save(&lake, &BTreeMap::from([("b".into(), "y".into())])).unwrap();
        assert_eq!(load(&lake).unwrap().len(), 2);
        assert_eq!(user_identity("jane.doe"), "backstage-user:jane.doe");
    }
}
