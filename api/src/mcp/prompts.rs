//! The guided prompts. Each calls the tools in order here, on the server,
//! and returns their answers (summary and JSON) with what to do with them,
//! so the assistant starts from the numbers instead of guessing calls.

use chrono::{Duration, NaiveDate, Utc};
use rmcp::model::{GetPromptResult, JsonObject, Prompt, PromptArgument, PromptMessage, Role};
use rmcp::ErrorData as McpError;
use serde_json::{json, Value};

use super::{summary, tools, Asker, DevexMcp};

/// The DORA keys `explain_change` takes, and what each answer lists.
const METRICS: &[&str] = &[
    "deployment_frequency",
    "lead_time_for_changes",
    "change_failure_rate",
    "failed_deployment_recovery_time",
    "rework_rate",
];

pub fn list() -> Vec<Prompt> {
    let argument = |name: &str, description: &str, required: bool| {
        PromptArgument::new(name)
            .with_description(description)
            .with_required(required)
    };
    vec![
        Prompt::new(
            "weekly_team_review",
            Some("A team's week: its DORA keys per week over the last eight weeks, the deployments that failed in the last seven days with their causes, and its DevEx feedback loops over four weeks, with what to look for."),
            Some(vec![argument("team", "The team (list_teams_services names them).", true)]),
        ),
        Prompt::new(
            "explain_change",
            Some("Why a team's DORA key moved: the team's report for [from, to) beside the period of the same length before it, per service, and the deployments behind the later one (the failed ones for change failure rate and recovery time), to explain the change with its evidence."),
            Some(vec![
                argument("metric", &format!("One of {}.", METRICS.join(", ")), true),
                argument("team", "The team.", true),
                argument("from", "First day of the period to explain (YYYY-MM-DD).", true),
                argument("to", "Day after it (YYYY-MM-DD, exclusive).", true),
            ]),
        ),
    ]
}

pub async fn get(
    server: &DevexMcp,
    name: &str,
    arguments: Option<JsonObject>,
    asker: &Asker,
) -> Result<GetPromptResult, McpError> {
    let arguments = arguments.unwrap_or_default();
    let argument = |key: &str| -> Result<String, McpError> {
        match arguments.get(key).and_then(Value::as_str) {
            Some(value) if !value.trim().is_empty() => Ok(value.trim().to_string()),
            _ => Err(McpError::invalid_params(
                format!("the prompt {name} needs the argument `{key}`"),
                None,
            )),
        }
    };
    match name {
        "weekly_team_review" => weekly_team_review(server, &argument("team")?, asker).await,
        "explain_change" => {
            let metric = argument("metric")?;
            if !METRICS.contains(&metric.as_str()) {
                return Err(McpError::invalid_params(
                    format!("metric `{metric}` is not one of {}", METRICS.join(", ")),
                    None,
                ));
            }
            let from = date("from", &argument("from")?)?;
            let to = date("to", &argument("to")?)?;
            if to <= from {
                return Err(McpError::invalid_params(
                    format!("to ({to}) must be after from ({from})"),
                    None,
                ));
            }
            explain_change(server, &metric, &argument("team")?, from, to, asker).await
        }
        other => Err(McpError::invalid_params(
            format!("no prompt `{other}`; devex has weekly_team_review and explain_change"),
            None,
        )),
    }
}

fn date(key: &str, text: &str) -> Result<NaiveDate, McpError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| {
        McpError::invalid_params(
            format!("{key}: `{text}` is not a date YYYY-MM-DD ({e})"),
            None,
        )
    })
}

async fn weekly_team_review(
    server: &DevexMcp,
    team: &str,
    asker: &Asker,
) -> Result<GetPromptResult, McpError> {
    let to = Utc::now().date_naive() + Duration::days(1);
    let day = |d: NaiveDate| d.to_string();
    let steps = [
        (
            "dora_series",
            json!({"team": team, "group_by": "none", "granularity": "week",
                   "from": day(to - Duration::days(56)), "to": day(to)}),
        ),
        (
            "deployment_drilldown",
            json!({"team": team, "failed_only": true, "limit": 20,
                   "from": day(to - Duration::days(7)), "to": day(to)}),
        ),
        (
            "devex_report",
            json!({"team": team, "from": day(to - Duration::days(28)), "to": day(to)}),
        ),
    ];
    let intro = format!(
        "Review team {team}'s week for its engineering manager. Below are three devex answers, called in order: (1) the team's DORA keys per week over the last eight weeks, (2) the deployments that failed in the last seven days with their causes, (3) its DevEx feedback loops over four weeks. Say what changed against the previous weeks and whether it is getting better, naming partial weeks as such; explain each failed deployment from its causes; point at the slowest feedback loop. Quote numbers as given, with their sample sizes; do not rank or name individual people (devex has none)."
    );
    run_steps(server, intro, &steps, asker).await
}

async fn explain_change(
    server: &DevexMcp,
    metric: &str,
    team: &str,
    from: NaiveDate,
    to: NaiveDate,
    asker: &Asker,
) -> Result<GetPromptResult, McpError> {
    let before = from - (to - from);
    let failures = matches!(
        metric,
        "change_failure_rate" | "failed_deployment_recovery_time"
    );
    let window = |a: NaiveDate, b: NaiveDate| json!({"team": team, "group_by": "service", "from": a.to_string(), "to": b.to_string()});
    let mut drilldown =
        json!({"team": team, "from": from.to_string(), "to": to.to_string(), "limit": 50});
    if failures {
        drilldown["failed_only"] = json!(true);
    }
    let steps = [
        ("dora_report", window(before, from)),
        ("dora_report", window(from, to)),
        ("deployment_drilldown", drilldown),
    ];
    let intro = format!(
        "Explain why team {team}'s {metric} changed between {before}..{from} and {from}..{to} (windows are [from, to)). Below are three devex answers, called in order: (1) the team's DORA report per service for the earlier period, (2) the same for the later period, (3) the deployments of the later period{}. Compare the two overall values of {metric} and their levels, name the services that moved it most, and cite the deployments{} behind the change by id. If a sample is too small to grade, say that the change may be noise. The definition of each key is the resource devex://definitions/dora_summary.",
        if failures { " that failed, with their incidents and rollbacks" } else { "" },
        if failures { " and incidents" } else { "" },
    );
    run_steps(server, intro, &steps, asker).await
}

/// The prompt's messages: the instructions, then each tool's answer.
async fn run_steps(
    server: &DevexMcp,
    intro: String,
    steps: &[(&str, Value)],
    asker: &Asker,
) -> Result<GetPromptResult, McpError> {
    let mut messages = vec![PromptMessage::new_text(Role::User, intro)];
    for (number, (tool, arguments)) in steps.iter().enumerate() {
        let answer = tools::run(server, tool, arguments.clone(), asker)
            .await
            .map_err(|e| {
                let mut message = e.to_string();
                if let Some(hint) = e.hint() {
                    message.push_str(&format!("; hint: {hint}"));
                }
                McpError::invalid_params(message, None)
            })?;
        messages.push(PromptMessage::new_text(
            Role::User,
            format!(
                "({}) {tool} {arguments}\n{}\n{}",
                number + 1,
                summary::of(tool, &answer),
                serde_json::to_string(&answer).unwrap_or_default()
            ),
        ));
    }
    Ok(GetPromptResult::new(messages))
}
