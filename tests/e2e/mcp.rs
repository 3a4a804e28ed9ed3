//! The MCP server, driven by the official SDK's client (`rmcp`): `devex mcp`
//! over stdio as a child process, and `/mcp` on a running server with a
//! viewer token. Its answers are compared with the HTTP API's on the same
//! lake, field for field.

use reqwest::header::AUTHORIZATION;
use rmcp::model::{
    CallToolRequestParams, CallToolResult, GetPromptRequestParams, JsonObject,
    ReadResourceRequestParams, ResourceContents,
};
use rmcp::service::RunningService;
use rmcp::transport::streamable_http_client::StreamableHttpClientTransportConfig;
use rmcp::transport::{StreamableHttpClientTransport, TokioChildProcess};
use rmcp::{RoleClient, ServiceExt};
use serde_json::{json, Value};

use crate::serve::Server;
use crate::support::*;

type Client = RunningService<RoleClient, ()>;

/// Survey groups are all below this: none may be shown.
const HIGH_THRESHOLD: (&str, &str) = ("DEVEX_SURVEYS__ANONYMITY_THRESHOLD", "1000");
const WINDOW: (&str, &str) = ("2026-08-01", "2026-11-01");

async fn stdio_client(lake: &std::path::Path) -> Client {
    let mut command = devex();
    command
        .args(["mcp", "--lake", lake.to_str().unwrap()])
        .env(HIGH_THRESHOLD.0, HIGH_THRESHOLD.1);
    let transport = TokioChildProcess::new(tokio::process::Command::from(command)).unwrap();
    ().serve(transport).await.expect("devex mcp initializes")
}

async fn http_client(server: &Server, token: &str) -> Client {
    let config = StreamableHttpClientTransportConfig::with_uri(format!("{}/mcp", server.base))
        .auth_header(token.to_string());
    ().serve(StreamableHttpClientTransport::from_config(config))
        .await
        .expect("/mcp initializes")
}

fn arguments(value: Value) -> JsonObject {
    value.as_object().unwrap().clone()
}

async fn call(client: &Client, tool: &'static str, args: Value) -> CallToolResult {
    client
        .call_tool(CallToolRequestParams::new(tool).with_arguments(arguments(args)))
        .await
        .unwrap_or_else(|e| panic!("{tool}: {e}"))
}

fn texts(result: &CallToolResult) -> Vec<String> {
    result
        .content
        .iter()
        .filter_map(|c| c.as_text().map(|t| t.text.clone()))
        .collect()
}

async fn api_get(server: &Server, path: &str, token: Option<&str>) -> Value {
    let mut request = reqwest::Client::new().get(format!("{}{path}", server.base));
    if let Some(token) = token {
        request = request.header(AUTHORIZATION, format!("Bearer {token}"));
    }
    let response = request.send().await.unwrap();
    assert!(
        response.status().is_success(),
        "{path}: {}",
        response.status()
    );
    response.json().await.unwrap()
}

