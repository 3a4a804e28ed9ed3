//! `REPORT ai ... [part=groups|uses|cohorts|impact|strata|rollout|cost]`:
//! one table of the AI report per query.
//!
//! Arguments beyond the window: `team`, `group_by`, `min_group_size`,
//! `cohort_days=L,M,H`, `seat_price=tool:amount,...`, `cost_services=re`,
//! `metric=` (strata of one measure).

use std::collections::HashMap;

use analytics::ai::{self, AiRequest, AiSettings, ImpactSide};
use analytics::cost::Amount;
use analytics::devex::DevexSettings;
use analytics::dora::DoraSettings;
use analytics::LakeQueries;
use sqllogictest::{DBOutput, DefaultColumnType};

use super::{count, err, number, rows, GoldenError};

fn hidden(reason: &Option<String>) -> String {
    if reason.is_some() { "hidden" } else { "-" }.to_string()
}

fn side(s: &ImpactSide) -> [String; 2] {
    [number(s.median.or(s.rate)), s.n.to_string()]
}

fn interval_holds(interval: Option<[f64; 2]>, difference: Option<f64>) -> String {
    match (interval, difference) {
        (Some([low, high]), Some(d)) => (low <= d && d <= high).to_string(),
        _ => "NULL".into(),
    }
}

fn request(args: &HashMap<String, String>) -> Result<AiRequest, GoldenError> {
    let mut settings = AiSettings::default();
    if let Some(days) = args.get("cohort_days") {
        let d: Vec<u32> = days.split(',').map(|d| d.parse().unwrap()).collect();
        settings.cohort_days = ai::CohortDays {
            light: d[0],
            moderate: d[1],
            heavy: d[2],
        };
    }
    if let Some(prices) = args.get("seat_price") {
        for price in prices.split(',') {
            let (tool, amount) = price.split_once(':').unwrap();
            settings
                .seat_price
                .insert(tool.into(), Amount::Text(amount.into()));
        }
    }
    if let Some(services) = args.get("cost_services") {
        settings.cost_services = vec![services.clone()];
    }
    let mut devex = DevexSettings::default();
    if let Some(min) = args.get("min_group_size") {
        devex.min_group_size = min.parse().map_err(err)?;
    }
    let mut request = AiRequest::parse(
        args.get("from").map(String::as_str),
        args.get("to").map(String::as_str),
        args.get("tz").map(String::as_str),
        args.get("team").cloned(),
        args.get("group_by").map(String::as_str),
        settings,
        devex,
        DoraSettings::default(),
    )
    .map_err(err)?;
    let part = args.get("part").map(String::as_str).unwrap_or("groups");
    request.impact = matches!(part, "impact" | "strata");
    request.rollout = part == "rollout";
    Ok(request)
}

