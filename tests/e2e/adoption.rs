//! Platform usage events pushed to `devex serve` (`POST
//! /api/v1/events/usage`): stored durably and once, refused whole when one
//! event is bad, and counted by the adoption report.

use serde_json::json;

use crate::serve::Server;
use crate::sources::post;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_events_are_stored_once_and_counted() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start(lake.path(), false);
    let events = json!([
        {"event_id": "e1", "user": "ana@example.com", "team": "payments", "tool": "portal", "feature": "catalog", "at": "2026-11-02T09:00:00Z", "outcome": "success"},
        {"event_id": "e2", "user": "ana@example.com", "team": "payments", "tool": "cli", "feature": "scaffold", "at": "2026-11-03T09:00:00Z"},
        {"user": "bo@example.com", "team": "payments", "tool": "portal", "feature": "docs", "at": "2026-11-03T10:00:00Z", "outcome": "abandoned"}
    ]);
    let body = serde_json::to_vec(&events).unwrap();
    let (status, answer) = post(&server, "/api/v1/events/usage", &[], body.clone()).await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer, json!({"received": 3, "stored": 3, "duplicates": 0}));
    // A redelivery (with or without event ids) is stored once.
    let (_, again) = post(&server, "/api/v1/events/usage", &[], body).await;
    assert_eq!(again, json!({"received": 3, "stored": 0, "duplicates": 3}));
    // One bad event refuses the delivery, naming it; nothing of it is kept.
    let bad = json!([
        {"user": "cy@example.com", "tool": "portal", "feature": "catalog", "at": "2026-11-04T09:00:00Z"},
        {"user": "cy@example.com", "tool": "portal", "feature": "catalog", "at": "last tuesday"}
    ]);
    let (status, refused) = post(
        &server,
        "/api/v1/events/usage",
        &[],
        serde_json::to_vec(&bad).unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    let message = refused["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("events[1].at: `last tuesday`"),
        "{message}"
    );
    let (status, _) = post(&server, "/api/v1/events/usage", &[], b"{not json".to_vec()).await;
    assert_eq!(status, 400);
    // The report counts the stored events: two users, three events.
    let report = server
        .get_json("/api/v1/adoption?from=2026-11-01&to=2026-11-08&group_by=tool")
        .await;
    assert_eq!(report["overall"]["active_users"], 2, "{report}");
    assert_eq!(report["overall"]["events"], 3);
    let portal = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["tool"] == "portal")
        .unwrap();
    assert_eq!(portal["active_users"], 2);
    assert!(server.terminate().success());
    // Stored as pseudonyms only.
    let users = query_json(lake.path(), "SELECT DISTINCT \"user\" FROM platform_usage");
    assert_eq!(users.as_array().unwrap().len(), 2);
    assert!(!users.to_string().contains('@'), "{users}");
}

fn group<'a>(report: &'a serde_json::Value, key: &str, name: &str) -> &'a serde_json::Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g[key] == name)
        .unwrap_or_else(|| panic!("no {key} {name} in {report}"))
}

