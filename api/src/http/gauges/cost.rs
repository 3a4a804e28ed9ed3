//! The cost gauges.

use chrono::Days;

use super::{labels, Builder};
use crate::config::Config;
use crate::error::Result;
use analytics::LakeQueries;

/// This month's cost to date per team, last month's per team and service,
/// and last month's unattributed share.
pub(super) async fn cost_gauges(
    builder: &mut Builder,
    queries: &LakeQueries,
    config: &Config,
    end: chrono::NaiveDate,
    owners: &std::collections::HashMap<String, String>,
) -> Result<()> {
    use analytics::cost::{CostGroupBy, CostRequest};
    use chrono::Datelike;
    let month_start = end.with_day(1).unwrap_or(end);
    let last_month_start = month_start - chrono::Months::new(1);
    let request = |from: chrono::NaiveDate, to: chrono::NaiveDate, group_by: CostGroupBy| {
        CostRequest::parse(
            Some(&from.to_string()),
            Some(&to.to_string()),
            None,
            Some(group_by.name()),
            config.cost.clone(),
        )
    };
    let currency = config.cost.currency.as_str();
    let to_date = analytics::cost::report(
        queries,
        &request(month_start, end + Days::new(1), CostGroupBy::Team)?,
    )
    .await?;
    for group in &to_date.groups {
        builder.push(
            "devex_cost_month_to_date",
            "Cost of the current month so far (direct and shared), by team",
            labels(&[
                ("team", group.key.label().unwrap_or("")),
                ("currency", currency),
            ]),
            Some(group.cost.to_f64()),
        );
    }
    let last = |group_by| request(last_month_start, month_start, group_by);
    let by_service = analytics::cost::report(queries, &last(CostGroupBy::Service)?).await?;
    for group in &by_service.groups {
        let service = group.key.label().unwrap_or("");
        let team = owners.get(service).map(String::as_str).unwrap_or("");
        builder.push(
            "devex_cost_last_month",
            "Cost of the last full month by team and service (service \"(shared)\": the team's share of shared cost)",
            labels(&[("team", team), ("service", service), ("currency", currency)]),
            Some(group.direct.to_f64()),
        );
    }
    let by_team = analytics::cost::report(queries, &last(CostGroupBy::Team)?).await?;
    for group in &by_team.groups {
        builder.push(
            "devex_cost_last_month",
            "Cost of the last full month by team and service (service \"(shared)\": the team's share of shared cost)",
            labels(&[
                ("team", group.key.label().unwrap_or("")),
                ("service", "(shared)"),
                ("currency", currency),
            ]),
            Some(group.shared.to_f64()),
        );
    }
    if by_team.total.0 != 0 {
        builder.push(
            "devex_cost_unattributed_share",
            "Share of the last full month's cost that no rule placed",
            vec![],
            Some(by_team.unattributed.0 as f64 / by_team.total.0 as f64),
        );
    }
    Ok(())
}
