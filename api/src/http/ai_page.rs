//! The portal's `/ai` page: AI assistant adoption per team over the months
//! around the portal's window (the rollout chart, each team's rollout month
//! marked), the window's measures per team, the impact comparison with its
//! intervals, the rollout effects and the cost. Every number comes from
//! `analytics::ai`, as the API's; nothing is per person.

use analytics::ai::{self, AiReport, AiRequest, ImpactGroup, RolloutTeam};

use super::portal::{escape, page, segment, window};
use super::state::AppState;
use crate::error::Result;

/// Line colours per team.
const COLOURS: [&str; 8] = [
    "#2a5bd7", "#1a7f4b", "#d39b16", "#c4452f", "#7a4fd1", "#1b9aaa", "#b5477b", "#6b8e23",
];

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{:.0}%", v * 100.0))
}

fn number(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.2}"))
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "–".into(), |v| v.to_string())
}

/// AI-active share per team and month, a line per team, a dot on its
/// rollout month.
fn rollout_chart(teams: &[RolloutTeam]) -> String {
    let (width, height, left, bottom) = (720.0, 240.0, 44.0, 24.0);
    let mut months: Vec<chrono::NaiveDate> = teams
        .iter()
        .flat_map(|t| t.months.iter().map(|m| m.month))
        .collect();
    months.sort();
    months.dedup();
    let step = (width - left - 8.0) / (months.len().max(2) - 1) as f64;
    let x = |month: chrono::NaiveDate| {
        left + step * months.iter().position(|m| *m == month).unwrap_or(0) as f64
    };
    let y = |share: f64| 8.0 + (height - bottom - 8.0) * (1.0 - share.clamp(0.0, 1.0));
    let (mut lines, mut legend) = (String::new(), String::new());
    for (k, team) in teams.iter().filter(|t| !t.months.is_empty()).enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let points: Vec<String> = team
            .months
            .iter()
            .filter_map(|m| Some(format!("{:.1},{:.1}", x(m.month), y(m.ai_active_share?))))
            .collect();
        lines.push_str(&format!(
            r#"<polyline class="team" data-team="{name}" fill="none" stroke="{colour}" stroke-width="2" points="{points}"><title>{name}</title></polyline>"#,
            name = escape(&team.team),
            points = points.join(" "),
        ));
        if let Some(month) = team.rollout_month {
            let share = team
                .months
                .iter()
                .find(|m| m.month == month)
                .and_then(|m| m.ai_active_share)
                .unwrap_or(0.5);
            lines.push_str(&format!(
                r#"<circle class="rollout" data-team="{name}" cx="{cx:.1}" cy="{cy:.1}" r="4" fill="{colour}"><title>{name} rolled out in {month}</title></circle>"#,
                name = escape(&team.team),
                cx = x(month),
                cy = y(share),
                month = month.format("%Y-%m"),
            ));
        }
        legend.push_str(&format!(
            r#"<span class="key"><span class="swatch" style="background:{colour}"></span> {}</span> "#,
            escape(&team.team)
        ));
    }
    let label = |m: Option<&chrono::NaiveDate>| {
        m.map(|m| m.format("%Y-%m").to_string()).unwrap_or_default()
    };
    format!(
        r##"<figure><figcaption>Share of each team's developers AI-active, by month (a dot: its rollout month, the first with half its developers active)</figcaption>
<svg class="chart" id="ai-rollout" viewBox="0 0 {width} {height}" role="img" aria-label="AI-active share per team and month">
<line x1="{left}" y1="{half:.1}" x2="{width}" y2="{half:.1}" stroke="#e3e6ee" stroke-dasharray="4 3"/>
<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#c9cedb"/>
<text x="2" y="14" font-size="10" fill="#6b7385">100%</text>
<text x="2" y="{half:.1}" font-size="10" fill="#6b7385">50%</text>
<text x="2" y="{base}" font-size="10" fill="#6b7385">0</text>
<text x="{left}" y="{labels}" font-size="10" fill="#6b7385">{first}</text>
<text x="{right}" y="{labels}" font-size="10" fill="#6b7385" text-anchor="end">{last}</text>
{lines}
</svg><div class="muted">{legend}</div></figure>"##,
        half = y(0.5),
        base = height - bottom,
        labels = height - 6.0,
        right = width - 4.0,
        first = label(months.first()),
        last = label(months.last()),
    )
}

fn interval(value: Option<[f64; 2]>) -> String {
    value.map_or_else(|| "–".into(), |[l, h]| format!("[{l:.2}, {h:.2}]"))
}

fn impact_table(groups: &[ImpactGroup]) -> String {
    let mut rows = String::new();
    for group in groups {
        let name = group.team.as_deref().unwrap_or("overall");
        if let Some(why) = &group.hidden_reason {
            rows.push_str(&format!(
                r#"<tr><td>{}</td><td colspan="8" class="muted">{}</td></tr>"#,
                escape(name),
                escape(why)
            ));
            continue;
        }
        for m in &group.metrics {
            rows.push_str(&format!(
                r#"<tr><td>{name}</td><td>{metric}</td><td class="n">{ai}</td><td class="n">{an}</td><td class="n">{other}</td><td class="n">{on}</td><td class="n">{d}</td><td class="n">{i}</td><td class="n">{p}{s}</td></tr>"#,
                name = escape(name),
                metric = escape(&m.metric),
                ai = number(m.ai.median.or(m.ai.rate)),
                an = m.ai.n,
                other = number(m.other.median.or(m.other.rate)),
                on = m.other.n,
                d = number(m.difference),
                i = interval(m.interval),
                p = m.p_value.map_or("–".into(), |p| format!("{p:.4}")),
                s = if m.significant { " ●" } else { "" },
            ));
        }
    }
    format!(
        r#"<table id="ai-impact"><thead><tr><th>group</th><th>measure</th><th>AI-assisted</th><th>n</th><th>other</th><th>n</th><th>difference</th><th>95% interval</th><th>p</th></tr></thead><tbody>{rows}</tbody></table>
<p class="muted">Medians (hours, lines) or rates; the difference is AI-assisted minus other; ● p below 0.05. The same comparison by size bucket is in <code>GET /api/v1/ai?impact=true</code>.</p>"#
    )
}

