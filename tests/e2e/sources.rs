//! The receivers of the other sources through a running `devex serve`, in
//! their tools' real payload shapes (tests/fixtures/payloads): signed and
//! stored before the answer, redeliveries stored once, bad signatures
//! refused, events devex does not map kept raw with the reason, unreadable
//! bodies dead-lettered.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::serve::Server;
use crate::support::*;

fn payload(path: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/payloads")
            .join(path),
    )
    .unwrap()
}

fn catalog(lake: &std::path::Path, lines: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("services.jsonl");
    std::fs::write(&file, lines).unwrap();
    let output = import("services", &file, lake);
    assert!(output.status.success(), "{}", stderr(&output));
}

async fn post(
    server: &Server,
    path: &str,
    headers: &[(&str, String)],
    body: Vec<u8>,
) -> (u16, Value) {
    let mut request = reqwest::Client::new().post(format!("{}{path}", server.base));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

const PAGERDUTY_SECRET: &str = "e2e pagerduty secret";

fn pagerduty_signature(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

async fn pagerduty(server: &Server, body: Vec<u8>, secret: &str) -> (u16, Value) {
    let signature = pagerduty_signature(&body, secret);
    post(
        server,
        "/webhooks/pagerduty",
        &[
            ("X-PagerDuty-Signature", signature),
            ("Content-Type", "application/json".into()),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn pagerduty_incidents_are_stored_once_for_the_catalog_service() {
    let lake = tempfile::tempdir().unwrap();
    catalog(
        lake.path(),
        r#"{"service":"pig208","owner_team":"ops","repos":["acme/pig"]}"#,
    );
    let server = Server::start_with_env(
        lake.path(),
        &[("DEVEX_PAGERDUTY__WEBHOOK_SECRET", PAGERDUTY_SECRET)],
    );
    let triggered = payload("zulip-pagerduty/triggered_v3.json");
    let resolved = payload("zulip-pagerduty/resolved_v3.json");

    let (status, body) = pagerduty(&server, triggered.clone(), "another secret").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (401, Some("unauthorized"))
    );
    assert!(!lake.path().join("_devex/dead-letter/pagerduty").exists());

    let (status, body) = pagerduty(&server, triggered.clone(), PAGERDUTY_SECRET).await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(1)), "{body}");
    let (status, body) = pagerduty(&server, triggered, PAGERDUTY_SECRET).await;
    assert_eq!(
        (status, body["stored"].as_u64(), body["duplicates"].as_u64()),
        (200, Some(0), Some(1))
    );
    let (status, body) = pagerduty(&server, resolved, PAGERDUTY_SECRET).await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(1)));
    let rows = query_json(
        lake.path(),
        "SELECT service, incident_id, resolved_at IS NOT NULL AS resolved FROM incidents ORDER BY incident_id",
    );
    assert_eq!(
        rows,
        serde_json::json!([
            {"service": "pig208", "incident_id": "PCPZE64", "resolved": true},
            {"service": "pig208", "incident_id": "PFQZPSY", "resolved": false},
        ])
    );

    // An event devex does not map is kept raw, with the reason.
    let other = payload("pagerduty-go-pagerduty/webhookv3_test.defaultBody.json");
    let (status, body) = pagerduty(&server, other, PAGERDUTY_SECRET).await;
    assert_eq!(
        (status, body["kept"].as_str()),
        (202, Some("raw")),
        "{body}"
    );
    assert!(lake
        .path()
        .join("_devex/webhooks/pagerduty/01BWDWL3NYY7LUFPZCC28QUCMK.json")
        .exists());
    // A body that is not JSON: 400 and dead-lettered.
    let (status, body) = pagerduty(&server, b"{not json".to_vec(), PAGERDUTY_SECRET).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (400, Some("invalid_body"))
    );
    assert!(lake.path().join("_devex/dead-letter/pagerduty").is_dir());
}

