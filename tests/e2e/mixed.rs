//! One service fed by five tools, checked end to end with hand-computed DORA
//! numbers: its code and pushes on GitLab, its deployments from Argo CD and
//! CDEvents, its incident from PagerDuty, its owner from a Backstage catalog
//! that later hands it to another team.
//!
//! checkout (GitLab project shop/checkout), October 2026 (31 days), UTC:
//!   c1 authored Oct 1 08:00, deployed by Argo CD Oct 1 09:00-09:10 (baseline);
//!   c2 authored Oct 5 09:00, Argo CD Oct 5 12:00-12:10: lead time 3 h 10 min;
//!   c3 authored Oct 12 10:00, CDEvents service.deployed Oct 12 14:00: 4 h;
//!   c4 authored Oct 20 06:00, Argo CD Oct 20 07:00-07:30: 1.5 h.
//!   PagerDuty incident opened Oct 12 15:00, resolved 17:00, linked to
//!   nothing: by time it is c3's (deployed 14:00, next deployment Oct 20), so
//!   c3 failed and recovered 3 h after it was deployed.
//! Overall: 4 deployments (4 / (31/7) = 0.9032 a week), 3 changes with lead
//! times 1.5, 3.1667, 4: median 3.1667, p90 3.1667 + 0.8 * 0.8333 = 3.8333;
//! 1 failed of 4 = 25%, recovery 3 h.
//! After the catalog gives checkout to team-blue as of Oct 15: team-red has
//! c1..c3 (3 deployments, lead times 3.1667 and 4: median 3.5833, p90
//! 3.1667 + 0.9 * 0.8333 = 3.9167, 1 of 3 failed), team-blue has c4.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::serve::Server;
use crate::support::*;

fn payload(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/payloads")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(full).unwrap()).unwrap()
}

fn sha(n: u32) -> String {
    format!("{n:0>40}")
}

fn catalog_yaml(owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: checkout
  annotations:
    gitlab.com/project-slug: shop/checkout
    pagerduty.com/service-id: PCHK001
    argocd/app-name: checkout-prod
spec:
  type: service
  lifecycle: production
  owner: group:default/{owner}
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-red
spec:
  type: team
---
apiVersion: backstage.io/v1alpha1
kind: Group
metadata:
  name: team-blue
spec:
  type: team
"
    )
}

