//! The receivers of the other sources through a running `devex serve`, and
//! the catalog import, in their tools' real payload shapes
//! (tests/fixtures/payloads): signed and stored before the answer, redeliveries stored once, bad signatures
//! refused, events devex does not map kept raw with the reason, unreadable
//! bodies dead-lettered.

use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

use crate::serve::Server;
use crate::support::*;

pub fn payload(path: &str) -> Vec<u8> {
    std::fs::read(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/payloads")
            .join(path),
    )
    .unwrap()
}

pub fn catalog(lake: &std::path::Path, lines: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("services.jsonl");
    std::fs::write(&file, lines).unwrap();
    let output = import("services", &file, lake);
    assert!(output.status.success(), "{}", stderr(&output));
}

pub async fn post(
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

pub const PAGERDUTY_SECRET: &str = "e2e pagerduty secret";

fn pagerduty_signature(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("v1={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn pagerduty(server: &Server, body: Vec<u8>, secret: &str) -> (u16, Value) {
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

pub async fn gitlab(
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
    // Breanna leaves team-a in April: her membership ends that day; the
    // others stay open, and a repeat changes nothing.
    let group = std::fs::read_to_string(fixtures.join("backstage-backstage/team-a-group.yaml"))
        .unwrap()
        .replacen("  memberOf: [team-a]", "  memberOf: []", 1);
    let group_file = dir.path().join("team-a.yaml");
    std::fs::write(&group_file, group).unwrap();
    let open_before = query_json(
        lake.path(),
        "SELECT count(*) AS n FROM team_members WHERE team = 'team-a' AND valid_to IS NULL",
    )[0]["n"]
        .as_u64()
        .unwrap();
    let fourth = import(&[group_file.to_str().unwrap()], "2026-04-01");
    assert!(fourth.contains("memberships 0 new, 1 ended"), "{fourth}");
    let memberships = query_json(
        lake.path(),
        "SELECT count(*) AS n, count(valid_to) AS ended, CAST(max(valid_to) AS VARCHAR) AS on_day          FROM team_members WHERE team = 'team-a'",
    );
    assert_eq!(
        memberships[0]["n"].as_u64(),
        Some(open_before),
        "{memberships}"
    );
    assert_eq!(memberships[0]["ended"], 1, "{memberships}");
    assert!(
        memberships[0]["on_day"]
            .as_str()
            .unwrap()
            .starts_with("2026-04-01"),
        "{memberships}"
    );
    let fifth = import(&[group_file.to_str().unwrap()], "2026-05-01");
    assert!(fifth.contains("0 rows stored"), "{fifth}");
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
