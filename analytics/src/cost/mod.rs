//! Cost attribution: every cost row of a window placed on a team (and
//! service) by the first rule that applies (`cost_lines.sql`), shared rows
//! split across teams to the cent ([`split`]), and the rest shown as
//! unattributed, never dropped. For every window and measure,
//! `attributed + shared + unattributed = total`, exactly: money is integers
//! at the lake's scale from the Parquet decimals to the JSON strings.

mod budgets;
mod ci;
mod lines;
mod split;
mod tags;
mod units;

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

pub use budgets::{Amount, BudgetStatus};
pub use ci::{CiCost, CiPrices};
pub use lines::{lines, CostLine, LineFilter};
pub(crate) use split::to_cent;
pub use split::{split, SplitRule};
pub use tags::{tag_value, tag_value_udf};
pub use units::{unit_costs, UnitCost};

use crate::columns::Columns;
use crate::error::{Error, Result};
use crate::template::{fill, sql_instant, sql_text};
use crate::window::Window;
use crate::LakeQueries;

const COST_LINES: &str = include_str!("cost_lines.sql");

/// Rows of the unattributed remainder listed by resource.
const UNATTRIBUTED_TOP: usize = 10;

/// `[cost]`: the currency costs are reported in, and the attribution rules.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CostSettings {
    /// ISO 4217 code reports are in; `devex import focus --rates` converts
    /// other currencies to it.
    pub currency: String,
    /// Tag keys naming a catalog service, the first present winning.
    pub service_tags: Vec<String>,
    /// Tag keys naming a catalog team.
    pub team_tags: Vec<String>,
    /// Tag keys holding a Kubernetes namespace.
    pub namespace_tags: Vec<String>,
    /// Which rows are shared, and how they are split.
    pub shared: SharedSettings,
    /// Team -> monthly budget in `currency` (`[cost.budgets]`).
    pub budgets: BTreeMap<String, Amount>,
    /// Prices of CI minutes (`[cost.ci]`).
    pub ci: CiPrices,
}

/// `[cost.shared]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SharedSettings {
    /// A row whose tag `tag` has the value `value` (case-insensitive) is shared.
    pub tag: String,
    pub value: String,
    pub split: SplitRule,
}

impl Default for CostSettings {
    fn default() -> Self {
        CostSettings {
            currency: "USD".into(),
            service_tags: [
                "service",
                "app",
                "app.kubernetes.io/name",
                "devex.io/service",
            ]
            .map(String::from)
            .to_vec(),
            team_tags: ["team", "owner"].map(String::from).to_vec(),
            namespace_tags: ["namespace", "kubernetes.namespace"]
                .map(String::from)
                .to_vec(),
            shared: SharedSettings::default(),
            budgets: BTreeMap::new(),
            ci: CiPrices::default(),
        }
    }
}

impl Default for SharedSettings {
    fn default() -> Self {
        SharedSettings {
            tag: "shared".into(),
            value: "true".into(),
            split: SplitRule::Proportional,
        }
    }
}

/// Which FOCUS amount a report sums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Measure {
    /// EffectiveCost (amortized, after discounts), else BilledCost.
    Effective,
    /// BilledCost: what the invoice says.
    Billed,
    /// ListCost (public prices), else BilledCost.
    List,
}

impl std::str::FromStr for Measure {
    type Err = Error;
    fn from_str(s: &str) -> Result<Measure> {
        match s {
            "effective" => Ok(Measure::Effective),
            "billed" => Ok(Measure::Billed),
            "list" => Ok(Measure::List),
            other => Err(Error::invalid_parameter(
                "measure",
                format!("`{other}` is not one of effective, billed, list"),
            )),
        }
    }
}

impl Measure {
    fn sql(self) -> &'static str {
        match self {
            Measure::Effective => "coalesce(effective_cost, billed_cost)",
            Measure::Billed => "billed_cost",
            Measure::List => "coalesce(list_cost, billed_cost)",
        }
    }
}

/// What the groups of a report are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CostGroupBy {
    Team,
    Service,
    Provider,
    /// The provider's service (FOCUS ServiceName).
    ProviderService,
    Month,
}

impl std::str::FromStr for CostGroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<CostGroupBy> {
        match s {
            "team" => Ok(CostGroupBy::Team),
            "service" => Ok(CostGroupBy::Service),
            "provider" => Ok(CostGroupBy::Provider),
            "provider_service" => Ok(CostGroupBy::ProviderService),
            "month" => Ok(CostGroupBy::Month),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of team, service, provider, provider_service, month"),
            )),
        }
    }
}

