//! `POST /webhooks/{source}`: every source's receiver, under the same rules.
//!
//! 1. The receiver verifies the delivery (a signature of the raw body or a
//!    token, compared in constant time); otherwise 401 and nothing is kept.
//! 2. It names the delivery and its event; without them, 400.
//! 3. Events it maps become canonical rows, appended durably; only then is
//!    the delivery acknowledged. Deliveries that arrive together share one
//!    append (a group commit), so durability costs one fsync per partition
//!    and commit, not per delivery. Rows carry the source's own ids, not the
//!    delivery's, so a redelivery stores nothing new. Raw payloads hold
//!    logins and e-mails, so a mapped delivery is not kept raw.
//! 4. Events that map to no rows (ping, release notes, ...) are kept raw
//!    (headers and body) under `_devex/webhooks/<source>/`, written like a
//!    lake file (`Lake::write_state_file`), for later reprocessing, then
//!    acknowledged with 202.
//! 5. A payload that does not parse gets 400 with the reason and is kept in
//!    `_devex/dead-letter/<source>/` with its headers.

use std::collections::HashMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use bytes::Bytes;
use ingest::group_commit::CommitCounts;
use ingest::sources::{DeliveryId, Parsed, WebhookContext, WebhookReceiver};
use sha2::{Digest, Sha256};

use super::state::AppState;
use crate::error::{Error, Result};

pub fn routes() -> Router<AppState> {
    Router::new().route("/webhooks/{source}", post(receive))
}

/// The stored form of a raw or dead-lettered delivery: the headers the
/// receiver keeps (never a signature or token) and the body.
fn record(
    receiver: &dyn WebhookReceiver,
    delivery: &DeliveryId,
    headers: &HeaderMap,
    body: &[u8],
    reason: Option<&str>,
) -> Vec<u8> {
    let kept: HashMap<&str, &str> = headers
        .iter()
        .filter(|(name, _)| receiver.keeps_header(name.as_str()))
        .filter_map(|(name, value)| Some((name.as_str(), value.to_str().ok()?)))
        .collect();
    let value = serde_json::json!({
        "event": delivery.event,
        "delivery": delivery.id,
        "received_at": chrono::Utc::now().to_rfc3339(),
        "headers": kept,
        "reason": reason,
        "body": String::from_utf8_lossy(body),
    });
    value.to_string().into_bytes()
}

/// Where a delivery that is not stored as rows is kept.
struct Kept<'a> {
    state: &'a AppState,
    source: &'a str,
    receiver: &'a dyn WebhookReceiver,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

impl Kept<'_> {
    /// Writes the delivery under `_devex/<folder>/<source>/<id>.json`,
    /// durably; returns the path below `_devex/`.
    async fn write(&self, folder: &str, delivery: &DeliveryId, reason: &str) -> Result<String> {
        let file = format!("{folder}/{}/{}.json", self.source, delivery.id);
        self.state
            .lake
            .write_state_file(
                &file,
                &record(
                    self.receiver,
                    delivery,
                    self.headers,
                    self.body,
                    Some(reason),
                ),
            )
            .await?;
        Ok(file)
    }

    /// Keeps an unreadable delivery in the dead-letter folder and answers 400.
    async fn dead_letter(&self, delivery: &DeliveryId, reason: &str) -> Result<Response> {
        let file = self.write("dead-letter", delivery, reason).await?;
        Err(Error::BadBody(format!(
            "the {} payload could not be read: {reason}; it was kept in _devex/{file}",
            delivery.event
        )))
    }
}

/// A delivery stored (or already stored).
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookStored {
    /// The source's delivery id (e.g. GitHub's `X-GitHub-Delivery`).
    pub delivery: String,
    pub event: String,
    /// New rows, durably stored before this answer.
    pub stored: usize,
    /// Rows already stored (a redelivery), not counted twice.
    pub duplicates: usize,
}

/// A delivery that maps to no rows, kept raw for later reprocessing.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct WebhookKeptRaw {
    pub delivery: String,
    pub event: String,
    /// Always 0.
    pub stored: usize,
    /// Always `raw`.
    pub kept: &'static str,
    pub reason: String,
}

/// A webhook receiver of any source.
///
/// Verified by the source's signature or token (GitHub:
/// `X-Hub-Signature-256`; GitLab: `X-Gitlab-Token`; ...), kept durably
/// before it is acknowledged, deduplicated by the source's own ids. A body
/// that cannot be read is kept in the dead-letter folder and answered 400.
#[utoipa::path(post, path = "/webhooks/{source}", tag = "ingest",
    params(("source" = String, Path,
        description = "A source with a webhook receiver (github, gitlab, pagerduty, ...); an unknown one answers 404 listing the known ones")),
    request_body(content = serde_json::Value, description = "The source's own payload", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored (or already stored)", body = WebhookStored),
        (status = 202, description = "Kept raw; the event maps to no rows", body = WebhookKeptRaw)))]
