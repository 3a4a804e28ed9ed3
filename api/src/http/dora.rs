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

/// DORA metrics per group and overall, with performance levels.
///
/// The same JSON as `devex report dora --format json`. Levels below
/// `dora.min_deployments_for_level` deployments are `insufficient_data`.
#[utoipa::path(get, path = "/api/v1/dora", tag = "dora", params(DoraParams),
    responses((status = 200, description = "The DORA report", content(
        (analytics::dora::DoraReport = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn dora_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DoraParams>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Report).await
}

/// DORA metrics per week or month.
///
/// As `/dora`, one point per period and group; a period cut by the window
/// or still running is `partial` and not graded.
#[utoipa::path(get, path = "/api/v1/dora/series", tag = "dora", params(DoraParams),
    responses((status = 200, description = "One point per period and group", content(
        (analytics::dora::DoraSeries = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn dora_series(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DoraParams>,
) -> Result<Response> {
    dora_response(&state, params, DoraView::Series).await
}

/// Every production deployment in the window.
///
/// Each with its class (counted, redeploy, rollback), its changes, failure
/// causes and recovery.
#[utoipa::path(get, path = "/api/v1/dora/deployments", tag = "dora", params(DoraParams),
    responses((status = 200, description = "The drill-down", content(
        (analytics::dora::DeploymentsReport = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
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