/// The demo's story, read through the CLI and the API: adoption rises in
/// the adopting teams and not in the others; six developers join every
/// month, and the teams on the golden path get them to a first merge faster.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_tells_the_adoption_and_onboarding_story() {
    let lake = demo_lake().to_str().unwrap();
    let adoption = |from: &str, to: &str| {
        run_json(&[
            "report",
            "adoption",
            "--lake",
            lake,
            "--from",
            from,
            "--to",
            to,
            "--group-by",
            "team",
        ])
    };
    let (early, late) = (
        adoption("2025-11-01", "2026-01-01"),
        adoption("2026-09-01", "2026-11-01"),
    );
    let share = |report: &serde_json::Value, team: &str| {
        group(report, "team", team)["adoption"].as_f64().unwrap()
    };
    assert!(share(&late, "checkout") > share(&early, "checkout") + 0.3);
    assert!(share(&late, "search") < 0.6, "{late}");

    // The default funnel narrows step by step; cohorts start at 100%.
    let extras = run_json(&[
        "report",
        "adoption",
        "--lake",
        lake,
        "--from",
        "2026-05-01",
        "--to",
        "2026-11-01",
        "--funnels",
        "--cohorts",
    ]);
    let steps = extras["funnels"][0]["steps"].as_array().unwrap();
    assert_eq!(extras["funnels"][0]["funnel"], "new-service");
    assert_eq!(steps[0]["step"], "template:scaffold-service");
    let users: Vec<u64> = steps.iter().map(|s| s["users"].as_u64().unwrap()).collect();
    assert!(
        users[0] > users[1] && users[1] > users[2] && users[2] > 0,
        "{users:?}"
    );
    // Adopting teams moved to the golden-path pipeline; search did not.
    let paths = run_json(&[
        "report",
        "adoption",
        "--lake",
        lake,
        "--from",
        "2026-05-01",
        "--to",
        "2026-11-01",
        "--golden-paths",
    ]);
    let team_paths = |team: &str| {
        paths["golden_paths"]["teams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["team"] == team)
            .unwrap_or_else(|| panic!("no {team} in {paths}"))
            .clone()
    };
    assert!(
        team_paths("checkout")["pipeline_share"].as_f64().unwrap() > 0.9,
        "{paths}"
    );
    assert_eq!(team_paths("search")["pipeline_share"], 0.0);
    let overall = &paths["golden_paths"]["overall"];
    assert!(
        overall["services_created"].as_u64().unwrap() >= 10,
        "{overall}"
    );
    assert!(overall["services_from_template"].as_u64() < overall["services_created"].as_u64());
    let cohorts = extras["cohorts"].as_array().unwrap();
    assert_eq!(cohorts[0]["cohort"], "2026-05");
    for cohort in cohorts.iter().filter(|c| c["users"].is_u64()) {
        assert_eq!(cohort["retention"][0], 1.0, "{cohort}");
    }

    let onboarding = run_json(&[
        "report",
        "onboarding",
        "--lake",
        lake,
        "--from",
        "2025-11-01",
        "--to",
        "2026-11-01",
    ]);
    // Founders come from the catalog's first import: only hires are new.
    assert_eq!(onboarding["overall"]["new_developers"], 66, "{onboarding}");
    for g in onboarding["groups"].as_array().unwrap() {
        match g["new_developers"].as_u64() {
            Some(n) => {
                assert!(n >= 5, "{g}");
                for milestone in [
                    "first_merged_pr_days",
                    "first_production_change_days",
                    "tenth_merged_pr_days",
                ] {
                    let reached = g[format!("{milestone}_n")].as_u64().unwrap();
                    let waiting = g[format!("{milestone}_not_yet_reached")].as_u64().unwrap();
                    assert_eq!(reached + waiting, n, "{g}");
                }
            }
            None => assert!(g["hidden_reason"].is_string(), "{g}"),
        }
    }
    let first_merge = |team: &str| {
        group(&onboarding, "team", team)["first_merged_pr_days_median"]
            .as_f64()
            .unwrap()
    };
    assert!(
        first_merge("checkout") < first_merge("search"),
        "{onboarding}"
    );
    // The groups above the teams count their developers.
    assert_eq!(
        group(&onboarding, "team", "product")["parent"],
        serde_json::Value::Null
    );
    assert_eq!(group(&onboarding, "team", "checkout")["parent"], "product");

    // The API answers the same JSON, by cohort too.
    let server = Server::start(demo_lake(), false);
    let api = server
        .get_json("/api/v1/onboarding?from=2025-11-01&to=2026-11-01")
        .await;
    assert_eq!(api, onboarding);
    let cohorts = server
        .get_json("/api/v1/onboarding?from=2025-11-01&to=2026-11-01&group_by=cohort")
        .await;
    assert_eq!(cohorts["group_by"], "cohort");
    assert!(group(&cohorts, "cohort", "2026-03")["new_developers"].as_u64() >= Some(5));
    let api_extras = server
        .get_json("/api/v1/adoption?from=2026-05-01&to=2026-11-01&funnels=true&cohorts=true")
        .await;
    assert_eq!(api_extras, extras);
    let (status, body) = server.get("/api/v1/adoption?funnels=true&format=csv").await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = server.get("/api/v1/onboarding?group_by=person").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("team, cohort"), "{body}");
    assert!(server.terminate().success());
}

