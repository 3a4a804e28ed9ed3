//! `/api/v1/surveys...`: waves, results and comparisons under the anonymity
//! rules, and survey scores beside measured workflow.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use super::extract::{content_type, output_format, ApiQuery};
use super::state::AppState;
use crate::error::Result;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(survey_waves))
        .route("/surveys/compare", get(survey_compare))
        .route("/surveys/{id}/results", get(survey_results))
        .route(
            "/surveys/{id}/perceived-vs-measured",
            get(survey_perceived_vs_measured),
        )
}

/// Each team's survey dimension scores beside its DevEx workflow measures.
async fn survey_perceived_vs_measured(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response> {
    let body = crate::reports::surveys::perceived_vs_measured(
        &state.queries,
        &state.config,
        &id,
        crate::render::OutputFormat::Json,
    )
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The survey waves in the lake.
async fn survey_waves(State(state): State<AppState>) -> Result<Json<serde_json::Value>> {
    let waves = surveys::results::waves(&state.queries).await?;
    Ok(Json(serde_json::json!({ "surveys": waves })))
}

/// `?team=GROUP&group_by=team`: results of one wave, every number subject to
/// the anonymity threshold and the differencing rule.
async fn survey_results(
    State(state): State<AppState>,
    Path(id): Path<String>,
    ApiQuery(params): ApiQuery<crate::reports::surveys::SurveyParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::surveys::results(&state.queries, &state.config, &id, &params, format)
            .await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// `?a=WAVE&b=WAVE&team=&group_by=`: Welch's t-test per dimension and question.
async fn survey_compare(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<crate::reports::surveys::SurveyCompareParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::surveys::compare(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
