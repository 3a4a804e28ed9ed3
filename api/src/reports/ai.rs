//! The AI assistants report's parameters and renderings, shared by `devex
//! report ai` and `GET /api/v1/ai`.

use analytics::ai::{self, AiMeasures, AiReport, AiRequest, ImpactGroup, RolloutTeam};
use analytics::LakeQueries;
use serde::Deserialize;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{aligned_lines, csv_text, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AiParams {
    /// First day of the window (inclusive); default 90 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Day after the window (exclusive); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// IANA time zone of pull requests' merge days (AI use keeps the
    /// assistants' UTC days); default UTC.
    pub tz: Option<String>,
    /// Only this team.
    pub team: Option<String>,
    /// Rows per team (default) or tool.
    #[param(value_type = Option<analytics::ai::AiGroupBy>)]
    pub group_by: Option<String>,
    /// Add `impact`: AI-assisted against other merged pull requests (cycle,
    /// pickup and review time, size, CI failure and rework rates), with n,
    /// the Mann-Whitney or two-proportion p-value, a bootstrap interval and
    /// size strata.
    pub impact: Option<bool>,
    /// Add `rollout`: each team's rollout month and the
    /// difference-in-differences of its cycle time, change failure rate and
    /// rework rate against teams not yet rolled out.
    pub rollout: Option<bool>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

const HEADERS: [&str; 12] = [
    "developers",
    "ai_active_users",
    "ai_active_share",
    "dau_mean",
    "wau_mean",
    "acceptance_rate",
    "line_acceptance_rate",
    "merged_prs",
    "ai_assisted_prs",
    "ai_assisted_pr_share",
    "hidden_reason",
    "",
];

fn count(v: Option<u64>) -> String {
    v.map_or_else(String::new, |v| v.to_string())
}

fn number(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.4}"))
}

fn share(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{:.0}%", v * 100.0))
}

fn cells(m: &AiMeasures, table: bool) -> Vec<String> {
    let ratio = |v| if table { share(v) } else { number(v) };
    vec![
        count(m.developers),
        count(m.ai_active_users),
        ratio(m.ai_active_share),
        number(m.dau_mean),
        number(m.wau_mean),
        ratio(m.acceptance_rate),
        ratio(m.line_acceptance_rate),
        count(m.merged_prs),
        count(m.ai_assisted_prs),
        ratio(m.ai_assisted_pr_share),
        m.hidden_reason.clone().unwrap_or_default(),
    ]
}

fn impact_lines(groups: &[ImpactGroup]) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        "Impact: AI-assisted against other merged pull requests (median or rate, n):".to_string(),
    ];
    let mut rows = vec![[
        "group",
        "measure",
        "ai",
        "n",
        "other",
        "n",
        "difference",
        "95% interval",
        "p",
        "",
    ]
    .map(str::to_string)
    .to_vec()];
    let mut hidden = Vec::new();
    for group in groups {
        let name = group.team.clone().unwrap_or_else(|| "overall".into());
        if let Some(why) = &group.hidden_reason {
            hidden.extend(wrap(&format!("{name}: hidden, {why}"), 96, "  "));
            continue;
        }
        for m in &group.metrics {
            rows.push(vec![
                name.clone(),
                m.metric.clone(),
                number(m.ai.median.or(m.ai.rate)),
                m.ai.n.to_string(),
                number(m.other.median.or(m.other.rate)),
                m.other.n.to_string(),
                number(m.difference),
                m.interval
                    .map_or_else(String::new, |[l, h]| format!("[{l:.2}, {h:.2}]")),
                number(m.p_value),
                if m.significant { "significant" } else { "" }.to_string(),
            ]);
        }
    }
    if rows.len() > 1 {
        lines.extend(aligned_lines(&rows).into_iter().map(|l| format!("  {l}")));
    }
    lines.extend(hidden);
    lines
}

fn rollout_lines(teams: &[RolloutTeam]) -> Vec<String> {
    let mut lines = vec![
        String::new(),
        "Rollout (observational: difference-in-differences against teams not yet rolled out):"
            .to_string(),
    ];
    let mut rows = vec![[
        "team",
        "rollout",
        "measure",
        "before",
        "after",
        "controls before",
        "after",
        "effect",
        "95% interval",
    ]
    .map(str::to_string)
    .to_vec()];
    let mut notes = Vec::new();
    for team in teams {
        let month = team
            .rollout_month
            .map_or("-".into(), |m| m.format("%Y-%m").to_string());
        if team.effects.is_empty() {
            let why = team
                .hidden_reason
                .clone()
                .or(team.note.clone())
                .unwrap_or_default();
            notes.extend(wrap(&format!("{} ({month}): {why}", team.team), 96, "  "));
            continue;
        }
        for e in &team.effects {
            rows.push(vec![
                team.team.clone(),
                month.clone(),
                e.metric.clone(),
                number(e.team_before.value),
                number(e.team_after.value),
                number(e.control_before.value),
                number(e.control_after.value),
                number(e.estimate),
                e.interval
                    .map_or_else(String::new, |[l, h]| format!("[{l:.2}, {h:.2}]")),
            ]);
        }
    }
    if rows.len() > 1 {
        lines.extend(aligned_lines(&rows).into_iter().map(|l| format!("  {l}")));
    }
    lines.extend(notes);
    lines
}

