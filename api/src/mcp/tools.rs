//! The tools: each takes the API's own filters (the same parameter struct,
//! so the input schema cannot drift from `/api/v1`), calls the same report
//! function, and answers a short text summary, then the API's JSON (also as
//! structured content). A user's mistake is a tool error with the CLI's
//! message and hint.

use std::sync::Arc;

use rmcp::model::{CallToolResult, ContentBlock, JsonObject, Tool, ToolAnnotations};
use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{summary, Asker, DevexMcp};
use crate::error::{Error, Result};
use crate::render::OutputFormat;
use crate::reports::adoption::AdoptionParams;
use crate::reports::ai::AiParams;
use crate::reports::cost::CostParams;
use crate::reports::devex::{CompareParams, DevexParams, DevexView};
use crate::reports::dora::{DoraParams, DoraView};
use crate::reports::onboarding::OnboardingParams;

/// No arguments.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoArguments {}

/// `deployment_drilldown`: the DORA filters, and which deployments to list.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(default)]
pub struct DrilldownArguments {
    /// One deployment's id: only it, explained (it must be a production
    /// deployment in the window).
    pub deployment: Option<String>,
    /// Only the deployments that failed (an attributed incident or a
    /// rollback): the rows behind the change failure rate.
    pub failed_only: Option<bool>,
    /// At most this many deployments, newest first (default 100); the
    /// summary says how many there were.
    pub limit: Option<usize>,
    #[serde(flatten)]
    pub filters: DoraParams,
}

/// `survey_results`: a wave and the group to show.
#[derive(Debug, Default, serde::Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SurveyArguments {
    /// The wave's id (`survey_waves` lists them).
    pub survey: String,
    /// A group of the catalog hierarchy; default the organisation.
    pub team: Option<String>,
    /// `team`: also its subgroups; `none` (default): the group alone.
    pub group_by: Option<String>,
}

impl DrilldownArguments {
    /// Serde's `flatten` lets unknown names through, so the filters are
    /// parsed again on their own (they refuse a name they do not know).
    fn parse(arguments: Value) -> Result<DrilldownArguments> {
        let mut filters = arguments.clone();
        if let Some(object) = filters.as_object_mut() {
            for own in ["deployment", "failed_only", "limit"] {
                object.remove(own);
            }
        }
        let filters: DoraParams = parse(filters)?;
        let mut parsed: DrilldownArguments = parse(arguments)?;
        parsed.filters = filters;
        Ok(parsed)
    }
}

/// Deployments a drill-down answer lists unless told otherwise.
const DEFAULT_DRILLDOWN_LIMIT: usize = 100;

