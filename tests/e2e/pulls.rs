//! `devex ingest gitlab|pagerduty|backstage` against fakes of the tools'
//! REST APIs on 127.0.0.1 (wiremock), in their real shapes: complete,
//! repeatable, the rows their webhooks give, and refused tokens that say
//! which token to make.

use serde_json::Value;

use crate::serve::Server;
use crate::sources::{catalog, gitlab, pagerduty, payload, PAGERDUTY_SECRET};
use crate::support::*;

/// The published catalog entities, as Backstage's catalog API serves them.
fn catalog_api_entities() -> Value {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/payloads/backstage");
    let entities = ingest::sources::backstage::read(&[dir]).unwrap();
    Value::Array(
        entities
            .iter()
            .map(|e| {
                serde_json::json!({
                    "apiVersion": "backstage.io/v1alpha1",
                    "kind": e.kind,
                    "metadata": e.metadata,
                    "spec": e.spec,
                })
            })
            .collect(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_backstage_catalog_is_read_like_its_files() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let backstage = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/catalog/entities"))
        .and(query_param("offset", "0"))
        .and(header("authorization", "Bearer bs-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(catalog_api_entities()))
        .mount(&backstage)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/catalog/entities"))
        .respond_with(ResponseTemplate::new(401).set_body_string("{\"error\":\"unauthorized\"}"))
        .mount(&backstage)
        .await;
    // The scaffolder's tasks, in the shape its list endpoint answers: two
    // finished runs of templates and one still running (read when done).
    let task = |id: &str, status: &str, template: &str, user: &str, at: &str| {
        serde_json::json!({
            "id": id, "status": status, "createdAt": at, "lastHeartbeatAt": at,
            "createdBy": user,
            "spec": {
                "apiVersion": "scaffolder.backstage.io/v1beta3",
                "templateInfo": {"entityRef": template, "baseUrl": "https://github.com/acme/templates/blob/main/"},
                "user": {"ref": user},
                "steps": [], "output": {}, "parameters": {}
            }
        })
    };
    Mock::given(method("GET"))
        .and(path("/api/scaffolder/v2/tasks"))
        .and(header("authorization", "Bearer bs-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "tasks": [
                task("7f1c", "completed", "template:default/node-service", "user:default/janelle.dawe", "2026-11-02T09:00:00.000Z"),
                task("8a2d", "failed", "template:default/node-service", "user:default/nigel.manning", "2026-11-03T09:00:00.000Z"),
                task("9b3e", "processing", "template:default/react-app", "user:default/guest", "2026-11-04T09:00:00.000Z")
            ],
            "totalTasks": 3
        })))
        .mount(&backstage)
        .await;
    let lake = tempfile::tempdir().unwrap();
    let lake_path = lake.path().to_path_buf();
    let uri = backstage.uri();
    let sync = move |token: &str| {
        devex()
            .env("BACKSTAGE_TOKEN", token)
            .args(["ingest", "backstage", "--url", &uri, "--json", "--lake"])
            .arg(&lake_path)
            .output()
            .unwrap()
    };
    let output = tokio::task::spawn_blocking({
        let sync = sync.clone();
        move || sync("bs-token")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert_eq!(report["source"], "backstage");
    let rows = query_json(lake.path(), "SELECT count(*) AS n FROM services");
    assert_eq!(rows[0]["n"], 3);
    assert_eq!(report["resources"][1]["resource"], "scaffolder tasks");
    assert_eq!(report["resources"][1]["stored"], 2, "{report}");
    // Template runs, by the catalog's developers, with their teams.
    let runs = query_json(
        lake.path(),
        "SELECT u.tool, u.feature, u.outcome, u.team, count(m.developer) AS known \
         FROM platform_usage u LEFT JOIN team_members m ON m.developer = u.\"user\" \
         GROUP BY u.tool, u.feature, u.outcome, u.team ORDER BY u.outcome",
    );
    assert_eq!(
        runs,
        serde_json::json!([
            {"tool": "template", "feature": "node-service", "outcome": "failure", "team": "team-a", "known": 1},
            {"tool": "template", "feature": "node-service", "outcome": "success", "team": "team-a", "known": 1}
        ])
    );
    // Again: nothing changed, nothing stored.
    let again = tokio::task::spawn_blocking({
        let sync = sync.clone();
        move || sync("bs-token")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(report["resources"][0]["stored"], 0, "{report}");
    assert_eq!(report["resources"][1]["duplicates"], 2, "{report}");
    // A refused token says which one to make and where to put it.
    let refused = tokio::task::spawn_blocking(move || sync("wrong"))
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("BACKSTAGE_TOKEN"),
        "{}",
        stderr(&refused)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pagerduty_pull_gives_the_rows_its_webhooks_give() {
    use wiremock::matchers::{header, method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let pagerduty_api = MockServer::start().await;
    let incident = |id: &str, status: &str, service: &str, name: &str| {
        serde_json::json!({
            "id": id, "type": "incident", "status": status, "title": "Checkout is down",
            "created_at": "2021-06-04T13:35:29Z",
            "service": {"id": service, "summary": name, "type": "service_reference"},
            "priority": {"summary": "P1"}, "urgency": "high"
        })
    };
    Mock::given(method("GET"))
        .and(path("/incidents"))
        .and(header("authorization", "Token token=pd-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "incidents": [
                incident("PFQZPSY", "resolved", "PA2P440", "pig208"),
                incident("PNOMAP1", "triggered", "PZZZZZZ", "Legacy billing"),
            ],
            "limit": 100, "offset": 0, "more": false
        })))
        .mount(&pagerduty_api)
        .await;
    Mock::given(method("GET"))
        .and(path("/incidents/PFQZPSY/log_entries"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "log_entries": [
                {"type": "trigger_log_entry", "created_at": "2021-06-04T13:35:29.781Z"},
                {"type": "notify_log_entry", "created_at": "2021-06-04T13:35:30Z"},
                {"type": "resolve_log_entry", "created_at": "2021-06-04T14:05:00Z"}
            ]
        })))
        .mount(&pagerduty_api)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401)
                .set_body_string("{\"error\":{\"message\":\"Unauthorized\"}}"),
        )
        .mount(&pagerduty_api)
        .await;
    let lake = tempfile::tempdir().unwrap();
    catalog(
        lake.path(),
        r#"{"service":"pig208","owner_team":"ops","repos":["acme/pig"]}"#,
    );
    let (lake_path, uri) = (lake.path().to_path_buf(), pagerduty_api.uri());
    let pull = move |key: &str| {
        devex()
            .env("PAGERDUTY_TOKEN", key)
            .args([
                "ingest",
                "pagerduty",
                "--url",
                &uri,
                "--since",
                "2021-06-01",
                "--json",
                "--lake",
            ])
            .arg(&lake_path)
            .output()
            .unwrap()
    };
    let output = tokio::task::spawn_blocking({
        let pull = pull.clone();
        move || pull("pd-key")
    })
    .await
    .unwrap();
    assert!(output.status.success(), "{}", stderr(&output));
    let rows = query_json(
        lake.path(),
        "SELECT incident_id, severity, CAST(resolved_at AS VARCHAR) AS resolved FROM incidents ORDER BY event_id",
    );
    assert_eq!(rows.as_array().unwrap().len(), 2, "{rows}");
    assert_eq!(rows[0]["severity"], "sev1");
    // The unmapped incident is kept with the reason, not stored.
    let kept = std::fs::read_to_string(
        lake.path()
            .join("_devex/sources/pagerduty/unmapped/PNOMAP1.json"),
    )
    .unwrap();
    assert!(kept.contains("pagerduty.com/service-id: PZZZZZZ"), "{kept}");
    // The webhook of the same trigger is the same row.
    let server = Server::start_with_env(
        lake.path(),
        &[("DEVEX_PAGERDUTY__WEBHOOK_SECRET", PAGERDUTY_SECRET)],
    );
    let (status, body) = pagerduty(
        &server,
        payload("zulip-pagerduty/triggered_v3.json"),
        PAGERDUTY_SECRET,
    )
    .await;
    assert_eq!(
        (status, body["duplicates"].as_u64()),
        (200, Some(1)),
        "{body}"
    );
    // A refused key says which to make.
    let refused = tokio::task::spawn_blocking(move || pull("bad"))
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("PAGERDUTY_TOKEN"),
        "{}",
        stderr(&refused)
    );
}

