//! The cost report's parameters and renderings, shared by `devex report
//! cost` and `GET /api/v1/cost`.

use analytics::cost::{self, CostReport, CostRequest};
use analytics::LakeQueries;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{csv_text, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CostParams {
    /// First day of the window (inclusive, UTC); default 90 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Day after the window (exclusive, UTC); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// Rows per team (default; shared cost split across teams), service,
    /// provider, provider service (FOCUS ServiceName) or month.
    #[param(value_type = Option<analytics::cost::CostGroupBy>)]
    pub group_by: Option<String>,
    /// FOCUS `EffectiveCost` (default; else `BilledCost`), `BilledCost`, or
    /// `ListCost` (else `BilledCost`).
    #[param(value_type = Option<analytics::cost::Measure>)]
    pub measure: Option<String>,
    /// List the unattributed remainder's top resources (tables; JSON always
    /// has them).
    pub unattributed: Option<bool>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

/// `GET /api/v1/cost/lines`, `devex report cost --lines`: the rows behind
/// the numbers, each with its rule.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CostLinesParams {
    /// First day of the window (inclusive, UTC); default 90 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Day after the window (exclusive, UTC); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// FOCUS `EffectiveCost` (default; else `BilledCost`), `BilledCost`, or
    /// `ListCost` (else `BilledCost`).
    #[param(value_type = Option<analytics::cost::Measure>)]
    pub measure: Option<String>,
    /// Only rows placed on this team.
    pub team: Option<String>,
    /// Only rows placed on this service.
    pub service: Option<String>,
    /// Only rows placed by this rule: service_tag, team_tag, namespace,
    /// shared or unattributed.
    #[param(pattern = "^(service_tag|team_tag|namespace|shared|unattributed)$")]
    pub rule: Option<String>,
    /// At most this many rows, largest first (default 100, at most 10,000).
    #[param(minimum = 1)]
    pub limit: Option<usize>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

const RULE_NAMES: [&str; 5] = [
    "service_tag",
    "team_tag",
    "namespace",
    "shared",
    "unattributed",
];

pub async fn lines(
    queries: &LakeQueries,
    config: &Config,
    params: &CostLinesParams,
    format: OutputFormat,
) -> Result<String> {
    let request = CostRequest::parse(
        params.from.as_deref(),
        params.to.as_deref(),
        params.measure.as_deref(),
        None,
        config.cost.clone(),
    )?;
    let present = |v: &Option<String>| v.clone().filter(|v| !v.is_empty());
    let rule = present(&params.rule);
    if let Some(rule) = &rule {
        if !RULE_NAMES.contains(&rule.as_str()) {
            return Err(Error::invalid_parameter(
                "rule",
                format!("`{rule}` is not one of {}", RULE_NAMES.join(", ")),
            ));
        }
    }
    let filter = cost::LineFilter {
        team: present(&params.team),
        service: present(&params.service),
        rule,
        limit: params.limit.unwrap_or(100).min(10_000),
    };
    let lines = cost::lines(queries, &request, &filter).await?;
    match format {
        OutputFormat::Json => {
            serde_json::to_string_pretty(&lines).map_err(|e| Error::Internal(e.to_string()))
        }
        OutputFormat::Csv | OutputFormat::Table => {
            let headers: Vec<String> = [
                "month",
                "amount",
                "rule",
                "team",
                "service",
                "provider",
                "provider_service",
                "resource_id",
                "event_id",
            ]
            .map(String::from)
            .to_vec();
            let rows: Vec<Vec<String>> = lines
                .iter()
                .map(|l| {
                    vec![
                        l.month.clone(),
                        l.amount.to_string(),
                        l.rule.clone(),
                        l.team.clone().unwrap_or_default(),
                        l.service.clone().unwrap_or_default(),
                        l.provider_name.clone().unwrap_or_default(),
                        l.service_name.clone().unwrap_or_default(),
                        l.resource_id.clone().unwrap_or_default(),
                        l.event_id.clone(),
                    ]
                })
                .collect();
            if format == OutputFormat::Csv {
                return csv_text(&headers, &rows);
            }
            // The table: to the cent, the resource shortened (CSV and JSON
            // have every digit and the whole id).
            let short: Vec<Vec<String>> = std::iter::once(
                ["month", "amount", "rule", "team", "service", "resource"]
                    .map(String::from)
                    .to_vec(),
            )
            .chain(lines.iter().map(|l| {
                vec![
                    l.month.clone(),
                    l.amount.cents(),
                    l.rule.clone(),
                    l.team.clone().unwrap_or_default(),
                    l.service.clone().unwrap_or_default(),
                    crate::render::truncate(
                        l.resource_id
                            .as_deref()
                            .or(l.service_name.as_deref())
                            .unwrap_or(""),
                        48,
                    ),
                ]
            }))
            .collect();
            Ok(crate::render::aligned_lines(&short).join("\n"))
        }
    }
}

impl CostParams {
    pub fn request(&self, config: &Config) -> Result<CostRequest> {
        Ok(CostRequest::parse(
            self.from.as_deref(),
            self.to.as_deref(),
            self.measure.as_deref(),
            self.group_by.as_deref(),
            config.cost.clone(),
        )?)
    }
}

pub async fn run(
    queries: &LakeQueries,
    config: &Config,
    params: &CostParams,
    format: OutputFormat,
) -> Result<String> {
    let report = cost::report_with_unit_costs(
        queries,
        &params.request(config)?,
        &config.dora,
        &config.devex,
    )
    .await?;
    match format {
        OutputFormat::Json => {
            serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))
        }
        OutputFormat::Csv => {
            let headers: Vec<String> = [
                report.group_by.name(),
                "direct",
                "shared",
                "unattributed",
                "cost",
            ]
            .map(String::from)
            .to_vec();
            csv_text(&headers, &rows(&report, |m| m.to_string()))
        }
        OutputFormat::Table => Ok(table(&report, params.unattributed.unwrap_or(false))),
    }
}

