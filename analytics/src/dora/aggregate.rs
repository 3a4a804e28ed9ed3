//! Counting: deployments, failures, recoveries and lead times per cell
//! (group and period), and the per-service rates.

use super::*;

/// Raw counts of one (group, period) cell, before ratios and levels.
#[derive(Debug, Clone, Default)]
pub(super) struct Counts {
    pub(super) deployments: u64,
    pub(super) deployment_days: u64,
    pub(super) failed_deployments: u64,
    pub(super) unrecovered: u64,
    pub(super) recovery_time_median_hours: Option<f64>,
    pub(super) recovery_time_p90_hours: Option<f64>,
    pub(super) rework_deployments: u64,
    pub(super) changes: u64,
    pub(super) lead_time_median_hours: Option<f64>,
    pub(super) lead_time_p90_hours: Option<f64>,
}

impl Counts {
    pub(super) fn metrics(
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
                self.deployments,
                service_median,
                self.lead_time_median_hours,
                change_failure_rate,
                self.recovery_time_median_hours,
            ),
        }
    }
}

pub(super) type CellKey = (Option<String>, Option<i64>);

/// Runs both summaries for a grouping and returns counts by (group, period).
pub(super) async fn counts(
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
/// Grouped by team, a service counts per owner: a team's rate is the
/// deployments it owned (a service that changed hands is in both teams, each
/// with its own deployments).
pub(super) struct ServiceRates {
    /// By service (or, grouped by team, [`owned`] service and team) and period.
    pub(super) deployments: HashMap<(String, Option<i64>), u64>,
    pub(super) services: Vec<(String, Option<String>)>,
    by_team: bool,
}

/// The key of a service's deployments under one owner.
fn owned(service: &str, team: Option<&str>) -> String {
    format!("{service}\u{1f}{}", team.unwrap_or(""))
}

/// [`owned`], as SQL over `production_deployments`.
const OWNED_KEY: &str = "concat(service, chr(31), coalesce(team, ''))";

impl ServiceRates {
    /// `by_service`: the counts by service and period, when the caller has
    /// them already (a report grouped by service), so they are not run twice.
    pub(super) async fn load(
        queries: &LakeQueries,
        sql: &DoraSql,
        period_key: &str,
        by_service: Option<&BTreeMap<CellKey, Counts>>,
        group_by: GroupBy,
    ) -> Result<ServiceRates> {
        let by_team = group_by == GroupBy::Team;
        let mut deployments = HashMap::new();
        match by_service.filter(|_| !by_team) {
            Some(cells) => {
                for ((service, period), cell) in cells {
                    if let Some(service) = service {
                        deployments.insert((service.clone(), *period), cell.deployments);
                    }
                }
            }
            None => {
                let key = if by_team { OWNED_KEY } else { "service" };
                let summary = sql.summary(queries, DORA_SUMMARY, key, period_key).await?;
                let c = Columns::new(&summary.batches);
                for ((service, period), n) in c
                    .text("group_key")?
                    .into_iter()
                    .zip(c.micros("period_start")?)
                    .zip(c.int("deployments")?)
                {
                    if let Some(key) = service {
                        let n = n.unwrap_or(0) as u64;
                        if let Some((service, _)) = key.split_once('\u{1f}') {
                            // The whole service too, for the overall median.
                            *deployments
                                .entry((service.to_string(), period))
                                .or_insert(0) += n;
                        }
                        deployments.insert((key, period), n);
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
            by_team,
        })
    }

    /// The services of a group (every service for `GroupBy::None`), as the
    /// keys [`ServiceRates::median`] takes.
    pub(super) fn members(&self, group_by: GroupBy, key: Option<&str>) -> Vec<String> {
        let mut members: Vec<String> = self
            .services
            .iter()
            .filter(|(service, team)| match group_by {
                GroupBy::Service => Some(service.as_str()) == key,
                GroupBy::Team => team.as_deref() == key,
                GroupBy::None => true,
            })
            .map(|(service, team)| match group_by {
                GroupBy::Team if self.by_team => owned(service, team.as_deref()),
                _ => service.clone(),
            })
            .collect();
        // A service with several owners is one member of the whole.
        members.sort();
        members.dedup();
        members
    }

    /// Median deployments per week over `services` (a group's members).
    pub(super) fn median(
        &self,
        services: &[String],
        period: Option<i64>,
        days: i64,
    ) -> Option<f64> {
        let weeks = days.max(1) as f64 / 7.0;
        let mut rates: Vec<f64> = services
            .iter()
            .map(|service| {
                self.deployments
                    .get(&(service.clone(), period))
                    .copied()
                    .unwrap_or(0) as f64
                    / weeks
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        crate::stats::median(&rates)
    }
}

pub(super) fn group_column(group_by: GroupBy) -> &'static str {
    match group_by {
        GroupBy::Service => "service",
        GroupBy::Team => "team",
        GroupBy::None => "'all'",
    }
}

pub(super) fn group_key(group_by: GroupBy, value: Option<String>) -> Option<GroupKey> {
    match group_by {
        GroupBy::Service => Some(GroupKey::Service(value)),
        GroupBy::Team => Some(GroupKey::Team(value)),
        GroupBy::None => None,
    }
}

pub(super) const NO_PERIOD: &str = "CAST(NULL AS TIMESTAMP)";
