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

/// Each team's survey scores beside its measured workflow.
///
/// The dimension scores (0-100) of each shown team beside its DevEx and
/// DORA measures.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/perceived-vs-measured", tag = "surveys",
    params(("id" = String, Path, description = "The survey wave's id")),
    responses((status = 200, description = "Perceived and measured per team",
        body = surveys::results::PerceivedVsMeasured)))]
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
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SurveyWaves {
    pub surveys: Vec<surveys::results::SurveyWave>,
}

/// The survey waves in the lake, with respondents and dates.
#[utoipa::path(get, path = "/api/v1/surveys", tag = "surveys",
    responses((status = 200, description = "The waves", body = SurveyWaves)))]
async fn survey_waves(State(state): State<AppState>) -> Result<Json<SurveyWaves>> {
    let surveys = surveys::results::waves(&state.queries).await?;
    Ok(Json(SurveyWaves { surveys }))
}

/// Results of a survey wave, for the groups the anonymity rules allow.
///
/// Every number is subject to the anonymity threshold and the differencing
/// rule; hidden groups are listed with the reason, without numbers.
#[utoipa::path(get, path = "/api/v1/surveys/{id}/results", tag = "surveys",
    params(("id" = String, Path, description = "The survey wave's id"),
        crate::reports::surveys::SurveyParams),
    responses((status = 200, description = "Results and hidden groups", content(
        (surveys::results::SurveyResults = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
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

/// Change between two waves.
///
/// Welch's t-test per dimension and question, for groups shown in both.
#[utoipa::path(get, path = "/api/v1/surveys/compare", tag = "surveys",
    params(crate::reports::surveys::SurveyCompareParams),
    responses((status = 200, description = "The comparison", content(
        (surveys::results::SurveyComparison = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn survey_compare(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<crate::reports::surveys::SurveyCompareParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::surveys::compare(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