impl CostGroupBy {
    /// The name of the key field in renderings.
    pub fn name(self) -> &'static str {
        match self {
            CostGroupBy::Team => "team",
            CostGroupBy::Service => "service",
            CostGroupBy::Provider => "provider",
            CostGroupBy::ProviderService => "provider_service",
            CostGroupBy::Month => "month",
        }
    }
}

/// One question: UTC days `[from, to)`, a measure, a grouping.
#[derive(Debug, Clone)]
pub struct CostRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub measure: Measure,
    pub group_by: CostGroupBy,
    pub settings: CostSettings,
}

impl CostRequest {
    /// From text; the window defaults to the last 90 days.
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        measure: Option<&str>,
        group_by: Option<&str>,
        settings: CostSettings,
    ) -> Result<CostRequest> {
        let window = Window::parse(from, to, None, crate::window::REPORT_DAYS)?;
        Ok(CostRequest {
            from: window.from,
            to: window.to,
            measure: present(measure).map_or(Ok(Measure::Effective), str::parse)?,
            group_by: present(group_by).map_or(Ok(CostGroupBy::Team), str::parse)?,
            settings,
        })
    }
}

fn present(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|v| !v.is_empty())
}

/// An amount at the lake's money scale; JSON carries it as a decimal string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Money(pub i128);

impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let exact = rust_decimal::Decimal::try_from_i128_with_scale(
            self.0,
            ingest::schema::MONEY_SCALE as u32,
        )
        .map_err(|_| std::fmt::Error)?
        .normalize();
        // At least cents: 12.5 shows as 12.50, 0.0000008 as it is.
        if exact.scale() < 2 {
            write!(f, "{:.2}", exact)
        } else {
            write!(f, "{exact}")
        }
    }
}

impl Money {
    /// As a float, for what only takes floats (Prometheus samples, chart
    /// geometry); never for arithmetic on money.
    pub fn to_f64(self) -> f64 {
        self.0 as f64 / 10f64.powi(i32::from(ingest::schema::MONEY_SCALE))
    }

    /// Rounded to the cent (half away from zero), for people to read.
    pub fn cents(self) -> String {
        let exact = rust_decimal::Decimal::try_from_i128_with_scale(
            self.0,
            ingest::schema::MONEY_SCALE as u32,
        )
        .unwrap_or_default();
        format!(
            "{:.2}",
            exact.round_dp_with_strategy(2, rust_decimal::RoundingStrategy::MidpointAwayFromZero)
        )
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

/// In OpenAPI: a decimal string with at least the cents, never a number.
impl utoipa::PartialSchema for Money {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some(r"^-?[0-9]+\.[0-9]{2,}$"))
            .description(Some(
                "An exact decimal amount with at least the cents, e.g. \"1234.50\"",
            ))
            .examples(["1234.50"])
            .into()
    }
}

impl utoipa::ToSchema for Money {}

impl std::ops::AddAssign for Money {
    fn add_assign(&mut self, other: Money) {
        self.0 += other.0;
    }
}

/// A group's key: `"team": ...`, `"service": ...` and so on in JSON (null:
/// none, e.g. the team-tagged rows of a service grouping).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum CostKey {
    #[serde(rename = "team")]
    Team(Option<String>),
    #[serde(rename = "service")]
    Service(Option<String>),
    #[serde(rename = "provider")]
    Provider(Option<String>),
    #[serde(rename = "provider_service")]
    ProviderService(Option<String>),
    #[serde(rename = "month")]
    Month(Option<String>),
}

impl CostKey {
    pub fn label(&self) -> Option<&str> {
        match self {
            CostKey::Team(k)
            | CostKey::Service(k)
            | CostKey::Provider(k)
            | CostKey::ProviderService(k)
            | CostKey::Month(k) => k.as_deref(),
        }
    }
}

impl CostGroupBy {
    /// The key of a group of this grouping.
    fn key(self, value: Option<String>) -> CostKey {
        match self {
            CostGroupBy::Team => CostKey::Team(value),
            CostGroupBy::Service => CostKey::Service(value),
            CostGroupBy::Provider => CostKey::Provider(value),
            CostGroupBy::ProviderService => CostKey::ProviderService(value),
            CostGroupBy::Month => CostKey::Month(value),
        }
    }
}

