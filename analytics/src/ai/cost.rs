//! What AI assistants cost (`ai_seats.sql`, `ai_cost_rows.sql`): seats at
//! `[ai] seat_price` per active person, tool and month, plus the cost rows
//! of AI services, per AI-active developer and per AI-assisted merged pull
//! request, in exact decimals.
//!
//! Rule (devex's AI contract): a month only partly inside the window
//! counts its seats at the share of its days inside (price x seats x days
//! inside / days in the month, to the cent, half away from zero, per tool
//! and month); the per-unit costs divide the total, to the cent. A person
//! in two teams pays a seat in each team's total, once in the
//! organisation's.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

use super::pull_requests::PullRequestRow;
use super::usage::{usage_values, People};
use super::AiRequest;
use crate::columns::Columns;
use crate::cost::{to_cent, CostGroupBy, CostRequest, Measure, Money};
use crate::error::Result;
use crate::privacy::Hidden;
use crate::template::{fill, sql_text};
use crate::LakeQueries;

const SEATS: &str = include_str!("ai_seats.sql");
const AI_COST_ROWS: &str = include_str!("ai_cost_rows.sql");

/// The cost of a scope (a team, or the organisation).
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AiScopeCost {
    /// Null for the organisation.
    pub team: Option<String>,
    pub seats: Money,
    pub cost_rows: Money,
    pub total: Money,
    pub ai_active_users: u64,
    pub ai_assisted_prs: u64,
    pub per_active_user: Option<Money>,
    pub per_ai_assisted_pr: Option<Money>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

/// The AI cost of the window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct AiCost {
    pub currency: String,
    pub overall: AiScopeCost,
    pub teams: Vec<AiScopeCost>,
    /// Tools in use without an `[ai] seat_price`: their seats cost nothing
    /// here.
    pub unpriced_tools: Vec<String>,
}

fn per(total: Money, count: u64) -> Option<Money> {
    (count > 0).then(|| Money(to_cent(total.0, i128::from(count))))
}

/// The days of `month` inside the window, and the month's days.
fn month_share(request: &AiRequest, month: NaiveDate) -> (i64, i64) {
    let next = month
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(month);
    let inside = (next.min(request.to) - month.max(request.from))
        .num_days()
        .max(0);
    (inside, (next - month).num_days().max(1))
}

/// Scope ('' the organisation) -> seat cost; and the tools without a price.
async fn seat_costs(
    queries: &LakeQueries,
    request: &AiRequest,
) -> Result<(BTreeMap<String, Money>, BTreeSet<String>)> {
    let prices = request.settings.seat_prices()?;
    let result = queries
        .read_only_sql(&fill(SEATS, &usage_values(request)?)?)
        .await?;
    let c = Columns::new(&result.batches);
    let mut costs: BTreeMap<String, Money> = BTreeMap::new();
    let mut unpriced = BTreeSet::new();
    for (((team, tool), month), seats) in c
        .text("team")?
        .into_iter()
        .zip(c.text("tool")?)
        .zip(c.dates("month")?)
        .zip(c.int("seats")?)
    {
        let (Some(team), Some(tool), Some(month)) = (team, tool, month) else {
            continue;
        };
        let Some(price) = prices.get(&tool) else {
            unpriced.insert(tool);
            continue;
        };
        let (inside, days) = month_share(request, month.with_day(1).unwrap_or(month));
        let seats = i128::from(seats.unwrap_or(0).max(0));
        let cost = to_cent(price.0 * seats * i128::from(inside), i128::from(days));
        costs.entry(team).or_default().0 += cost;
    }
    Ok((costs, unpriced))
}

