//! The rows behind a cost report, each with the rule that placed it: the
//! drill-down that makes a number explainable ("why is this on my team?").
//! Shared rows are listed with their rule and no team: a team's share of
//! them is in the report.

use serde::Serialize;

use super::{cost_lines_sql, CostRequest, Money};
use crate::columns::Columns;
use crate::error::Result;
use crate::template::sql_text;
use crate::LakeQueries;

/// Which rows.
#[derive(Debug, Clone, Default)]
pub struct LineFilter {
    pub team: Option<String>,
    pub service: Option<String>,
    pub rule: Option<String>,
    /// At most this many, largest first.
    pub limit: usize,
}

/// One cost row as the rules placed it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostLine {
    pub event_id: String,
    pub month: String,
    pub currency: String,
    pub amount: Money,
    pub provider_name: Option<String>,
    pub service_name: Option<String>,
    pub resource_id: Option<String>,
    pub rule: String,
    pub service: Option<String>,
    pub team: Option<String>,
}

/// The rows of the request's window in its currency, largest first.
pub async fn lines(
    queries: &LakeQueries,
    request: &CostRequest,
    filter: &LineFilter,
) -> Result<Vec<CostLine>> {
    let mut conditions = vec![format!(
        "currency = {}",
        sql_text(&request.settings.currency)
    )];
    for (column, value) in [
        ("team", &filter.team),
        ("service", &filter.service),
        ("rule", &filter.rule),
    ] {
        if let Some(value) = value {
            conditions.push(format!("{column} = {}", sql_text(value)));
        }
    }
    let result = queries
        .read_only_sql(&format!(
            "WITH cost_lines AS ({}) SELECT * FROM cost_lines WHERE {} \
             ORDER BY amount DESC, event_id LIMIT {}",
            cost_lines_sql(request)?,
            conditions.join(" AND "),
            filter.limit.max(1)
        ))
        .await?;
    let c = Columns::new(&result.batches);
    let mut out = Vec::new();
    let mut amounts = c.money("amount")?.into_iter();
    let mut months = c.text("month")?.into_iter();
    let mut currencies = c.text("currency")?.into_iter();
    let mut providers = c.text("provider_name")?.into_iter();
    let mut provider_services = c.text("service_name")?.into_iter();
    let mut resources = c.text("resource_id")?.into_iter();
    let mut rules = c.text("rule")?.into_iter();
    let mut services = c.text("service")?.into_iter();
    let mut teams = c.text("team")?.into_iter();
    for event_id in c.text("event_id")? {
        out.push(CostLine {
            event_id: event_id.unwrap_or_default(),
            month: months.next().flatten().unwrap_or_default(),
            currency: currencies.next().flatten().unwrap_or_default(),
            amount: Money(amounts.next().flatten().unwrap_or(0)),
            provider_name: providers.next().flatten(),
            service_name: provider_services.next().flatten(),
            resource_id: resources.next().flatten(),
            rule: rules.next().flatten().unwrap_or_default(),
            service: services.next().flatten(),
            team: teams.next().flatten(),
        });
    }
    Ok(out)
}
