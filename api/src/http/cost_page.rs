//! The portal's `/cost` page: the last six full months and this one, a bar
//! per month stacked by team (the unattributed remainder in grey on top),
//! the same numbers as a table, and last month's top untagged resources.
//! Every number comes from `analytics::cost::report`, as the API's.

use analytics::cost::{self, CostGroupBy, CostReport, CostRequest, Money};
use chrono::{Datelike, Months, NaiveDate};

use super::portal::{escape, page, segment};
use super::state::AppState;
use crate::error::Result;

/// Months on the page, this one included.
const MONTHS: u32 = 7;

/// Bar colours per team, in order of total cost.
const COLOURS: [&str; 8] = [
    "#2a5bd7", "#1a7f4b", "#d39b16", "#c4452f", "#7a4fd1", "#1b9aaa", "#b5477b", "#6b8e23",
];

fn month_report(state: &AppState, from: NaiveDate, to: NaiveDate) -> Result<CostRequest> {
    Ok(CostRequest::parse(
        Some(&from.to_string()),
        Some(&to.to_string()),
        None,
        Some(CostGroupBy::Team.name()),
        state.config.cost.clone(),
    )?)
}

/// Stacked bars: one per month, a segment per team, the unattributed on top.
fn stacked_bars(months: &[(NaiveDate, CostReport)], teams: &[String]) -> String {
    let (width, height, left, bottom) = (720.0, 260.0, 64.0, 24.0);
    let max = months
        .iter()
        .map(|(_, r)| r.total.to_f64())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let slot = (width - left) / months.len().max(1) as f64;
    let scale = |v: f64| (height - bottom) * v / max;
    let mut shapes = String::new();
    for (i, (month, report)) in months.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.15;
        let mut top = height - bottom;
        let mut segment = |amount: f64, colour: &str, label: &str| {
            if amount <= 0.0 {
                return;
            }
            let h = scale(amount);
            top -= h;
            shapes.push_str(&format!(
                r#"<rect x="{x:.1}" y="{top:.1}" width="{w:.1}" height="{h:.1}" fill="{colour}"><title>{label}: {amount:.2}</title></rect>"#,
                w = slot * 0.7,
                label = escape(label),
            ));
        };
        for (k, team) in teams.iter().enumerate() {
            let cost = report
                .groups
                .iter()
                .find(|g| g.key.label() == Some(team.as_str()))
                .map_or(0.0, |g| g.cost.to_f64());
            segment(cost, COLOURS[k % COLOURS.len()], team);
        }
        segment(report.unattributed.to_f64(), "#9aa3b5", "unattributed");
        shapes.push_str(&format!(
            r#"<text x="{cx:.1}" y="{ty:.1}" font-size="11" text-anchor="middle">{label}</text>"#,
            cx = x + slot * 0.35,
            ty = height - 6.0,
            label = month.format("%Y-%m"),
        ));
    }
    format!(
        r##"<figure><figcaption>Cost per month by team ({n} months; grey: unattributed)</figcaption>
<svg class="chart" id="cost-bars" viewBox="0 0 {width} {height}" role="img" aria-label="Cost per month by team">
<text x="4" y="14" font-size="11">{max:.0}</text><text x="4" y="{zero:.1}" font-size="11">0</text>
{shapes}
</svg></figure>"##,
        n = months.len(),
        zero = height - bottom,
    )
}

