//! `/api/v1/dora`, `/dora/series`, `/dora/deployments`: the same reports as
//! `devex report dora`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::extract::{content_type, output_format, ApiQuery};
use super::state::AppState;
use crate::error::Result;
use crate::reports::dora::{DoraParams, DoraView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/dora", get(dora_report))
        .route("/dora/series", get(dora_series))
        .route("/dora/deployments", get(dora_deployments))
}

/// `?from&to&tz&service&team&group_by&environment_pattern&levels_year&format`;
/// the same JSON as `devex report dora --format json`.
async fn dora_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DoraParams>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Report).await
}

/// As `/dora`, plus `granularity=week|month`: one point per period.
async fn dora_series(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DoraParams>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Series).await
}

/// Every production deployment in the window with its class, changes,
/// failure causes and recovery.
async fn dora_deployments(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DoraParams>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Deployments).await
}

async fn dora_response(state: &AppState, params: DoraParams, view: DoraView) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::dora::run(&state.queries, &state.config, &params, view, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
