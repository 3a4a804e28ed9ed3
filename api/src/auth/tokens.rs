//! API tokens: random 256-bit values shown once, kept only as SHA-256
//! hashes in the lake's `_devex/tokens.json`, each with a name, a role, an
//! expiry and a revocation time. A presented token is hashed and compared
//! with every kept hash in constant time.

use chrono::{DateTime, Utc};
use ingest::lake::Lake;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::Role;
use crate::error::{Error, Result};

const FILE: &str = "tokens.json";
/// Every token starts so, to be recognisable in a secret scanner.
const PREFIX: &str = "dvx_";

/// A kept token: never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub hash: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

impl TokenRecord {
    /// Whether it may be used at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// `active`, `expired` or `revoked`.
    pub fn state(&self, now: DateTime<Utc>) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.active(now) {
            "active"
        } else {
            "expired"
        }
    }
}

fn hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The lake's tokens, in `_devex/tokens.json` (in the lake's own store, so
/// that every server sharing a lake in an object store knows them).
pub struct TokenStore<'a> {
    lake: &'a Lake,
}

impl<'a> TokenStore<'a> {
    pub fn new(lake: &'a Lake) -> TokenStore<'a> {
        TokenStore { lake }
    }

    /// A version of the token file that changes whenever it does; `None`
    /// while there is none.
    pub async fn version(&self) -> Result<Option<String>> {
        Ok(self.lake.state_file_version(FILE).await?)
    }

    /// Every kept token, active or not.
    pub async fn load(&self) -> Result<Vec<TokenRecord>> {
        match self.lake.read_state_file(FILE).await? {
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                Error::Config(format!(
                    "{} is not a token list ({e}); restore it from a backup, or delete it and create the tokens again",
                    self.lake.state_location(FILE)
                ))
            }),
            None => Ok(Vec::new()),
        }
    }

    async fn save(&self, records: &[TokenRecord]) -> Result<()> {
        let bytes =
            serde_json::to_vec_pretty(records).map_err(|e| Error::Internal(e.to_string()))?;
        self.lake.write_state_file(FILE, &bytes).await?;
        Ok(())
    }

    /// Creates a token; returns it (the only time it exists outside the
    /// caller) and its record.
    pub async fn create(
        &self,
        name: &str,
        role: Role,
        expires_at: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<(String, TokenRecord)> {
        let name = name.trim();
        if name.is_empty()
            || !name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(Error::invalid_parameter(
                "name",
                format!("`{name}` is not a token name; use letters, digits, `-`, `_` and `.`, e.g. prometheus or ci-ingest"),
            ));
        }
        let mut records = self.load().await?;
        if records.iter().any(|r| r.name == name && r.active(now)) {
            return Err(Error::invalid_parameter(
                "name",
                format!("a token named `{name}` is active; revoke it first (devex token revoke {name}) or pick another name"),
            ));
        }
        let token = format!("{PREFIX}{}", super::random_secret());
        let record = TokenRecord {
            name: name.to_string(),
            role,
            hash: hash(&token),
            created_at: now,
            expires_at,
            revoked_at: None,
        };
        records.push(record.clone());
        self.save(&records).await?;
        Ok((token, record))
    }

    /// Revokes the active tokens named `name`; how many there were.
    pub async fn revoke(&self, name: &str, now: DateTime<Utc>) -> Result<usize> {
        let mut records = self.load().await?;
        let mut revoked = 0;
        for record in records
            .iter_mut()
            .filter(|r| r.name == name && r.revoked_at.is_none())
        {
            record.revoked_at = Some(now);
            revoked += 1;
        }
        if revoked == 0 {
            let names: Vec<&str> = records.iter().map(|r| r.name.as_str()).collect();
            return Err(Error::invalid_parameter(
                "name",
                format!(
                    "no token named `{name}` to revoke; the tokens are: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ),
            ));
        }
        self.save(&records).await?;
        Ok(revoked)
    }
}

/// The record a presented token matches, when it is one of `records`:
/// every hash is compared, in constant time, whatever matched before.
pub fn find<'a>(records: &'a [TokenRecord], token: &str) -> Option<&'a TokenRecord> {
    let presented = hash(token);
    let mut found = None;
    for record in records {
        if ingest::sources::webhook::constant_time_eq(record.hash.as_bytes(), presented.as_bytes())
        {
            found = Some(record);
        }
    }
    found
}

/// Reads `90d`, `12h`, `4w` or `never` (no expiry).
pub fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<Option<DateTime<Utc>>> {
    let text = text.trim();
    if text == "never" {
        return Ok(None);
    }
    let bad = || {
        Error::invalid_parameter(
            "expires",
            format!("`{text}` is not a duration; give e.g. 90d, 12h, 4w or never"),
        )
    };
    let (number, unit) = text.split_at(text.len().saturating_sub(1));
    let n: i64 = number.parse().map_err(|_| bad())?;
    let duration = match unit {
        "h" => chrono::Duration::hours(n),
        "d" => chrono::Duration::days(n),
        "w" => chrono::Duration::weeks(n),
        _ => return Err(bad()),
    };
    if n <= 0 {
        return Err(bad());
    }
    Ok(Some(now + duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn tokens_are_kept_as_hashes_and_found_by_value() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let store = TokenStore::new(&lake);
        let now = Utc::now();
        let (token, record) = store
            .create("prometheus", Role::Viewer, None, now)
            .await
            .unwrap();
        assert!(token.starts_with("dvx_") && token.len() > 40, "{token}");
        let kept = std::fs::read_to_string(dir.path().join("_devex/tokens.json")).unwrap();
        assert!(
            !kept.contains(&token[4..]),
            "the token itself is never kept"
        );
        let records = store.load().await.unwrap();
        assert_eq!(find(&records, &token), Some(&record));
        assert_eq!(find(&records, "dvx_wrong"), None);
        // A second active token of the same name is refused; after a revoke
        // the name is free again, and the old token is no longer active.
        assert!(store
            .create("prometheus", Role::Viewer, None, now)
            .await
            .is_err());
        assert_eq!(store.revoke("prometheus", now).await.unwrap(), 1);
        let records = store.load().await.unwrap();
        assert!(!find(&records, &token).unwrap().active(now));
        assert!(store.revoke("nosuch", now).await.is_err());
        assert!(store
            .create("bad name!", Role::Admin, None, now)
            .await
            .is_err());
    }

    #[test]
    fn expiries_read_units() {
        let now = Utc::now();
        assert_eq!(parse_expiry("never", now).unwrap(), None);
        assert_eq!(
            parse_expiry("90d", now).unwrap(),
            Some(now + chrono::Duration::days(90))
        );
        assert!(parse_expiry("90", now).is_err());
        assert!(parse_expiry("0d", now).is_err());
        let expired = TokenRecord {
            name: "x".into(),
            role: Role::Viewer,
            hash: String::new(),
            created_at: now - chrono::Duration::days(2),
            expires_at: Some(now - chrono::Duration::days(1)),
            revoked_at: None,
        };
        assert_eq!(expired.state(now), "expired");
    }
}
