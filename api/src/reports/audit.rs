//! The audit log's parameters and renderings, shared by `devex audit` and
//! `GET /api/v1/audit` (admins only: `auth::guard`).

use analytics::LakeQueries;
use serde::Deserialize;

use crate::error::{Error, Result};
use crate::render::{render, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditParams {
    /// Entries on or after this day (UTC).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub since: Option<String>,
    /// At most this many, newest first (default 1000, at most 10000).
    #[param(minimum = 1)]
    pub limit: Option<usize>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

/// One audit log entry as `GET /api/v1/audit` answers it (the columns of
/// `analytics::audit::entries`, written by Arrow's JSON writer).
#[derive(Debug, utoipa::ToSchema)]
#[allow(dead_code)] // Only described: the rows come from Arrow, not from this type.
pub struct AuditEntry {
    /// When, in UTC.
    #[schema(value_type = String, format = DateTime)]
    pub at: String,
    /// A token's name, `oidc:<subject>` or the local user; never a secret.
    pub actor: String,
    /// `http.refused`, `token.create`, `token.revoke`, `import`, `ingest`,
    /// `query`, ...
    pub action: String,
    pub target: Option<String>,
    /// The peer address, when there was one.
    pub origin: Option<String>,
    pub outcome: String,
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
    if format != OutputFormat::Table {
        return render(&result, format);
    }
    // The table fits 120 columns: times to the second, long targets and
    // outcomes shortened (JSON and CSV have them whole).
    let entries: Vec<serde_json::Value> =
        serde_json::from_str(&crate::render::to_json(&result)?)
            .map_err(|e| Error::Internal(format!("audit entries: {e}")))?;
    let text = |v: &serde_json::Value, chars: usize| {
        crate::render::truncate(v.as_str().unwrap_or("-"), chars)
    };
    let mut rows = vec![
        ["at (UTC)", "actor", "action", "target", "origin", "outcome"]
            .map(String::from)
            .to_vec(),
    ];
    rows.extend(entries.iter().map(|e| {
        vec![
            e["at"]
                .as_str()
                .map(|at| at.replace('T', " ").chars().take(19).collect())
                .unwrap_or_default(),
            text(&e["actor"], 20),
            text(&e["action"], 14),
            text(&e["target"], 30),
            text(&e["origin"], 15),
            text(&e["outcome"], 18),
        ]
    }));
    Ok(crate::render::aligned_lines(&rows).join("\n"))
}
