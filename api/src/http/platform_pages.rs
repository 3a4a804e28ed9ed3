//! The portal's platform pages. `/adoption`: weekly users per tool, the
//! funnels, the retention cohorts as a heatmap, the golden-path shares and
//! adoption per team. `/onboarding`: days to a first merge per start-month
//! cohort, as a chart and tables. Every number comes from
//! `analytics::adoption` and `analytics::onboarding`, as the API's.

use analytics::adoption::{
    self, AdoptionRequest, Funnel, GoldenPathShares, GoldenPaths, RetentionCohort, WeeklyUsers,
};
use analytics::onboarding::{self, OnboardingMetrics, OnboardingRequest};
use chrono::{Days, NaiveDate};

use super::portal::{escape, page, segment, window};
use super::state::AppState;
use crate::error::Result;

/// Line colours per tool.
const COLOURS: [&str; 8] = [
    "#2a5bd7", "#1a7f4b", "#d39b16", "#c4452f", "#7a4fd1", "#1b9aaa", "#b5477b", "#6b8e23",
];

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{:.0}%", v * 100.0))
}

fn days(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.1}"))
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "–".into(), |v| v.to_string())
}

/// Weekly distinct users, a line per tool.
fn weekly_chart(weeks: &[WeeklyUsers]) -> String {
    let (width, height, left, bottom) = (720.0, 240.0, 44.0, 24.0);
    let mut days: Vec<NaiveDate> = weeks.iter().map(|w| w.week).collect();
    days.sort();
    days.dedup();
    let mut tools: Vec<&str> = weeks.iter().map(|w| w.tool.as_str()).collect();
    tools.sort();
    tools.dedup();
    let max = weeks.iter().map(|w| w.users).max().unwrap_or(0).max(1) as f64;
    let step = (width - left - 8.0) / (days.len().max(2) - 1) as f64;
    let y = |users: f64| 8.0 + (height - bottom - 8.0) * (1.0 - users / max);
    let mut lines = String::new();
    let mut legend = String::new();
    for (k, tool) in tools.iter().enumerate() {
        let colour = COLOURS[k % COLOURS.len()];
        let points: Vec<String> = days
            .iter()
            .enumerate()
            .map(|(i, day)| {
                let users = weeks
                    .iter()
                    .find(|w| w.week == *day && w.tool == *tool)
                    .map_or(0, |w| w.users);
                format!("{:.1},{:.1}", left + step * i as f64, y(users as f64))
            })
            .collect();
        lines.push_str(&format!(
            r#"<polyline class="tool" data-tool="{name}" fill="none" stroke="{colour}" stroke-width="2" points="{points}"><title>{name}</title></polyline>"#,
            name = escape(tool),
            points = points.join(" "),
        ));
        legend.push_str(&format!(
            r#"<span class="key"><span class="swatch" style="background:{colour}"></span> {}</span> "#,
            escape(tool)
        ));
    }
    let first = days.first().map(|d| d.to_string()).unwrap_or_default();
    let last = days.last().map(|d| d.to_string()).unwrap_or_default();
    format!(
        r##"<figure><figcaption>Distinct users per tool, by ISO week (from Monday)</figcaption>
<svg class="chart" id="weekly-users" viewBox="0 0 {width} {height}" role="img" aria-label="Weekly users per tool">
<line x1="{left}" y1="{base}" x2="{width}" y2="{base}" stroke="#c9cedb"/>
<text x="2" y="14" font-size="10" fill="#6b7385">{max:.0}</text>
<text x="2" y="{base}" font-size="10" fill="#6b7385">0</text>
<text x="{left}" y="{labels}" font-size="10" fill="#6b7385">{first}</text>
<text x="{right}" y="{labels}" font-size="10" fill="#6b7385" text-anchor="end">{last}</text>
{lines}
</svg><div class="muted">{legend}</div></figure>"##,
        base = height - bottom,
        labels = height - 6.0,
        right = width - 4.0,
    )
}

