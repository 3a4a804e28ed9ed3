//! `/api/v1/adoption` and `/api/v1/onboarding`: the same reports as `devex
//! report adoption` and `devex report onboarding`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::extract::{content_type, output_format, ApiQuery};
use super::state::AppState;
use crate::error::Result;
use crate::reports::adoption::AdoptionParams;
use crate::reports::onboarding::OnboardingParams;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/adoption", get(adoption_report))
        .route("/onboarding", get(onboarding_report))
}

/// Platform adoption per tool, feature or team.
///
/// Active users, daily and weekly means, stickiness, outcomes; per team the
/// developers and adoption share (teams below `devex.min_group_size`
/// hidden, with the reason); on request funnels, retention cohorts and
/// golden-path shares.
#[utoipa::path(get, path = "/api/v1/adoption", tag = "platform", params(AdoptionParams),
    responses((status = 200, description = "The adoption report", content(
        (analytics::adoption::AdoptionReport = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn adoption_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AdoptionParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::adoption::run(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// Onboarding of the developers who started in the window.
///
/// Per team (with the catalog's parent groups) or start-month cohort: new
/// developers, and for each milestone its median days, how many reached
/// it and how many have not yet. Groups below `devex.min_group_size` are
/// hidden with the reason, still counted in the groups above and overall.
#[utoipa::path(get, path = "/api/v1/onboarding", tag = "platform", params(OnboardingParams),
    responses((status = 200, description = "The onboarding report", content(
        (analytics::onboarding::OnboardingReport = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn onboarding_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<OnboardingParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::onboarding::run(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