/// Backstage analytics events posted by an analytics module: the plugin is
/// the tool and `action:subject` the feature unless the mapping says
/// otherwise; users known to the catalog get its id and team; a redelivery
/// stores nothing; a bad event refuses the delivery.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backstage_analytics_events_become_platform_usage() {
    let lake = tempfile::tempdir().unwrap();
    let group = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/payloads/backstage/backstage-backstage/team-a-group.yaml");
    let imported = run(&[
        "import",
        "catalog",
        group.to_str().unwrap(),
        "--lake",
        lake.path().to_str().unwrap(),
    ]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    let server = Server::start_with_env(
        lake.path(),
        &[
            ("BACKSTAGE_ANALYTICS_TOKEN", "ba-token"),
            (
                "DEVEX_BACKSTAGE_ANALYTICS__MAPPING",
                r#"[{pluginId="scaffolder", action="create", tool="template", feature="scaffold-service"}, {action="navigate", skip=true}]"#,
            ),
        ],
    );
    let send = |body: serde_json::Value, token: &'static str, request: &'static str| {
        let server = &server;
        async move {
            post(
                server,
                "/webhooks/backstage-analytics",
                &[
                    ("Authorization", format!("Bearer {token}")),
                    ("Content-Type", "application/json".into()),
                    ("X-Request-Id", request.into()),
                ],
                serde_json::to_vec(&body).unwrap(),
            )
            .await
        }
    };
    let batch = json!({"events": [
        {"action": "create", "subject": "template:default/node-service",
         "context": {"pluginId": "scaffolder", "routeRef": "scaffolder", "extension": "App"},
         "user": "user:default/janelle.dawe", "timestamp": "2026-11-02T09:00:00Z"},
        {"action": "click", "subject": "Run CI", "value": 1,
         "attributes": {"to": "/ci"},
         "context": {"pluginId": "github-actions", "routeRef": "entity-content", "extension": "EntityGithubActionsContent"},
         "user": "user:default/janelle.dawe", "timestamp": "2026-11-02T10:00:00Z"},
        {"action": "navigate", "subject": "/catalog",
         "context": {"pluginId": "catalog", "routeRef": "catalog:index"},
         "user": "user:default/nigel.manning", "timestamp": "2026-11-02T11:00:00Z"},
        {"action": "search", "subject": "payments",
         "context": {"pluginId": "search", "routeRef": "search"},
         "userEntityRef": "user:default/someone-new"}
    ]});
    let (status, _) = send(batch.clone(), "wrong", "r1").await;
    assert_eq!(status, 401);
    let (status, answer) = send(batch.clone(), "ba-token", "r1").await;
    assert_eq!(
        (status, answer["stored"].as_u64()),
        (200, Some(3)),
        "{answer}"
    );
    // The same delivery again stores nothing.
    let (status, answer) = send(batch, "ba-token", "r1").await;
    assert_eq!(
        (status, answer["duplicates"].as_u64()),
        (200, Some(3)),
        "{answer}"
    );
    // One event without its plugin refuses the whole delivery.
    let bad = json!([
        {"action": "click", "subject": "x", "context": {"pluginId": "p"}, "user": "user:default/guest"},
        {"action": "click", "subject": "y", "context": {}, "user": "user:default/guest"}
    ]);
    let (status, answer) = send(bad, "ba-token", "r2").await;
    assert_eq!(status, 400, "{answer}");
    let message = answer["error"]["message"].as_str().unwrap();
    assert!(
        message.contains("events[1].context.pluginId is missing"),
        "{message}"
    );
    assert!(server.terminate().success());

    let rows = query_json(
        lake.path(),
        "SELECT tool, feature, team FROM platform_usage ORDER BY tool",
    );
    assert_eq!(
        rows,
        json!([
            {"tool": "github-actions", "feature": "click:Run CI", "team": "team-a"},
            {"tool": "search", "feature": "search:payments", "team": null},
            {"tool": "template", "feature": "scaffold-service", "team": "team-a"}
        ])
    );
    // Janelle is the developer the catalog knows, under its id for her.
    let same = query_json(
        lake.path(),
        "SELECT count(*) AS n FROM platform_usage u JOIN team_members m ON m.developer = u.\"user\"",
    );
    assert_eq!(same[0]["n"], 2, "{same}");
}