async fn cdevent(server: &Server, body: Vec<u8>, token: &str) -> (u16, Value) {
    post(
        server,
        "/webhooks/cdevents",
        &[
            ("Authorization", format!("Bearer {token}")),
            ("Content-Type", "application/json".into()),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn cdevents_deployments_and_incidents_are_stored_once() {
    let lake = tempfile::tempdir().unwrap();
    catalog(
        lake.path(),
        r#"{"service":"mySubject123","owner_team":"ops","repos":["acme/app"]}
{"service":"myapp","owner_team":"ops","repos":["acme/myapp"]}"#,
    );
    let server = Server::start_with_env(lake.path(), &[("DEVEX_CDEVENTS__TOKEN", "cd-token")]);
    let deployed = payload("cdevents-spec-v0.5.1/conformance/service_deployed.json");
    let (status, _) = cdevent(&server, deployed.clone(), "wrong").await;
    assert_eq!(status, 401);
    let (status, body) = cdevent(&server, deployed.clone(), "cd-token").await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(1)), "{body}");
    let (_, body) = cdevent(&server, deployed, "cd-token").await;
    assert_eq!(body["duplicates"].as_u64(), Some(1));
    for name in [
        "incident_detected",
        "incident_resolved",
        "pipelinerun_finished",
    ] {
        let mut body = payload(&format!("cdevents-spec-v0.5.1/conformance/{name}.json"));
        if name == "incident_resolved" {
            // The spec's two incident examples share one event id; a real
            // sender gives every event its own.
            body = String::from_utf8(body)
                .unwrap()
                .replace("F4BD2B55-B6F6-4F44-AF72-BD2D0E7A8708", "F4BD2B55-resolved")
                .into_bytes();
        }
        let (status, answer) = cdevent(&server, body, "cd-token").await;
        assert_eq!(status, 200, "{name}: {answer}");
    }
    let rows = query_json(
        lake.path(),
        "SELECT (SELECT count(*) FROM deployments WHERE source = 'cdevents') AS deployments, \
         (SELECT count(*) FROM incidents WHERE service = 'myapp') AS incidents, \
         (SELECT count(*) FROM ci_runs WHERE conclusion = 'failure') AS failed_runs",
    );
    assert_eq!(
        rows,
        serde_json::json!([{"deployments": 1, "incidents": 2, "failed_runs": 1}])
    );
    let ticket = payload("cdevents-spec-v0.5.1/conformance/ticket_created.json");
    let (status, body) = cdevent(&server, ticket, "cd-token").await;
    assert_eq!(
        (status, body["kept"].as_str()),
        (202, Some("raw")),
        "{body}"
    );
    let (status, _) = cdevent(&server, b"[]".to_vec(), "cd-token").await;
    assert_eq!(status, 400);
}

/// The body Argo CD renders from `devex argocd template` for one sync.
fn argocd_body(app: &str, revision: &str, phase: &str, health: &str, started: &str) -> Vec<u8> {
    let template = stdout(&run(&["argocd", "template", "--url", "http://devex.test"]));
    let body = template
        .split("body: |\n")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap();
    // Argo CD's rendering of each action the template uses.
    let rendered = body
        .replace("{{.app.metadata.name}}", app)
        .replace("{{.app.spec.project}}", "default")
        .replace(
            "{{.app.status.operationState.syncResult.revision}}",
            revision,
        )
        .replace("{{.app.status.operationState.phase}}", phase)
        .replace("{{.app.status.operationState.startedAt}}", started)
        .replace(
            "{{.app.status.operationState.finishedAt}}",
            "2026-10-05T09:03:30Z",
        )
        .replace("{{.app.status.health.status}}", health)
        .replace(
            "{{.app.spec.destination.server}}",
            "https://kubernetes.default.svc",
        )
        .replace("{{.app.spec.destination.name}}", "in-cluster")
        .replace("{{.app.spec.destination.namespace}}", "prod")
        .replace(
            "{{index .app.metadata.labels \"devex.io/environment\"}}",
            "",
        );
    assert!(
        !rendered.contains("{{"),
        "an action is not rendered: {rendered}"
    );
    rendered.into_bytes()
}

#[tokio::test]
async fn argocd_syncs_become_deployments_through_the_printed_template() {
    let lake = tempfile::tempdir().unwrap();
    catalog(
        lake.path(),
        r#"{"service":"checkout","owner_team":"shop","repos":["acme/checkout"]}"#,
    );
    let server = Server::start_with_env(
        lake.path(),
        &[
            ("DEVEX_ARGOCD__TOKEN", "argo-token"),
            ("DEVEX_ARGOCD__ENVIRONMENTS__PROD", "production"),
        ],
    );
    let send = |body: Vec<u8>, token: &'static str| {
        let server = &server;
        async move {
            post(
                server,
                "/webhooks/argocd",
                &[
                    ("Authorization", format!("Bearer {token}")),
                    ("Content-Type", "application/json".into()),
                ],
                body,
            )
            .await
        }
    };
    let healthy = argocd_body(
        "checkout",
        "c0ffee",
        "Succeeded",
        "Healthy",
        "2026-10-05T09:00:00Z",
    );
    assert_eq!(send(healthy.clone(), "nope").await.0, 401);
    let (status, body) = send(healthy.clone(), "argo-token").await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(1)), "{body}");
    let (_, body) = send(healthy, "argo-token").await;
    assert_eq!(body["duplicates"].as_u64(), Some(1));
    let failed = argocd_body(
        "checkout",
        "bad0",
        "Failed",
        "Healthy",
        "2026-10-06T09:00:00Z",
    );
    assert_eq!(send(failed, "argo-token").await.0, 200);
    let running = argocd_body(
        "checkout",
        "c0ffee",
        "Running",
        "Progressing",
        "2026-10-07T09:00:00Z",
    );
    assert_eq!(send(running, "argo-token").await.0, 202);
    let (status, body) = send(br#"{"state": "success"}"#.to_vec(), "argo-token").await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("devex argocd template"));
    let rows = query_json(
        lake.path(),
        "SELECT service, environment, sha, status FROM deployments ORDER BY started_at",
    );
    assert_eq!(
        rows,
        serde_json::json!([
            {"service": "checkout", "environment": "production", "sha": "c0ffee", "status": "success"},
            {"service": "checkout", "environment": "production", "sha": "bad0", "status": "failure"},
        ])
    );
}