/// One group's cost.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostGroup {
    #[serde(flatten)]
    pub key: CostKey,
    /// Placed by a tag or namespace rule.
    pub direct: Money,
    /// Its share of shared rows (teams); the shared rows themselves
    /// (providers, months).
    pub shared: Money,
    /// Rows no rule placed (providers and months only).
    pub unattributed: Money,
    pub cost: Money,
    /// Rows per rule.
    pub rule_counts: BTreeMap<String, u64>,
    /// Month grouping: this month's cost minus the month before's (none for
    /// the window's first month).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub change: Option<Money>,
}

/// A resource of the unattributed remainder: whom to ask for tags.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct UnattributedResource {
    pub resource_id: Option<String>,
    pub service_name: Option<String>,
    pub cost: Money,
}

/// Rows in another currency than the report's: counted apart, never mixed.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OtherCurrency {
    pub currency: String,
    pub total: Money,
    pub rows: u64,
}

/// A cost report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CostReport {
    pub currency: String,
    pub measure: Measure,
    pub from: NaiveDate,
    pub to: NaiveDate,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub group_by: CostGroupBy,
    pub total: Money,
    pub attributed: Money,
    pub shared: Money,
    pub unattributed: Money,
    pub groups: Vec<CostGroup>,
    pub unattributed_top: Vec<UnattributedResource>,
    pub other_currencies: Vec<OtherCurrency>,
    /// Shared rows of months without a team to split them to: counted as
    /// unattributed.
    pub unsplit_months: Vec<String>,
    /// Budgeted teams' month (the one holding the window's last day).
    pub budgets: Vec<BudgetStatus>,
    /// CI minutes per team priced by runner OS, beside the bill (not in
    /// its total).
    pub ci: Vec<CiCost>,
    /// Team grouping: cost per production deployment and per merged pull
    /// request ([`report_with_unit_costs`]).
    pub unit_costs: Vec<UnitCost>,
    /// The rules, in the order they apply.
    pub rules: &'static str,
}

const RULES: &str = "service_tag, team_tag, namespace, shared (split proportionally or evenly across teams with direct cost that month and currency, to the cent, the remainder to the largest share), unattributed";

/// One aggregated line of `cost_lines`.
struct Line {
    month: String,
    rule: String,
    service: Option<String>,
    team: Option<String>,
    provider: Option<String>,
    provider_service: Option<String>,
    amount: i128,
    rows: u64,
}

fn is_direct(rule: &str) -> bool {
    matches!(rule, "service_tag" | "team_tag" | "namespace")
}

/// The filled `cost_lines` query of a request.
pub(crate) fn cost_lines_sql(request: &CostRequest) -> Result<String> {
    let keys = |keys: &[String]| sql_text(&keys.join(","));
    let s = &request.settings;
    fill(
        COST_LINES,
        &[
            (
                "from",
                sql_instant(crate::template::local_midnight(
                    chrono_tz::UTC,
                    request.from,
                )),
            ),
            (
                "to",
                sql_instant(crate::template::local_midnight(chrono_tz::UTC, request.to)),
            ),
            ("amount", request.measure.sql().to_string()),
            ("service_tags", keys(&s.service_tags)),
            ("team_tags", keys(&s.team_tags)),
            ("namespace_tags", keys(&s.namespace_tags)),
            ("shared_tag", sql_text(&s.shared.tag)),
            ("shared_value", sql_text(&s.shared.value.to_lowercase())),
            ("ownership", crate::catalog::SERVICE_OWNERSHIP.to_string()),
            (
                "current_services",
                crate::catalog::CURRENT_SERVICES.to_string(),
            ),
        ],
    )
}

/// The report of a request: the groups, month-over-month change (month
/// grouping) and budgets.
pub async fn report(queries: &LakeQueries, request: &CostRequest) -> Result<CostReport> {
    let mut report = report_lines(queries, request).await?;
    if request.group_by == CostGroupBy::Month {
        let mut previous: Option<Money> = None;
        for group in &mut report.groups {
            group.change = previous.map(|p| Money(group.cost.0 - p.0));
            previous = Some(group.cost);
        }
    }
    report.budgets = budgets::statuses(queries, request).await?;
    report.ci = ci::ci_costs(queries, request).await?;
    Ok(report)
}

