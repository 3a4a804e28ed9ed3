//! `POST /api/v1/query`: read-only SQL for admins, over the tables without
//! people in them (`LakeQueries::shared_sql`), at most `MAX_ROWS` rows and
//! `TIME_LIMIT` long; every query goes to the audit log.

use std::net::SocketAddr;
use std::time::Duration;

use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::Router;
use serde::Deserialize;

use super::extract::{content_type, output_format};
use super::state::AppState;
use crate::auth::guard::Caller;
use crate::error::{Error, Result};
use crate::render::render;

/// The most rows one answer holds.
pub const MAX_ROWS: usize = 10_000;
/// A query still running after this is stopped.
pub const TIME_LIMIT: Duration = Duration::from_secs(30);

pub fn routes() -> Router<AppState> {
    Router::new().route("/query", post(query))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryRequest {
    /// One read-only statement (SELECT, WITH, SHOW, DESCRIBE, EXPLAIN).
    sql: String,
    /// `json` (default), `csv` or `table`.
    #[schema(value_type = Option<crate::render::OutputFormat>)]
    format: Option<String>,
}

/// Read-only SQL for admins.
///
/// Over the tables without person-level columns and without survey answers
/// (those are reached through the reports and their group minimums): at
/// most 10,000 rows and 30 s; every query is written to the audit log.
#[utoipa::path(post, path = "/api/v1/query", tag = "access",
    request_body = QueryRequest,
    responses((status = 200, description = "The rows: one object per row, a key per column", content(
        (Vec<std::collections::HashMap<String, serde_json::Value>> = "application/json"),
        (String = "text/csv"), (String = "text/plain")))))]
async fn query(State(state): State<AppState>, request: Request) -> Result<Response> {
    let caller = request.extensions().get::<Caller>().map(|c| c.name.clone());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string());
    let body = axum::body::to_bytes(request.into_body(), super::MAX_BODY_BYTES)
        .await
        .map_err(|e| Error::BadBody(format!("cannot read the body ({e})")))?;
    let request: QueryRequest = serde_json::from_slice(&body).map_err(|e| {
        Error::BadBody(format!(
            "the body is not {{\"sql\": \"SELECT ...\", \"format\": \"json\"}} ({e})"
        ))
    })?;
    let format = output_format(request.format.as_deref())?;
    let answer =
        match tokio::time::timeout(TIME_LIMIT, state.queries.shared_sql(&request.sql, MAX_ROWS))
            .await
        {
            Ok(result) => result.map_err(Error::from),
            Err(_) => Err(Error::QueryTimeout(format!(
                "the query ran longer than {} s and was stopped; aggregate more, or narrow it",
                TIME_LIMIT.as_secs()
            ))),
        };
    let outcome = match &answer {
        Ok(result) => format!("ok, {} rows", result.num_rows()),
        Err(e) => crate::render::truncate(&format!("error: {e}"), 500),
    };
    let entry = ingest::audit::entry(
        caller.as_deref().unwrap_or("anonymous"),
        "query",
        Some(&crate::render::truncate(&request.sql, 2000)),
        peer.as_deref(),
        &outcome,
    );
    state
        .intake
        .committer
        .commit(ingest::sources::batches(vec![entry])?)
        .await?;
    let body = render(&answer?, format)?;
    Ok(([(header::CONTENT_TYPE, content_type(format))], body).into_response())
}
