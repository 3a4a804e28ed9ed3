//! `POST /webhooks/github`: verified, durable, idempotent.
//!
//! 1. The `X-Hub-Signature-256` HMAC-SHA256 of the raw body must match the
//!    configured secret (constant-time compare); otherwise 401, nothing kept.
//! 2. Known events become canonical rows, appended durably; only then is the
//!    delivery acknowledged. Deliveries that arrive together share one
//!    append (a group commit, [`Committer`]), so durability costs one fsync
//!    per partition and commit, not per delivery. Rows carry GitHub's ids, not the delivery's, so
//!    a redelivery (same `X-GitHub-Delivery`) stores nothing new. Raw payloads
//!    hold logins and e-mails, so a mapped delivery is not kept raw.
//! 3. Events that map to no rows (ping, release, workflow_job, ...) are kept
//!    raw (headers and body) under `_devex/webhooks/github/`, written like a
//!    lake file (`Lake::write_state_file`), for
//!    later reprocessing, then acknowledged with 202.
//! 4. A payload that does not parse gets 400 with the reason and is kept in
//!    `_devex/dead-letter/github/` with its headers.

use std::collections::HashMap;
use std::sync::Arc;

use ingest::identity::Pseudonymizer;
use ingest::lake::Lake;
use tokio::sync::{Mutex, OnceCell};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use bytes::Bytes;
use hmac::{Hmac, Mac};
use ingest::sources::github;
use sha2::Sha256;

use crate::error::{Error, Result};
use crate::server::AppState;

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether `signature` (`sha256=<hex>`) is the HMAC of `body` under `secret`.
pub fn verify(secret: &[u8], body: &[u8], signature: Option<&str>) -> bool {
    let Some(hex_digest) = signature.and_then(|s| s.strip_prefix("sha256=")) else {
        return false;
    };
    let Ok(expected) = hex::decode(hex_digest) else {
        return false;
    };
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret) else {
        return false;
    };
    mac.update(body);
    mac.verify_slice(&expected).is_ok()
}

fn record(
    event: &str,
    delivery: &str,
    headers: &HeaderMap,
    body: &[u8],
    reason: Option<&str>,
) -> Vec<u8> {
    let kept: HashMap<&str, &str> = headers
        .iter()
        .filter(|(name, _)| {
            let name = name.as_str();
            name.starts_with("x-github-") || name == "user-agent" || name == "content-type"
        })
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let value = serde_json::json!({
        "event": event,
        "delivery": delivery,
        "received_at": chrono::Utc::now().to_rfc3339(),
        "headers": kept,
        "reason": reason,
        "body": String::from_utf8_lossy(body),
    });
    value.to_string().into_bytes()
}