/// A funnel as horizontal bars, each as long as its share of step 1.
fn funnel_chart(index: usize, funnel: &Funnel) -> String {
    if let Some(reason) = &funnel.hidden_reason {
        return format!(
            r#"<figure class="funnel"><figcaption>Funnel {name}</figcaption><p class="muted">Hidden: {reason}</p></figure>"#,
            name = escape(&funnel.funnel),
            reason = escape(reason)
        );
    }
    let (width, row, label) = (720.0, 30.0, 220.0);
    let height = row * funnel.steps.len() as f64 + 8.0;
    let mut shapes = String::new();
    for (i, step) in funnel.steps.iter().enumerate() {
        let share = step.share.unwrap_or(0.0);
        let y = 4.0 + row * i as f64;
        let bar = (width - label - 160.0) * share;
        let gap = step.median_days_from_previous.map_or(String::new(), |d| {
            format!(", median {d:.1} days after the previous step")
        });
        shapes.push_str(&format!(
            r##"<text x="0" y="{ty:.1}" font-size="12">{name}</text><rect x="{label}" y="{y:.1}" width="{bar:.1}" height="{h:.1}" fill="#2a5bd7"><title>{name}: {users} users ({pct}){gap}</title></rect><text x="{tx:.1}" y="{ty:.1}" font-size="12">{users} · {pct}</text>"##,
            name = escape(&step.step),
            ty = y + row * 0.55,
            h = row - 8.0,
            users = count(step.users),
            pct = percent(step.share),
            tx = label + bar + 6.0,
        ));
    }
    format!(
        r#"<figure class="funnel"><figcaption>Funnel {name} (each step within {days} days of the previous one)</figcaption>
<svg class="chart" id="funnel-{index}" viewBox="0 0 {width} {height}" role="img" aria-label="Funnel {name}">{shapes}</svg></figure>"#,
        name = escape(&funnel.funnel),
        days = funnel.step_days,
    )
}

/// Retention as a heatmap: a row per cohort, a cell per month since.
fn cohort_heatmap(cohorts: &[RetentionCohort]) -> String {
    let months = cohorts.iter().map(|c| c.retention.len()).max().unwrap_or(0);
    let (cell, label, top) = (44.0, 120.0, 20.0);
    let width = label + cell * months.max(1) as f64;
    let height = top + 26.0 * cohorts.len().max(1) as f64;
    let mut shapes = String::new();
    for m in 0..months {
        shapes.push_str(&format!(
            r#"<text x="{x:.1}" y="14" font-size="11" text-anchor="middle">+{m}</text>"#,
            x = label + cell * m as f64 + cell / 2.0
        ));
    }
    for (i, cohort) in cohorts.iter().enumerate() {
        let y = top + 26.0 * i as f64;
        let users = cohort
            .users
            .map_or("hidden".to_string(), |u| format!("{u} users"));
        shapes.push_str(&format!(
            r#"<text x="0" y="{ty:.1}" font-size="12">{name} · {users}</text>"#,
            ty = y + 16.0,
            name = escape(&cohort.cohort),
        ));
        for (m, share) in cohort.retention.iter().enumerate() {
            shapes.push_str(&format!(
                r##"<rect class="cell" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="22" fill="#2a5bd7" fill-opacity="{o:.2}"><title>{name}, month +{m}: {pct:.0}% active</title></rect><text x="{tx:.1}" y="{ty:.1}" font-size="10" text-anchor="middle" fill="{ink}">{pct:.0}</text>"##,
                x = label + cell * m as f64,
                w = cell - 2.0,
                o = 0.08 + 0.92 * share,
                name = escape(&cohort.cohort),
                pct = share * 100.0,
                tx = label + cell * m as f64 + cell / 2.0,
                ty = y + 15.0,
                ink = if *share > 0.5 { "#fff" } else { "#1d2330" },
            ));
        }
    }
    format!(
        r#"<figure><figcaption>Retention: users by the month of their first event, % active in each month since</figcaption>
<svg class="chart" id="cohorts" viewBox="0 0 {width} {height}" role="img" aria-label="Retention cohorts">{shapes}</svg></figure>"#
    )
}

