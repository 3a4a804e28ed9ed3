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

/// `?from&to&tz&group_by=tool|feature|team&format`: platform adoption.
async fn adoption_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AdoptionParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::adoption::run(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}

/// `?from&to&tz&group_by=team|cohort&format`: onboarding milestones.
async fn onboarding_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<OnboardingParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body =
        crate::reports::onboarding::run(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
