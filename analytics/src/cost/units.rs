//! Unit costs per team: its cost (direct and shared) per counted production
//! deployment and per merged pull request in the same window.
//!
//! Rule (devex's cost contract): the counts are DORA's (counted production
//! deployments, by the team that owned the service when it deployed) and
//! DevEx's (merged pull requests, by the team of their repository or
//! services); a team with none of one has no unit cost for it (null, not a
//! division by zero). Each unit cost is rounded to the cent, half away from
//! zero.

use serde::Serialize;

use super::{CostReport, CostRequest, Money};
use crate::devex::{DevexRequest, DevexSettings};
use crate::dora::{DoraRequest, DoraSettings};
use crate::error::Result;
use crate::LakeQueries;

/// One team's unit costs.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnitCost {
    pub team: String,
    pub cost: Money,
    pub production_deployments: u64,
    pub cost_per_deployment: Option<Money>,
    pub merged_pull_requests: u64,
    pub cost_per_merged_pull_request: Option<Money>,
}

fn per(amount: Money, count: u64) -> Option<Money> {
    if count == 0 {
        return None;
    }
    Some(Money(super::split::to_cent(amount.0, i128::from(count))))
}

/// The unit costs of a team report's groups.
pub async fn unit_costs(
    queries: &LakeQueries,
    request: &CostRequest,
    report: &CostReport,
    dora: &DoraSettings,
    devex: &DevexSettings,
) -> Result<Vec<UnitCost>> {
    let (from, to) = (request.from.to_string(), request.to.to_string());
    let dora_request =
        DoraRequest::parse(&from, &to, None, None, None, Some("team"), dora.clone())?;
    let deployments = crate::dora::report(queries, &dora_request).await?;
    let devex_request = DevexRequest::parse(
        &from,
        &to,
        None,
        None,
        None,
        Some("team"),
        devex.clone(),
        dora.clone(),
    )?;
    let pulls = crate::devex::report(queries, &devex_request).await?;
    Ok(report
        .groups
        .iter()
        .filter_map(|group| {
            let team = group.key.label()?.to_string();
            let production_deployments = deployments
                .groups
                .iter()
                .find(|g| g.key.label() == Some(team.as_str()))
                .map_or(0, |g| g.metrics.deployments);
            let merged_pull_requests = pulls
                .groups
                .iter()
                .find(|g| g.key.label() == Some(team.as_str()))
                .map_or(0, |g| g.metrics.merged_prs);
            Some(UnitCost {
                cost_per_deployment: per(group.cost, production_deployments),
                cost_per_merged_pull_request: per(group.cost, merged_pull_requests),
                team,
                cost: group.cost,
                production_deployments,
                merged_pull_requests,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_unit_to_the_cent_and_none_without_units() {
        let cent = 10i128.pow(8);
        assert_eq!(per(Money(7_632 * cent), 3), Some(Money(2_544 * cent)));
        // 10.00 / 3 = 3.333.. -> 3.33; -10.00 / 3 -> -3.33.
        assert_eq!(per(Money(1_000 * cent), 3), Some(Money(333 * cent)));
        assert_eq!(per(Money(-1_000 * cent), 3), Some(Money(-333 * cent)));
        assert_eq!(per(Money(1_000 * cent), 0), None);
    }
}
