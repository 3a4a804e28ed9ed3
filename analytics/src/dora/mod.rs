//! DORA metrics: deployment frequency, lead time for changes, change failure
//! rate, failed deployment recovery time and rework rate, per service, team or
//! overall, with a per-deployment drill-down that explains every number.
//!
//! The rules live in the `.sql` files next to this one, each with a header
//! stating the rule it implements; the commit-graph walk is the derive stage
//! ([`crate::derive`]). This module fills the files' template values, runs
//! them and shapes the answer. The CLI (`devex report dora`) and the HTTP API
//! (`/api/v1/dora...`) both call it.

pub mod levels;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use crate::columns::Columns;
use crate::error::{Error, NameKind, Result};
pub use crate::template::local_midnight;
use crate::template::{fill, sql_instant, sql_text};
use crate::window::Window;
use crate::LakeQueries;
pub use levels::{Level, Levels, ReportLevels};

const PRODUCTION_DEPLOYMENTS: &str = include_str!("production_deployments.sql");
const INCIDENT_ATTRIBUTION: &str = include_str!("incident_attribution.sql");
const CHANGE_LEAD_TIMES: &str = include_str!("change_lead_times.sql");
const DEPLOYMENT_OUTCOMES: &str = include_str!("deployment_outcomes.sql");
const DORA_SUMMARY: &str = include_str!("dora_summary.sql");
const LEAD_TIME_SUMMARY: &str = include_str!("lead_time_summary.sql");

/// What counts as production and as rework, and which levels to grade with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DoraSettings {
    /// Regular expression (case-insensitive) an environment name must match.
    pub production_pattern: String,
    /// Regular expression (case-insensitive) on a change's first message line
    /// that marks it rework; empty for none.
    pub rework_message_pattern: String,
    /// Pull request labels that mark a change rework.
    pub rework_labels: Vec<String>,
    /// Which DORA report's levels to grade with.
    pub levels_year: u16,
    /// A levels file to use instead of the shipped one.
    pub levels_file: Option<PathBuf>,
}

impl Default for DoraSettings {
    fn default() -> Self {
        DoraSettings {
            production_pattern: "^(prod|production)$".into(),
            rework_message_pattern: "^(revert|hotfix)".into(),
            rework_labels: vec!["hotfix".into()],
            levels_year: 2024,
            levels_file: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum GroupBy {
    #[default]
    Service,
    Team,
    None,
}

impl FromStr for GroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "service" => Ok(GroupBy::Service),
            "team" => Ok(GroupBy::Team),
            "none" => Ok(GroupBy::None),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of service, team, none"),
            )),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Granularity {
    Week,
    Month,
}

impl FromStr for Granularity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "week" => Ok(Granularity::Week),
            "month" => Ok(Granularity::Month),
            other => Err(Error::invalid_parameter(
                "granularity",
                format!("`{other}` is not one of week, month"),
            )),
        }
    }
}

/// One DORA question: a window of local calendar days and a filter.
#[derive(Debug, Clone)]
pub struct DoraRequest {
    /// First day of the window (inclusive), in `tz`.
    pub from: NaiveDate,
    /// Day after the window (exclusive), in `tz`.
    pub to: NaiveDate,
    pub tz: Tz,
    pub service: Option<String>,
    pub team: Option<String>,
    pub group_by: GroupBy,
    pub settings: DoraSettings,
}

impl DoraRequest {
    /// Builds a request from the text a user typed (CLI flags or a query
    /// string), with errors that name the parameter and the expected form.
    pub fn parse(
        from: &str,
        to: &str,
        tz: Option<&str>,
        service: Option<String>,
        team: Option<String>,
        group_by: Option<&str>,
        settings: DoraSettings,
    ) -> Result<DoraRequest> {
        let window = Window::parse(Some(from), Some(to), tz, crate::window::REPORT_DAYS)?;
        DoraRequest::new(window, service, team, group_by, settings)
    }

    /// A request over a window already decided.
    pub fn new(
        window: Window,
        service: Option<String>,
        team: Option<String>,
        group_by: Option<&str>,
        settings: DoraSettings,
    ) -> Result<DoraRequest> {
        let group_by = match group_by {
            None | Some("") => GroupBy::Service,
            Some(g) => g.parse()?,
        };
        let request = DoraRequest {
            from: window.from,
            to: window.to,
            tz: window.tz,
            service: service.filter(|s| !s.is_empty()),
            team: team.filter(|s| !s.is_empty()),
            group_by,
            settings,
        };
        request.validate()?;
        Ok(request)
    }

