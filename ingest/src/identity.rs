//! Pseudonymous developer ids.
//!
//! Developers appear in the lake only as `dev_` followed by 16 hex digits: a
//! keyed hash (HMAC-SHA256) of their normalised login or e-mail. The key is a
//! deployment secret (from configuration, or generated once and kept in the
//! lake's state folder), so ids are stable across sources and runs but cannot
//! be reversed by hashing a list of e-mails.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Prefix of every pseudonymous developer id.
pub const PSEUDONYM_PREFIX: &str = "dev_";
const PSEUDONYM_HEX_DIGITS: usize = 16;

#[derive(Clone)]
pub struct Pseudonymizer {
    key: Vec<u8>,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the key.
        f.write_str("Pseudonymizer")
    }
}

impl Pseudonymizer {
    pub fn new(key: impl AsRef<[u8]>) -> Self {
        Pseudonymizer {
            key: key.as_ref().to_vec(),
        }
    }

    /// The pseudonymous id of an identity (login or e-mail). Values that are
    /// already pseudonyms pass through unchanged, so re-imports are stable.
    pub fn pseudonym(&self, identity: &str) -> String {
        if is_pseudonym(identity) {
            return identity.to_string();
        }
        let normalised = identity.trim().to_lowercase();
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(normalised.as_bytes());
        let digest = mac.finalize().into_bytes();
        format!(
            "{PSEUDONYM_PREFIX}{}",
            &hex::encode(digest)[..PSEUDONYM_HEX_DIGITS]
        )
    }
}

/// Name of the lake's own pseudonym key in its state folder.
const DEVELOPER_KEY_FILE: &str = "identity.key";
/// Name of the survey respondents' key: a separate key, so answers never
/// join to activity.
const RESPONDENT_KEY_FILE: &str = "survey.key";

impl Pseudonymizer {
    /// The developer pseudonyms of `lake`: the configured secret when one is
    /// set, else the key generated once into the lake's state folder. Every
    /// writer (import, collectors, webhooks, survey import) takes its key here,
    /// so one person has one id whatever brought their events.
    pub async fn for_developers(
        lake: &crate::lake::Lake,
        configured_secret: Option<&str>,
    ) -> crate::Result<Pseudonymizer> {
        match configured_secret {
            Some(secret) if !secret.is_empty() => Ok(Pseudonymizer::new(secret.as_bytes())),
            _ => Ok(Pseudonymizer::new(
                lake.read_or_create_secret(DEVELOPER_KEY_FILE).await?,
            )),
        }
    }

    /// The survey respondent ids of `lake`, under their own key (never the
    /// developer key), so survey answers cannot be joined to activity.
    pub async fn for_survey_respondents(lake: &crate::lake::Lake) -> crate::Result<Pseudonymizer> {
        Ok(Pseudonymizer::new(
            lake.read_or_create_secret(RESPONDENT_KEY_FILE).await?,
        ))
    }
}

/// True for strings of the form `dev_` + 16 lower-case hex digits.
pub fn is_pseudonym(value: &str) -> bool {
    value.strip_prefix(PSEUDONYM_PREFIX).is_some_and(|rest| {
        rest.len() == PSEUDONYM_HEX_DIGITS
            && rest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pseudonyms_are_keyed_stable_and_normalised() {
        let p = Pseudonymizer::new("secret");
        let a = p.pseudonym("Alice@Example.com ");
        assert_eq!(a, p.pseudonym("alice@example.com"));
        assert!(is_pseudonym(&a), "{a}");
        assert_ne!(
            a,
            Pseudonymizer::new("other").pseudonym("alice@example.com")
        );
        assert_eq!(p.pseudonym(&a), a);
        assert!(!is_pseudonym("dev_alice"));
        assert!(!is_pseudonym("dev_ABCDEF0123456789"));
    }

    #[tokio::test]
    async fn the_configured_secret_wins_and_respondents_have_their_own_key() {
        let dir = tempfile::tempdir().unwrap();
        let lake = crate::lake::Lake::create_or_open(dir.path()).unwrap();
        let configured = Pseudonymizer::for_developers(&lake, Some("s3cret"))
            .await
            .unwrap();
        assert_eq!(
            configured.pseudonym("a@b.c"),
            Pseudonymizer::new("s3cret").pseudonym("a@b.c")
        );
        let generated = Pseudonymizer::for_developers(&lake, None).await.unwrap();
        let again = Pseudonymizer::for_developers(&lake, Some(""))
            .await
            .unwrap();
        assert_eq!(generated.pseudonym("a@b.c"), again.pseudonym("a@b.c"));
        let respondents = Pseudonymizer::for_survey_respondents(&lake).await.unwrap();
        assert_ne!(respondents.pseudonym("a@b.c"), generated.pseudonym("a@b.c"));
    }
}
