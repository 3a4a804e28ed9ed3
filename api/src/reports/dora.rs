//! The DORA report's parameters and renderings, shared by `devex report dora`
//! and `GET /api/v1/dora...`: both parse the same parameters into an
//! `analytics::dora::DoraRequest` and call the same library functions.

use analytics::dora::{
    self, DeploymentsReport, DoraMetrics, DoraReport, DoraRequest, DoraSeries, FailureCause,
    Granularity, Level,
};
use analytics::LakeQueries;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{csv_text, text_table, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DoraParams {
    /// First day of the window (inclusive); default 90 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Day after the window (exclusive); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// IANA time zone of the window's days (e.g. Europe/Berlin); default UTC.
    pub tz: Option<String>,
    /// Only this service.
    pub service: Option<String>,
    /// Only the services this team owned at each deployment.
    pub team: Option<String>,
    /// Rows per service (default), per team, or none (overall only).
    #[param(value_type = Option<analytics::dora::GroupBy>)]
    pub group_by: Option<String>,
    /// Regular expression (case-insensitive) of production environment
    /// names; default the configured `dora.production_pattern`.
    pub environment_pattern: Option<String>,
    /// Which DORA report's levels grade the metrics: 2023 or 2024.
    #[param(minimum = 2023, maximum = 2024)]
    pub levels_year: Option<u16>,
    /// `/dora/series` only: one point per `week` (default) or `month`.
    #[param(value_type = Option<analytics::dora::Granularity>)]
    pub granularity: Option<String>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

impl DoraParams {
    /// The request, with the configuration's DORA settings and the default
    /// window (`analytics::window`).
    pub fn request(&self, config: &Config) -> Result<DoraRequest> {
        let mut settings = config.dora.clone();
        if let Some(pattern) = self.environment_pattern.as_ref().filter(|p| !p.is_empty()) {
            settings.production_pattern = pattern.clone();
        }
        if let Some(year) = self.levels_year {
            settings.levels_year = year;
        }
        Ok(DoraRequest::parse(
            self.from.as_deref().unwrap_or(""),
            self.to.as_deref().unwrap_or(""),
            self.tz.as_deref(),
            self.service.clone(),
            self.team.clone(),
            self.group_by.as_deref(),
            settings,
        )?)
    }

    pub fn granularity(&self) -> Result<Granularity> {
        Ok(self.granularity.as_deref().unwrap_or("week").parse()?)
    }
}

/// What to compute.
#[derive(Debug, Clone, Copy)]
pub enum DoraView {
    Report,
    Series,
    Deployments,
}

/// Runs a view and renders it.
pub async fn run(
    queries: &LakeQueries,
    config: &Config,
    params: &DoraParams,
    view: DoraView,
    format: OutputFormat,
) -> Result<String> {
    let request = params.request(config)?;
    Ok(match view {
        DoraView::Report => {
            let report = dora::report(queries, &request).await?;
            match format {
                OutputFormat::Json => to_json(&report)?,
                OutputFormat::Table => report_table(&report),
                OutputFormat::Csv => report_csv(&report)?,
            }
        }
        DoraView::Series => {
            let series = dora::series(queries, &request, params.granularity()?).await?;
            match format {
                OutputFormat::Json => to_json(&series)?,
                OutputFormat::Table => series_table(&series),
                OutputFormat::Csv => series_csv(&series)?,
            }
        }
        DoraView::Deployments => {
            let deployments = dora::deployments(queries, &request).await?;
            match format {
                OutputFormat::Json => to_json(&deployments)?,
                OutputFormat::Table => deployments_table(&deployments),
                OutputFormat::Csv => deployments_csv(&deployments)?,
            }
        }
    })
}

fn to_json(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Internal(e.to_string()))
}

const METRIC_HEADERS: [&str; 13] = [
    "deployments",
    "per_week",
    "deploy_days",
    "changes",
    "lead_time_median_h",
    "lead_time_p90_h",
    "failed",
    "unrecovered",
    "change_failure_rate",
    "recovery_median_h",
    "recovery_p90_h",
    "rework_rate",
    "levels",
];

/// A level as a table shows it (`few` for too few deployments to grade).
fn level_name(level: Option<Level>) -> &'static str {
    match level {
        None => "-",
        Some(Level::InsufficientData) => "few",
        Some(level) => level.name(),
    }
}

/// The table's columns: the headline numbers in units a person reads, to
/// fit [`crate::render::TABLE_WIDTH`]; CSV and JSON have every field.
const TABLE_HEADERS: [&str; 8] = [
    "deploys",
    "per_week",
    "lead_time",
    "lead_p90",
    "cfr",
    "recovery",
    "rework",
    "levels (df/lt/cfr/rt)",
];

