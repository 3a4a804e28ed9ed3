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

/// `?from&to&measure&team&service&rule&limit&format`: the rows behind the
/// numbers, each with the rule that placed it.
async fn cost_lines(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CostLinesParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body = crate::reports::cost::lines(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// `?from&to&group_by&measure&format`: cost per group, attributed by rule,
/// reconciled to the total.
async fn cost_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CostParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body = crate::reports::cost::run(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
