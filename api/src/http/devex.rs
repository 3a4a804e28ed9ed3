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

/// DevEx feedback loops, context switches and flow.
///
/// CI and pull request feedback loops, context switches and flow per team
/// or repository, each with its sample size; with `granularity`, one row
/// per period and group instead (a series).
#[utoipa::path(get, path = "/api/v1/devex", tag = "devex", params(DevexParams),
    responses((status = 200, description = "The DevEx report, or its series", content(
        (crate::reports::devex::DevexJson = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn devex_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<DevexParams>,
) -> Result<Response> {
    devex_response(&state, params, DevexView::Devex).await
}

/// SPACE activity and collaboration per team.
///
/// Per team only, over the window (no series, no weekend rule).
#[utoipa::path(get, path = "/api/v1/space", tag = "devex",
    params(
        ("from" = Option<chrono::NaiveDate>, Query, description = "First day of the window (inclusive); default 90 days before `to`."),
        ("to" = Option<chrono::NaiveDate>, Query, description = "Day after the window (exclusive); default tomorrow."),
        ("tz" = Option<String>, Query, description = "IANA time zone of the window's days (e.g. Europe/Berlin); default UTC."),
        ("team" = Option<String>, Query, description = "Only this team."),
        ("repo" = Option<String>, Query, description = "Only this repository (owner/name)."),
        ("format" = Option<crate::render::OutputFormat>, Query, description = "Response format: `json` (the schema below), `csv` or `table` (text)."),
    ),
    responses((status = 200, description = "The SPACE report", content(
        (analytics::devex::SpaceReport = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
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

/// Compare a measure between two periods.
///
/// Medians of both periods, the difference with its 95% interval, the
/// Mann-Whitney U p-value and a verdict.
#[utoipa::path(get, path = "/api/v1/compare", tag = "devex", params(CompareParams),
    responses((status = 200, description = "The comparison", content(
        (analytics::devex::Comparison = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn compare_periods(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<CompareParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::devex::compare(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