/// groups: key, developers, AI-active users and share, daily and weekly
/// means, acceptance and line acceptance rates, merged and AI-assisted pull
/// requests and their share, hidden; then `overall`.
/// uses: group, tool, surface (`-` for the tool), active users, daily and
/// weekly means, acceptance rate, hidden.
/// cohorts: team, month, developers, none, light, moderate, heavy, hidden.
/// impact: group, metric, AI median or rate and n, other's, difference, p,
/// significant, whether the interval holds the difference, hidden.
/// strata: group, metric, size, AI and other's value and n, difference, p.
/// rollout: team, rollout month, controls, metric, the four values,
/// estimate, whether the interval holds it, significant, note.
/// cost: scope, seats, cost rows, total, AI-active users, AI-assisted pull
/// requests, per user, per pull request, hidden.
pub(super) async fn ai_command(
    queries: &LakeQueries,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    let request = request(args)?;
    let report = ai::report(queries, &request).await.map_err(err)?;
    let measures = |key: &str, m: &ai::AiMeasures| {
        vec![
            key.to_string(),
            count(m.developers),
            count(m.ai_active_users),
            number(m.ai_active_share),
            number(m.dau_mean),
            number(m.wau_mean),
            number(m.acceptance_rate),
            number(m.line_acceptance_rate),
            count(m.merged_prs),
            count(m.ai_assisted_prs),
            number(m.ai_assisted_pr_share),
            hidden(&m.hidden_reason),
        ]
    };
    let group_name = |team: &Option<String>| team.clone().unwrap_or_else(|| "overall".into());
    let out: Vec<Vec<String>> = match args.get("part").map(String::as_str).unwrap_or("groups") {
        "groups" => report
            .groups
            .iter()
            .map(|g| measures(g.key.label(), &g.measures))
            .chain(std::iter::once(measures("overall", &report.overall)))
            .collect(),
        "uses" => {
            let mut out = Vec::new();
            for group in &report.groups {
                for tool in &group.uses {
                    for (surface, u) in std::iter::once(("-", tool))
                        .chain(tool.surfaces.iter().map(|s| (s.name.as_str(), s)))
                    {
                        out.push(vec![
                            group.key.label().to_string(),
                            tool.name.clone(),
                            surface.to_string(),
                            count(u.active_users),
                            number(u.dau_mean),
                            number(u.wau_mean),
                            number(u.acceptance_rate),
                            hidden(&u.hidden_reason),
                        ]);
                    }
                }
            }
            out
        }
        "cohorts" => report
            .cohorts
            .iter()
            .map(|c| {
                vec![
                    c.team.clone(),
                    c.month.to_string(),
                    count(c.developers),
                    count(c.none),
                    count(c.light),
                    count(c.moderate),
                    count(c.heavy),
                    hidden(&c.hidden_reason),
                ]
            })
            .collect(),
        "impact" => {
            let mut out = Vec::new();
            for group in report.impact.iter().flatten() {
                if group.hidden_reason.is_some() {
                    out.push(vec![group_name(&group.team), "-".into(), "hidden".into()]);
                }
                for m in &group.metrics {
                    let mut row = vec![group_name(&group.team), m.metric.clone()];
                    row.extend(side(&m.ai));
                    row.extend(side(&m.other));
                    row.extend([
                        number(m.difference),
                        number(m.p_value),
                        m.significant.to_string(),
                        interval_holds(m.interval, m.difference),
                    ]);
                    out.push(row);
                }
            }
            out
        }
        "strata" => {
            let mut out = Vec::new();
            let wanted = args.get("metric");
            for group in report.impact.iter().flatten() {
                for m in &group.metrics {
                    if wanted.is_some_and(|w| *w != m.metric) {
                        continue;
                    }
                    for s in &m.strata {
                        let mut row =
                            vec![group_name(&group.team), m.metric.clone(), s.size.clone()];
                        row.extend(side(&s.ai));
                        row.extend(side(&s.other));
                        row.extend([number(s.difference), number(s.p_value)]);
                        out.push(row);
                    }
                }
            }
            out
        }
        "rollout" => {
            let mut out = Vec::new();
            for team in report.rollout.iter().flatten() {
                let head = [
                    team.team.clone(),
                    team.rollout_month.map_or("NULL".into(), |m| m.to_string()),
                    if team.controls.is_empty() {
                        "-".into()
                    } else {
                        team.controls.join(",")
                    },
                ];
                if team.effects.is_empty() {
                    let mut row = head.to_vec();
                    row.push(
                        team.note
                            .clone()
                            .or(team.hidden_reason.clone())
                            .unwrap_or("-".into()),
                    );
                    out.push(row);
                }
                for e in &team.effects {
                    let mut row = head.to_vec();
                    row.extend([
                        e.metric.clone(),
                        number(e.team_before.value),
                        number(e.team_after.value),
                        number(e.control_before.value),
                        number(e.control_after.value),
                        number(e.estimate),
                        interval_holds(e.interval, e.estimate),
                        e.significant.to_string(),
                    ]);
                    out.push(row);
                }
            }
            out
        }
        "cost" => std::iter::once(&report.cost.overall)
            .chain(&report.cost.teams)
            .map(|c| {
                vec![
                    group_name(&c.team),
                    c.seats.to_string(),
                    c.cost_rows.to_string(),
                    c.total.to_string(),
                    c.ai_active_users.to_string(),
                    c.ai_assisted_prs.to_string(),
                    c.per_active_user.map_or("NULL".into(), |m| m.to_string()),
                    c.per_ai_assisted_pr
                        .map_or("NULL".into(), |m| m.to_string()),
                    hidden(&c.hidden_reason),
                ]
            })
            .collect(),
        other => return Err(err(format!("unknown part `{other}`"))),
    };
    Ok(rows(out))
}
