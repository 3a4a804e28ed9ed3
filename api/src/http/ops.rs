//! `/healthz`, `/metrics` (Prometheus) and `/api/v1/openapi.json`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::metrics::CONTENT_TYPE;
use super::state::AppState;
use crate::error::{Error, Result};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics))
}

pub fn api_routes() -> Router<AppState> {
    Router::new().route("/openapi.json", get(openapi))
}

/// The OpenAPI document of every endpoint.
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        include_str!("../openapi.json"),
    )
        .into_response()
}

async fn healthz() -> Json<serde_json::Value> {
    Json(serde_json::json!({ "status": "ok" }))
}

async fn metrics(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<impl IntoResponse> {
    let body = state
        .metrics
        .encode()
        .map_err(|e| Error::Internal(format!("cannot encode metrics: {e}")))?;
    let openmetrics = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("application/openmetrics-text"));
    Ok(if openmetrics {
        ([(header::CONTENT_TYPE, CONTENT_TYPE)], body)
    } else {
        (
            [(header::CONTENT_TYPE, super::metrics::TEXT_CONTENT_TYPE)],
            super::metrics::to_text_format(&body),
        )
    })
}
