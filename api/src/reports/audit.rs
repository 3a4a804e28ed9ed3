//! The audit log's parameters and renderings, shared by `devex audit` and
//! `GET /api/v1/audit` (admins only: `auth::guard`).

use analytics::LakeQueries;
use serde::Deserialize;

use crate::error::Result;
use crate::render::{render, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuditParams {
    /// Entries on or after this day (UTC), YYYY-MM-DD.
    pub since: Option<String>,
    /// At most this many, newest first (default 1000, at most 10000).
    pub limit: Option<usize>,
    pub format: Option<String>,
}

pub async fn run(
    queries: &LakeQueries,
    params: &AuditParams,
    format: OutputFormat,
) -> Result<String> {
    let since = params
        .since
        .as_deref()
        .map(|day| analytics::window::parse_date("since", day))
        .transpose()?;
    let result = analytics::audit::entries(queries, since, params.limit.unwrap_or(1000)).await?;
    render(&result, format)
}
