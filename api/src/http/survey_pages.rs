//! The portal's survey pages: `/surveys` lists the waves, `/surveys/{id}`
//! shows one wave. The page has response rates, 0-100 dimension scores,
//! eNPS with its split, answer distributions and comments for shown groups
//! only. It also compares the wave with the one before, with Welch's test,
//! and sets perceived against measured per team. Every number comes from
//! `surveys::results`, which hides groups below the anonymity threshold
//! (and differences that would reveal one); these pages only draw.

use axum::extract::{Path, Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use surveys::results::{GroupResult, SurveyComparison, SurveyResults};

use super::portal::{escape, page, segment};
use super::state::AppState;
use crate::error::Result;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/surveys", get(waves_page))
        .route("/surveys/{id}", get(wave_page))
}

fn percent(v: Option<f64>) -> String {
    v.map_or_else(|| "–".into(), |v| format!("{:.0}%", v * 100.0))
}

/// `/surveys`: the waves in the lake.
async fn waves(state: &AppState) -> Result<String> {
    let waves = surveys::results::waves(&state.queries).await?;
    if waves.is_empty() {
        return Ok(page(
            "Surveys",
            r#"<h1>Surveys</h1><p id="no-surveys">No survey answers yet. Import an export: <code>devex import survey export.csv --survey devex-2026-q4</code> (Google Forms, Typeform, Qualtrics, Microsoft Forms); <code>devex survey template</code> prints the questions.</p>"#,
        ));
    }
    let rows: String = waves
        .iter()
        .rev()
        .map(|w| {
            format!(
                r#"<tr><td><a href="/surveys/{link}">{id}</a></td><td class="n">{n}</td><td>{first}</td><td>{last}</td></tr>"#,
                link = segment(&w.survey_id),
                id = escape(&w.survey_id),
                n = w.respondents,
                first = escape(&w.first_submitted_at.clone().unwrap_or_default().chars().take(10).collect::<String>()),
                last = escape(&w.last_submitted_at.clone().unwrap_or_default().chars().take(10).collect::<String>()),
            )
        })
        .collect();
    Ok(page(
        "Surveys",
        &format!(
            r#"<h1>Surveys</h1><table id="waves"><thead><tr><th>wave</th><th>respondents</th><th>first answer</th><th>last answer</th></tr></thead><tbody>{rows}</tbody></table>"#
        ),
    ))
}

async fn waves_page(State(state): State<AppState>) -> Response {
    page_or_error(waves(&state).await)
}

#[derive(serde::Deserialize)]
struct WaveParams {
    /// The group to look into (default: the organisation).
    team: Option<String>,
    /// `team` (default): the group and each of its teams; `none`: only the
    /// group.
    group_by: Option<String>,
}

