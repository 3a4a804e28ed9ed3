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

/// This document: every endpoint, its parameters and response schemas.
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "ops",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json")))]
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        super::openapi::document(),
    )
        .into_response()
}

/// The answer of `/healthz`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`: the process serves requests.
    #[schema(pattern = "^ok$")]
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "ops",
    responses((status = 200, description = "Alive", body = Health)))]
async fn healthz() -> Json<Health> {
    Json(Health { status: "ok" })
}

/// Prometheus gauges of the headline measures over a rolling window.
///
/// Classic text format, or OpenMetrics when `Accept` asks for
/// `application/openmetrics-text`; names in base units (seconds).
#[utoipa::path(get, path = "/metrics", tag = "ops",
    responses((status = 200, description = "The gauges", content(
        (String = "text/plain; version=0.0.4"),
        (String = "application/openmetrics-text; version=1.0.0")))))]
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