pub async fn github(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let secret = state
        .config
        .github
        .webhook_secret
        .clone()
        .or_else(|| std::env::var("DEVEX_GITHUB_WEBHOOK_SECRET").ok())
        .filter(|s| !s.is_empty());
    let Some(secret) = secret else {
        return Err(Error::Unauthorized(
            "no webhook secret is configured; set github.webhook_secret or DEVEX_GITHUB_WEBHOOK_SECRET".into(),
        ));
    };
    if !verify(
        secret.as_bytes(),
        &body,
        header(&headers, "x-hub-signature-256"),
    ) {
        return Err(Error::Unauthorized(
            "X-Hub-Signature-256 is missing or does not match the configured secret".into(),
        ));
    }
    let event = header(&headers, "x-github-event")
        .ok_or_else(|| Error::BadBody("X-GitHub-Event header is missing".into()))?
        .to_string();
    let delivery = header(&headers, "x-github-delivery")
        .ok_or_else(|| Error::BadBody("X-GitHub-Delivery header is missing".into()))?;
    // Delivery ids are GUIDs; anything else cannot become a path.
    let delivery: String = delivery
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .collect();
    if delivery.is_empty() {
        return Err(Error::BadBody(
            "X-GitHub-Delivery is not a delivery id".into(),
        ));
    }
    let payload: serde_json::Value = match serde_json::from_slice(&body) {
        Ok(payload) => payload,
        Err(e) => {
            return dead_letter(
                &state,
                &event,
                &delivery,
                &headers,
                &body,
                &format!("not JSON: {e}"),
            )
        }
    };
    let services = state.webhooks.services(&state).await?;
    let context = github::Context {
        pseudonymizer: state.webhooks.pseudonymizer(&state).await?,
        services: &services,
        incident_label: &state.config.github.incident_label,
    };
    let rows = match github::parse(&event, &payload, &context) {
        Ok(rows) => rows,
        Err(e) => return dead_letter(&state, &event, &delivery, &headers, &body, &e.0),
    };
    if rows.is_empty() {
        // Kept raw for later reprocessing, durably, before the answer.
        state.lake.write_state_file(
            &format!("webhooks/github/{delivery}.json"),
            &record(&event, &delivery, &headers, &body, None),
        )?;
        return Ok((
            StatusCode::ACCEPTED,
            Json(serde_json::json!({"delivery": delivery, "event": event, "stored": 0, "kept": "raw"})),
        )
            .into_response());
    }
    let batches = match ingest::sources::batches(rows) {
        Ok(batches) => batches,
        Err(e) => return dead_letter(&state, &event, &delivery, &headers, &body, &e.to_string()),
    };
    let ingest::group_commit::CommitCounts { stored, duplicates } =
        state.webhooks.committer.commit(batches).await?;
    if stored > 0 {
        state.scorecard.ingested();
    }
    Ok((
        StatusCode::OK,
        Json(serde_json::json!({"delivery": delivery, "event": event, "stored": stored, "duplicates": duplicates})),
    )
        .into_response())
}

/// What the server keeps for webhook deliveries: the writer, and what each
/// delivery would otherwise look up again.
pub struct Webhooks {
    committer: ingest::group_commit::GroupCommit,
    pseudonymizer: OnceCell<Pseudonymizer>,
    /// The catalog's repo -> service map, read again only when the
    /// `services` files change.
    services: Mutex<ServicesCache>,
}

#[derive(Default)]
struct ServicesCache {
    /// The `services` data files the map was read from; `None` before the first read.
    files: Option<Vec<(String, u64)>>,
    map: Arc<HashMap<String, String>>,
}

impl Webhooks {
    pub fn start(lake: Arc<Lake>) -> Webhooks {
        Webhooks {
            committer: ingest::group_commit::GroupCommit::start(lake),
            pseudonymizer: OnceCell::new(),
            services: Mutex::new(ServicesCache::default()),
        }
    }

    async fn pseudonymizer(&self, state: &AppState) -> Result<&Pseudonymizer> {
        self.pseudonymizer
            .get_or_try_init(|| async {
                Pseudonymizer::for_developers(&state.lake, state.config.identity_secret.as_deref())
                    .map_err(Error::from)
            })
            .await
    }

    async fn services(&self, state: &AppState) -> Result<Arc<HashMap<String, String>>> {
        let files = state.lake.data_files(&ingest::schema::SERVICES).await?;
        let mut cache = self.services.lock().await;
        if cache.files.as_ref() != Some(&files) {
            cache.map = Arc::new(analytics::catalog::repository_services(&state.queries).await?);
            cache.files = Some(files);
        }
        Ok(cache.map.clone())
    }
}

fn dead_letter(
    state: &AppState,
    event: &str,
    delivery: &str,
    headers: &HeaderMap,
    body: &[u8],
    reason: &str,
) -> Result<Response> {
    state.lake.write_state_file(
        &format!("dead-letter/github/{delivery}.json"),
        &record(event, delivery, headers, body, Some(reason)),
    )?;
    Err(Error::BadBody(format!(
        "the {event} payload could not be read: {reason}; it was kept in _devex/dead-letter/github/{delivery}.json"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_test_vector_verifies() {
        // github/docs, "Validating webhook deliveries" (fixtures/github-docs).
        let secret = b"It's a Secret to Everybody";
        let good = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
        assert!(verify(secret, b"Hello, World!", Some(good)));
        assert!(!verify(secret, b"Hello, World?", Some(good)));
        assert!(!verify(b"other", b"Hello, World!", Some(good)));
        assert!(!verify(secret, b"Hello, World!", None));
        assert!(!verify(secret, b"Hello, World!", Some("sha1=abc")));
    }
}