/// [`report`], with each team's unit costs when grouped by team.
pub async fn report_with_unit_costs(
    queries: &LakeQueries,
    request: &CostRequest,
    dora: &crate::dora::DoraSettings,
    devex: &crate::devex::DevexSettings,
) -> Result<CostReport> {
    let mut report = report(queries, request).await?;
    if request.group_by == CostGroupBy::Team {
        report.unit_costs = unit_costs(queries, request, &report, dora, devex).await?;
    }
    Ok(report)
}

/// The groups and totals of a request.
async fn report_lines(queries: &LakeQueries, request: &CostRequest) -> Result<CostReport> {
    let lines_sql = cost_lines_sql(request)?;
    let currency = sql_text(&request.settings.currency);
    let result = queries
        .read_only_sql(&format!(
            "WITH cost_lines AS ({lines_sql}) \
             SELECT month, rule, service, team, provider_name, service_name, sum(amount) AS amount, count(*) AS n \
             FROM cost_lines WHERE currency = {currency} \
             GROUP BY month, rule, service, team, provider_name, service_name"
        ))
        .await?;
    let c = Columns::new(&result.batches);
    let mut lines = Vec::new();
    for (((((((month, rule), service), team), provider), provider_service), amount), rows) in c
        .text("month")?
        .into_iter()
        .zip(c.text("rule")?)
        .zip(c.text("service")?)
        .zip(c.text("team")?)
        .zip(c.text("provider_name")?)
        .zip(c.text("service_name")?)
        .zip(c.money("amount")?)
        .zip(c.int("n")?)
    {
        lines.push(Line {
            month: month.unwrap_or_default(),
            rule: rule.unwrap_or_default(),
            service,
            team,
            provider,
            provider_service,
            amount: amount.unwrap_or(0),
            rows: rows.unwrap_or(0) as u64,
        });
    }
    let mut report = CostReport {
        currency: request.settings.currency.clone(),
        measure: request.measure,
        from: request.from,
        data_as_of: crate::freshness::data_as_of(queries, &[&ingest::schema::COSTS]).await?,
        to: request.to,
        group_by: request.group_by,
        total: Money::default(),
        attributed: Money::default(),
        shared: Money::default(),
        unattributed: Money::default(),
        groups: Vec::new(),
        unattributed_top: unattributed_top(queries, &lines_sql, &currency).await?,
        other_currencies: other_currencies(queries, &lines_sql, &currency).await?,
        unsplit_months: Vec::new(),
        budgets: Vec::new(),
        ci: Vec::new(),
        unit_costs: Vec::new(),
        rules: RULES,
    };
    let shares = shares(&lines, request.settings.shared.split, &mut report);
    let mut groups: BTreeMap<Option<String>, CostGroup> = BTreeMap::new();
    let group_by = request.group_by;
    let empty = |key: &Option<String>| CostGroup {
        key: group_by.key(key.clone()),
        direct: Money::default(),
        shared: Money::default(),
        unattributed: Money::default(),
        cost: Money::default(),
        rule_counts: BTreeMap::new(),
        change: None,
    };
    for line in &lines {
        report.total += Money(line.amount);
        let direct = is_direct(&line.rule);
        if direct {
            report.attributed += Money(line.amount);
        } else if line.rule == "unattributed" {
            report.unattributed += Money(line.amount);
        }
        let key = match request.group_by {
            CostGroupBy::Team if direct => line.team.clone(),
            CostGroupBy::Service if direct => line.service.clone(),
            CostGroupBy::Team | CostGroupBy::Service => continue,
            CostGroupBy::Provider => line.provider.clone(),
            CostGroupBy::ProviderService => line.provider_service.clone(),
            CostGroupBy::Month => Some(line.month.clone()),
        };
        let group = groups.entry(key.clone()).or_insert_with(|| empty(&key));
        *group.rule_counts.entry(line.rule.clone()).or_default() += line.rows;
        match line.rule.as_str() {
            _ if direct => group.direct += Money(line.amount),
            // A month's shared rows that no team could take stay unattributed.
            "shared" if !report.unsplit_months.contains(&line.month) => {
                group.shared += Money(line.amount)
            }
            _ => group.unattributed += Money(line.amount),
        }
    }
    if request.group_by == CostGroupBy::Team {
        for (team, (amount, rows)) in shares {
            let key = Some(team);
            let group = groups.entry(key.clone()).or_insert_with(|| empty(&key));
            group.shared += Money(amount);
            *group.rule_counts.entry("shared".into()).or_default() += rows;
        }
    }
    for mut group in groups.into_values() {
        group.cost = Money(group.direct.0 + group.shared.0 + group.unattributed.0);
        report.groups.push(group);
    }
    // Months in order; anything else by cost, largest first.
    match request.group_by {
        CostGroupBy::Month => report.groups.sort_by(|a, b| a.key.cmp(&b.key)),
        _ => report
            .groups
            .sort_by(|a, b| b.cost.cmp(&a.cost).then_with(|| a.key.cmp(&b.key))),
    }
    Ok(report)
}