fn rollout_table(teams: &[RolloutTeam]) -> String {
    let mut rows = String::new();
    for team in teams {
        let month = team
            .rollout_month
            .map_or("–".into(), |m| m.format("%Y-%m").to_string());
        let name = format!(
            r#"<a href="/teams/{}">{}</a>"#,
            segment(&team.team),
            escape(&team.team)
        );
        if team.effects.is_empty() {
            let why = team
                .hidden_reason
                .as_ref()
                .or(team.note.as_ref())
                .cloned()
                .unwrap_or_default();
            rows.push_str(&format!(
                r#"<tr><td>{name}</td><td>{month}</td><td colspan="4" class="muted">{}</td></tr>"#,
                escape(&why)
            ));
            continue;
        }
        for e in &team.effects {
            rows.push_str(&format!(
                r#"<tr><td>{name}</td><td>{month}</td><td>{metric}</td><td class="n">{before} → {after}</td><td class="n">{cb} → {ca}</td><td class="n">{estimate} {interval}</td></tr>"#,
                metric = escape(&e.metric),
                before = number(e.team_before.value),
                after = number(e.team_after.value),
                cb = number(e.control_before.value),
                ca = number(e.control_after.value),
                estimate = number(e.estimate),
                interval = interval(e.interval),
            ));
        }
    }
    format!(
        r#"<table id="ai-rollout-effects"><thead><tr><th>team</th><th>rollout</th><th>measure</th><th>team: before → after</th><th>not yet rolled out</th><th>effect (95% interval)</th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

fn body(report: &AiReport) -> String {
    let teams: String = report
        .groups
        .iter()
        .map(|g| {
            let m = &g.measures;
            let name = escape(g.key.label());
            match &m.hidden_reason {
                Some(why) => format!(
                    r#"<tr><td>{name}</td><td colspan="6" class="muted">{}</td></tr>"#,
                    escape(why)
                ),
                None => format!(
                    r#"<tr><td>{name}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{} of {}</td><td class="n">{}</td></tr>"#,
                    count(m.developers),
                    count(m.ai_active_users),
                    percent(m.ai_active_share),
                    percent(m.acceptance_rate),
                    count(m.ai_assisted_prs),
                    count(m.merged_prs),
                    percent(m.ai_assisted_pr_share),
                ),
            }
        })
        .collect();
    let cost = &report.cost.overall;
    let caveats: String = report
        .caveats
        .iter()
        .map(|c| format!("<li>{}</li>", escape(c)))
        .collect();
    format!(
        r#"<h1>AI assistants</h1>
<p class="muted">{from} to {to} (exclusive): {days} days. Team level only; teams, tools and comparisons below the minimum group size are hidden, and nothing is per person.</p>
<style>.swatch {{ display: inline-block; width: .8rem; height: .8rem; border-radius: .15rem; vertical-align: middle; }} .key {{ margin-right: .8rem; }}</style>
{chart}
<table id="ai-teams"><thead><tr><th>team</th><th>developers</th><th>AI-active</th><th>share</th><th>acceptance</th><th>AI-assisted pull requests</th><th>share</th></tr></thead><tbody>{teams}</tbody></table>
<p class="muted">Cost ({currency}): seats {seats} + cost rows {rows} = {total}; per AI-active developer {per_user}, per AI-assisted pull request {per_pr}.</p>
<h2>Impact</h2>
{impact}
<h2>Rollout effects</h2>
{rollout}
<h2>Read with care</h2>
<ul class="muted">{caveats}</ul>"#,
        from = report.from,
        to = report.to,
        days = report.days,
        chart = rollout_chart(report.rollout.as_deref().unwrap_or_default()),
        currency = escape(&report.cost.currency),
        seats = cost.seats,
        rows = cost.cost_rows,
        total = cost.total,
        per_user = cost.per_active_user.map_or("–".into(), |m| m.to_string()),
        per_pr = cost
            .per_ai_assisted_pr
            .map_or("–".into(), |m| m.to_string()),
        impact = impact_table(report.impact.as_deref().unwrap_or_default()),
        rollout = rollout_table(report.rollout.as_deref().unwrap_or_default()),
    )
}

/// `/ai`: the AI report over the portal's window, with impact and rollout.
pub async fn ai_page(state: &AppState) -> Result<String> {
    let (from, to) = window(state);
    let mut request = AiRequest::parse(
        Some(&from.to_string()),
        Some(&to.to_string()),
        None,
        None,
        Some("team"),
        state.config.ai.clone(),
        state.config.devex.clone(),
        state.config.dora.clone(),
    )?;
    request.cost = state.config.cost.clone();
    request.impact = true;
    request.rollout = true;
    let report = ai::report(&state.queries, &request).await?;
    Ok(page("AI assistants", &body(&report)))
}
