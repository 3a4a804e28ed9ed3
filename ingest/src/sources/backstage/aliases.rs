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
pub async fn load(lake: &Lake) -> Result<BTreeMap<String, String>> {
    match lake.read_state_file(FILE).await? {
        Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::InvalidFile {
            file: lake.state_location(FILE),
            message: format!("not a JSON object of ids ({e}); a catalog import writes it again"),
        }),
        None => Ok(BTreeMap::new()),
    }
}

/// Adds `aliases` to the kept ones (a user's newest id wins), durably.
pub async fn save(lake: &Lake, aliases: &BTreeMap<String, String>) -> Result<()> {
    if aliases.is_empty() {
        return Ok(());
    }
    let mut kept = load(lake).await?;
    kept.extend(aliases.iter().map(|(k, v)| (k.clone(), v.clone())));
    let bytes = serde_json::to_vec_pretty(&kept).map_err(|e| Error::InvalidFile {
        file: FILE.into(),
        message: e.to_string(),
    })?;
    lake.write_state_file(FILE, &bytes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn aliases_add_up_across_imports() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        assert!(load(&lake).await.unwrap().is_empty());
        save(&lake, &BTreeMap::from([("a".into(), "x".into())]))
            .await
            .unwrap();
        save(&lake, &BTreeMap::from([("b".into(), "y".into())]))
            .await
            .unwrap();
        assert_eq!(load(&lake).await.unwrap().len(), 2);
        assert_eq!(user_identity("jane.doe"), "backstage-user:jane.doe");
    }
}