/// `text` in lines of at most `width` characters, each after `indent`.
fn wrap(text: &str, width: usize, indent: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > width {
            lines.push(format!("{indent}{line}"));
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(format!("{indent}{line}"));
    }
    lines
}

fn table(report: &AiReport) -> String {
    let key = match report.group_by {
        ai::AiGroupBy::Team => "team",
        ai::AiGroupBy::Tool => "tool",
    };
    let mut header = vec![key.to_string()];
    header.extend(
        [
            "devs", "active", "share", "dau", "wau", "accept", "lines", "merged", "ai prs",
            "ai share", "",
        ]
        .map(str::to_string),
    );
    let mut rows = vec![header];
    for g in &report.groups {
        let mut row = vec![g.key.label().to_string()];
        row.extend(cells(&g.measures, true));
        rows.push(row);
    }
    let mut overall = vec!["overall".to_string()];
    overall.extend(cells(&report.overall, true));
    rows.push(overall);
    let mut lines = vec![format!(
        "AI assistants {} to {} ({}), as of {}:",
        report.from,
        report.to,
        report.tz,
        report.data_as_of.map_or("no data".into(), |t| t
            .format("%Y-%m-%d %H:%M UTC")
            .to_string())
    )];
    lines.extend(aligned_lines(&rows));
    let cost = &report.cost.overall;
    lines.push(String::new());
    let cost_line = format!(
        "Cost ({}): seats {} + cost rows {} = {}; per AI-active developer {}, per AI-assisted pull request {}{}",
        report.cost.currency,
        cost.seats,
        cost.cost_rows,
        cost.total,
        cost.per_active_user.map_or("-".into(), |m| m.to_string()),
        cost.per_ai_assisted_pr.map_or("-".into(), |m| m.to_string()),
        match report.cost.unpriced_tools.is_empty() {
            true => String::new(),
            false => format!(
                " (no [ai.seat_price] for {})",
                report.cost.unpriced_tools.join(", ")
            ),
        }
    );
    lines.extend(wrap(&cost_line, 100, ""));
    if let Some(impact) = &report.impact {
        lines.extend(impact_lines(impact));
    }
    if let Some(rollout) = &report.rollout {
        lines.extend(rollout_lines(rollout));
    }
    lines.push(String::new());
    for caveat in &report.caveats {
        lines.extend(wrap(&format!("Note: {caveat}."), 100, ""));
    }
    lines.join("\n") + "\n"
}

pub async fn run(
    queries: &LakeQueries,
    config: &Config,
    params: &AiParams,
    format: OutputFormat,
) -> Result<String> {
    let mut request = AiRequest::parse(
        params.from.as_deref(),
        params.to.as_deref(),
        params.tz.as_deref(),
        params.team.clone(),
        params.group_by.as_deref(),
        config.ai.clone(),
        config.devex.clone(),
        config.dora.clone(),
    )?;
    request.impact = params.impact.unwrap_or(false);
    request.rollout = params.rollout.unwrap_or(false);
    request.cost = config.cost.clone();
    let report = ai::report(queries, &request).await?;
    match format {
        OutputFormat::Json => {
            serde_json::to_string_pretty(&report).map_err(|e| Error::Internal(e.to_string()))
        }
        OutputFormat::Csv => {
            if report.impact.is_some() || report.rollout.is_some() {
                return Err(Error::invalid_parameter(
                    "format",
                    "CSV holds one table, the groups; ask for impact and rollout as json or table",
                ));
            }
            let mut headers = vec![match report.group_by {
                ai::AiGroupBy::Team => "team".to_string(),
                ai::AiGroupBy::Tool => "tool".to_string(),
            }];
            headers.extend(HEADERS[..HEADERS.len() - 1].iter().map(|h| h.to_string()));
            let mut rows: Vec<Vec<String>> = report
                .groups
                .iter()
                .map(|g| {
                    let mut row = vec![g.key.label().to_string()];
                    row.extend(cells(&g.measures, false));
                    row
                })
                .collect();
            let mut overall = vec!["overall".to_string()];
            overall.extend(cells(&report.overall, false));
            rows.push(overall);
            csv_text(&headers, &rows)
        }
        OutputFormat::Table => Ok(table(&report)),
    }
}
