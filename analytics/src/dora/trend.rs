//! Is it getting better? A window against the equal window before it, per
//! team and overall, for the three headline DORA numbers, each with a test
//! that says whether the change is more than noise:
//!
//! * deployments: the conditional binomial test of two counts over equal
//!   spans ([`crate::stats::equal_span_counts_p`]);
//! * lead time (median): the Mann-Whitney U test on the changes' lead times;
//! * change failure rate: the pooled two-proportion z-test.
//!
//! A change is significant at p < 0.05; `better` says which way is good
//! (more deployments, shorter lead times, fewer failures).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use serde::Serialize;

use super::{deployments, report, DoraMetrics, DoraRequest};
use crate::error::Result;
use crate::stats::{equal_span_counts_p, mann_whitney_u, two_proportions_p};
use crate::LakeQueries;

/// Below this p-value a change is taken as real.
pub const SIGNIFICANCE: f64 = 0.05;

/// One number in two periods.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Change {
    pub previous: Option<f64>,
    pub current: Option<f64>,
    /// The samples behind each: deployments, or changes for lead time.
    pub previous_n: u64,
    pub current_n: u64,
    pub p_value: Option<f64>,
    pub significant: bool,
    /// Whether the current value is the better one (None when equal or
    /// either is missing).
    pub better: Option<bool>,
}

impl Change {
    fn new(
        previous: (Option<f64>, u64),
        current: (Option<f64>, u64),
        p_value: Option<f64>,
        higher_is_better: bool,
    ) -> Change {
        let better = match (previous.0, current.0) {
            (Some(p), Some(c)) if c != p => Some((c > p) == higher_is_better),
            _ => None,
        };
        Change {
            previous: previous.0,
            current: current.0,
            previous_n: previous.1,
            current_n: current.1,
            p_value,
            significant: p_value.is_some_and(|p| p < SIGNIFICANCE),
            better,
        }
    }
}

/// The three headline numbers of one team (or of everything).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct GroupTrend {
    pub team: Option<String>,
    pub deployments_per_week: Change,
    pub lead_time_median_hours: Change,
    pub change_failure_rate: Change,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraTrend {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub previous_from: NaiveDate,
    pub previous_to: NaiveDate,
    pub groups: Vec<GroupTrend>,
    pub overall: GroupTrend,
}

/// The request's window (grouped by team) against the equal window before.
pub async fn trend(queries: &LakeQueries, request: &DoraRequest) -> Result<DoraTrend> {
    let days = (request.to - request.from).num_days().max(1) as u64;
    let current = DoraRequest {
        group_by: super::GroupBy::Team,
        ..request.clone()
    };
    let previous = DoraRequest {
        from: request.from - Days::new(days),
        to: request.from,
        ..current.clone()
    };
    let (now, before) = (
        report(queries, &current).await?,
        report(queries, &previous).await?,
    );
    // The lead times behind the test. A window with more deployments than a
    // drill-down holds keeps its numbers and goes without the test.
    let (now_leads, before_leads) = match (
        lead_times(queries, &current).await,
        lead_times(queries, &previous).await,
    ) {
        (Ok(now), Ok(before)) => (Some(now), Some(before)),
        _ => (None, None),
    };
    let metrics_of = |groups: &[super::DoraGroup], team: &str| {
        groups
            .iter()
            .find(|g| g.key.label() == Some(team))
            .map(|g| g.metrics.clone())
    };
    let mut teams: Vec<String> = now
        .groups
        .iter()
        .chain(&before.groups)
        .filter_map(|g| g.key.label().map(str::to_string))
        .collect();
    teams.sort();
    teams.dedup();
    let of_team = |leads: &Option<LeadTimes>, team: &str| -> Option<Vec<f64>> {
        leads
            .as_ref()
            .map(|l| l.get(&Some(team.to_string())).cloned().unwrap_or_default())
    };
    let groups = teams
        .iter()
        .map(|team| {
            group(
                Some(team.clone()),
                metrics_of(&before.groups, team).as_ref(),
                metrics_of(&now.groups, team).as_ref(),
                of_team(&before_leads, team).as_deref(),
                of_team(&now_leads, team).as_deref(),
            )
        })
        .collect();
    let all = |leads: &Option<LeadTimes>| -> Option<Vec<f64>> {
        leads
            .as_ref()
            .map(|l| l.values().flatten().copied().collect())
    };
    let overall = group(
        None,
        Some(&before.overall),
        Some(&now.overall),
        all(&before_leads).as_deref(),
        all(&now_leads).as_deref(),
    );
    Ok(DoraTrend {
        from: current.from,
        to: current.to,
        previous_from: previous.from,
        previous_to: previous.to,
        groups,
        overall,
    })
}

/// Lead times of changes by team.
type LeadTimes = BTreeMap<Option<String>, Vec<f64>>;

fn group(
    team: Option<String>,
    before: Option<&DoraMetrics>,
    now: Option<&DoraMetrics>,
    before_leads: Option<&[f64]>,
    now_leads: Option<&[f64]>,
) -> GroupTrend {
    let deployments = |m: Option<&DoraMetrics>| m.map_or(0, |m| m.deployments);
    let failed = |m: Option<&DoraMetrics>| m.map_or(0, |m| m.failed_deployments);
    let changes = |m: Option<&DoraMetrics>| m.map_or(0, |m| m.changes);
    GroupTrend {
        team,
        deployments_per_week: Change::new(
            (before.map(|m| m.deployments_per_week), deployments(before)),
            (now.map(|m| m.deployments_per_week), deployments(now)),
            equal_span_counts_p(deployments(before), deployments(now)),
            true,
        ),
        lead_time_median_hours: Change::new(
            (
                before.and_then(|m| m.lead_time_median_hours),
                changes(before),
            ),
            (now.and_then(|m| m.lead_time_median_hours), changes(now)),
            before_leads
                .zip(now_leads)
                .and_then(|(b, n)| mann_whitney_u(b, n))
                .map(|t| t.p_value),
            false,
        ),
        change_failure_rate: Change::new(
            (
                before.and_then(|m| m.change_failure_rate),
                deployments(before),
            ),
            (now.and_then(|m| m.change_failure_rate), deployments(now)),
            two_proportions_p(
                failed(before),
                deployments(before),
                failed(now),
                deployments(now),
            ),
            false,
        ),
    }
}

/// Every change's lead time in the window, by the team of its deployment.
async fn lead_times(queries: &LakeQueries, request: &DoraRequest) -> Result<LeadTimes> {
    let mut out = LeadTimes::new();
    for deployment in deployments(queries, request).await?.deployments {
        out.entry(deployment.team)
            .or_default()
            .extend(deployment.changes.iter().map(|c| c.lead_time_hours));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn better_follows_the_good_direction_and_significance_the_p_value() {
        let faster = Change::new((Some(30.0), 100), (Some(20.0), 120), Some(0.01), false);
        assert_eq!((faster.better, faster.significant), (Some(true), true));
        let more = Change::new((Some(5.0), 60), (Some(4.0), 48), Some(0.3), true);
        assert_eq!((more.better, more.significant), (Some(false), false));
        let same = Change::new((Some(1.0), 1), (Some(1.0), 1), None, true);
        assert_eq!((same.better, same.significant), (None, false));
    }
}
