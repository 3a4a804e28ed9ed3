//! The adoption report's parameters and renderings, shared by `devex
//! report adoption` and `GET /api/v1/adoption`.

use analytics::adoption::{self, AdoptionMetrics, AdoptionRequest};
use analytics::LakeQueries;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{aligned_lines, csv_text, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdoptionParams {
    pub from: Option<String>,
    pub to: Option<String>,
    pub tz: Option<String>,
    /// `tool` (default), `feature` or `team`.
    pub group_by: Option<String>,
    pub format: Option<String>,
}

const HEADERS: [&str; 8] = [
    "active_users",
    "dau_mean",
    "wau_mean",
    "stickiness",
    "events",
    "developers",
    "adoption",
    "hidden_reason",
];

fn cells(m: &AdoptionMetrics) -> Vec<String> {
    let count = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    let number = |v: Option<f64>| v.map_or_else(String::new, |v| format!("{v:.4}"));
    vec![
        count(m.active_users),
        number(m.dau_mean),
        number(m.wau_mean),
        number(m.stickiness),
        count(m.events),
        count(m.developers),
        number(m.adoption),
        m.hidden_reason.clone().unwrap_or_default(),
    ]
}

pub async fn run(
    queries: &LakeQueries,
    config: &Config,
    params: &AdoptionParams,
    format: OutputFormat,
) -> Result<String> {
    let request = AdoptionRequest::parse(
        params.from.as_deref(),
        params.to.as_deref(),
        params.tz.as_deref(),
        params.group_by.as_deref(),
        config.devex.clone(),
    )?;
    let report = adoption::report(queries, &request).await?;
    if format == OutputFormat::Json {
        return serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()));
    }
    let mut headers = vec![report.group_by.name().to_string()];
    headers.extend(HEADERS.iter().map(|h| h.to_string()));
    let mut rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            let mut row = vec![g.key.label().unwrap_or("(none)").to_string()];
            row.extend(cells(&g.metrics));
            row
        })
        .collect();
    let mut overall = vec!["overall".to_string()];
    overall.extend(cells(&report.overall));
    rows.push(overall);
    if format == OutputFormat::Csv {
        return csv_text(&headers, &rows);
    }
    let mut all = vec![headers];
    all.extend(rows);
    let mut lines = vec![format!(
        "Platform adoption {} to {} (exclusive), {} days, {} ISO weeks, {}.",
        report.from, report.to, report.days, report.weeks, report.tz
    )];
    lines.extend(aligned_lines(&all));
    Ok(lines.join("\n"))
}