/// One shown group: response rate, dimension scores, eNPS, distributions,
/// comments.
fn group_section(survey_id: &str, current: Option<&str>, group: &GroupResult) -> String {
    let dimensions: String = group
        .dimensions
        .iter()
        .map(|d| {
            format!(
                r#"<tr><td>{name}</td><td class="n">{score:.0}</td><td><span class="bar" style="width:{width:.0}px"></span></td><td class="n">{fav}</td></tr>"#,
                name = escape(&d.dimension.replace('_', " ")),
                score = d.score,
                width = d.score * 2.0,
                fav = percent(d.favourable_share),
            )
        })
        .collect();
    let enps: String = group
        .questions
        .iter()
        .filter_map(|q| Some((q, q.enps?, q.enps_split?)))
        .map(|(q, score, split)| {
            format!(
                r#"<p class="enps">eNPS <strong>{score:+.0}</strong> (n = {n}): promoters {p}, passives {pa}, detractors {d}</p>"#,
                n = q.n,
                p = percent(Some(split.promoters)),
                pa = percent(Some(split.passives)),
                d = percent(Some(split.detractors)),
            )
        })
        .collect();
    let questions: String = group
        .questions
        .iter()
        .map(|q| {
            let total: u64 = q.distribution.values().sum();
            let cells: String = q
                .distribution
                .iter()
                .map(|(answer, count)| {
                    format!(
                        r#"<span class="answer" title="{answer}: {count} of {total}">{answer}: {count}</span>"#,
                        answer = escape(answer)
                    )
                })
                .collect::<Vec<_>>()
                .join(" ");
            format!(
                r#"<tr><td>{id}</td><td class="n">{n}</td><td class="n">{mean}</td><td class="n">{fav}</td><td>{cells}</td></tr>"#,
                id = escape(&q.id),
                n = q.n,
                mean = q.mean.map_or_else(|| "–".into(), |m| format!("{m:.2}")),
                fav = percent(q.favourable_share),
            )
        })
        .collect();
    let comments: String = group
        .comments
        .iter()
        .map(|c| format!("<li>{}</li>", escape(c)))
        .collect();
    let rate = match (group.response_rate, group.headcount) {
        (Some(rate), Some(headcount)) => format!(
            "{} of {headcount} answered ({})",
            group.respondents,
            percent(Some(rate))
        ),
        _ => format!("{} answered", group.respondents),
    };
    format!(
        r#"<section class="group" data-group="{g}"><h2>{heading}</h2><p class="rate">{rate}</p>{enps}
<table class="dimensions"><thead><tr><th>dimension</th><th>score (0-100)</th><th></th><th>favourable</th></tr></thead><tbody>{dimensions}</tbody></table>
<details><summary>Questions: answers and their distribution</summary><table class="questions"><thead><tr><th>question</th><th>n</th><th>mean</th><th>favourable</th><th>answers</th></tr></thead><tbody>{questions}</tbody></table></details>
<details><summary>Comments ({count}, in no particular order)</summary><ul class="comments">{comments}</ul></details></section>"#,
        g = escape(&group.group),
        // Every group but the one shown opens its own teams.
        heading = if Some(group.group.as_str()) == current || group.group == "organisation" {
            escape(&group.group)
        } else {
            format!(
                r#"<a href="/surveys/{s}?team={t}">{g}</a>"#,
                s = segment(survey_id),
                t = segment(&group.group),
                g = escape(&group.group)
            )
        },
        count = group.comments.len(),
    )
}

/// The wave against the one before: each dimension's change, coloured only
/// when Welch's test finds it significant.
fn comparison_section(comparison: &SurveyComparison) -> String {
    let rows: String = comparison
        .groups
        .iter()
        .flat_map(|g| g.dimensions.iter().map(move |c| (g, c)))
        .map(|(g, c)| {
            let class = match (c.significant, c.difference > 0.0) {
                (true, true) => "trend better",
                (true, false) => "trend worse",
                _ => "trend",
            };
            format!(
                r#"<tr><td>{group}</td><td>{measure}</td><td class="n">{a:.0}</td><td class="n">{b:.0}</td><td class="n"><span class="{class}">{d:+.1}</span></td><td class="n">p = {p:.3}</td><td class="n">{na} → {nb}</td></tr>"#,
                group = escape(&g.group),
                measure = escape(&c.measure.replace('_', " ")),
                a = c.mean_a,
                b = c.mean_b,
                d = c.difference,
                p = c.p_value,
                na = c.n_a,
                nb = c.n_b,
            )
        })
        .collect();
    format!(
        r#"<h2 id="compare">Against {a}</h2><p class="muted">Dimension scores (0-100), coloured only when Welch's t-test finds the change significant (p &lt; 0.05).</p><table id="comparison"><thead><tr><th>group</th><th>dimension</th><th>{a}</th><th>{b}</th><th>change</th><th>test</th><th>n</th></tr></thead><tbody>{rows}</tbody></table>"#,
        a = escape(&comparison.a),
        b = escape(&comparison.b),
    )
}

