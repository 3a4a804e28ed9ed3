//! Survey results and comparisons for `devex report survey` and
//! `/api/v1/surveys...`: parameters, the configured definition and
//! threshold, and renderings.

use analytics::LakeQueries;
use serde::Deserialize;
use serde_json::Value;
use surveys::definition::SurveyDefinition;
use surveys::AnonymityThreshold;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{csv_text, OutputFormat};

/// `team` (a group of the hierarchy; default the organisation) and
/// `group_by=team` for its subgroups too.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SurveyParams {
    /// A group of the catalog hierarchy; default the organisation.
    pub team: Option<String>,
    /// `team`: also its subgroups; `none` (default): the group alone.
    #[param(pattern = "^(team|none)$")]
    pub group_by: Option<String>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SurveyCompareParams {
    /// The earlier wave's id (required).
    pub a: Option<String>,
    /// The later wave's id (required).
    pub b: Option<String>,
    /// A group of the catalog hierarchy; default the organisation.
    pub team: Option<String>,
    /// `team`: also its subgroups; `none` (default): the group alone.
    #[param(pattern = "^(team|none)$")]
    pub group_by: Option<String>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

fn children(group_by: Option<&str>) -> Result<bool> {
    match group_by {
        None | Some("") | Some("none") => Ok(false),
        Some("team") => Ok(true),
        Some(other) => Err(Error::invalid_parameter(
            "group_by",
            format!("`{other}` is not one of team, none"),
        )),
    }
}

/// The survey definition and anonymity threshold of the configuration.
pub fn setup(config: &Config) -> Result<(SurveyDefinition, AnonymityThreshold)> {
    let definition = match &config.surveys.definition {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| Error::Io {
                context: format!("cannot read the survey definition {}", path.display()),
                source: e,
            })?;
            SurveyDefinition::parse(&path.display().to_string(), &text)?
        }
        None => SurveyDefinition::devex_quarterly()?,
    };
    let threshold = AnonymityThreshold::new(config.surveys.anonymity_threshold)?;
    Ok((definition, threshold))
}

pub async fn results(
    queries: &LakeQueries,
    config: &Config,
    survey_id: &str,
    params: &SurveyParams,
    format: OutputFormat,
) -> Result<String> {
    let (definition, threshold) = setup(config)?;
    let results = surveys::results::results(
        queries,
        &definition,
        survey_id,
        params.team.as_deref().filter(|t| !t.is_empty()),
        children(params.group_by.as_deref())?,
        threshold,
    )
    .await?;
    let value = serde_json::to_value(&results).map_err(|e| Error::Internal(e.to_string()))?;
    let questions = render(&value, format, "questions")?;
    if format != OutputFormat::Table {
        return Ok(questions);
    }
    Ok(format!("{}\n\n{questions}", headline_table(&results)))
}

