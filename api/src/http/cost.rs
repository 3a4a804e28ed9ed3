//! `/api/v1/cost`: the same report as `devex report cost`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::extract::{content_type, output_format, ApiQuery};
use super::state::AppState;
use crate::error::Result;
use crate::reports::cost::{CostLinesParams, CostParams};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/cost", get(cost_report))
        .route("/cost/lines", get(cost_lines))
}

/// The cost rows behind the report.
///
/// Each row with the rule that placed it (service_tag, team_tag,
/// namespace, shared, unattributed), its service and team; largest first;
/// amounts as exact decimal strings.
#[utoipa::path(get, path = "/api/v1/cost/lines", tag = "cost", params(CostLinesParams),
    responses((status = 200, description = "The rows", content(
        (Vec<analytics::cost::CostLine> = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn cost_lines(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CostLinesParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body = crate::reports::cost::lines(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// Cost per team, service, provider or month.
///
/// Attributed by rule (service tag, team tag, namespace, shared split,
/// unattributed) and reconciled to the total exactly; money as decimal
/// strings, never floats.
#[utoipa::path(get, path = "/api/v1/cost", tag = "cost", params(CostParams),
    responses((status = 200, description = "The cost report", content(
        (analytics::cost::CostReport = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn cost_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CostParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body = crate::reports::cost::run(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
