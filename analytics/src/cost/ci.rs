//! CI cost per team: billable minutes priced by runner operating system
//! (`[cost.ci] per_minute`, in `[cost] currency`). It is reported beside the
//! bill, not inside it: a CI vendor's invoice may be in the bill already,
//! and this is what the minutes cost at the configured prices.

use std::collections::BTreeMap;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{Amount, CostRequest, Money};
use crate::columns::Columns;
use crate::error::Result;
use crate::template::{fill, local_midnight, sql_instant};
use crate::LakeQueries;

const CI_COST: &str = include_str!("ci_cost.sql");

/// `[cost.ci]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CiPrices {
    /// Runner OS (lower case: `linux`, `windows`, `macos`) -> price of a minute.
    pub per_minute: BTreeMap<String, Amount>,
}

/// One team's CI minutes and what they cost.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CiCost {
    /// Null: repositories no catalog service lists.
    pub team: Option<String>,
    pub runs: u64,
    pub minutes: f64,
    pub cost: Money,
    /// Minutes on a runner OS without a price: counted, never priced as zero
    /// silently.
    pub unpriced_minutes: f64,
}

/// Minutes priced at `price` per minute, at the lake's scale; `None` when
/// the cost does not fit it.
fn priced(minutes: f64, price: Money) -> Option<Money> {
    let scale = ingest::schema::MONEY_SCALE as u32;
    let minutes = Decimal::from_str(&minutes.to_string()).unwrap_or_default();
    ingest::canonical::ScaledMoney::from_decimal(
        minutes * Decimal::from_i128_with_scale(price.0, scale),
    )
    .map(|cost| Money(cost.0))
}

/// CI cost per team in the request's window, largest first.
pub async fn ci_costs(queries: &LakeQueries, request: &CostRequest) -> Result<Vec<CiCost>> {
    let prices: BTreeMap<String, Money> = request
        .settings
        .ci
        .per_minute
        .iter()
        .map(|(os, amount)| {
            Ok((
                os.to_lowercase(),
                amount.money(&format!("ci.per_minute.{os}"))?,
            ))
        })
        .collect::<Result<_>>()?;
    let sql = fill(
        CI_COST,
        &[
            (
                "from",
                sql_instant(local_midnight(chrono_tz::UTC, request.from)),
            ),
            (
                "to",
                sql_instant(local_midnight(chrono_tz::UTC, request.to)),
            ),
            (
                "repository_teams",
                crate::devex::REPOSITORY_TEAMS.to_string(),
            ),
        ],
    )?;
    let result = queries.read_only_sql(&sql).await?;
    let c = Columns::new(&result.batches);
    let mut teams: BTreeMap<Option<String>, CiCost> = BTreeMap::new();
    for (((team, os), minutes), runs) in c
        .text("team")?
        .into_iter()
        .zip(c.text("os")?)
        .zip(c.float("minutes")?)
        .zip(c.int("runs")?)
    {
        let minutes = minutes.unwrap_or(0.0);
        let entry = teams.entry(team.clone()).or_insert_with(|| CiCost {
            team,
            runs: 0,
            minutes: 0.0,
            cost: Money(0),
            unpriced_minutes: 0.0,
        });
        entry.runs += runs.unwrap_or(0) as u64;
        entry.minutes += minutes;
        match os
            .and_then(|os| prices.get(&os).copied())
            .and_then(|price| priced(minutes, price))
        {
            Some(cost) => entry.cost += cost,
            None => entry.unpriced_minutes += minutes,
        }
    }
    let mut costs: Vec<CiCost> = teams.into_values().collect();
    costs.sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.team.cmp(&b.team)));
    Ok(costs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minutes_are_priced_exactly() {
        let cent = 10i128.pow(8);
        // 125 minutes at 0.008 = 1.00; 7 at 0.08 = 0.56.
        assert_eq!(priced(125.0, Money(8 * cent / 10)), Some(Money(100 * cent)));
        assert_eq!(priced(7.0, Money(8 * cent)), Some(Money(56 * cent)));
    }
}