fn table_cells(m: &DoraMetrics) -> Vec<String> {
    let duration = |v: Option<f64>| v.map_or_else(|| "-".into(), crate::render::duration_hours);
    let share = |v: Option<f64>| v.map_or_else(|| "-".into(), |v| format!("{:.1}%", v * 100.0));
    vec![
        m.deployments.to_string(),
        format!("{:.1}", m.deployments_per_week),
        duration(m.lead_time_median_hours),
        duration(m.lead_time_p90_hours),
        share(m.change_failure_rate),
        duration(m.recovery_time_median_hours),
        share(m.rework_rate),
        format!(
            "{}/{}/{}/{}",
            level_name(m.levels.deployment_frequency),
            level_name(m.levels.lead_time_for_changes),
            level_name(m.levels.change_failure_rate),
            level_name(m.levels.failed_deployment_recovery_time)
        ),
    ]
}

/// Metric cells: human units for the table, raw numbers for CSV.
fn metric_cells(m: &DoraMetrics, human: bool) -> Vec<String> {
    if human {
        return table_cells(m);
    }
    let number = |v: Option<f64>, decimals: usize| match v {
        Some(v) => format!("{v:.decimals$}"),
        None if human => "-".into(),
        None => String::new(),
    };
    let share = |v: Option<f64>| match (v, human) {
        (Some(v), true) => format!("{:.1}%", v * 100.0),
        (v, _) => number(v, 4),
    };
    let levels = format!(
        "{}/{}/{}/{}",
        level_name(m.levels.deployment_frequency),
        level_name(m.levels.lead_time_for_changes),
        level_name(m.levels.change_failure_rate),
        level_name(m.levels.failed_deployment_recovery_time)
    );
    vec![
        m.deployments.to_string(),
        number(Some(m.deployments_per_week), 2),
        share(Some(m.deployment_days_share)),
        m.changes.to_string(),
        number(m.lead_time_median_hours, 1),
        number(m.lead_time_p90_hours, 1),
        m.failed_deployments.to_string(),
        m.unrecovered.to_string(),
        share(m.change_failure_rate),
        number(m.recovery_time_median_hours, 1),
        number(m.recovery_time_p90_hours, 1),
        share(m.rework_rate),
        levels,
    ]
}

fn metric_headers(first: &str, human: bool) -> Vec<String> {
    let headers: &[&str] = if human {
        &TABLE_HEADERS
    } else {
        &METRIC_HEADERS
    };
    std::iter::once(first.to_string())
        .chain(headers.iter().map(|h| h.to_string()))
        .collect()
}

fn report_rows(report: &DoraReport, human: bool) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            let mut row = vec![g.key.label().unwrap_or("(none)").to_string()];
            row.extend(metric_cells(&g.metrics, human));
            row
        })
        .collect();
    let mut overall = vec!["overall".to_string()];
    overall.extend(metric_cells(&report.overall, human));
    rows.push(overall);
    rows
}

fn group_header(report_group_by: analytics::dora::GroupBy) -> &'static str {
    match report_group_by {
        analytics::dora::GroupBy::Service => "service",
        analytics::dora::GroupBy::Team => "team",
        analytics::dora::GroupBy::None => "scope",
    }
}

fn report_table(report: &DoraReport) -> String {
    let about = format!(
        "DORA metrics {} to {} (exclusive; {} days in {}), production = {}. Levels: {}. Teams: {}. cfr = change failure rate; few = too few deployments to grade; every field: --format json or csv. {}",
        report.from,
        report.to,
        report.days,
        report.tz,
        report.production_pattern,
        report.levels_source,
        report.ownership,
        crate::render::data_as_of(report.data_as_of),
    );
    format!(
        "{}\n\n{}\n",
        crate::render::wrapped(&about),
        text_table(
            &metric_headers(group_header(report.group_by), true),
            &report_rows(report, true)
        )
    )
}

fn report_csv(report: &DoraReport) -> Result<String> {
    csv_text(
        &metric_headers(group_header(report.group_by), false),
        &report_rows(report, false),
    )
}

fn series_rows(series: &DoraSeries, human: bool) -> Vec<Vec<String>> {
    series
        .points
        .iter()
        .map(|p| {
            // The table names a period by its start (`*` when partial).
            let mut row = if human {
                vec![format!(
                    "{}{}",
                    p.period_start,
                    if p.partial { " *" } else { "" }
                )]
            } else {
                vec![
                    p.period_start.to_string(),
                    p.period_end.to_string(),
                    p.partial.to_string(),
                ]
            };
            if let Some(key) = &p.key {
                row.push(key.label().unwrap_or("(none)").to_string());
            }
            row.extend(metric_cells(&p.metrics, human));
            row
        })
        .collect()
}

fn series_headers(series: &DoraSeries, human: bool) -> Vec<String> {
    let mut headers = if human {
        vec!["period".to_string()]
    } else {
        vec![
            "period_start".to_string(),
            "period_end".to_string(),
            "partial".to_string(),
        ]
    };
    if series.group_by != analytics::dora::GroupBy::None {
        headers.push(group_header(series.group_by).to_string());
    }
    headers.extend(metric_headers("", human).into_iter().skip(1));
    headers
}

