//! The DevEx and SPACE reports' parameters and renderings, shared by `devex
//! report devex|space`, `devex report compare` and `GET /api/v1/devex`,
//! `/api/v1/space`, `/api/v1/compare`.

use analytics::devex::{self, CompareMetric, DevexRequest};
use analytics::LakeQueries;
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use crate::config::Config;
use crate::error::{Error, Result};
use crate::render::{csv_text, OutputFormat};

/// The parameters, as typed on the command line or in a query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DevexParams {
    /// First day of the window (inclusive); default 90 days before `to`.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub from: Option<String>,
    /// Day after the window (exclusive); default tomorrow.
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub to: Option<String>,
    /// IANA time zone of the window's days (e.g. Europe/Berlin); default UTC.
    pub tz: Option<String>,
    /// Only this team.
    pub team: Option<String>,
    /// Only the repositories of this service (catalog), repository measures only.
    pub service: Option<String>,
    /// Only this repository (owner/name).
    pub repo: Option<String>,
    /// Rows per team (default) or per repository.
    #[param(value_type = Option<analytics::devex::DevexGroupBy>)]
    pub group_by: Option<String>,
    /// Leave Saturdays and Sundays out of pull request phase durations;
    /// default the configured `devex.exclude_weekends`.
    pub exclude_weekends: Option<bool>,
    /// The report per `week` or `month` (a series) instead of per window.
    #[param(value_type = Option<analytics::dora::Granularity>)]
    pub granularity: Option<String>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

impl DevexParams {
    pub fn request(&self, config: &Config) -> Result<DevexRequest> {
        Ok(DevexRequest::parse(
            self.from.as_deref().unwrap_or(""),
            self.to.as_deref().unwrap_or(""),
            self.tz.as_deref(),
            self.team.clone(),
            self.repo.clone(),
            self.group_by.as_deref(),
            analytics::devex::DevexSettings {
                exclude_weekends: self
                    .exclude_weekends
                    .unwrap_or(config.devex.exclude_weekends),
                ..config.devex.clone()
            },
            config.dora.clone(),
        )?)
    }
}

/// `metric`, `team`, `tz`, and the two periods.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams, schemars::JsonSchema)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct CompareParams {
    /// The measure compared (required).
    #[param(value_type = Option<analytics::devex::CompareMetric>)]
    pub metric: Option<String>,
    /// Only this team.
    pub team: Option<String>,
    /// IANA time zone of the window's days (e.g. Europe/Berlin); default UTC.
    pub tz: Option<String>,
    /// First period's first day (required).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub a_from: Option<String>,
    /// Day after the first period (required).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub a_to: Option<String>,
    /// Second period's first day (required).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub b_from: Option<String>,
    /// Day after the second period (required).
    #[param(value_type = Option<chrono::NaiveDate>)]
    pub b_to: Option<String>,
    /// Response format: `json` (the schema below), `csv` or `table` (text).
    #[schemars(skip)]
    #[param(value_type = Option<crate::render::OutputFormat>)]
    pub format: Option<String>,
}

fn date(name: &'static str, value: &Option<String>) -> Result<NaiveDate> {
    Ok(analytics::window::parse_date(
        name,
        value.as_deref().unwrap_or(""),
    )?)
}

/// The JSON of `/api/v1/devex`: the report, or with `granularity` its series.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum DevexJson {
    Report(devex::DevexReport),
    Series(devex::DevexSeries),
}

/// Which report.
#[derive(Debug, Clone, Copy)]
pub enum DevexView {
    Devex,
    Space,
}

pub async fn run(
    queries: &LakeQueries,
    config: &Config,
    params: &DevexParams,
    view: DevexView,
    format: OutputFormat,
) -> Result<String> {
    let mut request = params.request(config)?;
    if let Some(service) = params.service.as_deref().filter(|s| !s.is_empty()) {
        if let DevexView::Space = view {
            return Err(Error::invalid_parameter(
                "service",
                "SPACE measures are per team; service filters apply to /api/v1/devex",
            ));
        }
        request.service = Some(service.to_string());
    }
    if let DevexView::Space = view {
        // SPACE measures are per team: no other grouping, and no weekend
        // rule (they count, they do not time).
        if request.group_by != devex::DevexGroupBy::Team {
            return Err(Error::invalid_parameter(
                "group_by",
                "SPACE measures are per team; group_by=repo applies to /api/v1/devex",
            ));
        }
        if params.exclude_weekends == Some(true) {
            return Err(Error::invalid_parameter(
                "exclude_weekends",
                "SPACE measures count activity, they do not time it; exclude_weekends applies to /api/v1/devex",
            ));
        }
    }
    let granularity = params.granularity.as_deref().filter(|g| !g.is_empty());
    if let (Some(_), DevexView::Space) = (granularity, view) {
        return Err(Error::invalid_parameter(
            "granularity",
            "SPACE measures are per window; series are for the DevEx report (/api/v1/devex)",
        ));
    }
    if let Some(granularity) = granularity {
        let series = devex::series(queries, &request, granularity.parse()?).await?;
        return match format {
            OutputFormat::Json => pretty(&DevexJson::Series(series)),
            OutputFormat::Table => Ok(series_table(&to_value(&series)?)),
            OutputFormat::Csv => {
                // One row per period and group, the period in front.
                let mut rows = Vec::new();
                let mut headers = vec!["period_start".to_string(), "period_end".to_string()];
                for period in &series.periods {
                    for group in &period.groups {
                        let value = to_value(group)?;
                        let object = value.as_object().cloned().unwrap_or_default();
                        if headers.len() == 2 {
                            headers.extend(object.keys().cloned());
                        }
                        let mut row = vec![
                            period.period_start.to_string(),
                            period.period_end.to_string(),
                        ];
                        row.extend(headers[2..].iter().map(|h| cell(&value[h], false)));
                        rows.push(row);
                    }
                }
                csv_text(&headers, &rows)
            }
        };
    }
    let (title, value) = match view {
        DevexView::Devex => (
            "DevEx measures",
            to_value(&devex::report(queries, &request).await?)?,
        ),
        DevexView::Space => (
            "SPACE activity and collaboration",
            to_value(&devex::space(queries, &request).await?)?,
        ),
    };
    render_groups(title, &value, format)
}