/// Every tool, in the order an assistant would meet them.
const TOOLS: &[(&str, &str)] = &[
    ("list_teams_services", "The teams and services devex knows (the names every filter accepts): each team with its parent group and the services it owns now; each service with its current owner. The same JSON as GET /api/v1/catalog."),
    ("dora_report", "The five DORA keys over a window [from, to): deployment frequency (production deployments per week), lead time for changes (median and p90 hours from a change's first commit to its production deployment), change failure rate (share of counted deployments followed by an attributed incident or a rollback), failed deployment recovery time (median hours to the next good deployment) and rework rate, per service or team and overall, each graded elite/high/medium/low against the DORA report's levels (insufficient_data below the minimum sample). Redeploys and rollbacks are not counted as deployments; a deployment counts for the team that owned its service then. The same JSON as GET /api/v1/dora."),
    ("dora_series", "The DORA keys per week or month (granularity), per group; a period cut by the window or still running is partial and not graded. Use it to see whether a team is getting better. The same JSON as GET /api/v1/dora/series."),
    ("deployment_drilldown", "The production deployments behind the DORA numbers, each explained: its class (counted, redeploy, rollback), its changes with lead times, why it failed (incidents with how they were attributed, rollbacks) and when it recovered. Give `deployment` for one, or `failed_only` to see what drove a change failure rate. The same JSON as GET /api/v1/dora/deployments."),
    ("devex_report", "DevEx feedback loops, context switches and flow per team (or repository, or service): CI duration and wait, pull request review and cycle times, focus blocks, each with its sample size; groups below the minimum size are not shown. With granularity, a series. The same JSON as GET /api/v1/devex."),
    ("space_report", "SPACE activity and collaboration per team over the window (pull requests, reviews, review spread), for groups at or above the minimum size. The same JSON as GET /api/v1/space."),
    ("compare_periods", "Compares one measure between two periods a and b: both medians, the difference with its 95% interval, the Mann-Whitney U p-value and a verdict (better, worse, no clear change). The same JSON as GET /api/v1/compare."),
    ("survey_waves", "The developer-survey waves in the lake, with respondents and dates: the ids survey_results takes. The same JSON as GET /api/v1/surveys."),
    ("survey_results", "A survey wave's results for a group (default the organisation) and, with group_by=team, its subgroups: answers, response rate, eNPS, the 0-100 dimension scores. A group below the anonymity threshold, or one whose numbers could be worked out by difference, is listed as hidden with no numbers. The same JSON as GET /api/v1/surveys/{id}/results."),
    ("adoption_report", "Platform adoption: weekly users of each internal tool and feature, reach among active developers and retention, per team at or above the minimum group size. The same JSON as GET /api/v1/adoption."),
    ("onboarding_report", "Onboarding: time for new developers to their first, fifth and tenth pull request and first deployment, per cohort and team at or above the minimum group size. The same JSON as GET /api/v1/onboarding."),
    ("cost_report", "Cloud and tool cost attributed to teams and services (decimal, to the cent; unattributed cost shown as such), with cost per deployment where deployments exist. The same JSON as GET /api/v1/cost."),
    ("ai_report", "AI coding assistants: seats, active use and cost per team (never per person), and the delivery measures of pull requests with and without assistance, for groups at or above the minimum size. The same JSON as GET /api/v1/ai."),
];

/// The tools with their input schemas.
pub fn list() -> Vec<Tool> {
    TOOLS
        .iter()
        .map(|(name, description)| {
            let schema = match *name {
                "dora_report" | "dora_series" => schema::<DoraParams>(),
                "deployment_drilldown" => schema::<DrilldownArguments>(),
                "devex_report" | "space_report" => schema::<DevexParams>(),
                "compare_periods" => schema::<CompareParams>(),
                "survey_results" => schema::<SurveyArguments>(),
                "adoption_report" => schema::<AdoptionParams>(),
                "onboarding_report" => schema::<OnboardingParams>(),
                "cost_report" => schema::<CostParams>(),
                "ai_report" => schema::<AiParams>(),
                _ => schema::<NoArguments>(),
            };
            Tool::new(*name, *description, schema).with_annotations(
                ToolAnnotations::new()
                    .read_only(true)
                    .destructive(false)
                    .idempotent(true)
                    .open_world(false),
            )
        })
        .collect()
}

fn schema<T: JsonSchema>() -> Arc<JsonObject> {
    let mut schema = match serde_json::to_value(schemars::schema_for!(T)) {
        Ok(Value::Object(object)) => object,
        _ => JsonObject::new(),
    };
    schema.remove("$schema");
    schema.insert("type".into(), Value::String("object".into()));
    Arc::new(schema)
}

/// Runs a tool; every failure is a tool error the assistant can read.
pub async fn call(
    server: &DevexMcp,
    name: &str,
    arguments: Option<JsonObject>,
    asker: &Asker,
) -> CallToolResult {
    let arguments = Value::Object(arguments.unwrap_or_default());
    match run(server, name, arguments, asker).await {
        Ok(json) => answer(name, json),
        Err(error) => failure(&error, asker),
    }
}

