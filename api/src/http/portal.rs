//! The portal: server-rendered pages with inline SVG charts, no scripts from
//! anywhere else, so it loads fast and works offline. The overview shows each
//! team's DORA levels and feedback loops; a team page shows weekly trends and
//! its deployments; a deployment page explains one deployment.

use analytics::devex::DevexRequest;
use analytics::dora::{
    self, DeploymentDetail, DoraMetrics, DoraRequest, FailureCause, Granularity, Level,
};
use chrono::NaiveDate;

use analytics::NameKind;

use axum::extract::{Path, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use super::charts::{line_chart, ChartPoint, Unit};
use super::state::AppState;
use crate::error::Result;

/// Escapes text for HTML.
pub(super) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Percent-encodes a path segment.
pub(super) fn segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            other => format!("%{other:02X}"),
        })
        .collect()
}

/// The portal's window: the API's default rule (the last
/// [`analytics::window::REPORT_DAYS`] days, today included), so a page and
/// the API give the same numbers; weeks the window cuts are marked partial.
pub(super) fn window(state: &AppState) -> (NaiveDate, NaiveDate) {
    let window = analytics::window::Window::last_days(
        analytics::window::REPORT_DAYS,
        state.config.metrics.end,
        chrono_tz::UTC,
    );
    (window.from, window.to)
}

/// A page's chosen range (`?days=30` or `?from=&to=`), carried in the URL.
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RangeParams {
    pub days: Option<u64>,
    pub from: Option<String>,
    pub to: Option<String>,
    /// The IANA time zone the days are in (default UTC).
    pub tz: Option<String>,
    pub page: Option<usize>,
}

impl RangeParams {
    /// The time zone, or `None` for UTC.
    fn tz(&self) -> Option<&str> {
        self.tz.as_deref().filter(|t| !t.is_empty())
    }
}

/// The window a page covers: `from`/`to` when given (the API's rules and
/// errors), else the last `days` (default the API's 90) to the configured
/// or today's last day.
fn chosen_window(state: &AppState, range: &RangeParams) -> Result<(NaiveDate, NaiveDate)> {
    let days = range.days.unwrap_or(analytics::window::REPORT_DAYS);
    if range.from.is_some() || range.to.is_some() {
        let window = analytics::window::Window::parse(
            range.from.as_deref(),
            range.to.as_deref(),
            range.tz(),
            days,
        )?;
        return Ok((window.from, window.to));
    }
    let tz = match range.tz() {
        Some(name) => analytics::window::parse_tz(name)?,
        None => chrono_tz::UTC,
    };
    let window = analytics::window::Window::last_days(days, state.config.metrics.end, tz);
    window.check()?;
    Ok((window.from, window.to))
}