pub async fn compare(
    queries: &LakeQueries,
    config: &Config,
    params: &CompareParams,
    format: OutputFormat,
) -> Result<String> {
    let metric: CompareMetric = params
        .metric
        .as_deref()
        .ok_or_else(|| Error::invalid_parameter("metric", "missing; e.g. metric=pr_cycle_time"))?
        .parse()?;
    let tz = match params.tz.as_deref().filter(|t| !t.is_empty()) {
        None => chrono_tz::Tz::UTC,
        Some(name) => analytics::window::parse_tz(name)?,
    };
    let comparison = devex::compare(
        queries,
        metric,
        params.team.clone().filter(|t| !t.is_empty()),
        tz,
        (date("a_from", &params.a_from)?, date("a_to", &params.a_to)?),
        (date("b_from", &params.b_from)?, date("b_to", &params.b_to)?),
        config.devex.clone(),
        config.dora.clone(),
    )
    .await?;
    match format {
        OutputFormat::Json => pretty(&comparison),
        OutputFormat::Table | OutputFormat::Csv => {
            let value = to_value(&comparison)?;
            let mut rows = Vec::new();
            flatten("", &value, &mut rows);
            if format == OutputFormat::Csv {
                let (headers, values): (Vec<String>, Vec<String>) = rows.into_iter().unzip();
                csv_text(&headers, &[values])
            } else {
                Ok(compare_table(&value))
            }
        }
    }
}

fn flatten(prefix: &str, value: &Value, out: &mut Vec<(String, String)>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}_{k}")
                };
                flatten(&key, v, out);
            }
        }
        other => out.push((prefix.to_string(), cell(other, false))),
    }
}

fn to_value(value: &impl serde::Serialize) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

fn pretty(value: &impl serde::Serialize) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| Error::Internal(e.to_string()))
}

/// The headline measures of a series table (every field: CSV or JSON).
const SERIES_TABLE: [(&str, &str, SeriesUnit); 7] = [
    (
        "ci_median",
        "ci_duration_median_minutes",
        SeriesUnit::Minutes,
    ),
    ("ci_queue", "ci_queue_median_minutes", SeriesUnit::Minutes),
    ("flaky", "flaky_rate", SeriesUnit::Share),
    ("pr_cycle", "pr_cycle_time_median_hours", SeriesUnit::Hours),
    ("pickup", "pr_pickup_median_hours", SeriesUnit::Hours),
    ("focus_days", "focus_day_share", SeriesUnit::Share),
    ("switches", "context_switches_median", SeriesUnit::Count),
];

#[derive(Clone, Copy)]
enum SeriesUnit {
    Minutes,
    Hours,
    Share,
    Count,
}

/// A DevEx series as a table: a row per period and group, the headline
/// measures in readable units, partial periods marked.
fn series_table(series: &Value) -> String {
    let group_header = series["group_by"].as_str().unwrap_or("team").to_string();
    let mut headers = vec!["period".to_string(), group_header.clone()];
    headers.extend(SERIES_TABLE.iter().map(|(h, _, _)| h.to_string()));
    let mut rows = Vec::new();
    let mut partial = false;
    for period in series["periods"].as_array().into_iter().flatten() {
        let is_partial = period["partial"].as_bool().unwrap_or(false);
        partial |= is_partial;
        for group in period["groups"].as_array().into_iter().flatten() {
            let mut row = vec![
                format!(
                    "{}{}",
                    cell(&period["period_start"], true),
                    if is_partial { " *" } else { "" }
                ),
                cell(&group[&group_header], true),
            ];
            row.extend(SERIES_TABLE.iter().map(|(_, field, unit)| {
                match (group[*field].as_f64(), unit) {
                    (None, _) => "-".to_string(),
                    (Some(v), SeriesUnit::Minutes) => crate::render::duration_hours(v / 60.0),
                    (Some(v), SeriesUnit::Hours) => crate::render::duration_hours(v),
                    (Some(v), SeriesUnit::Share) => format!("{:.1}%", v * 100.0),
                    (Some(v), SeriesUnit::Count) => crate::render::trim(v),
                }
            }));
            rows.push(row);
        }
    }
    format!(
        "DevEx measures by {} from {} to {} ({}); every field: --format csv or json\n\n{}\n{}",
        cell(&series["granularity"], true),
        cell(&series["from"], true),
        cell(&series["to"], true),
        cell(&series["tz"], true),
        crate::render::text_table(&headers, &rows),
        if partial {
            "* a partial period (cut by the window, or not over yet)\n"
        } else {
            ""
        }
    )
}

