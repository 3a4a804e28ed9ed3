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

/// The audit log, newest first (admins only).
///
/// Who (token name, OIDC subject or local user; never a secret), what
/// (`http.refused`, `token.create`, `import`, `query`, ...), when, from
/// where and the outcome.
#[utoipa::path(get, path = "/api/v1/audit", tag = "access", params(AuditParams),
    responses((status = 200, description = "The entries", content(
        (Vec<crate::reports::audit::AuditEntry> = "application/json"), (String = "text/csv"), (String = "text/plain")))))]
async fn audit_log(
    State(state): State<AppState>,
    ApiQuery(params): ApiQuery<AuditParams>,
) -> Result<Response> {
    let format = output_format(params.format.as_deref())?;
    let body = crate::reports::audit::run(&state.queries, &params, format).await?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