/// Perceived (dimension scores) against measured (workflow measures) per
/// shown team.
fn perceived_section(value: &serde_json::Value) -> String {
    let rows: String = value["teams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|t| {
            let score = |d: &str| {
                t["perceived"][d]
                    .as_f64()
                    .map_or_else(|| "–".into(), |v| format!("{v:.0}"))
            };
            let hours = |f: &str, scale: f64| {
                t["measured"][f].as_f64().map_or_else(
                    || "–".into(),
                    |v| crate::render::duration_hours(v * scale),
                )
            };
            format!(
                r#"<tr><td>{team}</td><td class="n">{fb}</td><td class="n">{ci}</td><td class="n">{cycle}</td><td class="n">{flow}</td><td class="n">{focus}</td><td class="n">{load}</td></tr>"#,
                team = escape(t["team"].as_str().unwrap_or("")),
                fb = score("feedback_loops"),
                ci = hours("ci_duration_median_minutes", 1.0 / 60.0),
                cycle = hours("pr_cycle_time_median_hours", 1.0),
                flow = score("flow_state"),
                focus = percent(t["measured"]["focus_day_share"].as_f64()),
                load = score("cognitive_load"),
            )
        })
        .collect();
    format!(
        r#"<h2 id="perceived">Perceived against measured</h2><table id="perceived-measured"><thead><tr><th>team</th><th>feedback loops (score)</th><th>CI (median)</th><th>PR cycle (median)</th><th>flow (score)</th><th>focus days</th><th>cognitive load (score)</th></tr></thead><tbody>{rows}</tbody></table>"#
    )
}

/// `/surveys/{id}`: one wave, for shown groups only.
async fn wave(
    state: &AppState,
    id: &str,
    team: Option<&str>,
    group_by: Option<&str>,
) -> Result<String> {
    let team = team.filter(|t| !t.is_empty());
    let (definition, threshold) = crate::reports::surveys::setup(&state.config)?;
    let children = group_by != Some("none");
    let results: SurveyResults =
        surveys::results::results(&state.queries, &definition, id, team, children, threshold)
            .await?;
    let groups: String = results
        .groups
        .iter()
        .map(|g| group_section(id, team, g))
        .collect();
    let hidden = if results.hidden.is_empty() {
        String::new()
    } else {
        format!(
            r#"<p id="hidden" class="muted">Not shown: {} (fewer than {} answers, or a difference that would point at fewer). Small groups are never shown, not even by difference.</p>"#,
            results
                .hidden
                .iter()
                .map(|h| escape(&h.group))
                .collect::<Vec<_>>()
                .join(", "),
            results.threshold
        )
    };
    // The wave before this one, if any, for the comparison.
    let waves = surveys::results::waves(&state.queries).await?;
    let before = waves
        .iter()
        .map(|w| w.survey_id.as_str())
        .take_while(|w| *w != id)
        .last();
    let comparison = match before {
        Some(before) => comparison_section(
            &surveys::results::compare(
                &state.queries,
                &definition,
                before,
                id,
                team,
                children,
                threshold,
            )
            .await?,
        ),
        None => String::new(),
    };
    let perceived = surveys::results::perceived_vs_measured(
        &state.queries,
        &definition,
        id,
        threshold,
        state.config.devex.clone(),
        state.config.dora.clone(),
    )
    .await?;
    let perceived = perceived_section(
        &serde_json::to_value(&perceived)
            .map_err(|e| crate::error::Error::Internal(e.to_string()))?,
    );
    let body = format!(
        r#"<h1>{title}: {id}</h1>
<p class="muted">Groups with fewer than {threshold} answers are hidden. A group's name opens its teams. <a href="/surveys/{link}">The organisation and its groups</a> · <a href="/surveys">all waves</a>.</p>
{hidden}{groups}{comparison}{perceived}"#,
        title = escape(&results.title),
        id = escape(id),
        link = segment(id),
        threshold = results.threshold,
    );
    Ok(page(&format!("Survey {id}"), &body))
}

async fn wave_page(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Query(params): Query<WaveParams>,
) -> Response {
    page_or_error(
        wave(
            &state,
            &id,
            params.team.as_deref(),
            params.group_by.as_deref(),
        )
        .await,
    )
}

fn page_or_error(result: Result<String>) -> Response {
    match result {
        Ok(body) => Html(body).into_response(),
        Err(error) => super::portal::error_page(error),
    }
}
