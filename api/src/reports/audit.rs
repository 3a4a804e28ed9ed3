//! The audit log's parameters and renderings, shared by `devex audit` and
//! `GET /api/v1/audit` (admins only: `auth::guard`).

use analytics::LakeQueries;
use serde::Deserialize;

use crate::error::{Error, Result};
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