async fn gitlab(
    server: &Server,
    event: &str,
    uuid: &str,
    body: Vec<u8>,
    token: &str,
) -> (u16, Value) {
    post(
        server,
        "/webhooks/gitlab",
        &[
            ("X-Gitlab-Token", token.to_string()),
            ("X-Gitlab-Event", event.to_string()),
            ("X-Gitlab-Event-UUID", uuid.to_string()),
            ("Content-Type", "application/json".into()),
        ],
        body,
    )
    .await
}

#[tokio::test]
async fn gitlab_hooks_are_stored_once_and_the_token_is_required() {
    let lake = tempfile::tempdir().unwrap();
    let server =
        Server::start_with_env(lake.path(), &[("DEVEX_GITLAB__WEBHOOK_TOKEN", "gl-token")]);
    let push = payload("xanzy-go-gitlab/webhooks/push.json");
    let (status, _) = gitlab(&server, "Push Hook", "u-1", push.clone(), "wrong").await;
    assert_eq!(status, 401);
    let (status, body) = gitlab(&server, "Push Hook", "u-1", push.clone(), "gl-token").await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(3)), "{body}");
    let (_, body) = gitlab(&server, "Push Hook", "u-2", push, "gl-token").await;
    assert_eq!(body["duplicates"].as_u64(), Some(3));
    for (event, file) in [
        (
            "Merge Request Hook",
            "drone-go-scm/gitlab/pull_request_merge.json",
        ),
        ("Pipeline Hook", "xanzy-go-gitlab/webhooks/pipeline.json"),
        ("Job Hook", "xanzy-go-gitlab/webhooks/job.json"),
        (
            "Deployment Hook",
            "xanzy-go-gitlab/webhooks/deployment.json",
        ),
    ] {
        let (status, body) = gitlab(&server, event, file, payload(file), "gl-token").await;
        assert_eq!(
            (status, body["stored"].as_u64()),
            (200, Some(1)),
            "{event}: {body}"
        );
    }
    let (status, body) = gitlab(
        &server,
        "Tag Push Hook",
        "u-9",
        payload("xanzy-go-gitlab/webhooks/tag_push.json"),
        "gl-token",
    )
    .await;
    assert_eq!((status, body["kept"].as_str()), (202, Some("raw")));
    let (status, _) = gitlab(
        &server,
        "Push Hook",
        "u-10",
        b"{\"object_kind\": \"push\"}".to_vec(),
        "gl-token",
    )
    .await;
    assert_eq!(status, 400);
    let rows = query_json(
        lake.path(),
        "SELECT (SELECT count(*) FROM commits) AS commits, (SELECT count(*) FROM pull_requests WHERE merged_at IS NOT NULL) AS merged, \
         (SELECT count(*) FROM ci_runs) AS runs, (SELECT count(*) FROM ci_jobs) AS jobs, (SELECT count(*) FROM deployments WHERE source = 'gitlab') AS deployments",
    );
    assert_eq!(
        rows,
        serde_json::json!([{"commits": 2, "merged": 1, "runs": 1, "jobs": 1, "deployments": 1}])
    );
}