fn series_table(series: &DoraSeries) -> String {
    let partial = series.points.iter().any(|p| p.partial);
    format!(
        "DORA metrics by {} from {} to {} ({})\n\n{}\n{}",
        match series.granularity {
            Granularity::Week => "week",
            Granularity::Month => "month",
        },
        series.from,
        series.to,
        series.tz,
        text_table(&series_headers(series, true), &series_rows(series, true)),
        if partial {
            "* a partial period (cut by the window, or not over yet): fewer days than a period, not graded\n"
        } else {
            ""
        }
    )
}

fn series_csv(series: &DoraSeries) -> Result<String> {
    csv_text(&series_headers(series, false), &series_rows(series, false))
}

const DEPLOYMENT_HEADERS: [&str; 11] = [
    "service",
    "deployment_id",
    "deployed_at",
    "class",
    "sha",
    "changes",
    "lead_time_median_h",
    "failed",
    "failure_causes",
    "recovery_h",
    "rework",
];

/// The deployments table's columns (CSV has every field, and whole causes).
const DEPLOYMENT_TABLE_HEADERS: [&str; 6] = [
    "deployment",
    "service",
    "deployed (UTC)",
    "class",
    "lead_time",
    "failed: recovery · cause",
];

/// The widest names and outcome a table row shows, so rows fit
/// [`crate::render::TABLE_WIDTH`].
const NAME_CHARS: usize = 22;
const CLASS_CHARS: usize = 16;
const OUTCOME_CHARS: usize = 30;

fn deployment_table_rows(report: &DeploymentsReport) -> Vec<Vec<String>> {
    use crate::render::{duration_hours, truncate};
    deployment_rows(report)
        .into_iter()
        .zip(&report.deployments)
        .map(|(row, d)| {
            // Failed ones: how long recovery took, then why.
            let recovery = match d.recovery_hours {
                _ if d.unrecovered => "unrecovered".to_string(),
                Some(hours) => duration_hours(hours),
                None => "failed".to_string(),
            };
            let outcome = match (d.failed, row[8].is_empty()) {
                (false, _) => String::new(),
                (true, true) => recovery,
                (true, false) => format!("{recovery} · {}", row[8]),
            };
            vec![
                truncate(&d.deployment_id, NAME_CHARS),
                truncate(&d.service, NAME_CHARS),
                d.deployed_at
                    .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                    .unwrap_or_default(),
                truncate(&row[3], CLASS_CHARS),
                median_lead_time(d).map_or_else(String::new, duration_hours),
                truncate(&outcome, OUTCOME_CHARS),
            ]
        })
        .collect()
}

/// The median lead time of a deployment's changes, in hours.
fn median_lead_time(d: &analytics::dora::DeploymentDetail) -> Option<f64> {
    let mut lead: Vec<f64> = d.changes.iter().map(|c| c.lead_time_hours).collect();
    lead.sort_by(f64::total_cmp);
    analytics::stats::median(&lead)
}

fn deployment_rows(report: &DeploymentsReport) -> Vec<Vec<String>> {
    report
        .deployments
        .iter()
        .map(|d| {
            let median = median_lead_time(d)
                .map(|m| format!("{m:.1}"))
                .unwrap_or_default();
            let causes: Vec<String> = d
                .failure_causes
                .iter()
                .map(|c| match c {
                    FailureCause::Incident {
                        incident_id,
                        attribution,
                        ..
                    } => format!("incident {incident_id} ({attribution})"),
                    FailureCause::Rollback { deployment_id, .. } => {
                        format!("rolled back by {deployment_id}")
                    }
                })
                .collect();
            let class = match (&d.rolls_back, d.class) {
                (Some(target), _) => format!("rollback of {target}"),
                (None, class) => class.name().to_string(),
            };
            vec![
                d.service.clone(),
                d.deployment_id.clone(),
                d.deployed_at
                    .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
                    .unwrap_or_default(),
                class,
                d.sha.chars().take(12).collect(),
                d.changes.len().to_string(),
                median,
                if d.failed {
                    if d.unrecovered {
                        "unrecovered".into()
                    } else {
                        "yes".into()
                    }
                } else {
                    String::new()
                },
                causes.join("; "),
                d.recovery_hours
                    .map(|h| format!("{h:.1}"))
                    .unwrap_or_default(),
                if d.rework {
                    "yes".into()
                } else {
                    String::new()
                },
            ]
        })
        .collect()
}

fn deployments_table(report: &DeploymentsReport) -> String {
    let headers: Vec<String> = DEPLOYMENT_TABLE_HEADERS
        .iter()
        .map(|h| h.to_string())
        .collect();
    let about = format!(
        "Production deployments {} to {} ({}), production = {}: {} deployments. Shas, rework and whole causes: --format json or csv.",
        report.from,
        report.to,
        report.tz,
        report.production_pattern,
        report.deployments.len(),
    );
    format!(
        "{}\n\n{}\n",
        crate::render::wrapped(&about),
        text_table(&headers, &deployment_table_rows(report))
    )
}

fn deployments_csv(report: &DeploymentsReport) -> Result<String> {
    let headers: Vec<String> = DEPLOYMENT_HEADERS.iter().map(|h| h.to_string()).collect();
    csv_text(&headers, &deployment_rows(report))
}