/// Scope ('' the organisation) -> cost rows of AI services.
async fn row_costs(queries: &LakeQueries, request: &AiRequest) -> Result<BTreeMap<String, Money>> {
    if request.settings.cost_services.is_empty() {
        return Ok(BTreeMap::new());
    }
    let cost_request = CostRequest {
        from: request.from,
        to: request.to,
        measure: Measure::Effective,
        group_by: CostGroupBy::Team,
        settings: request.cost.clone(),
    };
    let services = request
        .settings
        .cost_services
        .iter()
        .map(|p| format!("(?:{p})"))
        .collect::<Vec<_>>()
        .join("|");
    let values = [
        ("cost_lines", crate::cost::cost_lines_sql(&cost_request)?),
        ("currency", sql_text(&request.cost.currency)),
        ("services", sql_text(&services)),
    ];
    let result = queries.read_only_sql(&fill(AI_COST_ROWS, &values)?).await?;
    let c = Columns::new(&result.batches);
    Ok(c.text("team")?
        .into_iter()
        .zip(c.money("amount")?)
        .filter_map(|(team, amount)| Some((team?, Money(amount?))))
        .collect())
}

pub(super) async fn cost(
    queries: &LakeQueries,
    request: &AiRequest,
    people: &People,
    prs: &[PullRequestRow],
    shown_teams: &BTreeSet<String>,
) -> Result<AiCost> {
    let (seats, unpriced) = seat_costs(queries, request).await?;
    let rows = row_costs(queries, request).await?;
    let scope = |team: Option<&String>| {
        let key = team.cloned().unwrap_or_default();
        let seats = seats.get(&key).copied().unwrap_or_default();
        let cost_rows = rows.get(&key).copied().unwrap_or_default();
        let total = Money(seats.0 + cost_rows.0);
        let ai_active_users = people.all(&key).len() as u64;
        let ai_assisted_prs = prs
            .iter()
            .filter(|pr| pr.ai_tool.is_some() && (team.is_none() || pr.team.as_ref() == team))
            .count() as u64;
        AiScopeCost {
            team: team.cloned(),
            seats,
            cost_rows,
            total,
            ai_active_users,
            ai_assisted_prs,
            per_active_user: per(total, ai_active_users),
            per_ai_assisted_pr: per(total, ai_assisted_prs),
            hidden_reason: None,
        }
    };
    let mut teams: BTreeSet<String> = seats
        .keys()
        .chain(rows.keys())
        .filter(|t| !t.is_empty())
        .cloned()
        .collect();
    teams.extend(people.teams().cloned());
    let min = request.min_group_size();
    let teams = teams
        .iter()
        .filter(|team| request.team.as_ref().is_none_or(|t| t == *team))
        .map(|team| match shown_teams.contains(team) {
            true => scope(Some(team)),
            // A hidden team's seats would count its AI-active people.
            false => AiScopeCost {
                team: Some(team.clone()),
                hidden_reason: Some(Hidden::TooFew.reason(min, "developers")),
                ..AiScopeCost::default()
            },
        })
        .collect();
    // The organisation's per-person cost counts its AI-active people: not
    // when they are fewer than the minimum.
    let everyone = people.all("").len();
    let overall = match everyone == 0 || everyone >= min {
        true => scope(None),
        false => AiScopeCost {
            hidden_reason: Some(Hidden::TooFew.reason(min, "AI-active people")),
            ..AiScopeCost::default()
        },
    };
    Ok(AiCost {
        currency: request.cost.currency.clone(),
        overall,
        teams,
        unpriced_tools: unpriced.into_iter().collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_month_cut_by_the_window_counts_its_share() {
        let mut request = AiRequest::parse(
            Some("2026-01-15"),
            Some("2026-03-01"),
            None,
            None,
            None,
            super::super::AiSettings::default(),
            crate::devex::DevexSettings::default(),
            crate::dora::DoraSettings::default(),
        )
        .unwrap();
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        assert_eq!(month_share(&request, day("2026-01-01")), (17, 31));
        assert_eq!(month_share(&request, day("2026-02-01")), (28, 28));
        request.to = day("2026-02-10");
        assert_eq!(month_share(&request, day("2026-02-01")), (9, 28));
        // 19.00 a seat, 3 seats, 17 of 31 days: 31.258... -> 31.26.
        let price = 19 * 10i128.pow(ingest::schema::MONEY_SCALE as u32);
        assert_eq!(Money(to_cent(price * 3 * 17, 31)).to_string(), "31.26");
        assert_eq!(
            per(Money(to_cent(price * 3 * 17, 31)), 4).map(|m| m.to_string()),
            Some("7.82".into())
        );
    }
}