/// What a survey owner looks for first, a row per shown group: answers and
/// response rate, eNPS with its split, the 0-100 dimension scores and the
/// comments' count.
fn headline_table(results: &surveys::results::SurveyResults) -> String {
    let mut dimensions: Vec<String> = results
        .groups
        .iter()
        .flat_map(|g| g.dimensions.iter().map(|d| d.dimension.clone()))
        .collect();
    dimensions.sort();
    dimensions.dedup();
    let short = |d: &str| d.split('_').next().unwrap_or(d).to_string();
    let mut headers: Vec<String> = ["group", "answered", "rate", "eNPS", "pro/pas/det %"]
        .map(String::from)
        .to_vec();
    headers.extend(dimensions.iter().map(|d| short(d)));
    headers.push("comments".into());
    let rows: Vec<Vec<String>> = results
        .groups
        .iter()
        .map(|g| {
            let nps = g
                .questions
                .iter()
                .find_map(|q| Some((q.enps?, q.enps_split?)));
            let mut row = vec![
                g.group.clone(),
                g.respondents.to_string(),
                g.response_rate
                    .map_or_else(|| "-".into(), |r| format!("{:.0}%", r * 100.0)),
                nps.map_or_else(|| "-".into(), |(e, _)| format!("{e:+.0}")),
                nps.map_or_else(
                    || "-".into(),
                    |(_, s)| {
                        format!(
                            "{:.0}/{:.0}/{:.0}",
                            s.promoters * 100.0,
                            s.passives * 100.0,
                            s.detractors * 100.0
                        )
                    },
                ),
            ];
            row.extend(dimensions.iter().map(|d| {
                g.dimensions
                    .iter()
                    .find(|x| &x.dimension == d)
                    .map_or_else(|| "-".into(), |x| format!("{:.0}", x.score))
            }));
            row.push(g.comments.len().to_string());
            row
        })
        .collect();
    let hidden = if results.hidden.is_empty() {
        String::new()
    } else {
        format!(
            "\nNot shown (fewer than {} respondents, or revealed by difference): {}",
            results.threshold,
            results
                .hidden
                .iter()
                .map(|h| h.group.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    format!(
        "{} ({}): dimension scores 0-100\n\n{}{hidden}",
        results.title,
        results.survey_id,
        crate::render::text_table(&headers, &rows).trim_end()
    )
}

pub async fn compare(
    queries: &LakeQueries,
    config: &Config,
    params: &SurveyCompareParams,
    format: OutputFormat,
) -> Result<String> {
    let (definition, threshold) = setup(config)?;
    let wave = |name: &'static str, v: &Option<String>| {
        v.clone().filter(|s| !s.is_empty()).ok_or_else(|| {
            Error::invalid_parameter(
                name,
                format!("missing; give a survey id, e.g. {name}=devex-2026-q2"),
            )
        })
    };
    let comparison = surveys::results::compare(
        queries,
        &definition,
        &wave("a", &params.a)?,
        &wave("b", &params.b)?,
        params.team.as_deref().filter(|t| !t.is_empty()),
        children(params.group_by.as_deref())?,
        threshold,
    )
    .await?;
    let value = serde_json::to_value(&comparison).map_err(|e| Error::Internal(e.to_string()))?;
    render(&value, format, "dimensions")
}

fn number(v: &Value) -> String {
    match v {
        Value::Number(n) if n.is_f64() => format!("{:.3}", n.as_f64().unwrap_or_default()),
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// JSON as is; otherwise one row per group and measure (`rows_of` picks the
/// list inside each group), with hidden groups listed after.
fn render(value: &Value, format: OutputFormat, rows_of: &str) -> Result<String> {
    if format == OutputFormat::Json {
        return serde_json::to_string_pretty(value).map_err(|e| Error::Internal(e.to_string()));
    }
    let mut headers: Vec<String> = vec!["group".into()];
    let mut rows = Vec::new();
    for group in value["groups"].as_array().into_iter().flatten() {
        for item in group[rows_of].as_array().into_iter().flatten() {
            let Some(object) = item.as_object() else {
                continue;
            };
            if headers.len() == 1 {
                headers.extend(
                    object
                        .iter()
                        .filter(|(_, v)| !v.is_object())
                        .map(|(k, _)| k.clone()),
                );
            }
            let mut row = vec![number(&group["group"])];
            row.extend(headers[1..].iter().map(|h| match &item[h] {
                Value::Array(items) => items.iter().map(number).collect::<Vec<_>>().join(" .. "),
                v => number(v),
            }));
            rows.push(row);
        }
    }
    let mut out = match format {
        OutputFormat::Csv => csv_text(&headers, &rows)?,
        _ => {
            let widths: Vec<usize> = (0..headers.len())
                .map(|i| {
                    rows.iter()
                        .map(|r| r[i].chars().count())
                        .chain([headers[i].chars().count()])
                        .max()
                        .unwrap_or(0)
                })
                .collect();
            let line = |cells: &[String]| {
                cells
                    .iter()
                    .enumerate()
                    .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
                    .collect::<Vec<_>>()
                    .join("  ")
                    .trim_end()
                    .to_string()
            };
            let mut text = vec![line(&headers)];
            text.extend(rows.iter().map(|r| line(r)));
            text.join("\n") + "\n"
        }
    };
    if format == OutputFormat::Table {
        for hidden in value["hidden"].as_array().into_iter().flatten() {
            out.push_str(&format!(
                "hidden: {} ({})\n",
                number(&hidden["group"]),
                number(&hidden["reason"])
            ));
        }
    }
    Ok(out)
}

/// Perceived (survey dimensions) against measured (DevEx workflow measures)
/// per team, JSON only.
pub async fn perceived_vs_measured(
    queries: &LakeQueries,
    config: &Config,
    survey_id: &str,
    format: OutputFormat,
) -> Result<String> {
    let (definition, threshold) = setup(config)?;
    let view = surveys::results::perceived_vs_measured(
        queries,
        &definition,
        survey_id,
        threshold,
        config.devex.clone(),
        config.dora.clone(),
    )
    .await?;
    let value = serde_json::to_value(&view).map_err(|e| Error::Internal(e.to_string()))?;
    if format == OutputFormat::Json {
        return serde_json::to_string_pretty(&value).map_err(|e| Error::Internal(e.to_string()));
    }
    // A row per shown team: its dimension scores (0-100) beside the
    // workflow measures they speak of.
    let human = format == OutputFormat::Table;
    let mut dimensions: Vec<String> = value["teams"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|team| team["perceived"].as_object())
        .flat_map(|scores| scores.keys().cloned())
        .collect();
    dimensions.sort();
    dimensions.dedup();
    // Short headers for the table, so it fits 120 columns.
    let measures = [
        ("ci_median_minutes", "ci_min", "ci_duration_median_minutes"),
        (
            "pr_cycle_median_hours",
            "cycle_h",
            "pr_cycle_time_median_hours",
        ),
        ("focus_day_share", "focus", "focus_day_share"),
        (
            "context_switches_median",
            "switches",
            "context_switches_median",
        ),
    ];
    let short = |dimension: &str| match dimension {
        "cognitive_load" => "cognitive".to_string(),
        "feedback_loops" => "feedback".to_string(),
        "flow_state" => "flow".to_string(),
        other => other.to_string(),
    };
    let mut headers = vec!["team".to_string(), "respondents".to_string()];
    if human {
        headers.extend(dimensions.iter().map(|d| short(d)));
        headers.extend(measures.iter().map(|(_, h, _)| h.to_string()));
    } else {
        headers.extend(dimensions.iter().cloned());
        headers.extend(measures.iter().map(|(h, _, _)| h.to_string()));
    }
    let rows: Vec<Vec<String>> = value["teams"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|team| {
            let number = |v: &Value, decimals: usize| match v.as_f64() {
                Some(f) if human => format!("{f:.decimals$}"),
                Some(f) => f.to_string(),
                None if human => "-".to_string(),
                None => String::new(),
            };
            let mut row = vec![
                team["team"].as_str().unwrap_or("").to_string(),
                team["respondents"].to_string(),
            ];
            row.extend(dimensions.iter().map(|d| number(&team["perceived"][d], 0)));
            row.extend(
                measures
                    .iter()
                    .map(|(_, _, field)| number(&team["measured"][field], 2)),
            );
            row
        })
        .collect();
    if !human {
        return csv_text(&headers, &rows);
    }
    Ok(format!(
        "Survey {survey_id} scores (0-100) beside measures of {} to {}; teams under {} respondents hidden\n\n{}",
        value["from"].as_str().unwrap_or(""),
        value["to"].as_str().unwrap_or(""),
        value["threshold"],
        crate::render::text_table(&headers, &rows)
    ))
}