/// A path pattern, a required query parameter and the JSON answer.
type Route = (String, Option<(&'static str, &'static str)>, Value);

/// A fake GitLab REST API v4 serving one project's history in GitLab's shapes.
async fn fake_gitlab() -> wiremock::MockServer {
    use wiremock::matchers::{header, method, path_regex, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let project = "^/api/v4/projects/shop(%2F|/)checkout";
    let c1 = "1111111111111111111111111111111111111111";
    let c2 = "2222222222222222222222222222222222222222";
    let routes: Vec<Route> = vec![
        (
            format!("{project}/repository/commits$"),
            None,
            serde_json::json!([
                {"id": c1, "parent_ids": ["0000000000000000000000000000000000000000"], "title": "one", "author_email": "ana@example.com", "authored_date": "2026-03-01T08:00:00Z", "committed_date": "2026-03-01T08:00:00Z"},
                {"id": c2, "parent_ids": [c1], "title": "two", "author_email": "bo@example.com", "authored_date": "2026-03-02T08:00:00Z", "committed_date": "2026-03-02T09:00:00Z"}
            ]),
        ),
        (
            format!("{project}/merge_requests$"),
            None,
            serde_json::json!([
                {"iid": 7, "state": "merged", "author": {"id": 42}, "created_at": "2026-03-02T08:30:00Z", "updated_at": "2026-03-02T10:00:00Z", "merged_at": "2026-03-02T10:00:00Z", "closed_at": null, "merge_commit_sha": c2, "squash": false, "target_branch": "main", "labels": ["backend"]}
            ]),
        ),
        (
            format!("{project}/merge_requests/7/commits$"),
            None,
            serde_json::json!([{"id": c2, "authored_date": "2026-03-02T08:00:00Z"}]),
        ),
        (
            // GitLab's merge request diffs: a rename names both paths.
            format!("{project}/merge_requests/7/diffs$"),
            None,
            serde_json::json!([
                {"old_path": "app/cart.rb", "new_path": "app/cart.rb", "new_file": false, "renamed_file": false, "deleted_file": false, "diff": "@@ -1 +1 @@\n-a\n+b\n"},
                {"old_path": "lib/tax.rb", "new_path": "app/tax.rb", "new_file": false, "renamed_file": true, "deleted_file": false, "diff": ""}
            ]),
        ),
        (
            format!("{project}/merge_requests/7/notes$"),
            None,
            serde_json::json!([
                {"id": 1, "system": false, "body": "my own note", "author": {"id": 42}, "created_at": "2026-03-02T08:40:00Z"},
                {"id": 2, "system": false, "body": "looks good", "author": {"id": 43}, "created_at": "2026-03-02T09:00:00Z"},
                {"id": 3, "system": true, "body": "approved this merge request", "author": {"id": 43}, "created_at": "2026-03-02T09:30:00Z"},
                {"id": 4, "system": true, "body": "mentioned in commit abc", "author": {"id": 43}, "created_at": "2026-03-02T09:31:00Z"}
            ]),
        ),
        (
            format!("{project}/pipelines$"),
            None,
            serde_json::json!([{"id": 31, "updated_at": "2016-08-12T15:26:29Z"}]),
        ),
        (
            format!("{project}/pipelines/31$"),
            None,
            serde_json::json!(
                {"id": 31, "status": "success", "sha": c2, "ref": "main", "source": "push", "created_at": "2016-08-12 15:23:28 UTC", "started_at": "2016-08-12T15:23:40Z", "finished_at": "2016-08-12 15:26:29 UTC"}
            ),
        ),
        (
            format!("{project}/pipelines/31/jobs$"),
            None,
            serde_json::json!([
                {"id": 380, "name": "test", "status": "success", "created_at": "2016-08-12T15:23:28Z", "started_at": "2016-08-12T15:23:40Z", "finished_at": "2016-08-12T15:25:00Z", "runner": {"description": "shared-runner"}, "tag_list": ["docker"]}
            ]),
        ),
        (
            format!("{project}/deployments$"),
            None,
            serde_json::json!([
                {"id": 15, "status": "success", "sha": c2, "environment": {"name": "production"}, "created_at": "2026-03-02T11:00:00Z", "updated_at": "2026-03-02T11:05:00Z", "finished_at": "2026-03-02T11:05:00Z"},
                {"id": 16, "status": "running", "sha": c2, "environment": {"name": "staging"}, "created_at": "2026-03-02T12:00:00Z", "updated_at": "2026-03-02T12:00:00Z"}
            ]),
        ),
        (
            format!("{project}/issues$"),
            Some(("issue_type", "incident")),
            serde_json::json!([
                {"iid": 23, "state": "closed", "type": "INCIDENT", "severity": "CRITICAL", "labels": [], "created_at": "2026-03-02T12:00:00Z", "updated_at": "2026-03-02T13:00:00Z", "closed_at": "2026-03-02T13:00:00Z"}
            ]),
        ),
        (
            format!("{project}/issues$"),
            Some(("labels", "incident")),
            serde_json::json!([]),
        ),
    ];
    for (path, query, body) in routes {
        let mut mock = Mock::given(method("GET"))
            .and(path_regex(path))
            .and(header("private-token", "gl-pat"));
        if let Some((key, value)) = query {
            mock = mock.and(query_param(key, value));
        }
        mock.respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).set_body_string("{\"message\":\"401 Unauthorized\"}"),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gitlab_pull_is_complete_repeatable_and_matches_its_webhooks() {
    let gitlab_api = fake_gitlab().await;
    let lake = tempfile::tempdir().unwrap();
    let (lake_path, url) = (
        lake.path().to_path_buf(),
        format!("{}/api/v4", gitlab_api.uri()),
    );
    let pull = move |token: &str| {
        devex()
            .env("GITLAB_TOKEN", token)
            .args([
                "ingest",
                "gitlab",
                "--repo",
                "shop/checkout",
                "--url",
                &url,
                "--since",
                "2016-01-01",
                "--json",
                "--lake",
            ])
            .arg(&lake_path)
            .output()
            .unwrap()
    };
    let first = tokio::task::spawn_blocking({
        let pull = pull.clone();
        move || pull("gl-pat")
    })
    .await
    .unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let rows = query_json(
        lake.path(),
        "SELECT (SELECT count(*) FROM commits) AS commits, \
         (SELECT count(*) FROM pull_requests WHERE merged_at IS NOT NULL AND first_commit_at IS NOT NULL) AS merged, \
         (SELECT count(*) FROM reviews) AS reviews, \
         (SELECT count(*) FROM reviews WHERE state = 'approved') AS approvals, \
         (SELECT count(*) FROM ci_runs WHERE conclusion = 'success') AS runs, \
         (SELECT count(*) FROM ci_jobs) AS jobs, \
         (SELECT count(*) FROM deployments) AS deployments, \
         (SELECT count(*) FROM incidents WHERE severity = 'sev1' AND resolved_at IS NOT NULL) AS incidents, \
         (SELECT array_to_string(files, ',') FROM pull_requests WHERE merged_at IS NOT NULL) AS files",
    );
    assert_eq!(
        rows,
        serde_json::json!([{"commits": 2, "merged": 1, "reviews": 2, "approvals": 1, "runs": 1, "jobs": 1, "deployments": 1, "incidents": 1, "files": "app/cart.rb,app/tax.rb,lib/tax.rb"}])
    );
    // A second run stores nothing new.
    let second = tokio::task::spawn_blocking({
        let pull = pull.clone();
        move || pull("gl-pat")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_str(&stdout(&second)).unwrap();
    let stored: u64 = report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["stored"].as_u64().unwrap())
        .sum();
    assert_eq!(stored, 0, "{report}");
    // The webhooks of the same pipeline and deployment are the same rows.
    let server = Server::start_with_env(lake.path(), &[("DEVEX_GITLAB__WEBHOOK_TOKEN", "gl")]);
    let mut hook: Value =
        serde_json::from_slice(&payload("xanzy-go-gitlab/webhooks/pipeline.json")).unwrap();
    hook["project"]["path_with_namespace"] = serde_json::json!("shop/checkout");
    let (_, body) = gitlab(
        &server,
        "Pipeline Hook",
        "p-31",
        hook.to_string().into_bytes(),
        "gl",
    )
    .await;
    assert_eq!(body["duplicates"].as_u64(), Some(1), "{body}");
    let mut hook: Value =
        serde_json::from_slice(&payload("xanzy-go-gitlab/webhooks/deployment.json")).unwrap();
    hook["project"]["path_with_namespace"] = serde_json::json!("shop/checkout");
    hook["deployment_id"] = serde_json::json!(15);
    // The hook of its success, sent when it finished.
    hook["status_changed_at"] = serde_json::json!("2026-03-02 11:05:00 +0000");
    hook["commit_url"] = serde_json::json!("https://gitlab.example.com/shop/checkout/-/commit/2222222222222222222222222222222222222222");
    let (_, body) = gitlab(
        &server,
        "Deployment Hook",
        "d-15",
        hook.to_string().into_bytes(),
        "gl",
    )
    .await;
    assert_eq!(body["duplicates"].as_u64(), Some(1), "{body}");
    // A refused token says which to make.
    let refused = tokio::task::spawn_blocking(move || pull("nope"))
        .await
        .unwrap();
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("read_api"),
        "{}",
        stderr(&refused)
    );
}