#[test]
fn a_backstage_catalog_imports_once_and_keeps_ownership_history() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/payloads/backstage");
    let import = |paths: &[&str], as_of: &str| {
        let mut args = vec!["import", "catalog"];
        args.extend_from_slice(paths);
        args.extend_from_slice(&["--lake", lake_arg, "--as-of", as_of]);
        let output = run(&args);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    let folder = fixtures.to_str().unwrap();
    let first = import(&[folder], "2026-01-01");
    assert!(first.contains("services 3 new, 0 changed"), "{first}");
    let again = import(&[folder], "2026-02-01");
    assert!(again.contains("0 rows stored"), "{again}");
    // artist-lookup moves to team-b as of March.
    let dir = tempfile::tempdir().unwrap();
    let moved =
        std::fs::read_to_string(fixtures.join("backstage-backstage/artist-lookup-component.yaml"))
            .unwrap()
            .replace("owner: team-a", "owner: team-b");
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, moved).unwrap();
    let third = import(&[file.to_str().unwrap()], "2026-03-01");
    assert!(third.contains("services 0 new, 1 changed"), "{third}");
    let rows = query_json(
        lake.path(),
        "SELECT owner_team, CAST(valid_from AS VARCHAR) AS valid_from FROM services WHERE service = 'artist-lookup' ORDER BY valid_from NULLS FIRST",
    );
    assert_eq!(rows[0]["owner_team"], "team-a");
    assert_eq!(rows[0]["valid_from"], Value::Null);
    assert_eq!(rows[1]["owner_team"], "team-b");
    assert!(
        rows[1]["valid_from"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-01"),
        "{rows}"
    );
    // No e-mail of the catalog's users is stored.
    let members = query_json(lake.path(), "SELECT developer FROM team_members");
    assert!(!members.to_string().contains('@'), "{members}");
    // A broken entity names its file, entity and field.
    std::fs::write(
        &file,
        "kind: Component\nmetadata:\n  name: lost\nspec:\n  type: service\n",
    )
    .unwrap();
    let output = run(&[
        "import",
        "catalog",
        file.to_str().unwrap(),
        "--lake",
        lake_arg,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("component:default/lost: spec.owner"),
        "{}",
        stderr(&output)
    );
}

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
    // Again: nothing changed, nothing stored.
    let again = tokio::task::spawn_blocking({
        let sync = sync.clone();
        move || sync("bs-token")
    })
    .await
    .unwrap();
    let report: Value = serde_json::from_str(&stdout(&again)).unwrap();
    assert_eq!(report["resources"][0]["stored"], 0, "{report}");
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
         (SELECT count(*) FROM incidents WHERE severity = 'sev1' AND resolved_at IS NOT NULL) AS incidents",
    );
    assert_eq!(
        rows,
        serde_json::json!([{"commits": 2, "merged": 1, "reviews": 2, "approvals": 1, "runs": 1, "jobs": 1, "deployments": 1, "incidents": 1}])
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