pub async fn cost(state: &AppState) -> Result<String> {
    let end = state
        .config
        .metrics
        .end
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let this_month = end.with_day(1).unwrap_or(end);
    let mut months = Vec::new();
    for back in (0..MONTHS).rev() {
        let from = this_month - Months::new(back);
        let to = if back == 0 {
            end + chrono::Days::new(1)
        } else {
            from + Months::new(1)
        };
        let report = cost::report(&state.queries, &month_report(state, from, to)?).await?;
        months.push((from, report));
    }
    // Teams by their cost over the months shown, largest first.
    let mut totals: Vec<(String, i128)> = Vec::new();
    for (_, report) in &months {
        for group in &report.groups {
            let Some(team) = group.key.label() else {
                continue;
            };
            match totals.iter_mut().find(|(t, _)| t == team) {
                Some(entry) => entry.1 += group.cost.0,
                None => totals.push((team.to_string(), group.cost.0)),
            }
        }
    }
    totals.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let teams: Vec<String> = totals.into_iter().map(|(t, _)| t).collect();
    let header: String = months
        .iter()
        .map(|(month, _)| format!(r#"<th class="n">{}</th>"#, month.format("%Y-%m")))
        .collect();
    let mut rows = String::new();
    for (k, team) in teams.iter().enumerate() {
        let cells: String = months
            .iter()
            .map(|(_, report)| {
                let cost = report
                    .groups
                    .iter()
                    .find(|g| g.key.label() == Some(team.as_str()))
                    .map_or(Money(0), |g| g.cost);
                format!(r#"<td class="n">{}</td>"#, cost.cents())
            })
            .collect();
        rows.push_str(&format!(
            r#"<tr><td><span class="swatch" style="background:{colour}"></span> <a href="/teams/{link}">{name}</a></td>{cells}</tr>"#,
            colour = COLOURS[k % COLOURS.len()],
            link = segment(team),
            name = escape(team),
        ));
    }
    let line = |label: &str, id: &str, pick: fn(&CostReport) -> Money| {
        let cells: String = months
            .iter()
            .map(|(_, r)| format!(r#"<td class="n">{}</td>"#, pick(r).cents()))
            .collect();
        let swatch = if id == "unattributed" {
            r#"<span class="swatch" style="background:#9aa3b5"></span> "#
        } else {
            ""
        };
        format!(r#"<tr id="{id}"><th>{swatch}{label}</th>{cells}</tr>"#)
    };
    rows.push_str(&line("unattributed", "unattributed", |r| r.unattributed));
    rows.push_str(&line("total", "total", |r| r.total));
    let last_month = &months[months.len().saturating_sub(2)].1;
    let this_month = &months[months.len() - 1].1;
    let budgets = if this_month.budgets.is_empty() {
        String::new()
    } else {
        let rows: String = this_month
            .budgets
            .iter()
            .map(|b| {
                format!(
                    r#"<tr><td>{team}</td><td class="n">{budget}</td><td class="n">{spent}</td><td class="n">{days}</td><td class="n">{forecast}</td><td class="n">{share}</td></tr>"#,
                    team = escape(&b.team),
                    budget = b.budget.cents(),
                    spent = b.spent.cents(),
                    days = format_args!("{} of {}", b.days_elapsed, b.days_in_month),
                    forecast = b.forecast.cents(),
                    share = b.forecast_share.map_or("–".into(), |s| format!("{:.0}%", s * 100.0)),
                )
            })
            .collect();
        format!(
            r#"<h2>Budgets, {month}</h2>
<p class="muted">Spent so far and a straight-line forecast of the month's end ([cost.budgets]).</p>
<table id="budgets"><thead><tr><th>team</th><th>budget</th><th>spent</th><th>days</th><th>forecast</th><th>of budget</th></tr></thead><tbody>{rows}</tbody></table>"#,
            month = this_month.from.format("%Y-%m"),
        )
    };
    let untagged: String = last_month
        .unattributed_top
        .iter()
        .map(|r| {
            format!(
                r#"<tr><td>{}</td><td>{}</td><td class="n">{}</td></tr>"#,
                escape(r.resource_id.as_deref().unwrap_or("-")),
                escape(r.service_name.as_deref().unwrap_or("-")),
                r.cost.cents()
            )
        })
        .collect();
    let body = format!(
        r#"<h1>Cost</h1>
<p class="muted">{currency}, {measure} cost, by calendar month (UTC), through {end}. A team's cost is what tags and namespaces place on it plus its share of shared cost; what no rule places is unattributed, never dropped. Rules: {rules}.</p>
<style>.swatch {{ display: inline-block; width: .8rem; height: .8rem; border-radius: .15rem; vertical-align: middle; }}</style>
{bars}
<table id="cost"><thead><tr><th>team</th>{header}</tr></thead><tbody>{rows}</tbody></table>
{budgets}
<h2>Top unattributed resources, {last}</h2>
<p class="muted">Tag these with a service or team (devex report cost --unattributed).</p>
<table id="untagged"><thead><tr><th>resource</th><th>provider service</th><th>cost</th></tr></thead><tbody>{untagged}</tbody></table>"#,
        currency = escape(&state.config.cost.currency),
        measure = "effective",
        rules = escape(last_month.rules),
        bars = stacked_bars(&months, &teams),
        last = last_month.from.format("%Y-%m"),
    );
    Ok(page("Cost", &body))
}

/// The team page's cost line: last full month, and its unit costs.
pub async fn team_cost_line(state: &AppState, team: &str) -> Result<String> {
    use crate::reports::cost::{last_full_month, CostOwner};
    let today = state
        .config
        .metrics
        .end
        .map(|end| end + chrono::Days::new(1))
        .unwrap_or_else(|| chrono::Utc::now().date_naive());
    let last = last_full_month(&state.queries, &state.config, today, CostOwner::Team(team)).await?;
    let show = |m: Option<Money>| m.map_or_else(|| "–".to_string(), |m| m.cents());
    let unit = last.unit.as_ref();
    Ok(format!(
        r#"<p id="team-cost">Cost {month}: <strong>{cost} {currency}</strong> (direct {direct}, shared {shared}); per production deployment {per_deployment} ({deployments} deployments), per merged pull request {per_pull} ({pulls}). <a href="/cost">All teams</a></p>"#,
        month = last.month,
        cost = last.cost.cents(),
        currency = escape(&last.currency),
        direct = last.direct.cents(),
        shared = last.shared.cents(),
        per_deployment = show(unit.and_then(|u| u.cost_per_deployment)),
        deployments = unit.map_or(0, |u| u.production_deployments),
        per_pull = show(unit.and_then(|u| u.cost_per_merged_pull_request)),
        pulls = unit.map_or(0, |u| u.merged_pull_requests),
    ))
}
