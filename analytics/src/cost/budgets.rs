//! Monthly budgets per team (`[cost.budgets]`): the month's spend to date
//! against the budget, and a straight-line forecast of the month's end.
//!
//! Rule (devex's cost contract): the month is the one holding the report's
//! last day; spend is the team's cost (direct and shared, the report's
//! rules and measure) from the month's first day to the report's end; the
//! forecast is spend / days elapsed * days in the month, to the cent.

use std::collections::BTreeMap;
use std::str::FromStr;

use chrono::{Datelike, Months};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{report_lines, CostGroupBy, CostRequest, Money};
use crate::error::{Error, Result};
use crate::LakeQueries;

/// An amount as configuration gives it: `"12000.50"` (exact) or a TOML
/// number, read from its text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Amount {
    Text(String),
    Integer(i64),
    Float(f64),
}

impl Amount {
    pub(super) fn money(&self, key: &str) -> Result<Money> {
        self.money_setting(&format!("cost.{key}"))
    }

    /// The amount of the setting named `setting` (for its error).
    pub(crate) fn money_setting(&self, setting: &str) -> Result<Money> {
        let text = match self {
            Amount::Text(text) => text.clone(),
            Amount::Integer(n) => n.to_string(),
            Amount::Float(f) => f.to_string(),
        };
        Decimal::from_str(text.trim())
            .ok()
            .and_then(ingest::canonical::ScaledMoney::from_decimal)
            .map(|money| Money(money.0))
            .ok_or_else(|| {
                Error::InvalidSetting(format!(
                    "{setting}: `{text}` is not an amount; give it as \"12000.00\""
                ))
            })
    }
}

/// One team's month against its budget.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BudgetStatus {
    pub team: String,
    /// `YYYY-MM`.
    pub month: String,
    pub budget: Money,
    pub spent: Money,
    pub forecast: Money,
    /// forecast / budget.
    pub forecast_share: Option<f64>,
    pub days_elapsed: u32,
    pub days_in_month: u32,
}

/// `amount * numerator / denominator`, to the cent (half away from zero).
fn pro_rata(amount: i128, numerator: i128, denominator: i128) -> i128 {
    super::split::to_cent(amount * numerator, denominator)
}

/// Every budgeted team's status for the month holding the request's last day.
pub async fn statuses(queries: &LakeQueries, request: &CostRequest) -> Result<Vec<BudgetStatus>> {
    let budgets = &request.settings.budgets;
    if budgets.is_empty() {
        return Ok(Vec::new());
    }
    let last_day = request.to.pred_opt().unwrap_or(request.to);
    let month_start = last_day.with_day(1).unwrap_or(last_day);
    let month_end = month_start + Months::new(1);
    let days_in_month = (month_end - month_start).num_days() as u32;
    let days_elapsed = (request.to - month_start).num_days() as u32;
    let month_request = CostRequest {
        from: month_start,
        to: request.to,
        group_by: CostGroupBy::Team,
        ..request.clone()
    };
    let month = report_lines(queries, &month_request).await?;
    let mut spent: BTreeMap<String, i128> = BTreeMap::new();
    for group in &month.groups {
        if let Some(team) = group.key.label() {
            spent.insert(team.to_string(), group.cost.0);
        }
    }
    let mut statuses = Vec::new();
    for (team, amount) in budgets {
        let budget = amount.money(&format!("budgets.{team}"))?;
        let spent = spent.get(team).copied().unwrap_or(0);
        let forecast = pro_rata(
            spent,
            i128::from(days_in_month),
            i128::from(days_elapsed.max(1)),
        );
        statuses.push(BudgetStatus {
            team: team.clone(),
            month: month_start.format("%Y-%m").to_string(),
            budget,
            spent: Money(spent),
            forecast: Money(forecast),
            forecast_share: (budget.0 != 0).then(|| forecast as f64 / budget.0 as f64),
            days_elapsed,
            days_in_month,
        });
    }
    Ok(statuses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_exact_and_a_bad_one_names_its_team() {
        let dollar = 10i128.pow(10);
        assert_eq!(
            Amount::Text("12000.50".into()).money("a").unwrap(),
            Money(1_200_050 * dollar / 100)
        );
        assert_eq!(
            Amount::Integer(300).money("a").unwrap(),
            Money(300 * dollar)
        );
        assert_eq!(Amount::Float(0.1).money("a").unwrap(), Money(dollar / 10));
        let error = Amount::Text("lots".into())
            .money("budgets.payments")
            .unwrap_err();
        assert!(
            error.to_string().contains("cost.budgets.payments"),
            "{error}"
        );
    }

    #[test]
    fn the_forecast_is_straight_line_to_the_cent() {
        let cent = 10i128.pow(8);
        // 137.14 in 15 of 30 days -> 274.28.
        assert_eq!(pro_rata(13_714 * cent, 30, 15), 27_428 * cent);
        // 10.00 in 3 of 31 days -> 103.333.. -> 103.33.
        assert_eq!(pro_rata(1_000 * cent, 31, 3), 10_333 * cent);
    }
}
