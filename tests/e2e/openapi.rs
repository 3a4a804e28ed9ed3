//! The served OpenAPI document against the server's real answers: every
//! documented operation is called (on a 12-month demo lake, with each
//! grouping a report offers) and its JSON must validate against the schema
//! documented for its status, with formats checked and, on every object,
//! no property the schema does not name. A new endpoint without a call here
//! fails the test.

use std::collections::BTreeSet;

use serde_json::{json, Value};

use crate::serve::Server;
use crate::support::*;

const SECRET: &str = "openapi-test-secret";

/// Each documented operation, and the calls that exercise it.
fn calls() -> Vec<(&'static str, &'static str, Vec<String>)> {
    let window = "from=2026-08-01&to=2026-11-01";
    let s = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    vec![
        ("get", "/healthz", s(&["/healthz"])),
        ("get", "/metrics", s(&["/metrics"])),
        ("get", "/api/v1/openapi.json", s(&["/api/v1/openapi.json"])),
        ("get", "/api/v1/tables", s(&["/api/v1/tables"])),
        ("get", "/api/v1/catalog", s(&["/api/v1/catalog"])),
        (
            "get",
            "/api/v1/entities/{kind}/{namespace}/{name}/scorecard",
            s(&[
                "/api/v1/entities/group/default/checkout/scorecard",
                "/api/v1/entities/component/default/checkout-api/scorecard",
            ]),
        ),
        (
            "get",
            "/api/v1/dora",
            vec![
                format!("/api/v1/dora?{window}"),
                format!("/api/v1/dora?{window}&group_by=team"),
                format!("/api/v1/dora?{window}&group_by=none&team=payments"),
                // Too few deployments to grade: insufficient_data.
                "/api/v1/dora?from=2026-10-25&to=2026-11-01&group_by=team".into(),
            ],
        ),
        (
            "get",
            "/api/v1/dora/series",
            vec![
                format!("/api/v1/dora/series?{window}&granularity=month&group_by=team"),
                format!("/api/v1/dora/series?{window}&group_by=none"),
            ],
        ),
        (
            "get",
            "/api/v1/dora/deployments",
            vec![format!("/api/v1/dora/deployments?{window}&team=payments")],
        ),
        (
            "get",
            "/api/v1/devex",
            vec![
                format!("/api/v1/devex?{window}"),
                format!("/api/v1/devex?{window}&group_by=repo"),
                format!("/api/v1/devex?{window}&granularity=month"),
            ],
        ),
        ("get", "/api/v1/space", vec![format!("/api/v1/space?{window}")]),
        (
            "get",
            "/api/v1/compare",
            s(&["/api/v1/compare?metric=pr_cycle_time&a_from=2026-08-01&a_to=2026-09-01&b_from=2026-09-01&b_to=2026-10-01"]),
        ),
        (
            "get",
            "/api/v1/cost",
            ["team", "service", "provider", "provider_service", "month"]
                .iter()
                .map(|g| format!("/api/v1/cost?{window}&group_by={g}"))
                .collect(),
        ),
        (
            "get",
            "/api/v1/cost/lines",
            vec![format!("/api/v1/cost/lines?{window}&limit=20")],
        ),
        (
            "get",
            "/api/v1/adoption",
            vec![
                format!("/api/v1/adoption?{window}&funnels=true&cohorts=true&golden_paths=true"),
                format!("/api/v1/adoption?{window}&group_by=team"),
                format!("/api/v1/adoption?{window}&group_by=feature"),
            ],
        ),
        (
            "get",
            "/api/v1/ai",
            vec![
                format!("/api/v1/ai?{window}&impact=true&rollout=true"),
                format!("/api/v1/ai?{window}&group_by=tool&format=csv"),
            ],
        ),
        (
            "get",
            "/api/v1/onboarding",
            s(&[
                "/api/v1/onboarding?to=2026-11-01",
                "/api/v1/onboarding?to=2026-11-01&group_by=cohort",
            ]),
        ),
        ("post", "/api/v1/events/usage", s(&["/api/v1/events/usage"])),
        ("get", "/api/v1/surveys", s(&["/api/v1/surveys"])),
        (
            "get",
            "/api/v1/surveys/{id}/results",
            s(&[
                "/api/v1/surveys/devex-2026-q3/results",
                "/api/v1/surveys/devex-2026-q3/results?group_by=team",
            ]),
        ),
        (
            "get",
            "/api/v1/surveys/compare",
            s(&["/api/v1/surveys/compare?a=devex-2026-q2&b=devex-2026-q3&group_by=team"]),
        ),
        (
            "get",
            "/api/v1/surveys/{id}/perceived-vs-measured",
            s(&["/api/v1/surveys/devex-2026-q3/perceived-vs-measured"]),
        ),
        ("get", "/api/v1/audit", s(&["/api/v1/audit?limit=50"])),
        ("post", "/api/v1/query", s(&["/api/v1/query"])),
        (
            "post",
            "/webhooks/{source}",
            s(&["/webhooks/github#push", "/webhooks/github#ping"]),
        ),
        // Errors, against the shared error schema.
        ("get", "error", s(&[
            "/api/v1/dora?group_by=colour",
            "/api/v1/dora?team=nobody",
            "/api/v1/surveys/no-such-wave/results",
        ])),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_endpoint_answers_what_its_schema_says() {
    let lake = small_demo_lake("12");
    let server = Server::start_with_env(lake.path(), &[("DEVEX_GITHUB__WEBHOOK_SECRET", SECRET)]);
    let doc: Value = server.get_json("/api/v1/openapi.json").await;
    assert_eq!(doc["openapi"], "3.1.0");
    let strict = strict_components(&doc);

    let documented: BTreeSet<(String, String)> = doc["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .map(move |method| (method.clone(), path.clone()))
        })
        .collect();
    let calls = calls();
    let called: BTreeSet<(String, String)> = calls
        .iter()
        .filter(|(_, path, _)| *path != "error")
        .map(|(m, p, _)| (m.to_string(), p.to_string()))
        .collect();
    assert_eq!(
        documented, called,
        "every documented operation needs a call here, and every call a documented operation"
    );

    let client = reqwest::Client::new();
    let mut checked = 0;
    let mut failures = Vec::new();
    for (method, path, urls) in &calls {
        for url in urls {
            let response = send(&client, &server.base, method, url).await;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default();
            let body = response.text().await.unwrap();
            if *path == "error" {
                assert!(status >= 400, "{url}: {status}");
                let schema = json!({"$ref": "#/components/schemas/ErrorBody"});
                failures.extend(validate(&strict, &schema, url, &body));
                checked += 1;
                continue;
            }
            let operation = &doc["paths"][*path][*method];
            let documented = &operation["responses"][status.to_string()];
            assert!(
                documented.is_object() && (200..300).contains(&status),
                "{method} {url}: status {status} is not a documented success: {body}"
            );
            let media = content_type.split(';').next().unwrap().trim();
            let content = documented["content"]
                .as_object()
                .unwrap_or_else(|| panic!("{url}: no content documented"));
            let schema = content
                .iter()
                .find(|(declared, _)| declared.split(';').next().unwrap().trim() == media)
                .map(|(_, c)| c["schema"].clone())
                .unwrap_or_else(|| panic!("{url}: {content_type} is not documented"));
            if media == "application/json" {
                failures.extend(validate(&strict, &schema, url, &body));
            } else {
                assert_eq!(schema["type"], "string", "{url}");
                assert!(!body.is_empty(), "{url}");
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked >= 40, "{checked}");

    // The check has teeth: an undocumented field inside a flattened group,
    // a missing required one, or a number where money is a string, fails.
    let report = server.get_json("/api/v1/dora?group_by=team").await;
    let schema = &doc["paths"]["/api/v1/dora"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    let mut extra = report.clone();
    extra["groups"][0]["bogus"] = json!(1);
    let mut missing = report.clone();
    missing["overall"]
        .as_object_mut()
        .unwrap()
        .remove("deployments");
    let cost = server.get_json("/api/v1/cost").await;
    let cost_schema = &doc["paths"]["/api/v1/cost"]["get"]["responses"]["200"]["content"]
        ["application/json"]["schema"];
    let mut float_money = cost.clone();
    float_money["total"] = json!(12.5);
    for (name, schema, instance) in [
        ("extra", schema, extra),
        ("missing", schema, missing),
        ("float money", cost_schema, float_money),
    ] {
        let errors = validate(&strict, schema, name, &instance.to_string());
        assert!(!errors.is_empty(), "{name} passed validation");
    }
}

async fn send(client: &reqwest::Client, base: &str, method: &str, url: &str) -> reqwest::Response {
    match (method, url) {
        ("post", "/api/v1/events/usage") => client
            .post(format!("{base}{url}"))
            .json(&json!([{"event_id": "openapi-1", "user": "ada@example.com", "team": "payments",
                "tool": "backstage", "feature": "scaffolder", "at": "2026-10-02T09:00:00Z",
                "outcome": "success"}]))
            .send(),
        ("post", "/api/v1/query") => client
            .post(format!("{base}{url}"))
            .json(&json!({"sql": "SELECT service, count(*) AS deployments, max(finished_at) AS last FROM deployments GROUP BY service ORDER BY service LIMIT 5"}))
            .send(),
        ("post", hook) => {
            let (path, event) = hook.split_once('#').unwrap();
            let body = if event == "push" {
                let mut push: Value = serde_json::from_str(
                    &std::fs::read_to_string(fixture("payloads/drone-go-scm/github/push.json")).unwrap(),
                )
                .unwrap();
                push["repository"]["full_name"] = json!("acme/checkout-api");
                push
            } else {
                json!({"zen": "Design for failure.", "hook_id": 1})
            };
            let body = serde_json::to_vec(&body).unwrap();
            client
                .post(format!("{base}{path}"))
                .header("X-GitHub-Event", event)
                .header("X-GitHub-Delivery", format!("openapi-{event}"))
                .header("X-Hub-Signature-256", crate::webhooks::sign(&body, SECRET))
                .header("Content-Type", "application/json")
                .body(body)
                .send()
        }
        _ => client.get(format!("{base}{url}")).send(),
    }
    .await
    .unwrap()
}

/// The validation errors of `body` against `schema` (resolved within the
/// document's components).
fn validate(components: &Value, schema: &Value, url: &str, body: &str) -> Vec<String> {
    let instance: Value = match serde_json::from_str(body) {
        Ok(v) => v,
        Err(e) => return vec![format!("{url}: not JSON ({e})")],
    };
    let mut root = schema.as_object().cloned().unwrap_or_default();
    root.insert("components".into(), components.clone());
    let validator = jsonschema::draft202012::options()
        .should_validate_formats(true)
        .build(&Value::Object(root))
        .unwrap_or_else(|e| panic!("{url}: the schema does not compile: {e}"));
    validator
        .iter_errors(&instance)
        .take(5)
        .map(|e| format!("{url}: {} at {}", e, e.instance_path()))
        .collect()
}

/// The document's components with every object closed: a property the
/// schema does not name is an error. A schema composed into another
/// (`allOf`, from `#[serde(flatten)]`) stays open; the composing schema is
/// closed instead, which `unevaluatedProperties` sees through.
fn strict_components(doc: &Value) -> Value {
    let mut components = doc["components"].clone();
    let mut composed = BTreeSet::new();
    collect_composed(&components, &mut composed);
    let schemas = components["schemas"].as_object_mut().unwrap();
    for (name, schema) in schemas.iter_mut() {
        if composed.contains(name) {
            continue;
        }
        if schema.get("properties").is_some() || schema.get("allOf").is_some() {
            schema["unevaluatedProperties"] = json!(false);
        }
    }
    components
}

fn collect_composed(value: &Value, out: &mut BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::Array(parts)) = map.get("allOf") {
                for part in parts {
                    if let Some(target) = part["$ref"].as_str() {
                        out.insert(target.rsplit('/').next().unwrap().to_string());
                    }
                }
            }
            map.values().for_each(|v| collect_composed(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| collect_composed(v, out)),
        _ => {}
    }
}
