//! Webhook receivers: how a source turns a delivery into canonical rows.
//!
//! The server serves every receiver at one route, `POST /webhooks/{source}`,
//! and applies the same rules to all of them:
//!
//! 1. [`WebhookReceiver::verify`] checks the delivery is the source's (a
//!    signature of the body or a token, compared in constant time);
//!    otherwise 401 and nothing is kept.
//! 2. [`WebhookReceiver::identify`] names the delivery and its event type;
//!    a delivery without them gets 400.
//! 3. [`WebhookReceiver::parse`] maps it to canonical rows, which are stored
//!    durably before the delivery is acknowledged. Rows carry the source's own
//!    ids, so a redelivery stores nothing new. A payload that cannot be read
//!    gets 400 and is kept in the dead-letter folder; one that maps to no
//!    rows (an event the receiver does not handle, or one about something
//!    the catalog does not know) is kept raw with the reason.

use http::HeaderMap;

use crate::canonical::Rows;
use crate::identity::Pseudonymizer;
use crate::sources::catalog::CatalogView;

/// Why a payload could not be mapped: the field and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A delivery's id (unique per delivery, safe as a file name) and event type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryId {
    pub id: String,
    pub event: String,
}

/// What a receiver needs beyond the delivery.
pub struct WebhookContext<'a> {
    pub pseudonymizer: &'a Pseudonymizer,
    pub catalog: &'a CatalogView,
    /// Which commits and pull requests are AI-assisted (`[ai]`).
    pub ai: &'a crate::ai_attribution::AiAttribution,
}

/// What a verified delivery maps to.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// Canonical rows to store.
    Rows(Rows),
    /// Nothing to store: the delivery is kept raw, with why (an event the
    /// receiver does not map, a service the catalog does not know).
    Kept(String),
}

impl Parsed {
    /// Rows, or the delivery kept raw with `reason` when there are none.
    pub fn rows_or(rows: Rows, reason: impl FnOnce() -> String) -> Parsed {
        if rows.is_empty() {
            Parsed::Kept(reason())
        } else {
            Parsed::Rows(rows)
        }
    }
}

/// A source's webhook receiver.
pub trait WebhookReceiver: Send + Sync {
    /// Whether the delivery is the source's: `Err` says why not (401).
    fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), String>;

    /// The delivery's id and event type: `Err` says what is missing (400).
    fn identify(&self, headers: &HeaderMap, body: &[u8]) -> Result<DeliveryId, String>;

    /// The canonical rows of a verified delivery, or why it is kept raw.
    fn parse(
        &self,
        delivery: &DeliveryId,
        body: &[u8],
        context: &WebhookContext<'_>,
    ) -> Result<Parsed, PayloadError>;

    /// Whether a header is kept with a raw or dead-lettered delivery. Never
    /// a secret: signatures and tokens stay out.
    fn keeps_header(&self, name: &str) -> bool;
}

/// A header's value as text, when it is.
pub fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks `Authorization: Bearer <token>` against `token` in constant time;
/// `Err` says what is wrong, naming where the token is configured (the
/// `[source]` section's `token`, or `variable`).
pub fn verify_bearer(
    headers: &HeaderMap,
    token: Option<&str>,
    source: &str,
    variable: &str,
) -> Result<(), String> {
    let Some(token) = token else {
        return Err(format!(
            "no token is configured; set token in [{source}] or {variable}, and send it as `Authorization: Bearer <token>`"
        ));
    };
    let given = header(headers, "authorization")
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    if constant_time_eq(token.as_bytes(), given.trim().as_bytes()) {
        Ok(())
    } else {
        Err(format!(
            "Authorization is missing or is not `Bearer <the configured {source} token>`"
        ))
    }
}

/// Keeps only the characters of a delivery id that are safe in a file name.
pub fn file_safe_id(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// Whether `secret` and `given` are equal, in time that does not depend on
/// where they differ.
pub fn constant_time_eq(secret: &[u8], given: &[u8]) -> bool {
    use hmac::Mac;
    // Comparing HMACs of both under a fixed key: equal-length digests,
    // compared by `verify_slice` in constant time.
    let digest = |value: &[u8]| {
        let mut mac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(b"devex compare")
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(value);
        mac
    };
    let expected = digest(secret).finalize().into_bytes();
    digest(given).verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_file_safe_and_tokens_compare_exactly() {
        assert_eq!(file_safe_id("../a-b_c/7"), "a-b_c7");
        assert!(constant_time_eq(b"token", b"token"));
        assert!(!constant_time_eq(b"token", b"tokem"));
        assert!(!constant_time_eq(b"token", b"token2"));
    }
}