async fn receive(
    State(state): State<AppState>,
    Path(source): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response> {
    let receiver = state.intake.receiver(&source)?;
    receiver
        .verify(&headers, &body)
        .map_err(Error::Unauthorized)?;
    let kept = Kept {
        state: &state,
        source: &source,
        receiver,
        headers: &headers,
        body: &body,
    };
    let delivery = match receiver.identify(&headers, &body) {
        Ok(delivery) => delivery,
        Err(reason) => {
            // Named after its content, so a repeat overwrites, not piles up.
            let digest = hex::encode(&Sha256::digest(&body)[..8]);
            let delivery = DeliveryId {
                id: format!("unidentified-{digest}"),
                event: "unknown".into(),
            };
            return kept.dead_letter(&delivery, &reason).await;
        }
    };
    let catalog = state.intake.catalog(&state.lake, &state.queries).await?;
    let context = WebhookContext {
        pseudonymizer: state
            .intake
            .pseudonymizer(&state.lake, &state.config)
            .await?,
        catalog: &catalog,
        ai: &state.intake.ai,
    };
    let rows = match receiver.parse(&delivery, &body, &context) {
        Ok(Parsed::Rows(rows)) => rows,
        Ok(Parsed::Kept(reason)) => {
            // Kept raw for later reprocessing, durably, before the answer.
            kept.write("webhooks", &delivery, &reason).await?;
            return Ok((
                StatusCode::ACCEPTED,
                Json(WebhookKeptRaw {
                    delivery: delivery.id,
                    event: delivery.event,
                    stored: 0,
                    kept: "raw",
                    reason,
                }),
            )
                .into_response());
        }
        Err(e) => return kept.dead_letter(&delivery, &e.0).await,
    };
    let batches = match ingest::sources::batches(rows) {
        Ok(batches) => batches,
        Err(e) => return kept.dead_letter(&delivery, &e.to_string()).await,
    };
    let CommitCounts { stored, duplicates } = state.intake.committer.commit(batches).await?;
    if stored > 0 {
        state.ingested();
    }
    Ok((
        StatusCode::OK,
        Json(WebhookStored {
            delivery: delivery.id,
            event: delivery.event,
            stored,
            duplicates,
        }),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    //! A second source, defined here and nowhere in `api/`: the generic
    //! route serves it with the same rules as GitHub's.

    use std::collections::BTreeMap;
    use std::sync::Arc;

    use axum::body::Body;
    use axum::http::Request;
    use ingest::canonical::{Incident, Micros};
    use ingest::lake::Lake;
    use ingest::sources::{
        webhook::constant_time_eq, PayloadError, Registry, SourceEntry, SourceSection,
    };
    use tower::ServiceExt;

    use super::*;
    use crate::config::Config;

    /// Deliveries carry `X-Toy-Token`, `X-Toy-Id` and `X-Toy-Event`; an
    /// `outage` event is an incident of the service it names.
    struct Toy {
        token: String,
    }

    impl WebhookReceiver for Toy {
        fn verify(&self, headers: &HeaderMap, _body: &[u8]) -> std::result::Result<(), String> {
            let given = headers
                .get("x-toy-token")
                .map(|v| v.as_bytes())
                .unwrap_or_default();
            constant_time_eq(self.token.as_bytes(), given)
                .then_some(())
                .ok_or_else(|| "X-Toy-Token does not match".to_string())
        }

        fn identify(
            &self,
            headers: &HeaderMap,
            _body: &[u8],
        ) -> std::result::Result<DeliveryId, String> {
            let header = |name: &str| {
                headers
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string)
            };
            Ok(DeliveryId {
                id: header("x-toy-id")
                    .filter(|id| !id.is_empty())
                    .ok_or("X-Toy-Id is missing")?,
                event: header("x-toy-event").ok_or("X-Toy-Event is missing")?,
            })
        }

        fn parse(
            &self,
            delivery: &DeliveryId,
            body: &[u8],
            _context: &WebhookContext<'_>,
        ) -> std::result::Result<Parsed, PayloadError> {
            if delivery.event != "outage" {
                return Ok(Parsed::Kept(format!(
                    "`{}` is not an outage",
                    delivery.event
                )));
            }
            let payload: serde_json::Value =
                serde_json::from_slice(body).map_err(|e| PayloadError(format!("not JSON: {e}")))?;
            let id = payload["id"]
                .as_str()
                .ok_or(PayloadError("`id` is missing".into()))?;
            Ok(Parsed::Rows(vec![Incident {
                event_id: format!("toy:outage:{id}"),
                service: payload["service"].as_str().unwrap_or("unknown").to_string(),
                incident_id: id.to_string(),
                severity: None,
                opened_at: Micros(1_767_225_600_000_000),
                acknowledged_at: None,
                resolved_at: None,
                deployment_id: None,
                sha: None,
            }
            .into()]))
        }

        fn keeps_header(&self, name: &str) -> bool {
            name.starts_with("x-toy-") && name != "x-toy-token"
        }
    }

    const TOY: SourceEntry = SourceEntry {
        name: "toy",
        about: "a source that exists only in this test",
        environment: &[],
        check: |_| Ok(()),
        collector: None,
        webhook: Some(|section: &SourceSection| {
            Ok(Box::new(Toy {
                token: section["token"].as_str().unwrap_or_default().to_string(),
            }) as Box<dyn WebhookReceiver>)
        }),
    };

    async fn post(
        app: &Router,
        uri: &str,
        token: &str,
        id: &str,
        event: &str,
        body: &str,
    ) -> (StatusCode, serde_json::Value) {
        let request = Request::post(uri)
            .header("x-toy-token", token)
            .header("x-toy-id", id)
            .header("x-toy-event", event)
            .body(Body::from(body.to_string()))
            .unwrap();
        let response = app.clone().oneshot(request).await.unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_toy_source_added_outside_api_is_served_by_the_generic_route() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        let config = Config {
            sources: BTreeMap::from([("toy".to_string(), serde_json::json!({"token": "s3cret"}))]),
            ..Config::default()
        };
        let registry = Registry::builtin().with(TOY);
        let state = AppState::with_sources(lake.clone(), config, &registry)
            .await
            .unwrap();
        let app = crate::http::app(state);
        let outage = r#"{"id": "o-1", "service": "checkout"}"#;

        // A wrong token: 401, nothing kept.
        let (status, body) = post(&app, "/webhooks/toy", "wrong", "d1", "outage", outage).await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::UNAUTHORIZED, Some("unauthorized"))
        );
        assert!(!dir.path().join("_devex/dead-letter/toy").exists());

        // Stored, then a redelivery stores nothing new.
        let (status, body) = post(&app, "/webhooks/toy", "s3cret", "d1", "outage", outage).await;
        assert_eq!((status, body["stored"].as_u64()), (StatusCode::OK, Some(1)));
        let (status, body) = post(&app, "/webhooks/toy", "s3cret", "d2", "outage", outage).await;
        assert_eq!(
            (status, body["stored"].as_u64(), body["duplicates"].as_u64()),
            (StatusCode::OK, Some(0), Some(1))
        );
        let stats = lake.table_stats().await.unwrap();
        let incidents = stats.iter().find(|t| t.table == "incidents").unwrap();
        assert_eq!(incidents.rows, 1);

        // An event it does not map is kept raw, without the token.
        let (status, body) = post(&app, "/webhooks/toy", "s3cret", "d3", "ping", "{}").await;
        assert_eq!(
            (status, body["kept"].as_str()),
            (StatusCode::ACCEPTED, Some("raw"))
        );
        let raw = std::fs::read_to_string(dir.path().join("_devex/webhooks/toy/d3.json")).unwrap();
        assert!(
            raw.contains("x-toy-event") && !raw.contains("s3cret"),
            "{raw}"
        );

        // An unreadable body: 400, dead-lettered.
        let (status, body) = post(&app, "/webhooks/toy", "s3cret", "d4", "outage", "{").await;
        assert_eq!(
            (status, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("invalid_body"))
        );
        assert!(dir.path().join("_devex/dead-letter/toy/d4.json").exists());

        // A delivery the receiver cannot name: 400, dead-lettered by content.
        let (status, _) = post(&app, "/webhooks/toy", "s3cret", "", "outage", outage).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let unnamed: Vec<_> = std::fs::read_dir(dir.path().join("_devex/dead-letter/toy"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .filter(|name| name.starts_with("unidentified-"))
            .collect();
        assert_eq!(unnamed.len(), 1, "{unnamed:?}");

        // An unknown source: 404 naming the known ones.
        let (status, body) = post(&app, "/webhooks/nosuch", "s3cret", "d5", "outage", outage).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let message = body["error"]["message"].as_str().unwrap();
        assert!(
            message.contains("github") && message.contains("toy"),
            "{message}"
        );
    }
}
