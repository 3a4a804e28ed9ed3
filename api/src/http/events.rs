//! `POST /api/v1/events/usage`: platform usage events pushed by tools, as a
//! JSON array (`ingest::usage`). Stored durably before the answer, once per
//! `event_id`. It needs an `ingest` token once the lake holds tokens; until
//! then it is accepted from this machine only (even behind
//! `--insecure-no-auth`): anything that can reach an open bind could
//! otherwise write events.

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};

use super::state::AppState;
use crate::error::{Error, Result};

use super::MAX_BODY_BYTES;

pub fn routes() -> Router<AppState> {
    Router::new().route("/events/usage", post(usage_events))
}

/// Whether a peer may send events: loopback only (in-process calls, which
/// have no peer, are the server's own).
fn accepted_from(peer: Option<SocketAddr>) -> bool {
    peer.is_none_or(|peer| peer.ip().is_loopback())
}

/// One platform usage event as a tool sends it (`ingest::usage` reads it).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // Only described: `ingest::usage::parse` reads the JSON itself, to name each bad field.
pub struct UsageEvent {
    /// The sender's id of the event; without one, an id from its content.
    pub event_id: Option<String>,
    /// Login or e-mail; stored only as a pseudonym.
    pub user: String,
    pub team: Option<String>,
    pub tool: String,
    pub feature: String,
    /// When, with an offset (RFC 3339).
    pub at: chrono::DateTime<chrono::Utc>,
    /// success, failure or abandoned.
    #[schema(pattern = "^(success|failure|abandoned)$")]
    pub outcome: Option<String>,
}

/// What a delivery of usage events did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UsageReceipt {
    pub received: usize,
    /// New events, durably stored before this answer.
    pub stored: usize,
    /// Events already stored (by `event_id`), not counted twice.
    pub duplicates: usize,
}

/// Platform usage events pushed by tools.
///
/// A JSON array (at most 10,000 events); stored durably before the answer
/// and once per `event_id`. One bad event refuses the whole delivery,
/// naming `events[i].field`. Needs an `ingest` token once tokens exist;
/// until then accepted from this machine only.
#[utoipa::path(post, path = "/api/v1/events/usage", tag = "platform",
    request_body(content = Vec<UsageEvent>, content_type = "application/json"),
    responses((status = 200, description = "Stored", body = UsageReceipt)))]
async fn usage_events(State(state): State<AppState>, request: Request) -> Result<Response> {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    if !state.guard.auth_required()? && !accepted_from(peer) {
        return Err(Error::Forbidden(
            "without tokens, usage events are accepted from this machine only; create an ingest token (devex token create --name NAME --role ingest) and send it as `Authorization: Bearer <token>`".into(),
        ));
    }
    let body = axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|e| Error::BadBody(format!("cannot read the body ({e}); send at most 25 MiB")))?;
    let json: serde_json::Value = serde_json::from_slice(&body).map_err(|e| {
        Error::BadBody(format!(
            "the body is not JSON ({e}); send an array of {{user, tool, feature, at}} events"
        ))
    })?;
    let pseudonymizer = state
        .intake
        .pseudonymizer(&state.lake, &state.config)
        .await?;
    let rows = ingest::usage::parse(&json, pseudonymizer).map_err(|errors| {
        Error::BadBody(
            errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect::<Vec<_>>()
                .join("; "),
        )
    })?;
    let received = rows.len();
    let batches = ingest::sources::batches(rows)?;
    let counts = state.intake.committer.commit(batches).await?;
    if counts.stored > 0 {
        state.ingested();
    }
    Ok(Json(UsageReceipt {
        received,
        stored: counts.stored,
        duplicates: counts.duplicates,
    })
    .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_may_send() {
        assert!(accepted_from(Some("127.0.0.1:5000".parse().unwrap())));
        assert!(accepted_from(Some("[::1]:5000".parse().unwrap())));
        assert!(!accepted_from(Some("10.1.2.3:5000".parse().unwrap())));
        assert!(!accepted_from(Some("[2001:db8::1]:5000".parse().unwrap())));
        assert!(accepted_from(None));
    }
}