    fn validate(&self) -> Result<()> {
        self.window().check()?;
        for (parameter, name, pattern) in [
            (
                "environment_pattern",
                "production pattern",
                &self.settings.production_pattern,
            ),
            (
                "rework_message_pattern",
                "rework message pattern",
                &self.settings.rework_message_pattern,
            ),
        ] {
            regex::Regex::new(pattern).map_err(|e| {
                Error::invalid_parameter(
                    parameter,
                    format!("{name} `{pattern}` is not a valid regular expression: {e}"),
                )
            })?;
        }
        Ok(())
    }

    /// The request's window.
    pub fn window(&self) -> Window {
        Window {
            from: self.from,
            to: self.to,
            tz: self.tz,
        }
    }

    /// Calendar days in the window.
    pub fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }

    fn start_of(&self, day: NaiveDate) -> DateTime<Utc> {
        local_midnight(self.tz, day)
    }
}

/// The metrics of one group (or of everything).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoraMetrics {
    pub deployments: u64,
    pub deployments_per_week: f64,
    /// Median over the group's services of each one's deployments per week
    /// (services deployed to production before the window's end, zero for
    /// those idle in it). DORA asks how often *a service* deploys, so the
    /// deployment frequency level grades this, not the group's sum.
    pub service_deployments_per_week_median: Option<f64>,
    pub deployment_days_share: f64,
    pub changes: u64,
    pub lead_time_median_hours: Option<f64>,
    pub lead_time_p90_hours: Option<f64>,
    pub failed_deployments: u64,
    pub unrecovered: u64,
    pub change_failure_rate: Option<f64>,
    pub recovery_time_median_hours: Option<f64>,
    pub recovery_time_p90_hours: Option<f64>,
    pub rework_rate: Option<f64>,
    pub levels: Levels,
}

/// A group's key: `"service": ...` or `"team": ...` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum GroupKey {
    #[serde(rename = "service")]
    Service(Option<String>),
    #[serde(rename = "team")]
    Team(Option<String>),
}