fn import_catalog(lake: &std::path::Path, owner: &str, as_of: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("catalog-info.yaml");
    std::fs::write(&file, catalog_yaml(owner)).unwrap();
    let output = run(&[
        "import",
        "catalog",
        file.to_str().unwrap(),
        "--lake",
        lake.to_str().unwrap(),
        "--as-of",
        as_of,
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
}

async fn send(server: &Server, path: &str, headers: &[(&str, String)], body: Vec<u8>) -> Value {
    let mut request = reqwest::Client::new().post(format!("{}{path}", server.base));
    for (name, value) in headers {
        request = request.header(*name, value);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    assert_eq!(status, 200, "{path}: {body}");
    body
}

async fn gitlab_push(server: &Server, n: u32, authored: &str) {
    let mut push = payload("xanzy-go-gitlab/webhooks/push.json");
    push["project"]["path_with_namespace"] = json!("shop/checkout");
    push["ref"] = json!("refs/heads/main");
    push["before"] = json!(sha(n - 1));
    push["after"] = json!(sha(n));
    let mut commit = push["commits"][0].clone();
    commit["id"] = json!(sha(n));
    commit["timestamp"] = json!(authored);
    commit["title"] = json!(format!("change {n}"));
    push["commits"] = json!([commit]);
    let body = send(
        server,
        "/webhooks/gitlab",
        &[
            ("X-Gitlab-Token", "gl".into()),
            ("X-Gitlab-Event", "Push Hook".into()),
            ("X-Gitlab-Event-UUID", format!("push-{n}")),
        ],
        push.to_string().into_bytes(),
    )
    .await;
    assert_eq!(body["stored"], 2);
}

async fn argocd_sync(server: &Server, n: u32, started: &str, finished: &str) {
    let body = json!({
        "version": "devex.argocd/v1",
        "app": "checkout-prod",
        "project": "default",
        "revision": sha(n),
        "phase": "Succeeded",
        "startedAt": started,
        "finishedAt": finished,
        "health": "Healthy",
        "destination": {"server": "https://kubernetes.default.svc", "name": "in-cluster", "namespace": "prod"},
        "environment": ""
    });
    send(
        server,
        "/webhooks/argocd",
        &[("Authorization", "Bearer argo".into())],
        body.to_string().into_bytes(),
    )
    .await;
}

async fn cdevents_deployed(server: &Server, n: u32, at: &str) {
    let mut event = payload("cdevents-spec-v0.5.1/conformance/service_deployed.json");
    event["context"]["id"] = json!(format!("deploy-{n}"));
    event["context"]["timestamp"] = json!(at);
    event["subject"]["id"] = json!("checkout");
    event["subject"]["content"]["environment"]["id"] = json!("production");
    event["customData"] = json!({"sha": sha(n)});
    send(
        server,
        "/webhooks/cdevents",
        &[
            ("Authorization", "Bearer cd".into()),
            ("Content-Type", "application/json".into()),
        ],
        event.to_string().into_bytes(),
    )
    .await;
}

async fn pagerduty(server: &Server, event_type: &str, id: &str, at: &str) {
    let mut event = payload("zulip-pagerduty/triggered_v3.json");
    event["event"]["id"] = json!(id);
    event["event"]["event_type"] = json!(event_type);
    event["event"]["occurred_at"] = json!(at);
    event["event"]["data"]["id"] = json!("Q1INCIDENT");
    event["event"]["data"]["service"]["id"] = json!("PCHK001");
    event["event"]["data"]["service"]["summary"] = json!("Checkout API");
    let body = event.to_string().into_bytes();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"pd").unwrap();
    mac.update(&body);
    let signature = format!("v1={}", hex::encode(mac.finalize().into_bytes()));
    send(
        server,
        "/webhooks/pagerduty",
        &[("X-PagerDuty-Signature", signature)],
        body,
    )
    .await;
}

fn group<'a>(report: &'a Value, team: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["team"] == team)
        .unwrap_or_else(|| panic!("no group {team} in {report}"))
}

fn assert_close(value: &Value, expected: f64) {
    let got = value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"));
    assert!((got - expected).abs() < 1e-3, "{got} != {expected}");
}

