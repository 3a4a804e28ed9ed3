//! The adoption report's parameters and renderings, shared by `devex
//! report adoption` and `GET /api/v1/adoption`.

use analytics::adoption::{
    self, AdoptionExtras, AdoptionMetrics, AdoptionRequest, Funnel, GoldenPathShares, GoldenPaths,
    RetentionCohort,
};
use analytics::LakeQueries;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{aligned_lines, csv_text, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AdoptionParams {
    /// First day of the window (inclusive); default 90 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Day after the window (exclusive); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// IANA time zone of the window's days and ISO weeks (e.g. Europe/Berlin); default UTC.
    pub tz: Option<String>,
    /// Rows per tool (default), feature or team.
    #[param(value_type = Option<analytics::adoption::AdoptionGroupBy>)]
    pub group_by: Option<String>,
    /// Add `funnels`: each configured funnel's steps with users, share of
    /// the first step and median days from the previous step (a funnel
    /// whose first step has fewer users than `devex.min_group_size` is
    /// hidden).
    pub funnels: Option<bool>,
    /// Add `cohorts`: users by the month of their first event in the window
    /// and their monthly retention (small cohorts hidden).
    pub cohorts: Option<bool>,
    /// Add `golden_paths`: per team and overall, the share of services
    /// created from a template and of production deployments through a
    /// platform pipeline.
    pub golden_paths: Option<bool>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

const HEADERS: [&str; 11] = [
    "active_users",
    "dau_mean",
    "wau_mean",
    "stickiness",
    "events",
    "success_share",
    "failure_share",
    "abandoned_share",
    "developers",
    "adoption",
    "hidden_reason",
];

fn count(v: Option<u64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn number(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.4}"))
}

fn cells(m: &AdoptionMetrics) -> Vec<String> {
    vec![
        count(m.active_users),
        number(m.dau_mean),
        number(m.wau_mean),
        number(m.stickiness),
        count(m.events),
        number(m.success_share),
        number(m.failure_share),
        number(m.abandoned_share),
        count(m.developers),
        number(m.adoption),
        m.hidden_reason.clone().unwrap_or_default(),
    ]
}

/// The funnels as text: a block per funnel, a line per step.
fn funnel_lines(funnels: &[Funnel]) -> Vec<String> {
    let mut lines = Vec::new();
    for funnel in funnels {
        lines.push(String::new());
        lines.push(format!(
            "Funnel {} (each step within {} days of the previous one):",
            funnel.funnel, funnel.step_days
        ));
        if let Some(reason) = &funnel.hidden_reason {
            lines.push(format!("  hidden: {reason}"));
            continue;
        }
        let mut rows = vec![vec![
            "step".to_string(),
            "users".to_string(),
            "share".to_string(),
            "median days from previous".to_string(),
            String::new(),
        ]];
        rows.extend(funnel.steps.iter().map(|step| {
            vec![
                step.step.clone(),
                count(step.users),
                number(step.share),
                step.median_days_from_previous
                    .map_or_else(String::new, |d| format!("{d:.1}")),
                String::new(),
            ]
        }));
        lines.extend(aligned_lines(&rows).into_iter().map(|l| format!("  {l}")));
    }
    lines
}

/// The golden paths as text: a line per team, then the organisation.
fn golden_path_lines(paths: &GoldenPaths) -> Vec<String> {
    let mut rows = vec![vec![
        "team".to_string(),
        "services created".to_string(),
        "from a template".to_string(),
        "share".to_string(),
        "production deployments".to_string(),
        "platform pipeline".to_string(),
        "share".to_string(),
        String::new(),
    ]];
    let row = |name: &str, s: &GoldenPathShares| {
        vec![
            name.to_string(),
            s.services_created.to_string(),
            s.services_from_template.to_string(),
            number(s.template_share),
            s.production_deployments.to_string(),
            s.platform_pipeline_deployments.to_string(),
            number(s.pipeline_share),
            String::new(),
        ]
    };
    rows.extend(
        paths
            .teams
            .iter()
            .map(|t| row(t.team.as_deref().unwrap_or("(no owner)"), &t.shares)),
    );
    rows.push(row("overall", &paths.overall));
    let mut lines = vec![
        String::new(),
        format!(
            "Golden paths: new services from a template, production deployments built by a pipeline matching `{}`:",
            paths.platform_pipelines
        ),
    ];
    lines.extend(aligned_lines(&rows).into_iter().map(|l| format!("  {l}")));
    lines
}

/// The cohorts as text: a line per cohort, the share active in each month
/// since (month 0 is the cohort's own).
fn cohort_lines(cohorts: &[RetentionCohort]) -> Vec<String> {
    let months = cohorts.iter().map(|c| c.retention.len()).max().unwrap_or(0);
    let mut header = vec!["cohort".to_string(), "users".to_string()];
    header.extend((0..months).map(|m| format!("m{m}")));
    header.push(String::new());
    let mut rows = vec![header];
    for cohort in cohorts {
        let mut row = vec![cohort.cohort.clone(), count(cohort.users)];
        row.extend((0..months).map(|m| {
            cohort
                .retention
                .get(m)
                .map_or_else(String::new, |r| format!("{:.0}%", r * 100.0))
        }));
        row.push(cohort.hidden_reason.clone().unwrap_or_default());
        rows.push(row);
    }
    let mut lines = vec![
        String::new(),
        "Retention: users by the month of their first event, and the share active in each month since:".to_string(),
    ];
    lines.extend(aligned_lines(&rows).into_iter().map(|l| format!("  {l}")));
    lines
}

pub async fn run(
    queries: &LakeQueries,
    config: &Config,
    params: &AdoptionParams,
    format: OutputFormat,
) -> Result<String> {
    let mut request = AdoptionRequest::parse(
        params.from.as_deref(),
        params.to.as_deref(),
        params.tz.as_deref(),
        params.group_by.as_deref(),
        config.devex.clone(),
        config.adoption.clone(),
    )?;
    request.extras = AdoptionExtras {
        funnels: params.funnels.unwrap_or(false),
        cohorts: params.cohorts.unwrap_or(false),
        golden_paths: params.golden_paths.unwrap_or(false),
    };
    request.dora = config.dora.clone();
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
        if report.funnels.is_some() || report.cohorts.is_some() || report.golden_paths.is_some() {
            return Err(Error::invalid_parameter(
                "format",
                "CSV holds one table, the groups; ask for funnels, cohorts and golden paths as json or table",
            ));
        }
        return csv_text(&headers, &rows);
    }
    // The table's headers are short, so it fits 120 columns (CSV and JSON
    // keep the full names).
    let mut short = vec![report.group_by.name().to_string()];
    short.extend(
        [
            "users",
            "dau",
            "wau",
            "sticky",
            "events",
            "success",
            "failure",
            "abandoned",
            "devs",
            "adoption",
            "hidden",
        ]
        .map(String::from),
    );
    let notes = crate::render::footnoted_reasons(&mut rows);
    let mut all = vec![short];
    all.extend(rows.into_iter().map(|row| {
        row.into_iter()
            .enumerate()
            .map(|(i, cell)| match (i, cell.parse::<f64>()) {
                // Shares as percentages, means to one decimal.
                (4 | 6 | 7 | 8 | 10, Ok(v)) => format!("{:.1}%", v * 100.0),
                (2 | 3, Ok(v)) => format!("{v:.1}"),
                _ => cell,
            })
            .collect::<Vec<_>>()
    }));
    let mut lines = vec![format!(
        "Platform adoption {} to {} (exclusive), {} days, {} ISO weeks, {}.",
        report.from, report.to, report.days, report.weeks, report.tz
    )];
    lines.extend(aligned_lines(&all));
    lines.extend(notes);
    if let Some(funnels) = &report.funnels {
        lines.extend(funnel_lines(funnels));
    }
    if let Some(cohorts) = &report.cohorts {
        lines.extend(cohort_lines(cohorts));
    }
    if let Some(paths) = &report.golden_paths {
        lines.extend(golden_path_lines(paths));
    }
    Ok(lines.join("\n"))
}