/// Splits each month's shared rows across its teams with direct cost; adds
/// what was split to `report.shared` and what could not be to
/// `report.unattributed`. Returns team -> (share, shared rows).
fn shares(
    lines: &[Line],
    rule: SplitRule,
    report: &mut CostReport,
) -> BTreeMap<String, (i128, u64)> {
    let mut months: BTreeMap<&str, (i128, u64, BTreeMap<String, i128>)> = BTreeMap::new();
    for line in lines {
        let month = months.entry(line.month.as_str()).or_default();
        if line.rule == "shared" {
            month.0 += line.amount;
            month.1 += line.rows;
        } else if let (true, Some(team)) = (is_direct(&line.rule), &line.team) {
            *month.2.entry(team.clone()).or_default() += line.amount;
        }
    }
    let mut by_team: BTreeMap<String, (i128, u64)> = BTreeMap::new();
    for (month, (shared, rows, direct)) in months {
        if rows == 0 {
            continue;
        }
        let weights: Vec<(String, i128)> = direct.into_iter().collect();
        match split(shared, &weights, rule) {
            Some(shares) => {
                report.shared += Money(shared);
                for (team, amount) in shares {
                    let entry = by_team.entry(team).or_default();
                    entry.0 += amount;
                    entry.1 += rows;
                }
            }
            None => {
                report.unattributed += Money(shared);
                report.unsplit_months.push(month.to_string());
            }
        }
    }
    by_team
}

async fn unattributed_top(
    queries: &LakeQueries,
    lines_sql: &str,
    currency: &str,
) -> Result<Vec<UnattributedResource>> {
    let result = queries
        .read_only_sql(&format!(
            "WITH cost_lines AS ({lines_sql}) \
             SELECT resource_id, service_name, sum(amount) AS amount FROM cost_lines \
             WHERE currency = {currency} AND rule = 'unattributed' \
             GROUP BY resource_id, service_name ORDER BY amount DESC, resource_id LIMIT {UNATTRIBUTED_TOP}"
        ))
        .await?;
    let c = Columns::new(&result.batches);
    Ok(c.text("resource_id")?
        .into_iter()
        .zip(c.text("service_name")?)
        .zip(c.money("amount")?)
        .map(
            |((resource_id, service_name), amount)| UnattributedResource {
                resource_id,
                service_name,
                cost: Money(amount.unwrap_or(0)),
            },
        )
        .collect())
}

async fn other_currencies(
    queries: &LakeQueries,
    lines_sql: &str,
    currency: &str,
) -> Result<Vec<OtherCurrency>> {
    let result = queries
        .read_only_sql(&format!(
            "WITH cost_lines AS ({lines_sql}) \
             SELECT currency, sum(amount) AS amount, count(*) AS n FROM cost_lines \
             WHERE currency <> {currency} GROUP BY currency ORDER BY currency"
        ))
        .await?;
    let c = Columns::new(&result.batches);
    Ok(c.text("currency")?
        .into_iter()
        .zip(c.money("amount")?)
        .zip(c.int("n")?)
        .map(|((currency, amount), rows)| OtherCurrency {
            currency: currency.unwrap_or_default(),
            total: Money(amount.unwrap_or(0)),
            rows: rows.unwrap_or(0) as u64,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_shows_at_least_cents_and_never_loses_digits() {
        assert_eq!(Money(125_000_000_000).to_string(), "12.50");
        assert_eq!(Money(-54_000_000_000).to_string(), "-5.40");
        assert_eq!(Money(8_000).to_string(), "0.0000008");
        assert_eq!(Money(0).to_string(), "0.00");
        assert_eq!(
            serde_json::to_string(&Money(10_000_000_000)).unwrap(),
            "\"1.00\""
        );
    }
}
