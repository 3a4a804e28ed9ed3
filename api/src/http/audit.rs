//! `GET /api/v1/audit`: the audit log, newest first (admins only).

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::extract::{content_type, output_format, ApiQuery};
use super::state::AppState;
use crate::error::Result;
use crate::reports::audit::AuditParams;

pub fn routes() -> Router<AppState> {
    Router::new().route("/audit", get(audit_log))
}

/// `?since=YYYY-MM-DD&limit&format`.
async fn audit_log(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body = crate::reports::audit::run(&state.queries, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
