//! `/api/v1/devex`, `/space`, `/compare`: the same reports as `devex report
//! devex|space|compare`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::extract::{content_type, output_format, ApiQuery};
use super::state::AppState;
use crate::error::Result;
use crate::reports::devex::{CompareParams, DevexParams, DevexView};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/devex", get(devex_report))
        .route("/space", get(space_report))
        .route("/compare", get(compare_periods))
}

/// `?from&to&tz&team&repo&group_by=team|repo&format`: CI and pull request
/// feedback loops, context switches and flow, each with its sample size.
async fn devex_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DevexParams>,
) -> Result<Response> {
    devex_response(&state, params, DevexView::Devex).await
}

/// SPACE activity and collaboration per team.
async fn space_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DevexParams>,
) -> Result<Response> {
    devex_response(&state, params, DevexView::Space).await
}

async fn devex_response(
    state: &AppState,
    params: DevexParams,
    view: DevexView,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::devex::run(&state.queries, &state.config, &params, view, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// `?metric&team&tz&a_from&a_to&b_from&b_to`: medians of both periods, the
/// difference with its interval, the Mann-Whitney p and a verdict.
async fn compare_periods(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CompareParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::devex::compare(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