/// The API's JSON of a tool's answer.
pub async fn run(server: &DevexMcp, name: &str, arguments: Value, asker: &Asker) -> Result<Value> {
    let queries = &server.queries;
    let config = &server.config;
    let json = OutputFormat::Json;
    let text = match name {
        "list_teams_services" => {
            parse::<NoArguments>(arguments)?;
            return to_value(&crate::reports::catalog::teams_and_services(queries).await?);
        }
        "dora_report" | "dora_series" => {
            let view = if name == "dora_report" {
                DoraView::Report
            } else {
                DoraView::Series
            };
            crate::reports::dora::run(queries, config, &parse(arguments)?, view, json).await?
        }
        "deployment_drilldown" => {
            return drilldown(server, DrilldownArguments::parse(arguments)?).await
        }
        "devex_report" | "space_report" => {
            let view = if name == "devex_report" {
                DevexView::Devex
            } else {
                DevexView::Space
            };
            crate::reports::devex::run(queries, config, &parse(arguments)?, view, json).await?
        }
        "compare_periods" => {
            crate::reports::devex::compare(queries, config, &parse(arguments)?, json).await?
        }
        "survey_waves" => {
            parse::<NoArguments>(arguments)?;
            let surveys = surveys::results::waves(queries).await?;
            return Ok(serde_json::json!({ "surveys": surveys }));
        }
        "survey_results" => {
            let arguments: SurveyArguments = parse(arguments)?;
            if arguments.survey.is_empty() {
                return Err(Error::invalid_parameter(
                    "survey",
                    "name a wave; survey_waves lists them",
                ));
            }
            if let Some(guard) = &server.guard {
                let target = format!(
                    "mcp survey_results survey={} team={} group_by={}",
                    arguments.survey,
                    arguments.team.as_deref().unwrap_or(""),
                    arguments.group_by.as_deref().unwrap_or("")
                );
                guard
                    .record_view(asker.caller.as_deref(), &target, asker.origin.as_deref())
                    .await;
            }
            let params = crate::reports::surveys::SurveyParams {
                team: arguments.team,
                group_by: arguments.group_by,
                format: None,
            };
            crate::reports::surveys::results(queries, config, &arguments.survey, &params, json)
                .await?
        }
        "adoption_report" => {
            crate::reports::adoption::run(queries, config, &parse(arguments)?, json).await?
        }
        "onboarding_report" => {
            crate::reports::onboarding::run(queries, config, &parse(arguments)?, json).await?
        }
        "cost_report" => {
            crate::reports::cost::run(queries, config, &parse(arguments)?, json).await?
        }
        "ai_report" => crate::reports::ai::run(queries, config, &parse(arguments)?, json).await?,
        other => {
            let known: Vec<&str> = TOOLS.iter().map(|(name, _)| *name).collect();
            return Err(Error::NotFound(format!(
                "no tool `{other}`; devex has {}",
                known.join(", ")
            )));
        }
    };
    serde_json::from_str(&text).map_err(|e| Error::Internal(format!("a report's JSON: {e}")))
}

/// The drill-down, narrowed to one deployment or the failed ones, newest
/// first, at most `limit` of them.
async fn drilldown(server: &DevexMcp, arguments: DrilldownArguments) -> Result<Value> {
    let text = crate::reports::dora::run(
        &server.queries,
        &server.config,
        &arguments.filters,
        DoraView::Deployments,
        OutputFormat::Json,
    )
    .await?;
    let mut report: Value = serde_json::from_str(&text)
        .map_err(|e| Error::Internal(format!("drill-down JSON: {e}")))?;
    let Some(deployments) = report.get_mut("deployments").and_then(Value::as_array_mut) else {
        return Ok(report);
    };
    if let Some(wanted) = arguments.deployment.as_deref().filter(|d| !d.is_empty()) {
        deployments.retain(|d| d["deployment_id"] == wanted);
        if deployments.is_empty() {
            analytics::catalog::check_known(
                &server.queries,
                analytics::NameKind::Deployment,
                wanted,
            )
            .await?;
            return Err(Error::invalid_parameter(
                "deployment",
                format!(
                    "`{wanted}` is not a production deployment between {} and {}; widen from/to around its date, or check environment_pattern",
                    report["from"].as_str().unwrap_or("?"),
                    report["to"].as_str().unwrap_or("?"),
                ),
            ));
        }
    }
    if arguments.failed_only == Some(true) {
        deployments.retain(|d| d["failed"] == true);
    }
    // Newest first: what an assistant most likely asks about.
    deployments.reverse();
    let total = deployments.len();
    let limit = arguments.limit.unwrap_or(DEFAULT_DRILLDOWN_LIMIT).max(1);
    if total > limit {
        deployments.truncate(limit);
        report["truncated"] = serde_json::json!({ "shown": limit, "total": total });
    }
    Ok(report)
}