/// A row per group, then the unattributed remainder's line (team and
/// service groupings, where no group holds it).
fn rows(report: &CostReport, show: fn(cost::Money) -> String) -> Vec<Vec<String>> {
    let mut rows: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| {
            vec![
                g.key.label().unwrap_or("(none)").to_string(),
                show(g.direct),
                show(g.shared),
                show(g.unattributed),
                show(g.cost),
            ]
        })
        .collect();
    if matches!(
        report.group_by,
        cost::CostGroupBy::Team | cost::CostGroupBy::Service
    ) {
        let shared_elsewhere = if report.group_by == cost::CostGroupBy::Service {
            report.shared
        } else {
            cost::Money(0)
        };
        if shared_elsewhere.0 != 0 {
            rows.push(vec![
                "(shared)".into(),
                "0.00".into(),
                show(shared_elsewhere),
                "0.00".into(),
                show(shared_elsewhere),
            ]);
        }
        rows.push(vec![
            "(unattributed)".into(),
            "0.00".into(),
            "0.00".into(),
            show(report.unattributed),
            show(report.unattributed),
        ]);
    }
    rows
}

fn table(report: &CostReport, unattributed: bool) -> String {
    let mut lines = vec![crate::render::wrapped(&format!(
        "Cost {} to {} (exclusive), {} {}, to the cent (JSON and CSV are exact): total {}, attributed {}, shared {}, unattributed {}.",
        report.from,
        report.to,
        report.currency,
        serde_json::to_value(report.measure)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        report.total.cents(),
        report.attributed.cents(),
        report.shared.cents(),
        report.unattributed.cents()
    ))];
    let mut all = vec![[
        report.group_by.name(),
        "direct",
        "shared",
        "unattributed",
        "cost",
    ]
    .map(String::from)
    .to_vec()];
    all.extend(rows(report, cost::Money::cents));
    let widths: Vec<usize> = (0..5)
        .map(|i| all.iter().map(|r| r[i].chars().count()).max().unwrap_or(0))
        .collect();
    for row in &all {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| match i {
                0 => format!("{c:<w$}", w = widths[i]),
                _ => format!("{c:>w$}", w = widths[i]),
            })
            .collect();
        lines.push(cells.join("  "));
    }
    for other in &report.other_currencies {
        lines.push(format!(
            "Not in {}: {} rows in {}, {} (import them with --rates to convert).",
            report.currency,
            other.rows,
            other.currency,
            other.total.cents()
        ));
    }
    if !report.unsplit_months.is_empty() {
        lines.push(format!(
            "Shared cost of {} had no team with direct cost to split to: counted as unattributed.",
            report.unsplit_months.join(", ")
        ));
    }
    for b in &report.budgets {
        lines.push(format!(
            "Budget {} {}: spent {} of {} in {} of {} days; straight-line forecast {}{}.",
            b.team,
            b.month,
            b.spent.cents(),
            b.budget.cents(),
            b.days_elapsed,
            b.days_in_month,
            b.forecast.cents(),
            b.forecast_share
                .map(|s| format!(" ({:.0}% of budget)", s * 100.0))
                .unwrap_or_default()
        ));
    }
    for unit in &report.unit_costs {
        let show = |m: Option<cost::Money>| m.map_or_else(|| "-".to_string(), |m| m.cents());
        lines.push(format!(
            "Unit cost {}: {} per production deployment ({}), {} per merged pull request ({}).",
            unit.team,
            show(unit.cost_per_deployment),
            unit.production_deployments,
            show(unit.cost_per_merged_pull_request),
            unit.merged_pull_requests
        ));
    }
    for ci in &report.ci {
        lines.push(format!(
            "CI {}: {} runs, {} minutes, {}{}.",
            ci.team.as_deref().unwrap_or("(no team)"),
            ci.runs,
            ci.minutes,
            ci.cost.cents(),
            if ci.unpriced_minutes > 0.0 {
                format!(
                    " ({} minutes on runners without a [cost.ci] price)",
                    ci.unpriced_minutes
                )
            } else {
                String::new()
            }
        ));
    }
    if unattributed && !report.unattributed_top.is_empty() {
        lines.push("Top unattributed resources (tag them with a service or team):".into());
        for r in &report.unattributed_top {
            lines.push(format!(
                "  {}  {}  {}",
                r.cost.cents(),
                r.resource_id.as_deref().unwrap_or("-"),
                r.service_name.as_deref().unwrap_or("-")
            ));
        }
    }
    lines.join("\n")
}

