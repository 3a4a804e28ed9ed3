//! The onboarding report's parameters and renderings, shared by `devex
//! report onboarding` and `GET /api/v1/onboarding`.

use analytics::onboarding::{self, OnboardingMetrics, OnboardingRequest, MILESTONES};
use analytics::LakeQueries;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{aligned_lines, csv_text, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct OnboardingParams {
    /// First day of the starts counted (inclusive); default 365 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Day after the window (exclusive); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// IANA time zone of the window's days and the start months (e.g. Europe/Berlin); default UTC.
    pub tz: Option<String>,
    /// Rows per team (the team of the first membership, and the catalog's
    /// groups above it; default) or per start-month cohort.
    #[param(value_type = Option<analytics::onboarding::OnboardingGroupBy>)]
    pub group_by: Option<String>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

fn headers(group_by: &str) -> Vec<String> {
    let mut headers = vec![group_by.to_string(), "new_developers".to_string()];
    for milestone in MILESTONES {
        for suffix in ["median", "n", "not_yet_reached"] {
            headers.push(format!("{milestone}_{suffix}"));
        }
    }
    headers.push("hidden_reason".to_string());
    headers
}

fn cells(key: &str, m: &OnboardingMetrics) -> Vec<String> {
    let count = |v: Option<u64>| v.map_or_else(String::new, |v| v.to_string());
    let mut row = vec![key.to_string(), count(m.new_developers)];
    for i in 0..MILESTONES.len() {
        let summary = m.milestones.map(|s| s[i]);
        row.push(
            summary
                .and_then(|s| s.median)
                .map_or_else(String::new, |v| format!("{v:.1}")),
        );
        row.push(count(summary.map(|s| s.n)));
        row.push(count(summary.map(|s| s.not_yet_reached)));
    }
    row.push(m.hidden_reason.clone().unwrap_or_default());
    row
}

pub async fn run(
    queries: &LakeQueries,
    config: &Config,
    params: &OnboardingParams,
    format: OutputFormat,
) -> Result<String> {
    let request = OnboardingRequest::parse(
        params.from.as_deref(),
        params.to.as_deref(),
        params.tz.as_deref(),
        params.group_by.as_deref(),
        config.devex.clone(),
        config.dora.clone(),
    )?;
    let report = onboarding::report(queries, &request).await?;
    if format == OutputFormat::Json {
        return serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()));
    }
    let mut rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| cells(g.key.label(), &g.metrics))
        .collect();
    rows.push(cells("overall", &report.overall));
    let headers = headers(report.group_by.name());
    if format == OutputFormat::Csv {
        return csv_text(&headers, &rows);
    }
    // The table names each milestone once, with median days, n and not yet.
    let mut short = vec![report.group_by.name().to_string(), "new".to_string()];
    for milestone in ["first merge", "first prod", "tenth merge"] {
        short.extend([
            format!("{milestone} d"),
            "n".to_string(),
            "not yet".to_string(),
        ]);
    }
    short.push(String::new());
    let notes = crate::render::footnoted_reasons(&mut rows);
    let mut all = vec![short];
    all.extend(rows);
    let mut lines = vec![crate::render::wrapped(&format!(
        "Onboarding of developers who started {} to {} (exclusive), {}: median days (d) from the start to each milestone (first merge, first change in production, tenth merge).",
        report.from, report.to, report.tz
    ))];
    lines.extend(aligned_lines(&all));
    lines.extend(notes);
    Ok(lines.join("\n"))
}