fn parse<T: DeserializeOwned>(arguments: Value) -> Result<T> {
    serde_json::from_value(arguments).map_err(|e| {
        Error::InvalidQueryString(format!(
            "the tool's arguments: {e}; its input schema lists the filters it takes"
        ))
    })
}

fn to_value<T: serde::Serialize>(value: &T) -> Result<Value> {
    serde_json::to_value(value).map_err(|e| Error::Internal(e.to_string()))
}

/// The answer: a short summary, then the API's JSON.
fn answer(name: &str, json: Value) -> CallToolResult {
    let text = serde_json::to_string_pretty(&json).unwrap_or_default();
    let mut result = CallToolResult::success(vec![
        ContentBlock::text(summary::of(name, &json)),
        ContentBlock::text(text),
    ]);
    result.structured_content = Some(json);
    result
}

/// A tool error with the CLI's message and hint, and the API's stable code.
/// Over HTTP, a fault of the machine is answered as the API answers it.
fn failure(error: &Error, asker: &Asker) -> CallToolResult {
    let over_http = asker.over_http;
    let code = error.code();
    let message = if !over_http || error.is_public() {
        error.to_string()
    } else {
        "internal error; the server log has the details".to_string()
    };
    if error.status().is_server_error() {
        tracing::error!(error = %error, code, "An MCP tool call failed.");
    }
    let mut text = format!("devex: {message}");
    if let Some(hint) = error.hint() {
        text.push_str(&format!("\nhint: {hint}"));
    }
    let mut result = CallToolResult::error(vec![ContentBlock::text(text)]);
    let mut detail = serde_json::json!({ "code": code, "message": message });
    if let Some(parameter) = error.parameter() {
        detail["parameter"] = Value::String(parameter.to_string());
    }
    result.structured_content = Some(serde_json::json!({ "error": detail }));
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_tool_has_an_object_schema_of_the_api_filters_and_no_format() {
        let tools = list();
        assert_eq!(tools.len(), TOOLS.len());
        for tool in &tools {
            assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
            let properties = tool.input_schema.get("properties");
            assert!(
                properties.is_none_or(|p| p.get("format").is_none()),
                "{} offers format",
                tool.name
            );
        }
        let drilldown = tools
            .iter()
            .find(|t| t.name == "deployment_drilldown")
            .unwrap();
        let properties = drilldown.input_schema["properties"].as_object().unwrap();
        for key in [
            "deployment",
            "failed_only",
            "limit",
            "from",
            "to",
            "team",
            "service",
        ] {
            assert!(properties.contains_key(key), "drill-down lacks {key}");
        }
    }

    #[test]
    fn drilldown_arguments_take_the_dora_filters_and_refuse_others() {
        let parsed = DrilldownArguments::parse(serde_json::json!({
            "deployment": "d-1", "team": "payments", "from": "2026-10-01"
        }))
        .unwrap();
        assert_eq!(parsed.deployment.as_deref(), Some("d-1"));
        assert_eq!(parsed.filters.team.as_deref(), Some("payments"));
        assert_eq!(parsed.filters.from.as_deref(), Some("2026-10-01"));
        let wrong = DrilldownArguments::parse(serde_json::json!({"colour": "red"}));
        assert!(wrong.unwrap_err().to_string().contains("colour"));
        let wrong = parse::<DoraParams>(serde_json::json!({"team": 7}));
        assert!(wrong.is_err());
    }
}