/// The range picker: links for 30, 90 and 180 days and a form for any
/// dates, no script needed.
fn range_picker(path: &str, from: NaiveDate, to: NaiveDate, tz: Option<&str>) -> String {
    let days = (to - from).num_days();
    let tz_query = tz.map_or_else(String::new, |t| {
        format!(
            "&tz={}",
            url::form_urlencoded::byte_serialize(t.as_bytes()).collect::<String>()
        )
    });
    let links: Vec<String> = [30, 90, 180]
        .iter()
        .map(|d| {
            if *d == days {
                format!("<strong>{d} days</strong>")
            } else {
                format!(r#"<a href="{path}?days={d}{tz_query}">{d} days</a>"#)
            }
        })
        .collect();
    format!(
        r#"<form id="range" method="get" action="{path}" class="muted">{links} · from <input type="date" name="from" value="{from}"> to <input type="date" name="to" value="{to}"> (exclusive) in <input type="text" name="tz" value="{tz}" placeholder="UTC" size="16" aria-label="time zone (IANA, e.g. Europe/Berlin)"> <button type="submit">Show</button></form>"#,
        links = links.join(" · "),
        tz = escape(tz.unwrap_or("UTC"))
    )
}

/// A number beside its previous period's: an arrow, coloured only when the
/// change is significant (green better, red worse), and the samples.
fn with_previous(
    shown: String,
    change: Option<&analytics::dora::trend::Change>,
    show: impl Fn(Option<f64>) -> String,
) -> String {
    let Some(change) = change else {
        return shown;
    };
    let arrow = match (change.previous, change.current) {
        (Some(p), Some(c)) if c > p => "▲",
        (Some(p), Some(c)) if c < p => "▼",
        (Some(_), Some(_)) => "=",
        _ => "",
    };
    let class = match (change.significant, change.better) {
        (true, Some(true)) => "trend better",
        (true, Some(false)) => "trend worse",
        _ => "trend",
    };
    let p_value = change
        .p_value
        .map_or_else(|| "no test".to_string(), |p| format!("p = {p:.3}"));
    format!(
        r#"{shown}<br><span class="{class}" title="previous period: {prev} (n = {pn}); now n = {cn}; {p_value}{verdict}">{arrow} from {prev} <small>n {pn}→{cn}</small></span>"#,
        prev = show(change.previous),
        pn = change.previous_n,
        cn = change.current_n,
        verdict = if change.significant {
            ", a real change"
        } else {
            ", within noise"
        },
    )
}

pub(super) fn page(title: &str, body: &str) -> String {
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} - devex</title>
<link rel="icon" href="data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 16 16'%3E%3Crect width='16' height='16' rx='3' fill='%232a5bd7'/%3E%3C/svg%3E">
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5rem auto; max-width: 72rem; color: #1d2330; padding: 0 1rem; }}
a {{ color: #2a5bd7; }}
table {{ border-collapse: collapse; width: 100%; margin: .5rem 0 1.5rem; }}
th, td {{ text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #e3e6ee; font-size: .92rem; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.level {{ display: inline-block; padding: .05rem .45rem; border-radius: .6rem; font-size: .8rem; color: #fff; }}
.elite {{ background: #1a7f4b; }} .high {{ background: #3a8fd0; }} .medium {{ background: #d39b16; }} .low {{ background: #c4452f; }} .none {{ background: #9aa3b5; }}
.charts {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(22rem, 1fr)); gap: 1rem; }}
figure {{ margin: 0; border: 1px solid #e3e6ee; border-radius: .4rem; padding: .5rem; }}
figcaption {{ font-size: .9rem; font-weight: 600; margin-bottom: .3rem; }}
svg.chart {{ width: 100%; height: auto; }}
.muted {{ color: #6b7385; font-size: .85rem; }}
.bar {{ display: inline-block; height: .7rem; background: #2a5bd7; border-radius: .2rem; }}
.answer {{ font-size: .8rem; color: #4a5263; margin-right: .4rem; }}
.trend {{ color: #6b7385; font-size: .8rem; white-space: nowrap; }} .trend.better {{ color: #1a7f4b; font-weight: 600; }} .trend.worse {{ color: #c4452f; font-weight: 600; }}
tr.org td {{ background: #f4f6fb; }}
nav {{ margin-bottom: 1rem; font-size: .9rem; }}
</style>
</head>
<body>
<nav><a href="/">Overview</a> · <a href="/adoption">Adoption</a> · <a href="/onboarding">Onboarding</a> · <a href="/ai">AI assistants</a> · <a href="/cost">Cost</a> · <a href="/surveys">Surveys</a> · <a href="/definitions">Definitions</a> · <a href="/api/v1/openapi.json">API</a> · <a href="/metrics">Prometheus metrics</a></nav>
{body}
</body>
</html>
"#,
        title = escape(title)
    )
}

fn level(level: Option<Level>) -> String {
    match level {
        None => r#"<span class="level none">n/a</span>"#.into(),
        Some(Level::InsufficientData) => r#"<span class="level none" title="fewer deployments in the window than the minimum sample ([dora] min_deployments_for_level)">too few</span>"#.into(),
        Some(level) => {
            let name = level.name();
            format!(r#"<span class="level {name}">{name}</span>"#)
        }
    }
}

fn number(value: Option<f64>, decimals: usize, suffix: &str) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{v:.decimals$}{suffix}"))
}

fn percent(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), |v| format!("{:.1}%", v * 100.0))
}

/// A duration in hours as a manager reads it: minutes, hours or days.
fn hours(value: Option<f64>) -> String {
    value.map_or_else(|| "–".into(), super::charts::duration_hours)
}

/// A moment in the page's time zone, to the minute.
fn moment(at: Option<chrono::DateTime<chrono::Utc>>, tz: chrono_tz::Tz) -> String {
    at.map_or_else(
        || "–".into(),
        |t| {
            t.with_timezone(&tz)
                .format(&format!("%Y-%m-%d %H:%M {}", tz.name()))
                .to_string()
        },
    )
}

/// The query that carries a page's range to the pages it links to.
fn range_query(from: NaiveDate, to: NaiveDate, tz: chrono_tz::Tz) -> String {
    format!(
        "from={from}&to={to}&tz={}",
        url::form_urlencoded::byte_serialize(tz.name().as_bytes()).collect::<String>()
    )
}

/// What an empty lake shows instead of empty tables: how to get data in.
fn empty_lake_hint(state: &AppState) -> String {
    let lake = escape(&state.config.lake.display().to_string());
    format!(
        r#"<h1>No data yet</h1>
<p id="empty-lake">This lake ({lake}) holds no deployments yet. Get data in one of these ways:</p>
<ul>
<li>Import files: <code>devex import deployments deployments.jsonl --lake {lake}</code> (also commits, incidents, CI runs, a FOCUS bill, a survey export).</li>
<li>Pull from your tools: <code>devex ingest github --owners my-org --lake {lake}</code> (also gitlab, pagerduty, backstage, opencost).</li>
<li>Point webhooks here: <code>/webhooks/github</code>, <code>/webhooks/gitlab</code>, <code>/webhooks/pagerduty</code>, <code>/webhooks/cdevents</code>, <code>/webhooks/argocd</code>.</li>
<li>Or look around a made-up organisation: <code>devex serve --demo</code> on an empty lake.</li>
</ul>
<p class="muted">The README's "Getting data in" lists every source and file format.</p>"#
    )
}

/// `/`: each team's DORA levels and feedback loops over the window, each
/// headline number beside the previous equal period's.
pub async fn overview(state: &AppState, range: &RangeParams) -> Result<String> {
    let (from, to) = chosen_window(state, range)?;
    let request = DoraRequest::parse(
        &from.to_string(),
        &to.to_string(),
        range.tz(),
        None,
        None,
        Some("team"),
        state.config.dora.clone(),
    )?;
    let report = dora::report(&state.queries, &request).await?;
    let devex = DevexRequest::parse(
        &from.to_string(),
        &to.to_string(),
        range.tz(),
        None,
        None,
        Some("team"),
        state.config.devex.clone(),
        state.config.dora.clone(),
    )?;
    let loops = analytics::devex::report(&state.queries, &devex).await?;
    if report.groups.is_empty() && report.overall.deployments == 0 && range.from.is_none() {
        return Ok(page("Overview", &empty_lake_hint(state)));
    }
    let trend = analytics::dora::trend::trend(&state.queries, &request).await?;
    let row = |name: String,
               m: &DoraMetrics,
               d: &analytics::devex::DevexMetrics,
               t: Option<&analytics::dora::trend::GroupTrend>| {
        format!(
            r#"<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td><td class="n">{}</td></tr>"#,
            level(m.levels.deployment_frequency),
            level(m.levels.lead_time_for_changes),
            level(m.levels.change_failure_rate),
            level(m.levels.failed_deployment_recovery_time),
            with_previous(
                number(Some(m.deployments_per_week), 1, ""),
                t.map(|t| &t.deployments_per_week),
                |v| number(v, 1, "")
            ),
            with_previous(
                hours(m.lead_time_median_hours),
                t.map(|t| &t.lead_time_median_hours),
                hours
            ),
            with_previous(
                percent(m.change_failure_rate),
                t.map(|t| &t.change_failure_rate),
                percent
            ),
            hours(d.ci_duration_median_minutes.map(|minutes| minutes / 60.0)),
            hours(d.pr_cycle_time_median_hours),
        )
    };
    // The organisation first (its DORA numbers; the DevEx measures are per
    // team only), then each team.
    let mut rows = row(
        "<strong>Organisation</strong>".into(),
        &report.overall,
        &analytics::devex::DevexMetrics::default(),
        Some(&trend.overall),
    )
    .replacen("<tr>", r#"<tr class="org">"#, 1);
    for group in &report.groups {
        let Some(team) = group.key.label() else {
            continue;
        };
        let d = loops
            .groups
            .iter()
            .find(|g| g.key.label() == Some(team))
            .map(|g| g.metrics.clone())
            .unwrap_or_default();
        let name = format!(
            r#"<a href="/teams/{link}">{team}</a>"#,
            link = segment(team),
            team = escape(team)
        );
        let t = trend
            .groups
            .iter()
            .find(|t| t.team.as_deref() == Some(team));
        rows.push_str(&row(name, &group.metrics, &d, t));
    }
    let body = format!(
        r#"<h1>Engineering overview</h1>
{picker}
<p class="muted">{from} to {to} (exclusive, {tz}), {days} days, against the {days} days before ({previous_from} to {from}): ▲▼ coloured only when the change is significant (p &lt; 0.05; deployments: binomial test, lead time: Mann-Whitney, change failure rate: two-proportion z-test), n the samples. Levels: {source}. Deployment frequency is graded on the median service of each team. Data as of {data_as_of} (the newest event stored).</p>
<table id="levels"><thead><tr><th>team</th><th><a href="/definitions#dora_summary">deployment frequency</a></th><th><a href="/definitions#change_lead_times">lead time</a></th><th><a href="/definitions#deployment_outcomes">change failure rate</a></th><th><a href="/definitions#deployment_outcomes">recovery time</a></th><th><a href="/definitions#production_deployments">deploys / week</a></th><th><a href="/definitions#lead_time_summary">lead time (median)</a></th><th><a href="/definitions#dora_summary">change failure rate</a></th><th><a href="/definitions#ci_summary">CI (median)</a></th><th><a href="/definitions#pull_request_summary">PR cycle time (median)</a></th></tr></thead>
<tbody>{rows}</tbody></table>
<p class="muted"><a href="/cost">Cost per team</a> · <a href="/adoption">Platform adoption</a> · <a href="/onboarding">Onboarding</a>.</p>"#,
        days = report.days,
        source = escape(&report.levels_source),
        picker = range_picker("/", from, to, range.tz()),
        tz = escape(&report.tz),
        previous_from = trend.previous_from,
        data_as_of = moment(report.data_as_of, request.tz),
    );
    Ok(page("Overview", &body))
}

fn series_points(
    series: &analytics::dora::DoraSeries,
    value: impl Fn(&DoraMetrics) -> Option<f64>,
) -> Vec<ChartPoint> {
    series
        .points
        .iter()
        .map(|p| ChartPoint {
            day: p.period_start,
            value: value(&p.metrics),
            partial: p.partial,
        })
        .collect()
}

/// Deployments a team page lists at a time.
const DEPLOYMENTS_PER_PAGE: usize = 25;

/// `/teams/{team}?page=N`: weekly trends and the team's deployments, newest
/// first, a page at a time.
pub async fn team(state: &AppState, team: &str, range: &RangeParams) -> Result<String> {
    let page_number = range.page.unwrap_or(1);
    let (from, to) = chosen_window(state, range)?;
    let request = DoraRequest::parse(
        &from.to_string(),
        &to.to_string(),
        range.tz(),
        None,
        Some(team.to_string()),
        Some("none"),
        state.config.dora.clone(),
    )?;
    let series = dora::series(&state.queries, &request, Granularity::Week).await?;
    let devex = DevexRequest::parse(
        &from.to_string(),
        &to.to_string(),
        range.tz(),
        Some(team.to_string()),
        None,
        Some("team"),
        state.config.devex.clone(),
        state.config.dora.clone(),
    )?;
    let loops = analytics::devex::series(&state.queries, &devex, Granularity::Week).await?;
    let loop_points = |value: &dyn Fn(&analytics::devex::DevexMetrics) -> Option<f64>| {
        loops
            .periods
            .iter()
            .map(|p| ChartPoint {
                day: p.period_start,
                value: p
                    .groups
                    .iter()
                    .find(|g| g.key.label() == Some(team))
                    .and_then(|g| value(&g.metrics)),
                partial: p.partial,
            })
            .collect::<Vec<_>>()
    };
    let charts = [
        line_chart(
            "Deployments per week",
            Unit::Count("/week"),
            &series_points(&series, |m| Some(m.deployments_per_week)),
        ),
        line_chart(
            "Lead time for changes (median)",
            Unit::Hours,
            &series_points(&series, |m| m.lead_time_median_hours),
        ),
        line_chart(
            "Change failure rate",
            Unit::Share,
            &series_points(&series, |m| m.change_failure_rate),
        ),
        line_chart(
            "Recovery time (median)",
            Unit::Hours,
            &series_points(&series, |m| m.recovery_time_median_hours),
        ),
        line_chart(
            "CI run duration (median)",
            Unit::Minutes,
            &loop_points(&|m| m.ci_duration_median_minutes),
        ),
        line_chart(
            "Pull request cycle time (median)",
            Unit::Hours,
            &loop_points(&|m| m.pr_cycle_time_median_hours),
        ),
    ]
    .join("\n");
    // The range's deployments, newest first, a page at a time.
    let deployments = dora::deployments(&state.queries, &request).await?;
    let total = deployments.deployments.len();
    let pages = total.div_ceil(DEPLOYMENTS_PER_PAGE).max(1);
    let page_number = page_number.clamp(1, pages);
    let skip = (page_number - 1) * DEPLOYMENTS_PER_PAGE;
    let rows: String = deployments
        .deployments
        .iter()
        .rev()
        .skip(skip)
        .take(DEPLOYMENTS_PER_PAGE)
        .map(|d| deployment_row(d, request.tz, &range_query(from, to, request.tz)))
        .collect();
    let here = format!("/teams/{}", segment(team));
    let pager = if pages > 1 {
        // Pages keep the range.
        let keep = format!("&{}", range_query(from, to, request.tz));
        let link = |n: usize, text: &str| format!(r#"<a href="{here}?page={n}{keep}">{text}</a>"#);
        format!(
            r#"<p id="pager" class="muted">{first}–{last} of {total} · {newer}{sep}{older}</p>"#,
            first = skip + 1,
            last = (skip + DEPLOYMENTS_PER_PAGE).min(total),
            newer = if page_number > 1 {
                link(page_number - 1, "newer")
            } else {
                String::new()
            },
            sep = if page_number > 1 && page_number < pages {
                " · "
            } else {
                ""
            },
            older = if page_number < pages {
                link(page_number + 1, "older")
            } else {
                String::new()
            },
        )
    } else {
        String::new()
    };
    let cost = super::cost_page::team_cost_line(state, team).await?;
    let body = format!(
        r#"<h1>Team {team}</h1>
{cost}
{picker}
<p class="muted">Weekly, {from} to {to} (exclusive). How each is counted: <a href="/definitions#production_deployments">deployments</a>, <a href="/definitions#change_lead_times">lead time</a>, <a href="/definitions#deployment_outcomes">failures and recovery</a>, <a href="/definitions#ci_summary">CI</a>, <a href="/definitions#pull_request_summary">pull requests</a>.</p>
<div class="charts">{charts}</div>
<h2>Production deployments, {from} to {to} ({tz_name})</h2>
<table id="deployments"><thead><tr><th>deployment</th><th>service</th><th>deployed</th><th>class</th><th>changes</th><th>failed</th><th>recovery</th></tr></thead>
<tbody>{rows}</tbody></table>
{pager}"#,
        team = escape(team),
        picker = range_picker(&here, from, to, range.tz()),
        tz_name = request.tz.name(),
    );
    Ok(page(&format!("Team {team}"), &body))
}

/// A deployment's row; its time in the page's time zone, its link carrying
/// the page's range (`range`).
fn deployment_row(d: &DeploymentDetail, tz: chrono_tz::Tz, range: &str) -> String {
    format!(
        r#"<tr><td><a href="/deployments/{s}/{i}?{range}">{id}</a></td><td>{service}</td><td>{at}</td><td>{class}</td><td class="n">{changes}</td><td>{failed}</td><td class="n">{recovery}</td></tr>"#,
        s = segment(&d.service),
        i = segment(&d.deployment_id),
        id = escape(&d.deployment_id),
        service = escape(&d.service),
        at = d
            .deployed_at
            .map(|t| t.with_timezone(&tz).format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default(),
        class = d.class.name(),
        changes = d.changes.len(),
        failed = if d.failed { "yes" } else { "" },
        recovery = hours(d.recovery_hours),
    )
}

/// `/deployments/{service}/{id}?from=&to=&tz=`: one deployment, explained;
/// found in the range it was linked from (default: the API's 90 days).
pub async fn deployment(
    state: &AppState,
    service: &str,
    id: &str,
    range: &RangeParams,
) -> Result<String> {
    let (from, to) = chosen_window(state, range)?;
    let request = DoraRequest::parse(
        &from.to_string(),
        &to.to_string(),
        range.tz(),
        Some(service.to_string()),
        None,
        Some("none"),
        state.config.dora.clone(),
    )?;
    let report = dora::deployments(&state.queries, &request).await?;
    let Some(d) = report.deployments.iter().find(|d| d.deployment_id == id) else {
        let known: Vec<String> = report
            .deployments
            .iter()
            .map(|d| d.deployment_id.clone())
            .collect();
        return Err(analytics::Error::unknown_name(NameKind::Deployment, id, &known).into());
    };
    let changes: String = d
        .changes
        .iter()
        .map(|c| {
            format!(
                r#"<tr><td><code>{sha}</code></td><td>{message}</td><td>{pr}</td><td>{from}</td><td class="n">{lead}</td><td>{rework}</td></tr>"#,
                sha = escape(&c.sha.chars().take(12).collect::<String>()),
                message = escape(c.message_summary.as_deref().unwrap_or("")),
                pr = c.pull_request.map(|n| format!("#{n}")).unwrap_or_default(),
                from = match c.started_from.as_str() {
                    "pull_request_first_commit" => "the pull request's first commit (squash or rebase merge)",
                    "authored_at" => "the commit",
                    other => other,
                },
                lead = super::charts::duration_hours(c.lead_time_hours),
                rework = if c.rework { "rework" } else { "" },
            )
        })
        .collect();
    let causes: String = d
        .failure_causes
        .iter()
        .map(|c| match c {
            FailureCause::Incident {
                incident_id,
                source,
                attribution,
                opened_at,
                resolved_at,
            } => format!(
                "<li>incident {} from {} ({}) opened {}, resolved {}</li>",
                escape(incident_id),
                escape(source),
                escape(attribution),
                moment(*opened_at, request.tz),
                resolved_at.map_or_else(|| "not yet".into(), |t| moment(Some(t), request.tz))
            ),
            FailureCause::Rollback {
                deployment_id,
                deployed_at,
            } => format!(
                r#"<li>rolled back by <a href="/deployments/{s}/{i}?{range}">{id}</a> at {at}</li>"#,
                range = range_query(from, to, request.tz),
                s = segment(service),
                i = segment(deployment_id),
                id = escape(deployment_id),
                at = moment(*deployed_at, request.tz)
            ),
        })
        .collect();
    let body = format!(
        r#"<h1>Deployment {id} of {service}</h1>
<table id="deployment"><tbody>
<tr><th><a href="/definitions#deployment_outcomes">class</a></th><td>{class}{rolls_back}</td></tr>
<tr><th>sha</th><td><code>{sha}</code></td></tr>
<tr><th>deployed</th><td>{at}</td></tr>
<tr><th>reported by</th><td>{source}</td></tr>
<tr><th>team</th><td>{team} <small>(the owner when it was deployed)</small></td></tr>
<tr><th>failed</th><td>{failed}</td></tr>
<tr><th>recovery</th><td>{recovery}</td></tr>
</tbody></table>
{why}
<h2>Changes ({count})</h2>
<table id="changes"><thead><tr><th>commit</th><th>message</th><th>pull request</th><th>measured from</th><th>lead time</th><th></th></tr></thead><tbody>{changes}</tbody></table>
<p><a href="/teams/{team_link}">Back to the team</a></p>"#,
        id = escape(id),
        service = escape(service),
        class = d.class.name(),
        rolls_back = d
            .rolls_back
            .as_ref()
            .map(|t| format!(
                r#" of <a href="/deployments/{s}/{i}?{range}">{t}</a>"#,
                range = range_query(from, to, request.tz),
                s = segment(service),
                i = segment(t),
                t = escape(t)
            ))
            .unwrap_or_default(),
        why = match (d.failed, causes.is_empty()) {
            (true, false) => format!(r#"<h2>Why it failed</h2><ul id="causes">{causes}</ul>"#),
            (true, true) => r#"<h2>Why it failed</h2><p id="causes">Marked failed by its source; no incident or rollback is linked to it.</p>"#.into(),
            (false, _) => String::new(),
        },
        sha = escape(&d.sha),
        at = moment(d.deployed_at, request.tz),
        source = escape(d.source.as_deref().unwrap_or("unknown")),
        team = escape(d.team.as_deref().unwrap_or("none in the catalog")),
        failed = if d.failed { "yes" } else { "no" },
        recovery = hours(d.recovery_hours),
        count = d.changes.len(),
        team_link = segment(d.team.as_deref().unwrap_or("")),
    );
    Ok(page(&format!("Deployment {id}"), &body))
}

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(overview_page))
        .route("/teams/{team}", get(team_page))
        .route("/deployments/{service}/{id}", get(deployment_page))
        .route("/cost", get(cost_page))
        .route("/adoption", get(adoption_page))
        .route("/onboarding", get(onboarding_page))
        .route("/ai", get(ai_page))
        .route("/definitions", get(definitions_page))
}

/// Portal pages: HTML, or the error as a small HTML page with its status.
fn html(result: Result<String>) -> Response {
    match result {
        Ok(body) => Html(body).into_response(),
        Err(error) => error_page(error),
    }
}

/// An error as a small HTML page with its status.
pub(super) fn error_page(error: crate::error::Error) -> Response {
    let status = error.status();
    let message = if status.is_client_error() {
        error.to_string()
    } else {
        tracing::error!(error = %error, "Portal page failed.");
        "internal error; the server log has the details".to_string()
    };
    let body = format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>devex</title></head><body><p><a href=\"/\">Overview</a></p><p>{}</p></body></html>",
        escape(&message)
    );
    (status, Html(body)).into_response()
}

/// `/definitions`: every metric's rule and source, from the headers of the
/// SQL files that compute it (one source of truth), each with an anchor the
/// metric labels link to.
pub fn definitions() -> String {
    let mut body = String::from(
        r#"<h1>Definitions</h1>
<p class="muted">Every number devex shows comes from one of these SQL files; each says its rule and where the rule comes from.</p>"#,
    );
    let mut area = "";
    for definition in analytics::definitions::definitions() {
        if definition.area != area {
            area = definition.area;
            body.push_str(&format!("<h2>{}</h2>", escape(area)));
        }
        body.push_str(&format!(
            r##"<section id="{name}" class="definition"><h3><a href="#{name}">{name}</a></h3><p>{summary}</p><details><summary>The whole rule</summary><pre>{text}</pre></details></section>"##,
            name = escape(definition.name),
            summary = escape(&definition.summary),
            text = escape(&definition.text),
        ));
    }
    page("Definitions", &body)
}

async fn definitions_page() -> Response {
    Html(definitions()).into_response()
}

async fn overview_page(
    State(state): State<AppState>,
    axum::extract::Query(range): axum::extract::Query<RangeParams>,
) -> Response {
    html(overview(&state, &range).await)
}

async fn cost_page(State(state): State<AppState>) -> Response {
    html(super::cost_page::cost(&state).await)
}

async fn adoption_page(State(state): State<AppState>) -> Response {
    html(super::platform_pages::adoption_page(&state).await)
}

async fn onboarding_page(State(state): State<AppState>) -> Response {
    html(super::platform_pages::onboarding_page(&state).await)
}

async fn ai_page(State(state): State<AppState>) -> Response {
    html(super::ai_page::ai_page(&state).await)
}

async fn team_page(
    State(state): State<AppState>,
    Path(name): Path<String>,
    axum::extract::Query(range): axum::extract::Query<RangeParams>,
) -> Response {
    html(team(&state, &name, &range).await)
}

async fn deployment_page(
    State(state): State<AppState>,
    Path((service, id)): Path<(String, String)>,
    axum::extract::Query(range): axum::extract::Query<RangeParams>,
) -> Response {
    html(deployment(&state, &service, &id, &range).await)
}