/// A team's or service's cost in the last full month before `today`: what
/// the team page and the Backstage scorecard show.
#[derive(Debug, Clone, serde::Serialize, utoipa::ToSchema)]
pub struct LastMonthCost {
    pub month: String,
    pub currency: String,
    pub direct: cost::Money,
    /// The team's share of shared cost (none for a service).
    pub shared: cost::Money,
    pub cost: cost::Money,
    /// A team's cost per production deployment and per merged pull request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<cost::UnitCost>,
}

/// Whose cost.
pub enum CostOwner<'a> {
    Team(&'a str),
    Service(&'a str),
}

pub async fn last_full_month(
    queries: &LakeQueries,
    config: &Config,
    today: chrono::NaiveDate,
    owner: CostOwner<'_>,
) -> Result<LastMonthCost> {
    use chrono::Datelike;
    let this_month = today.with_day(1).unwrap_or(today);
    let from = this_month - chrono::Months::new(1);
    let group_by = match owner {
        CostOwner::Team(_) => "team",
        CostOwner::Service(_) => "service",
    };
    let request = CostRequest::parse(
        Some(&from.to_string()),
        Some(&this_month.to_string()),
        None,
        Some(group_by),
        config.cost.clone(),
    )?;
    let report =
        cost::report_with_unit_costs(queries, &request, &config.dora, &config.devex).await?;
    let name = match owner {
        CostOwner::Team(name) | CostOwner::Service(name) => name,
    };
    let group = report.groups.iter().find(|g| g.key.label() == Some(name));
    Ok(LastMonthCost {
        month: from.format("%Y-%m").to_string(),
        currency: report.currency.clone(),
        direct: group.map_or(cost::Money(0), |g| g.direct),
        shared: group.map_or(cost::Money(0), |g| g.shared),
        cost: group.map_or(cost::Money(0), |g| g.cost),
        unit: report.unit_costs.into_iter().find(|u| u.team == name),
    })
}
