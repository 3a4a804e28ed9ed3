//! `/api/v1/ai`: the same report as `devex report ai`.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::extract::{content_type, output_format, ApiQuery};
use super::state::AppState;
use crate::error::Result;
use crate::reports::ai::AiParams;

pub fn routes() -> Router<AppState> {
    Router::new().route("/ai", get(ai_report))
}

/// AI coding assistants per team or tool.
///
/// AI-active developers and their share, daily and weekly means, acceptance
/// rates, the share of merged pull requests AI-assisted, usage cohorts and
/// cost; on request the impact comparison and the rollout effect. Every
/// group is a team's or the organisation's: groups below
/// `devex.min_group_size`, or that would reveal one by difference, are
/// hidden with the reason. Nothing is per person.
#[utoipa::path(get, path = "/api/v1/ai", tag = "platform", params(AiParams),
    responses((status = 200, description = "The AI assistants report", content(
        (analytics::ai::AiReport = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn ai_report(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AiParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body = crate::reports::ai::run(&state.queries, &state.config, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