impl GroupKey {
    pub fn label(&self) -> Option<&str> {
        match self {
            GroupKey::Service(s) | GroupKey::Team(s) => s.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoraGroup {
    #[serde(flatten)]
    pub key: GroupKey,
    #[serde(flatten)]
    pub metrics: DoraMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoraReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    pub group_by: GroupBy,
    pub days: i64,
    pub production_pattern: String,
    pub levels_source: String,
    pub groups: Vec<DoraGroup>,
    pub overall: DoraMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesPoint {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub key: Option<GroupKey>,
    pub period_start: NaiveDate,
    /// Day after the period's last day in the window.
    pub period_end: NaiveDate,
    #[serde(flatten)]
    pub metrics: DoraMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DoraSeries {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    pub granularity: Granularity,
    pub group_by: GroupBy,
    pub levels_source: String,
    pub points: Vec<SeriesPoint>,
}

/// Raw counts of one (group, period) cell, before ratios and levels.
#[derive(Debug, Clone, Default)]
struct Counts {
    deployments: u64,
    deployment_days: u64,
    failed_deployments: u64,
    unrecovered: u64,
    recovery_time_median_hours: Option<f64>,
    recovery_time_p90_hours: Option<f64>,
    rework_deployments: u64,
    changes: u64,
    lead_time_median_hours: Option<f64>,
    lead_time_p90_hours: Option<f64>,
}

impl Counts {
    fn metrics(
        &self,
        days: i64,
        service_median: Option<f64>,
        levels: &ReportLevels,
    ) -> DoraMetrics {
        let deployments = self.deployments as f64;
        let days = days.max(1) as f64;
        let share = |n: u64| (self.deployments > 0).then(|| n as f64 / deployments);
        let deployments_per_week = deployments / (days / 7.0);
        let change_failure_rate = share(self.failed_deployments);
        DoraMetrics {
            deployments: self.deployments,
            deployments_per_week,
            service_deployments_per_week_median: service_median,
            deployment_days_share: self.deployment_days as f64 / days,
            changes: self.changes,
            lead_time_median_hours: self.lead_time_median_hours,
            lead_time_p90_hours: self.lead_time_p90_hours,
            failed_deployments: self.failed_deployments,
            unrecovered: self.unrecovered,
            change_failure_rate,
            recovery_time_median_hours: self.recovery_time_median_hours,
            recovery_time_p90_hours: self.recovery_time_p90_hours,
            rework_rate: share(self.rework_deployments),
            levels: levels.grade(
                service_median,
                self.lead_time_median_hours,
                change_failure_rate,
                self.recovery_time_median_hours,
            ),
        }
    }
}

/// The per-deployment tables (production_deployments, incident_attribution,
/// change_lead_times, deployment_outcomes), computed once per lake content
/// and settings and kept in a small context, plus the template values of one
/// request. Reports then only aggregate a few thousand rows.
struct DoraSql {
    context: datafusion::prelude::SessionContext,
    values: Vec<(&'static str, String)>,
}

impl DoraSql {
    async fn prepare(
        queries: &LakeQueries,
        request: &DoraRequest,
        granularity: Option<Granularity>,
    ) -> Result<DoraSql> {
        let context = materialized_context(queries, &request.settings).await?;
        let period_unit = match granularity {
            Some(Granularity::Month) => "month",
            Some(Granularity::Week) => "week",
            None => "day",
        };
        let mut filter = String::new();
        if let Some(service) = &request.service {
            filter.push_str(&format!(" AND service = {}", sql_text(service)));
        }
        if let Some(team) = &request.team {
            filter.push_str(&format!(" AND team = {}", sql_text(team)));
        }
        let values = vec![
            // A chrono-tz name: letters, digits, `/`, `_`, `-`, `+`; safe inside quotes.
            ("tz", request.tz.name().to_string()),
            ("period_unit", period_unit.to_string()),
            ("filter", filter),
            ("from", sql_instant(request.start_of(request.from))),
            ("to", sql_instant(request.start_of(request.to))),
        ];
        let sql = DoraSql { context, values };
        sql.check_filter(queries, request).await?;
        Ok(sql)
    }

    /// A filter on a service or team nobody has heard of is a typo, not an
    /// empty report: say so, with the closest names that exist.
    async fn check_filter(&self, queries: &LakeQueries, request: &DoraRequest) -> Result<()> {
        for (kind, value, sql) in [
            (
                NameKind::Service,
                &request.service,
                "SELECT service AS name FROM production_deployments \
                 UNION SELECT service AS name FROM services ORDER BY name",
            ),
            (
                NameKind::Team,
                &request.team,
                "SELECT team AS name FROM production_deployments WHERE team IS NOT NULL \
                 UNION SELECT owner_team AS name FROM services \
                 UNION SELECT team AS name FROM teams ORDER BY name",
            ),
        ] {
            let Some(value) = value else { continue };
            let result = self.query(queries, sql).await?;
            let known: Vec<String> = Columns::new(&result.batches)
                .text("name")?
                .into_iter()
                .flatten()
                .collect();
            if !known.contains(value) {
                return Err(Error::unknown_name(kind, value, &known));
            }
        }
        Ok(())
    }

    /// Runs one of the summary files with a group key and a period key.
    async fn summary(
        &self,
        queries: &LakeQueries,
        template: &str,
        group_key: &str,
        period_key: &str,
    ) -> Result<crate::QueryResult> {
        let mut values = self.values.clone();
        values.push(("group_key", group_key.to_string()));
        let period_key = match period_key {
            "period_start" => {
                "date_trunc('{{period_unit}}', to_local_time(deployed_at AT TIME ZONE '{{tz}}'))"
            }
            other => other,
        };
        let sql = fill(&template.replace("{{period_key}}", period_key), &values)?;
        // Exact percentiles: one partition holds each value once (see
        // `read_only_sql_on_one_partition`).
        queries
            .read_only_sql_on_one_partition(&self.context, &sql)
            .await
    }

    /// Runs a query over the materialized tables.
    async fn query(&self, queries: &LakeQueries, body: &str) -> Result<crate::QueryResult> {
        let sql = fill(body, &self.values)?;
        queries.read_only_sql_on(&self.context, &sql).await
    }
}

/// The four per-deployment tables for these settings over the lake's current
/// content, from the cache or computed now (one query per table, each reading
/// the previous ones from memory).
async fn materialize(
    queries: &LakeQueries,
    settings: &DoraSettings,
    changes_table: &str,
) -> Result<datafusion::prelude::SessionContext> {
    let content = crate::template::content_key(queries, &crate::derive::DORA_INPUTS).await?;
    let settings_key = serde_json::to_string(&(
        &settings.production_pattern,
        &settings.rework_message_pattern,
        &settings.rework_labels,
    ))
    .map_err(|e| Error::Internal(e.to_string()))?;
    let key = format!("dora:{content}:{changes_table}:{settings_key}");

    let rework_message_match = if settings.rework_message_pattern.is_empty() {
        "false".to_string()
    } else {
        format!(
            "regexp_like(c.message_summary, {}, 'i')",
            sql_text(&settings.rework_message_pattern)
        )
    };
    let rework_label_match = if settings.rework_labels.is_empty() {
        "false".to_string()
    } else {
        // Labels match whatever their case, as on GitHub and GitLab.
        let labels: Vec<String> = settings
            .rework_labels
            .iter()
            .map(|l| sql_text(&l.to_lowercase()))
            .collect();
        format!(
            "coalesce(array_has_any(string_to_array(lower(array_to_string(labels, chr(31))), chr(31)), make_array({})), false)",
            labels.join(", ")
        )
    };
    let values = [
        ("production_pattern", sql_text(&settings.production_pattern)),
        ("rework_message_match", rework_message_match),
        ("rework_label_match", rework_label_match),
        ("deployment_changes", changes_table.to_string()),
    ];
    let mut tables = Vec::new();
    for (name, template) in [
        ("production_deployments", PRODUCTION_DEPLOYMENTS),
        ("incident_attribution", INCIDENT_ATTRIBUTION),
        ("change_lead_times", CHANGE_LEAD_TIMES),
        ("deployment_outcomes", DEPLOYMENT_OUTCOMES),
    ] {
        tables.push((name, fill(template, &values)?));
    }
    let changes = queries
        .context()
        .table_provider(changes_table)
        .await
        .map_err(Error::Engine)?;
    // Sorted by team and service: a team's or a service's drill-down reads
    // only its own row groups.
    crate::template::materialize(
        queries,
        key,
        &tables,
        &["team", "service", "deployed_at"],
        &[(changes_table, changes)],
        vec![],
    )
    .await
}

/// The DORA per-deployment tables over the lake's current content, for
/// other measures that need them (e.g. when a merge reached production).
pub(crate) async fn materialized_context(
    queries: &LakeQueries,
    settings: &DoraSettings,
) -> Result<datafusion::prelude::SessionContext> {
    let changes_table = crate::derive::deployment_changes_table(
        queries,
        &settings.production_pattern,
        &walk_order_sql(settings)?,
    )
    .await?;
    materialize(queries, settings, &changes_table).await
}

type CellKey = (Option<String>, Option<i64>);

/// Runs both summaries for a grouping and returns counts by (group, period).
async fn counts(
    queries: &LakeQueries,
    sql: &DoraSql,
    group_key: &str,
    period_key: &str,
) -> Result<BTreeMap<CellKey, Counts>> {
    let mut cells: BTreeMap<CellKey, Counts> = BTreeMap::new();
    let summary = sql
        .summary(queries, DORA_SUMMARY, group_key, period_key)
        .await?;
    let c = Columns::new(&summary.batches);
    let keys = c.text("group_key")?;
    let periods = c.micros("period_start")?;
    let deployments = c.int("deployments")?;
    let days = c.int("deployment_days")?;
    let failed = c.int("failed_deployments")?;
    let unrecovered = c.int("unrecovered")?;
    let rec_median = c.float("recovery_time_median_hours")?;
    let rec_p90 = c.float("recovery_time_p90_hours")?;
    let rework = c.int("rework_deployments")?;
    for i in 0..keys.len() {
        let cell = cells.entry((keys[i].clone(), periods[i])).or_default();
        cell.deployments = deployments[i].unwrap_or(0) as u64;
        cell.deployment_days = days[i].unwrap_or(0) as u64;
        cell.failed_deployments = failed[i].unwrap_or(0) as u64;
        cell.unrecovered = unrecovered[i].unwrap_or(0) as u64;
        cell.recovery_time_median_hours = rec_median[i];
        cell.recovery_time_p90_hours = rec_p90[i];
        cell.rework_deployments = rework[i].unwrap_or(0) as u64;
    }
    let lead = sql
        .summary(queries, LEAD_TIME_SUMMARY, group_key, period_key)
        .await?;
    let c = Columns::new(&lead.batches);
    let keys = c.text("group_key")?;
    let periods = c.micros("period_start")?;
    let changes = c.int("changes")?;
    let median = c.float("lead_time_median_hours")?;
    let p90 = c.float("lead_time_p90_hours")?;
    for i in 0..keys.len() {
        let cell = cells.entry((keys[i].clone(), periods[i])).or_default();
        cell.changes = changes[i].unwrap_or(0) as u64;
        cell.lead_time_median_hours = median[i];
        cell.lead_time_p90_hours = p90[i];
    }
    Ok(cells)
}

/// Each service's counted deployments by period, and the team of every
/// service deployed to production before the window's end (idle ones too).
struct ServiceRates {
    deployments: HashMap<(String, Option<i64>), u64>,
    services: Vec<(String, Option<String>)>,
}

impl ServiceRates {
    /// `by_service`: the counts by service and period, when the caller has
    /// them already (a report grouped by service), so they are not run twice.
    async fn load(
        queries: &LakeQueries,
        sql: &DoraSql,
        period_key: &str,
        by_service: Option<&BTreeMap<CellKey, Counts>>,
    ) -> Result<ServiceRates> {
        let mut deployments = HashMap::new();
        match by_service {
            Some(cells) => {
                for ((service, period), cell) in cells {
                    if let Some(service) = service {
                        deployments.insert((service.clone(), *period), cell.deployments);
                    }
                }
            }
            None => {
                let summary = sql
                    .summary(queries, DORA_SUMMARY, "service", period_key)
                    .await?;
                let c = Columns::new(&summary.batches);
                for ((service, period), n) in c
                    .text("group_key")?
                    .into_iter()
                    .zip(c.micros("period_start")?)
                    .zip(c.int("deployments")?)
                {
                    if let Some(service) = service {
                        deployments.insert((service, period), n.unwrap_or(0) as u64);
                    }
                }
            }
        }
        let existing = sql
            .query(
                queries,
                "SELECT DISTINCT service, team FROM production_deployments \
                 WHERE deployed_at < {{to}} {{filter}} ORDER BY service",
            )
            .await?;
        let c = Columns::new(&existing.batches);
        let services = c
            .text("service")?
            .into_iter()
            .zip(c.text("team")?)
            .filter_map(|(service, team)| Some((service?, team)))
            .collect();
        Ok(ServiceRates {
            deployments,
            services,
        })
    }

    /// The services of a group (every service for `GroupBy::None`).
    fn members(&self, group_by: GroupBy, key: Option<&str>) -> Vec<&str> {
        self.services
            .iter()
            .filter(|(service, team)| match group_by {
                GroupBy::Service => Some(service.as_str()) == key,
                GroupBy::Team => team.as_deref() == key,
                GroupBy::None => true,
            })
            .map(|(service, _)| service.as_str())
            .collect()
    }

    /// Median deployments per week over `services` (a group's members).
    fn median(&self, services: &[&str], period: Option<i64>, days: i64) -> Option<f64> {
        let weeks = days.max(1) as f64 / 7.0;
        let mut rates: Vec<f64> = services
            .iter()
            .map(|service| {
                self.deployments
                    .get(&(service.to_string(), period))
                    .copied()
                    .unwrap_or(0) as f64
                    / weeks
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        crate::stats::median(&rates)
    }
}

fn group_column(group_by: GroupBy) -> &'static str {
    match group_by {
        GroupBy::Service => "service",
        GroupBy::Team => "team",
        GroupBy::None => "'all'",
    }
}

fn group_key(group_by: GroupBy, value: Option<String>) -> Option<GroupKey> {
    match group_by {
        GroupBy::Service => Some(GroupKey::Service(value)),
        GroupBy::Team => Some(GroupKey::Team(value)),
        GroupBy::None => None,
    }
}

const NO_PERIOD: &str = "CAST(NULL AS TIMESTAMP)";

/// The DORA report for a window: one entry per group with deployments in it,
/// and everything together.
pub async fn report(queries: &LakeQueries, request: &DoraRequest) -> Result<DoraReport> {
    request.validate()?;
    let levels = ReportLevels::load(
        request.settings.levels_file.as_deref(),
        request.settings.levels_year,
    )?;
    let sql = DoraSql::prepare(queries, request, None).await?;
    // The levels as loaded, not only their file name: an edited file is a new question.
    let asked = format!("report {request:?} {levels:?}");
    if let Some(report) = queries.remembered::<DoraReport>(&sql.context, &asked) {
        return Ok(report);
    }
    let days = request.days();
    let cells = match request.group_by {
        GroupBy::None => None,
        by => Some(counts(queries, &sql, group_column(by), NO_PERIOD).await?),
    };
    let by_service = cells
        .as_ref()
        .filter(|_| request.group_by == GroupBy::Service);
    let rates = ServiceRates::load(queries, &sql, NO_PERIOD, by_service).await?;
    let mut groups = Vec::new();
    if let Some(cells) = cells {
        for ((key, _), cell) in cells {
            let members = rates.members(request.group_by, key.as_deref());
            let median = rates.median(&members, None, days);
            if let Some(key) = group_key(request.group_by, key) {
                groups.push(DoraGroup {
                    key,
                    metrics: cell.metrics(days, median, &levels),
                });
            }
        }
    }
    let overall = counts(queries, &sql, group_column(GroupBy::None), NO_PERIOD)
        .await?
        .into_values()
        .next()
        .unwrap_or_default()
        .metrics(
            days,
            rates.median(&rates.members(GroupBy::None, None), None, days),
            &levels,
        );
    let report = DoraReport {
        from: request.from,
        to: request.to,
        tz: request.tz.name().to_string(),
        group_by: request.group_by,
        days,
        production_pattern: request.settings.production_pattern.clone(),
        levels_source: levels.source.clone(),
        groups,
        overall,
    };
    let bytes = (report.groups.len() + 1) * ANSWER_ENTRY_BYTES;
    queries.remember(&sql.context, &asked, report.clone(), bytes);
    Ok(report)
}

/// Approximate size of one group or point of an answer, for the budget of
/// remembered answers.
const ANSWER_ENTRY_BYTES: usize = 512;

/// The periods (weeks from Monday, or calendar months) that cover the
/// window, each clipped to it: (period start, start in window, end in window).
pub(crate) fn periods(
    from: NaiveDate,
    to: NaiveDate,
    granularity: Granularity,
) -> Vec<(NaiveDate, NaiveDate, NaiveDate)> {
    let mut out = Vec::new();
    let mut start = match granularity {
        Granularity::Week => from - Days::new(from.weekday().num_days_from_monday() as u64),
        Granularity::Month => from.with_day(1).unwrap_or(from),
    };
    while start < to {
        let next = match granularity {
            Granularity::Week => start + Days::new(7),
            Granularity::Month => start + Months::new(1),
        };
        out.push((start, start.max(from), next.min(to)));
        start = next;
    }
    out
}

/// The DORA metrics per week or month of the window (every period present,
/// empty ones with zero deployments), per group when grouped.
pub async fn series(
    queries: &LakeQueries,
    request: &DoraRequest,
    granularity: Granularity,
) -> Result<DoraSeries> {
    request.validate()?;
    let levels = ReportLevels::load(
        request.settings.levels_file.as_deref(),
        request.settings.levels_year,
    )?;
    let sql = DoraSql::prepare(queries, request, Some(granularity)).await?;
    let cells = counts(
        queries,
        &sql,
        group_column(request.group_by),
        "period_start",
    )
    .await?;
    let by_service = (request.group_by == GroupBy::Service).then_some(&cells);
    let rates = ServiceRates::load(queries, &sql, "period_start", by_service).await?;
    let mut by_group: BTreeMap<Option<String>, HashMap<NaiveDate, (i64, Counts)>> = BTreeMap::new();
    for ((key, period), cell) in cells {
        let Some(period_micros) = period else {
            continue;
        };
        let Some(period) = micros_to_local_date(period_micros) else {
            continue;
        };
        by_group
            .entry(key)
            .or_default()
            .insert(period, (period_micros, cell));
    }
    if by_group.is_empty() {
        by_group.insert(None, HashMap::new());
    }
    let mut points = Vec::new();
    for (key, cells) in by_group {
        let members = rates.members(request.group_by, key.as_deref());
        for (period, start, end) in periods(request.from, request.to, granularity) {
            let days = (end - start).num_days();
            let (period_micros, cell) = cells
                .get(&period)
                .cloned()
                .unwrap_or_else(|| (local_date_micros(period), Counts::default()));
            let median = rates.median(&members, Some(period_micros), days);
            points.push(SeriesPoint {
                key: group_key(request.group_by, key.clone()),
                period_start: start,
                period_end: end,
                metrics: cell.metrics(days, median, &levels),
            });
        }
    }
    Ok(DoraSeries {
        from: request.from,
        to: request.to,
        tz: request.tz.name().to_string(),
        granularity,
        group_by: request.group_by,
        levels_source: levels.source,
        points,
    })
}

/// A local date as the period keys of the SQL (local midnight, as if UTC).
fn local_date_micros(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_micros()
}

fn micros_to_local_date(micros: i64) -> Option<NaiveDate> {
    DateTime::<Utc>::from_timestamp_micros(micros).map(|t| t.date_naive())
}

fn micros_to_utc(micros: Option<i64>) -> Option<DateTime<Utc>> {
    micros.and_then(DateTime::<Utc>::from_timestamp_micros)
}

/// How a deployment is classed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DeploymentClass {
    Baseline,
    Counted,
    Redeploy,
    Rollback,
}

impl DeploymentClass {
    /// The class's name, as it appears in JSON.
    pub fn name(self) -> &'static str {
        match self {
            DeploymentClass::Baseline => "baseline",
            DeploymentClass::Counted => "counted",
            DeploymentClass::Redeploy => "redeploy",
            DeploymentClass::Rollback => "rollback",
        }
    }
}

/// One change of a deployment and its lead time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChangeDetail {
    pub sha: String,
    pub message_summary: Option<String>,
    pub pull_request: Option<i64>,
    pub started_at: DateTime<Utc>,
    /// `authored_at`, or `pull_request_first_commit` for a squash or rebase merge.
    pub started_from: String,
    pub lead_time_hours: f64,
    pub rework: bool,
}

/// Why a deployment counts as failed.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FailureCause {
    /// An incident attributed by `linked_deployment_id`, `linked_sha` or `time`.
    Incident {
        incident_id: String,
        attribution: String,
        opened_at: Option<DateTime<Utc>>,
        resolved_at: Option<DateTime<Utc>>,
    },
    Rollback {
        deployment_id: String,
        deployed_at: Option<DateTime<Utc>>,
    },
}

/// One production deployment, explained.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentDetail {
    pub service: String,
    pub team: Option<String>,
    pub deployment_id: String,
    pub environment: Option<String>,
    pub sha: String,
    pub started_at: Option<DateTime<Utc>>,
    pub deployed_at: Option<DateTime<Utc>>,
    pub class: DeploymentClass,
    /// For a rollback: the counted deployment it marked as rolled back.
    pub rolls_back: Option<String>,
    pub changes: Vec<ChangeDetail>,
    pub failed: bool,
    pub failure_causes: Vec<FailureCause>,
    pub recovered_at: Option<DateTime<Utc>>,
    pub recovery_hours: Option<f64>,
    pub unrecovered: bool,
    pub rework: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeploymentsReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    pub production_pattern: String,
    pub deployments: Vec<DeploymentDetail>,
}

/// Every successful production deployment in the window (all classes), with
/// its changes, failure causes and recovery: the rows behind every number of
/// [`report`].
pub async fn deployments(
    queries: &LakeQueries,
    request: &DoraRequest,
) -> Result<DeploymentsReport> {
    request.validate()?;
    let sql = DoraSql::prepare(queries, request, None).await?;
    let in_window = "deployed_at >= {{from}} AND deployed_at < {{to}} {{filter}}";
    let rows = sql
        .query(
            queries,
            &format!(
                "SELECT * FROM (SELECT p.*, o.failed, o.recovered_at, o.recovery_hours, o.rework \
                 FROM production_deployments p LEFT JOIN deployment_outcomes o \
                 ON o.service = p.service AND o.deployment_id = p.deployment_id) \
                 WHERE {in_window} ORDER BY deployed_at, service, seq"
            ),
        )
        .await?;
    let changes = sql
        .query(
            queries,
            &format!(
                "SELECT * FROM change_lead_times WHERE {in_window} \
                 ORDER BY service, deployment_id, change_started_at, sha"
            ),
        )
        .await?;
    let incidents = sql
        .query(
            queries,
            &format!(
                "SELECT * FROM (SELECT a.*, p.deployed_at, p.team FROM incident_attribution a \
                 JOIN production_deployments p ON p.service = a.service AND p.deployment_id = a.deployment_id) \
                 WHERE {in_window} ORDER BY opened_at, incident_id"
            ),
        )
        .await?;

    let mut changes_by: HashMap<(String, String), Vec<ChangeDetail>> = HashMap::new();
    {
        let c = Columns::new(&changes.batches);
        let service = c.text("service")?;
        let id = c.text("deployment_id")?;
        let sha = c.text("sha")?;
        let message = c.text("message_summary")?;
        let pr = c.int("pull_request")?;
        let started = c.micros("change_started_at")?;
        let from = c.text("started_from")?;
        let lead = c.float("lead_time_hours")?;
        let rework = c.boolean("rework")?;
        for i in 0..c.len() {
            let (Some(service), Some(id)) = (service[i].clone(), id[i].clone()) else {
                continue;
            };
            changes_by
                .entry((service, id))
                .or_default()
                .push(ChangeDetail {
                    sha: sha[i].clone().unwrap_or_default(),
                    message_summary: message[i].clone(),
                    pull_request: pr[i],
                    started_at: micros_to_utc(started[i]).unwrap_or_default(),
                    started_from: from[i].clone().unwrap_or_default(),
                    lead_time_hours: lead[i].unwrap_or_default(),
                    rework: rework[i].unwrap_or(false),
                });
        }
    }
    let mut causes_by: HashMap<(String, String), Vec<FailureCause>> = HashMap::new();
    {
        let c = Columns::new(&incidents.batches);
        let service = c.text("service")?;
        let id = c.text("deployment_id")?;
        let incident = c.text("incident_id")?;
        let attribution = c.text("attribution")?;
        let opened = c.micros("opened_at")?;
        let resolved = c.micros("resolved_at")?;
        for i in 0..c.len() {
            let (Some(service), Some(id)) = (service[i].clone(), id[i].clone()) else {
                continue;
            };
            causes_by
                .entry((service, id))
                .or_default()
                .push(FailureCause::Incident {
                    incident_id: incident[i].clone().unwrap_or_default(),
                    attribution: attribution[i].clone().unwrap_or_default(),
                    opened_at: micros_to_utc(opened[i]),
                    resolved_at: micros_to_utc(resolved[i]),
                });
        }
    }

    let c = Columns::new(&rows.batches);
    let service = c.text("service")?;
    let team = c.text("team")?;
    let id = c.text("deployment_id")?;
    let environment = c.text("environment")?;
    let sha = c.text("sha")?;
    let started = c.micros("started_at")?;
    let deployed = c.micros("deployed_at")?;
    let class = c.text("class")?;
    let rolls_back = c.text("rolls_back")?;
    let rolled_back_by = c.text("rolled_back_by")?;
    let rolled_back_at = c.micros("rolled_back_at")?;
    let failed = c.boolean("failed")?;
    let recovered = c.micros("recovered_at")?;
    let recovery = c.float("recovery_hours")?;
    let rework = c.boolean("rework")?;
    let mut out = Vec::with_capacity(c.len());
    for i in 0..c.len() {
        let service_name = service[i].clone().unwrap_or_default();
        let deployment_id = id[i].clone().unwrap_or_default();
        let key = (service_name.clone(), deployment_id.clone());
        let class = match class[i].as_deref() {
            Some("baseline") => DeploymentClass::Baseline,
            Some("counted") => DeploymentClass::Counted,
            Some("redeploy") => DeploymentClass::Redeploy,
            Some("rollback") => DeploymentClass::Rollback,
            other => {
                return Err(Error::Internal(format!(
                    "unknown deployment class {other:?}"
                )))
            }
        };
        let mut failure_causes = causes_by.remove(&key).unwrap_or_default();
        if let Some(by) = rolled_back_by[i].clone() {
            failure_causes.push(FailureCause::Rollback {
                deployment_id: by,
                deployed_at: micros_to_utc(rolled_back_at[i]),
            });
        }
        let failed = failed[i].unwrap_or(false);
        out.push(DeploymentDetail {
            service: service_name,
            team: team[i].clone(),
            deployment_id,
            environment: environment[i].clone(),
            sha: sha[i].clone().unwrap_or_default(),
            started_at: micros_to_utc(started[i]),
            deployed_at: micros_to_utc(deployed[i]),
            class,
            rolls_back: rolls_back[i].clone(),
            changes: changes_by.remove(&key).unwrap_or_default(),
            failed,
            failure_causes,
            recovered_at: micros_to_utc(recovered[i]),
            recovery_hours: recovery[i],
            unrecovered: failed && recovered[i].is_none(),
            rework: rework[i].unwrap_or(false),
        });
    }
    Ok(DeploymentsReport {
        from: request.from,
        to: request.to,
        tz: request.tz.name().to_string(),
        production_pattern: request.settings.production_pattern.clone(),
        deployments: out,
    })
}

/// Runs the derive stage for these settings now, so that the walk and the
/// per-deployment tables are computed when events arrive rather than in the
/// first report after them. Reports check the derived result is current and
/// derive on their own when it is not.
pub async fn derive(queries: &LakeQueries, settings: &DoraSettings) -> Result<()> {
    materialized_context(queries, settings).await.map(|_| ())
}

/// production_deployments as the walk reads it (time zone and periods do
/// not matter there).
fn walk_order_sql(settings: &DoraSettings) -> Result<String> {
    fill(
        PRODUCTION_DEPLOYMENTS,
        &[
            ("production_pattern", sql_text(&settings.production_pattern)),
            ("tz", "UTC".into()),
            ("period_unit", "day".into()),
        ],
    )
}

/// Registers the DORA per-deployment tables for `settings` under their own
/// names (production_deployments, incident_attribution, change_lead_times,
/// deployment_outcomes, deployment_changes) in the lake's query context, so
/// read-only SQL can explain any number row by row.
pub async fn expose(queries: &LakeQueries, settings: &DoraSettings) -> Result<()> {
    let changes_table = crate::derive::deployment_changes_table(
        queries,
        &settings.production_pattern,
        &walk_order_sql(settings)?,
    )
    .await?;
    let context = materialize(queries, settings, &changes_table).await?;
    let main = queries.context();
    for name in [
        "production_deployments",
        "incident_attribution",
        "change_lead_times",
        "deployment_outcomes",
        changes_table.as_str(),
    ] {
        let provider = context.table_provider(name).await.map_err(Error::Engine)?;
        let exposed = if name == changes_table {
            "deployment_changes"
        } else {
            name
        };
        let _ = main.deregister_table(exposed);
        main.register_table(exposed, provider)
            .map_err(Error::Engine)?;
    }
    Ok(())
}