/// A comparison as a person reads it: the two periods side by side, the
/// difference with its interval, and the verdict (its p-value to the
/// precision it has).
fn compare_table(value: &Value) -> String {
    let unit = value["unit"].as_str().unwrap_or("");
    let number = |v: &Value| {
        v.as_f64()
            .map_or_else(|| "-".to_string(), |f| format!("{f:.2}"))
    };
    let period = |p: &Value| {
        format!(
            "{} to {}: median {} {unit} (n = {})",
            cell(&p["from"], true),
            cell(&p["to"], true),
            number(&p["median"]),
            cell(&p["n"], true),
        )
    };
    let interval = value["difference_interval"]
        .as_array()
        .filter(|bounds| bounds.len() == 2)
        .map(|bounds| {
            format!(
                " (95% interval {} to {})",
                number(&bounds[0]),
                number(&bounds[1])
            )
        })
        .unwrap_or_default();
    let p_value = match value["p_value"].as_f64() {
        Some(p) if p < 0.001 => "p < 0.001".to_string(),
        Some(p) => format!("p = {p:.3}"),
        None => "no test".to_string(),
    };
    let rows = [
        (
            "metric",
            format!("{} ({unit})", cell(&value["metric"], true)),
        ),
        (
            "team",
            value["team"]
                .as_str()
                .map_or_else(|| "all teams".to_string(), str::to_string),
        ),
        ("before", period(&value["a"])),
        ("after", period(&value["b"])),
        (
            "difference",
            format!("{} {unit}{interval}", number(&value["difference"])),
        ),
        ("test", p_value),
        ("verdict", cell(&value["verdict"], true)),
    ];
    rows.iter()
        .map(|(k, v)| format!("{k:<10}  {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn cell(value: &Value, human: bool) -> String {
    match value {
        Value::Null if human => "-".into(),
        Value::Null => String::new(),
        Value::Number(n) => match (n.as_f64(), n.is_f64(), human) {
            (Some(f), true, true) => format!("{f:.2}"),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Array(items) => items
            .iter()
            .map(|v| cell(v, human))
            .collect::<Vec<_>>()
            .join(" "),
        other => other.to_string(),
    }
}

/// The widest cell of a turned table, in characters.
const CELL_CHARS: usize = 40;

/// A report with `groups`: JSON as is, or one row per group with a column
/// per field.
fn render_groups(title: &str, value: &Value, format: OutputFormat) -> Result<String> {
    if format == OutputFormat::Json {
        return pretty(value);
    }
    let groups = value["groups"].as_array().cloned().unwrap_or_default();
    let headers: Vec<String> = groups
        .first()
        .and_then(Value::as_object)
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let human = format == OutputFormat::Table;
    let rows: Vec<Vec<String>> = groups
        .iter()
        .map(|g| headers.iter().map(|h| cell(&g[h], human)).collect())
        .collect();
    if format == OutputFormat::Csv {
        return csv_text(&headers, &rows);
    }
    // Wide reports read better turned: a row per field, a column per group.
    let mut out = format!(
        "{}\n\n",
        crate::render::wrapped(&format!(
            "{title} {} to {} ({}); people measures need {} developers. {}",
            cell(&value["from"], true),
            cell(&value["to"], true),
            cell(&value["tz"], true),
            cell(&value["min_group_size"], true),
            crate::render::data_as_of(
                serde_json::from_value(value["data_as_of"].clone()).unwrap_or_default()
            )
        ))
    );
    let width = headers.iter().map(|h| h.chars().count()).max().unwrap_or(0);
    let columns: Vec<usize> = (0..rows.len())
        .map(|i| {
            rows[i]
                .iter()
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
                .min(CELL_CHARS)
        })
        .collect();
    // Groups in blocks of columns that fit the table width, one block
    // under the other.
    let mut blocks: Vec<std::ops::Range<usize>> = Vec::new();
    let mut start = 0;
    let mut used = width;
    for (i, column) in columns.iter().enumerate() {
        if used + 2 + column > crate::render::TABLE_WIDTH && i > start {
            blocks.push(start..i);
            start = i;
            used = width;
        }
        used += 2 + column;
    }
    blocks.push(start..rows.len());
    for (b, block) in blocks.iter().enumerate() {
        if b > 0 {
            out.push('\n');
        }
        for (field, header) in headers.iter().enumerate() {
            let mut line = format!("{header:<width$}");
            for i in block.clone() {
                let text = crate::render::truncate(&rows[i][field], CELL_CHARS);
                line.push_str(&format!("  {text:>w$}", w = columns[i]));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    Ok(out)
}