/// A share as a small bar and its percentage.
fn share_bar(share: Option<f64>) -> String {
    match share {
        None => "–".into(),
        Some(s) => format!(
            r##"<svg width="80" height="10" role="img" aria-label="{pct}"><rect width="80" height="10" fill="#e3e6ee"/><rect width="{w:.1}" height="10" fill="#1a7f4b"/></svg> {pct}"##,
            w = 80.0 * s,
            pct = percent(Some(s)),
        ),
    }
}

fn golden_path_table(paths: &GoldenPaths) -> String {
    let row = |name: String, s: &GoldenPathShares| {
        format!(
            r#"<tr><td>{name}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
            s.services_created,
            s.services_from_template,
            share_bar(s.template_share),
            s.production_deployments,
            s.platform_pipeline_deployments,
            share_bar(s.pipeline_share),
        )
    };
    let mut rows: String = paths
        .teams
        .iter()
        .map(|t| {
            let name = match &t.team {
                Some(team) => format!(r#"<a href="/teams/{}">{}</a>"#, segment(team), escape(team)),
                None => "(no owner)".into(),
            };
            row(name, &t.shares)
        })
        .collect();
    rows.push_str(&row("<strong>overall</strong>".into(), &paths.overall));
    format!(
        r#"<table id="golden-paths"><thead><tr><th>team</th><th>services created</th><th>from a template</th><th>share</th><th>production deployments</th><th>on the platform pipeline</th><th>share</th></tr></thead><tbody>{rows}</tbody></table>
<p class="muted">Templates: the catalog annotation backstage.io/source-template. Platform pipeline: CI pipelines matching <code>{pattern}</code> ([adoption] platform_pipelines).</p>"#,
        pattern = escape(&paths.platform_pipelines),
    )
}

/// `/adoption`: the platform's use over the portal's window.
pub async fn adoption_page(state: &AppState) -> Result<String> {
    let (from, to) = window(state);
    let request = |from: NaiveDate, group_by: &str| {
        AdoptionRequest::parse(
            Some(&from.to_string()),
            Some(&to.to_string()),
            None,
            Some(group_by),
            state.config.devex.clone(),
            state.config.adoption.clone(),
        )
    };
    let mut by_tool = request(from, "tool")?;
    by_tool.dora = state.config.dora.clone();
    by_tool.extras.funnels = true;
    by_tool.extras.golden_paths = true;
    let report = adoption::report(&state.queries, &by_tool).await?;
    let weeks = adoption::weekly_users(&state.queries, &by_tool).await?;
    let teams = adoption::report(&state.queries, &request(from, "team")?).await?;
    // Cohorts need months to show retention: the last year's.
    let mut year = request(to - Days::new(365), "tool")?;
    year.extras.cohorts = true;
    let cohorts = adoption::report(&state.queries, &year).await?.cohorts;
    let tools: String = report
        .groups
        .iter()
        .map(|g| {
            let m = &g.metrics;
            format!(
                r#"<tr><td>{}</td><td class="n">{}</td><td class="n">{:.1}</td><td class="n">{:.1}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
                escape(g.key.label().unwrap_or("(none)")),
                count(m.active_users),
                m.dau_mean.unwrap_or(0.0),
                m.wau_mean.unwrap_or(0.0),
                percent(m.stickiness),
                count(m.events),
                percent(m.success_share),
            )
        })
        .collect();
    let team_rows: String = teams
        .groups
        .iter()
        .map(|g| {
            let m = &g.metrics;
            let name = escape(g.key.label().unwrap_or("(no team)"));
            match &m.hidden_reason {
                Some(reason) => format!(
                    r#"<tr><td>{name}</td><td colspan="3" class="muted">{}</td></tr>"#,
                    escape(reason)
                ),
                None => format!(
                    r#"<tr><td>{name}</td><td class="n">{}</td><td class="n">{}</td><td>{}</td></tr>"#,
                    count(m.developers),
                    count(m.active_users),
                    share_bar(m.adoption),
                ),
            }
        })
        .collect();
    let funnels: String = report
        .funnels
        .iter()
        .flatten()
        .enumerate()
        .map(|(i, f)| funnel_chart(i, f))
        .collect();
    let body = format!(
        r#"<h1>Platform adoption</h1>
<p class="muted">{from} to {to} (exclusive), UTC: {days} days. Users are pseudonymous ids; nothing here is per person.</p>
<style>.swatch {{ display: inline-block; width: .8rem; height: .8rem; border-radius: .15rem; vertical-align: middle; }} .key {{ margin-right: .8rem; }}</style>
{weekly}
<table id="tools"><thead><tr><th>tool</th><th>active users</th><th>daily users (mean)</th><th>weekly users (mean)</th><th>stickiness</th><th>events</th><th>succeeded</th></tr></thead><tbody>{tools}</tbody></table>
<h2>Funnels</h2>
{funnels}
<h2>Retention</h2>
<p class="muted">Users whose first platform event was in the last 365 days, by its month.</p>
{heatmap}
<h2>Golden paths</h2>
{golden}
<h2>Adoption per team</h2>
<table id="team-adoption"><thead><tr><th>team</th><th>developers</th><th>active on the platform</th><th>adoption</th></tr></thead><tbody>{team_rows}</tbody></table>
<p><a id="to-onboarding" href="/onboarding">Onboarding of new developers</a></p>"#,
        days = report.days,
        weekly = weekly_chart(&weeks),
        heatmap = cohort_heatmap(cohorts.as_deref().unwrap_or_default()),
        golden = report
            .golden_paths
            .as_ref()
            .map(golden_path_table)
            .unwrap_or_default(),
    );
    Ok(page("Platform adoption", &body))
}

/// Median days to a first merge per cohort, as bars; hidden cohorts say so.
fn first_merge_chart(cohorts: &[(String, &OnboardingMetrics)]) -> String {
    let (width, height, left, bottom) = (720.0, 240.0, 44.0, 24.0);
    let median = |m: &OnboardingMetrics| m.milestones.and_then(|s| s[0].median);
    let max = cohorts
        .iter()
        .filter_map(|(_, m)| median(m))
        .fold(0.0_f64, f64::max)
        .max(1.0);
    let slot = (width - left) / cohorts.len().max(1) as f64;
    let mut shapes = String::new();
    for (i, (cohort, metrics)) in cohorts.iter().enumerate() {
        let x = left + slot * i as f64 + slot * 0.15;
        match median(metrics) {
            Some(days) => {
                let h = (height - bottom - 8.0) * days / max;
                shapes.push_str(&format!(
                    r##"<rect x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{h:.1}" fill="#2a5bd7"><title>{cohort}: median {days:.1} days ({n} of {new} merged)</title></rect>"##,
                    y = height - bottom - h,
                    w = slot * 0.7,
                    n = metrics.milestones.map_or(0, |s| s[0].n),
                    new = count(metrics.new_developers),
                ));
            }
            None => shapes.push_str(&format!(
                r##"<text x="{cx:.1}" y="{y:.1}" font-size="10" text-anchor="middle" fill="#6b7385">{why}</text>"##,
                cx = x + slot * 0.35,
                y = height - bottom - 4.0,
                why = if metrics.hidden_reason.is_some() { "hidden" } else { "none yet" },
            )),
        }
        shapes.push_str(&format!(
            r#"<text x="{cx:.1}" y="{ty:.1}" font-size="10" text-anchor="middle">{cohort}</text>"#,
            cx = x + slot * 0.35,
            ty = height - 6.0,
        ));
    }
    format!(
        r##"<figure><figcaption>Median days from the start to the first merged pull request, by start month</figcaption>
<svg class="chart" id="first-merge" viewBox="0 0 {width} {height}" role="img" aria-label="Days to a first merge by start month">
<text x="2" y="14" font-size="10" fill="#6b7385">{max:.0} d</text><text x="2" y="{zero:.1}" font-size="10" fill="#6b7385">0</text>
{shapes}
</svg></figure>"##,
        zero = height - bottom,
    )
}

fn onboarding_row(name: &str, metrics: &OnboardingMetrics) -> String {
    let Some(milestones) = metrics.milestones else {
        return format!(
            r#"<tr><td>{name}</td><td colspan="4" class="muted">{}</td></tr>"#,
            escape(metrics.hidden_reason.as_deref().unwrap_or("hidden"))
        );
    };
    let cells: String = milestones
        .iter()
        .map(|s| {
            format!(
                r#"<td class="n">{} <span class="muted">({} reached, {} not yet)</span></td>"#,
                days(s.median),
                s.n,
                s.not_yet_reached
            )
        })
        .collect();
    format!(
        r#"<tr><td>{name}</td><td class="n">{}</td>{cells}</tr>"#,
        count(metrics.new_developers)
    )
}

/// `/onboarding`: developers who started in the last 365 days.
pub async fn onboarding_page(state: &AppState) -> Result<String> {
    let (_, to) = window(state);
    let from = to - Days::new(365);
    let request = |group_by: &str| {
        OnboardingRequest::parse(
            Some(&from.to_string()),
            Some(&to.to_string()),
            None,
            Some(group_by),
            state.config.devex.clone(),
            state.config.dora.clone(),
        )
    };
    let by_cohort = onboarding::report(&state.queries, &request("cohort")?).await?;
    let by_team = onboarding::report(&state.queries, &request("team")?).await?;
    let cohorts: Vec<(String, &OnboardingMetrics)> = by_cohort
        .groups
        .iter()
        .map(|g| (g.key.label().to_string(), &g.metrics))
        .collect();
    let header = r#"<thead><tr><th>{group}</th><th>new developers</th><th>days to first merge</th><th>days to first production change</th><th>days to tenth merge</th></tr></thead>"#;
    let mut cohort_rows: String = by_cohort
        .groups
        .iter()
        .map(|g| onboarding_row(&escape(g.key.label()), &g.metrics))
        .collect();
    cohort_rows.push_str(&onboarding_row(
        "<strong>overall</strong>",
        &by_cohort.overall,
    ));
    let team_rows: String = by_team
        .groups
        .iter()
        .map(|g| {
            let name = match &g.parent {
                Some(parent) => format!(
                    r#"<a href="/teams/{}">{}</a> <span class="muted">in {}</span>"#,
                    segment(g.key.label()),
                    escape(g.key.label()),
                    escape(parent)
                ),
                None => escape(g.key.label()),
            };
            onboarding_row(&name, &g.metrics)
        })
        .collect();
    let body = format!(
        r#"<h1>Onboarding</h1>
<p class="muted">Developers whose first team membership began {from} to {to} (exclusive), UTC, and the median days from that start to each milestone. Someone not there yet counts as "not yet", never as 0; groups with fewer than {min} new developers are hidden and still count in the groups above them.</p>
{chart}
<table id="onboarding-cohorts">{cohort_header}<tbody>{cohort_rows}</tbody></table>
<h2>Per team</h2>
<table id="onboarding-teams">{team_header}<tbody>{team_rows}</tbody></table>
<p><a href="/adoption">Platform adoption</a></p>"#,
        min = state.config.devex.min_group_size,
        chart = first_merge_chart(&cohorts),
        cohort_header = header.replace("{group}", "start month"),
        team_header = header.replace("{group}", "team"),
    );
    Ok(page("Onboarding", &body))
}