/// What both transports must answer as the API does.
async fn answers_as_the_api(client: &Client, server: &Server, token: Option<&str>) {
    let info = client.peer_info().expect("the server said who it is");
    assert_eq!(info.server_info.as_ref().unwrap().name, "devex");

    // tools/list: every tool, read-only, each schema an object of filters.
    let tools = client.list_all_tools().await.unwrap();
    let names: Vec<&str> = tools.iter().map(|t| t.name.as_ref()).collect();
    for expected in [
        "list_teams_services",
        "dora_report",
        "dora_series",
        "deployment_drilldown",
        "devex_report",
        "space_report",
        "compare_periods",
        "survey_waves",
        "survey_results",
        "adoption_report",
        "cost_report",
        "ai_report",
    ] {
        assert!(
            names.contains(&expected),
            "{expected} missing from {names:?}"
        );
    }
    for tool in &tools {
        let annotations = tool.annotations.as_ref().unwrap();
        assert_eq!(annotations.read_only_hint, Some(true), "{}", tool.name);
        assert_eq!(tool.input_schema["type"], "object", "{}", tool.name);
    }
    let dora = tools.iter().find(|t| t.name == "dora_report").unwrap();
    let properties = dora.input_schema["properties"].as_object().unwrap();
    for filter in [
        "from",
        "to",
        "tz",
        "service",
        "team",
        "group_by",
        "environment_pattern",
    ] {
        assert!(
            properties.contains_key(filter),
            "dora_report lacks {filter}"
        );
    }
    assert!(
        !properties.contains_key("format"),
        "tools always answer JSON"
    );

    // resources/list and one definition read back with its source.
    let resources = client.list_all_resources().await.unwrap();
    let uris: Vec<&str> = resources.iter().map(|r| r.uri.as_str()).collect();
    for expected in [
        "devex://definitions/change_lead_times",
        "devex://definitions/dora_summary",
        "devex://dora/levels",
        "devex://surveys/template",
    ] {
        assert!(uris.contains(&expected), "{expected} missing from {uris:?}");
    }
    let read = client
        .read_resource(ReadResourceRequestParams::new(
            "devex://definitions/change_lead_times",
        ))
        .await
        .unwrap();
    let ResourceContents::TextResourceContents { text, .. } = &read.contents[0] else {
        panic!("a definition is text");
    };
    assert!(text.contains("lead time"), "{text}");
    assert!(text.contains("Accelerate State of DevOps Report"), "{text}");

    // dora_report: the API's JSON, after a summary.
    let (from, to) = WINDOW;
    let report = call(
        client,
        "dora_report",
        json!({"from": from, "to": to, "group_by": "team"}),
    )
    .await;
    assert_ne!(report.is_error, Some(true), "{:?}", texts(&report));
    let api = api_get(
        server,
        &format!("/api/v1/dora?from={from}&to={to}&group_by=team"),
        token,
    )
    .await;
    assert_eq!(report.structured_content.as_ref().unwrap(), &api);
    let content = texts(&report);
    assert!(
        content[0].starts_with("DORA, 2026-08-01 to 2026-11-01"),
        "{}",
        content[0]
    );
    assert!(
        content[0].contains(&format!("{} deployments", api["overall"]["deployments"])),
        "{}",
        content[0]
    );
    assert_eq!(serde_json::from_str::<Value>(&content[1]).unwrap(), api);

    // deployment_drilldown: one failed deployment, explained as the API
    // lists it.
    let listed = api_get(
        server,
        &format!("/api/v1/dora/deployments?from={from}&to={to}"),
        token,
    )
    .await;
    let failed = listed["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .rev()
        .find(|d| {
            d["failed"] == true
                && d["team"].is_string()
                && !d["failure_causes"].as_array().unwrap().is_empty()
        })
        .expect("a failed deployment in the window")
        .clone();
    let id = failed["deployment_id"].as_str().unwrap();
    let team = failed["team"].as_str().unwrap();
    let one = call(
        client,
        "deployment_drilldown",
        json!({"from": from, "to": to, "team": team, "deployment": id}),
    )
    .await;
    let answer = one.structured_content.as_ref().unwrap();
    assert_eq!(answer["deployments"], json!([failed]));
    assert_eq!(answer["from"], listed["from"]);
    let summary = &texts(&one)[0];
    assert!(
        summary.starts_with(&format!("Deployment {id} of ")),
        "{summary}"
    );
    assert!(summary.contains("failed: "), "{summary}");

    // A user's mistake: the CLI's message, as a tool error.
    let unknown = call(
        client,
        "dora_report",
        json!({"from": from, "to": to, "team": "nobody"}),
    )
    .await;
    assert_eq!(unknown.is_error, Some(true));
    assert_eq!(
        unknown.structured_content.as_ref().unwrap()["error"]["code"],
        "unknown_team"
    );
    let bad_date = call(client, "dora_report", json!({"from": "2026-13-01"})).await;
    assert_eq!(bad_date.is_error, Some(true));
    assert!(
        texts(&bad_date)[0].contains("2026-13-01"),
        "{:?}",
        texts(&bad_date)
    );

    // Privacy: every group is below the threshold, so no numbers at all.
    let survey = call(
        client,
        "survey_results",
        json!({"survey": "devex-2026-q3", "team": "payments"}),
    )
    .await;
    let answer = survey.structured_content.as_ref().unwrap();
    assert_eq!(answer["groups"], json!([]), "{answer}");
    assert_eq!(answer["hidden"][0]["group"], "payments");
    assert_eq!(
        answer,
        &api_get(
            server,
            "/api/v1/surveys/devex-2026-q3/results?team=payments",
            token
        )
        .await
    );
    let text = texts(&survey).join("\n");
    assert!(text.contains("no group can be shown"), "{text}");
    for number in ["\"respondents\"", "\"dimensions\"", "\"questions\""] {
        assert!(!text.contains(number), "{text}");
    }

    // A prompt calls the tools in order and hands over their answers.
    let prompts = client.list_all_prompts().await.unwrap();
    let prompt_names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(prompt_names, ["weekly_team_review", "explain_change"]);
    let explained = client
        .get_prompt(
            GetPromptRequestParams::new("explain_change").with_arguments(arguments(json!({
                "metric": "change_failure_rate", "team": team,
                "from": "2026-10-01", "to": "2026-11-01"
            }))),
        )
        .await
        .unwrap();
    assert_eq!(explained.messages.len(), 4);
    let steps: Vec<String> = explained
        .messages
        .iter()
        .map(|m| serde_json::to_string(&m.content).unwrap())
        .collect();
    assert!(steps[1].contains("(1) dora_report") && steps[1].contains("2026-08-31"));
    assert!(steps[3].contains("(3) deployment_drilldown"));
    let weekly = client
        .get_prompt(
            GetPromptRequestParams::new("weekly_team_review")
                .with_arguments(arguments(json!({"team": team}))),
        )
        .await
        .unwrap();
    assert_eq!(weekly.messages.len(), 4);
    // A prompt's argument that names nobody is refused with the reason.
    let refused = client
        .get_prompt(
            GetPromptRequestParams::new("weekly_team_review")
                .with_arguments(arguments(json!({"team": "nobody"}))),
        )
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("nobody"), "{refused}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn devex_mcp_over_stdio_answers_as_the_http_api() {
    let lake = demo_lake();
    let server = Server::start_with_env(lake, &[HIGH_THRESHOLD]);
    let client = stdio_client(lake).await;
    answers_as_the_api(&client, &server, None).await;

    // The message and hint are the CLI's own.
    let cli = run(&[
        "report",
        "dora",
        "--lake",
        lake.to_str().unwrap(),
        "--team",
        "nobody",
    ]);
    assert!(!cli.status.success());
    let unknown = call(&client, "dora_report", json!({"team": "nobody"})).await;
    assert_eq!(texts(&unknown)[0].trim(), stderr(&cli).trim());
    client.cancel().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mcp_over_http_needs_a_viewer_token_and_answers_the_same() {
    let lake = small_demo_lake("12");
    let lake_arg = lake.path().to_str().unwrap();
    let token = |role: &str| {
        let output = run(&[
            "token",
            "create",
            "--lake",
            lake_arg,
            "--name",
            role,
            "--role",
            role,
            "--expires",
            "30d",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output).trim().to_string()
    };
    let viewer = token("viewer");
    let ingest = token("ingest");
    let admin = token("admin");
    let server = Server::start_with_env(lake.path(), &[HIGH_THRESHOLD]);

    // Without a token, or with one that may not read: refused before MCP.
    let initialize = json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
        "protocolVersion": "2025-06-18", "capabilities": {},
        "clientInfo": {"name": "e2e", "version": "1"}}});
    let post = |token: Option<&str>| {
        let mut request = reqwest::Client::new()
            .post(format!("{}/mcp", server.base))
            .header("accept", "application/json, text/event-stream")
            .json(&initialize);
        if let Some(token) = token {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        request.send()
    };
    assert_eq!(post(None).await.unwrap().status(), 401);
    assert_eq!(post(Some(&ingest)).await.unwrap().status(), 403);
    assert_eq!(post(Some(&viewer)).await.unwrap().status(), 200);

    let client = http_client(&server, &viewer).await;
    answers_as_the_api(&client, &server, Some(&viewer)).await;
    client.cancel().await.unwrap();

    // The survey view over MCP is on record, as over the API.
    let viewed = |audit: &Value| {
        audit.as_array().unwrap().iter().any(|e| {
            e["action"] == "survey.view"
                && e["actor"] == "viewer"
                && e["target"]
                    .as_str()
                    .is_some_and(|t| t.contains("mcp survey_results survey=devex-2026-q3"))
        })
    };
    let mut audit = Value::Null;
    for _ in 0..20 {
        audit = api_get(&server, "/api/v1/audit?limit=100", Some(&admin)).await;
        if viewed(&audit) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(viewed(&audit), "{audit}");
}