#[tokio::test]
async fn one_service_from_five_tools_gives_hand_computed_dora_numbers() {
    let lake = tempfile::tempdir().unwrap();
    import_catalog(lake.path(), "team-red", "2026-09-01");
    let server = Server::start_with_env(
        lake.path(),
        &[
            ("DEVEX_GITLAB__WEBHOOK_TOKEN", "gl"),
            ("DEVEX_ARGOCD__TOKEN", "argo"),
            ("DEVEX_ARGOCD__ENVIRONMENTS__PROD", "production"),
            ("DEVEX_CDEVENTS__TOKEN", "cd"),
            ("DEVEX_PAGERDUTY__WEBHOOK_SECRET", "pd"),
            // The portal's window ends here, whatever day the test runs.
            ("DEVEX_METRICS__END", "2026-10-31"),
        ],
    );
    gitlab_push(&server, 1, "2026-10-01T08:00:00Z").await;
    argocd_sync(&server, 1, "2026-10-01T09:00:00Z", "2026-10-01T09:10:00Z").await;
    gitlab_push(&server, 2, "2026-10-05T09:00:00Z").await;
    argocd_sync(&server, 2, "2026-10-05T12:00:00Z", "2026-10-05T12:10:00Z").await;
    gitlab_push(&server, 3, "2026-10-12T10:00:00Z").await;
    cdevents_deployed(&server, 3, "2026-10-12T14:00:00Z").await;
    pagerduty(
        &server,
        "incident.triggered",
        "PD-EVENT-1",
        "2026-10-12T15:00:00Z",
    )
    .await;
    pagerduty(
        &server,
        "incident.resolved",
        "PD-EVENT-2",
        "2026-10-12T17:00:00Z",
    )
    .await;
    gitlab_push(&server, 4, "2026-10-20T06:00:00Z").await;
    argocd_sync(&server, 4, "2026-10-20T07:00:00Z", "2026-10-20T07:30:00Z").await;

    // The newest event: the last sync's start.
    let report = server
        .get_json_as_of(
            "/api/v1/dora?from=2026-10-01&to=2026-11-01&group_by=team",
            "2026-10-20T07:00:00Z",
        )
        .await;
    let overall = &report["overall"];
    assert_eq!(overall["deployments"], 4, "{report}");
    assert_close(&overall["deployments_per_week"], 0.9032);
    assert_eq!(overall["changes"], 3);
    assert_close(&overall["lead_time_median_hours"], 3.1667);
    assert_close(&overall["lead_time_p90_hours"], 3.8333);
    assert_eq!(overall["failed_deployments"], 1);
    assert_close(&overall["change_failure_rate"], 0.25);
    assert_close(&overall["recovery_time_median_hours"], 3.0);
    assert_eq!(group(&report, "team-red")["deployments"], 4);

    // The drill-down says where each number came from.
    let deployments = server
        .get_json("/api/v1/dora/deployments?from=2026-10-01&to=2026-11-01")
        .await;
    let sources: Vec<(&str, &str)> = deployments["deployments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| (d["sha"].as_str().unwrap(), d["source"].as_str().unwrap()))
        .collect();
    assert_eq!(
        sources,
        [
            (sha(1).as_str(), "argocd"),
            (sha(2).as_str(), "argocd"),
            (sha(3).as_str(), "cdevents"),
            (sha(4).as_str(), "argocd"),
        ]
    );
    let cause = &deployments["deployments"][2]["failure_causes"][0];
    assert_eq!(
        (
            &cause["incident_id"],
            &cause["source"],
            &cause["attribution"]
        ),
        (&json!("Q1INCIDENT"), &json!("pagerduty"), &json!("time"))
    );
    let id = deployments["deployments"][2]["deployment_id"]
        .as_str()
        .unwrap()
        .to_string();
    let (status, page) = server.get(&format!("/deployments/checkout/{id}")).await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<td>cdevents</td>") && page.contains("from pagerduty"),
        "{page}"
    );

    // team-blue takes checkout over as of Oct 15: c4 is theirs, c1..c3 stay red's.
    import_catalog(lake.path(), "team-blue", "2026-10-15");
    // A catalog has no event time: wait for the new owner to show.
    let report = server
        .get_json_until(
            "/api/v1/dora?from=2026-10-01&to=2026-11-01&group_by=team",
            |report| report.to_string().contains("team-blue"),
        )
        .await;
    let red = &group(&report, "team-red");
    assert_eq!(red["deployments"], 3, "{report}");
    assert_eq!(red["changes"], 2);
    assert_close(&red["lead_time_median_hours"], 3.5833);
    assert_close(&red["lead_time_p90_hours"], 3.9167);
    assert_eq!(red["failed_deployments"], 1);
    assert_close(&red["change_failure_rate"], 1.0 / 3.0);
    let blue = &group(&report, "team-blue");
    assert_eq!(blue["deployments"], 1);
    assert_close(&blue["lead_time_median_hours"], 1.5);
    assert_eq!(blue["failed_deployments"], 0);
    assert_eq!(report["overall"]["deployments"], 4);
    assert!(report["ownership"]
        .as_str()
        .unwrap()
        .contains("when it was deployed"));
}
