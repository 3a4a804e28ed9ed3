//! GitHub webhook deliveries into a running `devex serve`, in GitHub's real
//! payload shapes (from tests/fixtures/payloads, with this story's ids, shas and
//! times): pushes to main, a merged pull request, a workflow run, deployments
//! to staging and production with their statuses, an incident issue opened
//! and closed, a duplicate delivery and a bad signature. `devex report dora`
//! afterwards shows exactly the expected numbers.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

use crate::serve::Server;
use crate::support::*;

pub const SECRET: &str = "e2e webhook secret";

fn fixture_json(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/payloads")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(full).unwrap()).unwrap()
}

pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

pub async fn deliver(
    server: &Server,
    event: &str,
    delivery: &str,
    payload: &Value,
    secret: &str,
) -> (u16, Value) {
    let body = serde_json::to_vec(payload).unwrap();
    let response = reqwest::Client::new()
        .post(format!("{}/webhooks/github", server.base))
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", delivery)
        .header("X-Hub-Signature-256", sign(&body, secret))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn with_repo(mut payload: Value) -> Value {
    payload["repository"]["full_name"] = json!("acme/shop");
    payload["repository"]["name"] = json!("shop");
    payload
}

fn push(before: &str, commits: &[(&str, &str)]) -> Value {
    let mut p = with_repo(fixture_json("drone-go-scm/github/push.json"));
    let template = p["commits"][0].clone();
    let list: Vec<Value> = commits
        .iter()
        .map(|(sha, at)| {
            let mut c = template.clone();
            c["id"] = json!(sha);
            c["timestamp"] = json!(at);
            c["message"] = json!(format!("change {sha}"));
            c
        })
        .collect();
    p["ref"] = json!("refs/heads/main");
    p["before"] = json!(before);
    p["after"] = json!(commits.last().unwrap().0);
    p["head_commit"] = list.last().unwrap().clone();
    p["commits"] = json!(list);
    p
}

fn deployment_status(
    id: i64,
    status_id: i64,
    environment: &str,
    sha: &str,
    state: &str,
    created: &str,
    finished: &str,
) -> Value {
    let mut p = with_repo(fixture_json(
        "octokit-webhooks/api.github.com/deployment_status/payload.json",
    ));
    p["deployment"]["id"] = json!(id);
    p["deployment"]["sha"] = json!(sha);
    p["deployment"]["environment"] = json!(environment);
    p["deployment"]["created_at"] = json!(created);
    p["deployment_status"]["id"] = json!(status_id);
    p["deployment_status"]["state"] = json!(state);
    p["deployment_status"]["environment"] = json!(environment);
    p["deployment_status"]["created_at"] = json!(finished);
    p
}

fn incident(action: &str, state: &str, closed_at: Option<&str>, updated: &str) -> Value {
    let mut p = with_repo(fixture_json(
        "C-Saunders-comment-when-done/issues.closed.json",
    ));
    p["action"] = json!(action);
    p["issue"]["number"] = json!(42);
    p["issue"]["state"] = json!(state);
    p["issue"]["created_at"] = json!("2025-03-10T12:00:00Z");
    p["issue"]["updated_at"] = json!(updated);
    p["issue"]["closed_at"] = json!(closed_at);
    p["issue"]["labels"] =
        json!([{"id": 1, "name": "incident", "color": "d73a4a", "default": false}]);
    p
}

#[tokio::test]
async fn a_realistic_sequence_of_deliveries_gives_exact_dora_numbers() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        lake.path(),
        &[
            ("DEVEX_GITHUB__WEBHOOK_SECRET", SECRET),
            ("DEVEX_METRICS__END", "2025-03-20"),
            ("DEVEX_METRICS__REFRESH_SECONDS", "3600"),
        ],
    );
    // Let the first /metrics refresh (of the empty lake) finish, so that
    // any later value can only come from the refresh after ingest.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !server
        .get("/metrics")
        .await
        .1
        .contains("devex_last_refresh_timestamp_seconds")
    {
        assert!(std::time::Instant::now() < deadline, "no first refresh");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let zero = "0000000000000000000000000000000000000000";
    // Two pushes to main: a1 (Mar 1), then a2 (Mar 8 09:00 -07:00) and a3 (Mar 9).
    let deliveries = [
        ("push", "d-1", push(zero, &[("a1", "2025-03-01T10:00:00Z")])),
        (
            "push",
            "d-2",
            push(
                "a1",
                &[
                    ("a2", "2025-03-08T09:00:00-07:00"),
                    ("a3", "2025-03-09T10:00:00Z"),
                ],
            ),
        ),
        // The first production deployment (the baseline) ships a1.
        (
            "deployment_status",
            "d-3",
            deployment_status(
                100,
                1000,
                "production",
                "a1",
                "success",
                "2025-03-02T09:50:00Z",
                "2025-03-02T10:00:00Z",
            ),
        ),
        // a3 to staging, then a failed production attempt, then production.
        (
            "deployment_status",
            "d-4",
            deployment_status(
                101,
                1001,
                "staging",
                "a3",
                "success",
                "2025-03-10T08:00:00Z",
                "2025-03-10T08:05:00Z",
            ),
        ),
        (
            "deployment_status",
            "d-5",
            deployment_status(
                102,
                1002,
                "production",
                "a3",
                "failure",
                "2025-03-10T09:00:00Z",
                "2025-03-10T09:05:00Z",
            ),
        ),
        (
            "deployment_status",
            "d-6",
            deployment_status(
                103,
                1003,
                "production",
                "a3",
                "in_progress",
                "2025-03-10T10:00:00Z",
                "2025-03-10T10:01:00Z",
            ),
        ),
        (
            "deployment_status",
            "d-7",
            deployment_status(
                103,
                1004,
                "production",
                "a3",
                "success",
                "2025-03-10T10:00:00Z",
                "2025-03-10T11:00:00Z",
            ),
        ),
        // An incident opened after it, closed 4 hours later.
        (
            "issues",
            "d-8",
            incident("opened", "open", None, "2025-03-10T12:00:00Z"),
        ),
        (
            "issues",
            "d-9",
            incident(
                "closed",
                "closed",
                Some("2025-03-10T15:00:00Z"),
                "2025-03-10T15:00:00Z",
            ),
        ),
        (
            "workflow_run",
            "d-10",
            with_repo(fixture_json(
                "octokit-webhooks/api.github.com/workflow_run/completed.payload.json",
            )),
        ),
        (
            "pull_request",
            "d-11",
            with_repo(fixture_json(
                "robvanderleek-create-issue-branch/pull_request.closed.json",
            )),
        ),
        (
            "ping",
            "d-12",
            fixture_json("octokit-webhooks/api.github.com/ping/payload.json"),
        ),
    ];
    for (event, delivery, payload) in &deliveries {
        let (status, body) = deliver(&server, event, delivery, payload, SECRET).await;
        assert!(
            status == 200 || status == 202,
            "{delivery}: {status} {body}"
        );
    }
    // A redelivery stores nothing new; a bad signature stores nothing at all.
    let (status, body) = deliver(
        &server,
        "deployment_status",
        "d-7",
        &deliveries[6].2,
        SECRET,
    )
    .await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(0)), "{body}");
    let forged = deployment_status(
        104,
        1005,
        "production",
        "a2",
        "success",
        "2025-03-11T10:00:00Z",
        "2025-03-11T10:10:00Z",
    );
    let (status, body) = deliver(
        &server,
        "deployment_status",
        "d-13",
        &forged,
        "wrong secret",
    )
    .await;
    assert_eq!(status, 401, "{body}");
    // A payload that cannot be read: 400, and kept in the dead-letter folder.
    let broken = json!({"repository": {"full_name": "acme/shop"}, "deployment_status": {"state": "success", "id": 9}});
    let (status, body) = deliver(&server, "deployment_status", "d-14", &broken, SECRET).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("dead-letter"));
    assert!(lake
        .path()
        .join("_devex/dead-letter/github/d-14.json")
        .exists());
    assert!(lake
        .path()
        .join("_devex/webhooks/github/d-12.json")
        .exists());
    // Stored events wake the /metrics refresh (the schedule is an hour).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let (_, metrics) = server.get("/metrics").await;
        let refreshed = metrics.lines().any(|l| {
            l.starts_with("devex_dora_deployments{")
                && l.contains("service=\"shop\"")
                && l.ends_with(" 2.0")
        });
        if refreshed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no refresh after ingest:\n{metrics}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    // The answer says how fresh it is: the newest event its inputs hold is
    // the incident opened at 12:00 (the fixtures' pull request and workflow
    // run are from 2020). A report answers from the newest published
    // generation while the next one derives, so wait for it by content.
    let dora = server
        .get_json_as_of(
            "/api/v1/dora?from=2025-03-01&to=2025-03-20",
            "2025-03-10T12:00:00Z",
        )
        .await;
    assert_eq!(dora["data_as_of"], "2025-03-10T12:00:00Z", "{dora}");
    let (_, metrics) = server.get("/metrics").await;
    for name in ["devex_derive_lag_seconds", "devex_derive_duration_seconds"] {
        let value: f64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(name)?.split_once(' ').map(|(_, v)| v))
            .unwrap_or_else(|| panic!("no {name}:\n{metrics}"))
            .parse()
            .unwrap();
        assert!((0.0..60.0).contains(&value), "{name} {value}");
    }
    assert!(server.terminate().success());

    // Counted: the baseline (100) and 103 (a3), not the failed attempt or staging.
    // 103 brings a2 (Mar 8 16:00Z) and a3 (Mar 9 10:00Z), finished Mar 10 11:00:
    // lead times 43 h and 25 h (median 34, p90 25 + 0.9 * 18 = 41.2).
    // The incident opened at 12:00 after 103 finished: failed; resolved at
    // 15:00, 4 h after 11:00.
    let output = run(&[
        "report",
        "dora",
        "--lake",
        lake.path().to_str().unwrap(),
        "--from",
        "2025-03-01",
        "--to",
        "2025-04-01",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let shop = &report["groups"][0];
    assert_eq!(shop["service"], "shop");
    assert_eq!(shop["deployments"], 2);
    assert_eq!(shop["changes"], 2);
    assert_eq!(shop["lead_time_median_hours"], 34.0);
    assert!((shop["lead_time_p90_hours"].as_f64().unwrap() - 41.2).abs() < 1e-9);
    assert_eq!(shop["failed_deployments"], 1);
    assert_eq!(shop["change_failure_rate"], 0.5);
    assert_eq!(shop["recovery_time_median_hours"], 4.0);
    let ci = query_json(lake.path(), "SELECT count(*) AS n FROM ci_runs");
    assert_eq!(ci[0]["n"], 1);
    let prs = query_json(
        lake.path(),
        "SELECT count(*) AS n, count(merged_at) AS merged FROM pull_requests",
    );
    assert_eq!(
        (prs[0]["n"].as_i64(), prs[0]["merged"].as_i64()),
        (Some(1), Some(1))
    );
}

/// Deliveries that arrive together share commits (the group commit); each
/// is still answered with its own counts, and none is lost or doubled: 300
/// distinct workflow runs sent over 30 connections at once, and 50 of them
/// redelivered in the same burst.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_deliveries_are_each_stored_once() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        lake.path(),
        &[
            ("DEVEX_GITHUB__WEBHOOK_SECRET", SECRET),
            ("DEVEX_METRICS__REFRESH_SECONDS", "3600"),
        ],
    );
    let template = with_repo(fixture_json(
        "octokit-webhooks/api.github.com/workflow_run/completed.payload.json",
    ));
    let server = std::sync::Arc::new(server);
    let mut sends = Vec::new();
    for connection in 0..30 {
        let (server, template) = (server.clone(), template.clone());
        sends.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for k in 0..10 {
                let run = connection * 10 + k;
                let mut payload = template.clone();
                payload["workflow_run"]["id"] = json!(900_000 + run);
                // Every sixth run is delivered twice (a redelivery).
                let times = if run % 6 == 0 { 2 } else { 1 };
                for _ in 0..times {
                    let delivery = format!("burst-{run}");
                    answers
                        .push(deliver(&server, "workflow_run", &delivery, &payload, SECRET).await);
                }
            }
            answers
        }));
    }
    let (mut stored, mut duplicates, mut answered) = (0, 0, 0);
    for send in sends {
        for (status, body) in send.await.unwrap() {
            assert_eq!(status, 200, "{body}");
            stored += body["stored"].as_u64().unwrap();
            duplicates += body["duplicates"].as_u64().unwrap();
            answered += 1;
        }
    }
    assert_eq!((answered, stored, duplicates), (350, 300, 50));
    let server = std::sync::Arc::into_inner(server).unwrap();
    assert!(server.terminate().success());
    assert_eq!(count(lake.path(), "ci_runs"), 300);
}

/// A serving lake merges the small files its deliveries leave, in the
/// background: every row stays once, and a redelivery after the merge is
/// still recognised.
#[tokio::test]
async fn a_serving_lake_compacts_its_small_files_in_the_background() {
    let lake = tempfile::tempdir().unwrap();
    let server = Server::start_with_env(
        lake.path(),
        &[
            ("DEVEX_GITHUB__WEBHOOK_SECRET", SECRET),
            ("DEVEX_COMPACTION__INTERVAL_SECONDS", "1"),
            ("DEVEX_METRICS__REFRESH_SECONDS", "3600"),
        ],
    );
    let zero = "0000000000000000000000000000000000000000";
    let shas = ["c1", "c2", "c3", "c4", "c5", "c6"];
    let mut deliveries = Vec::new();
    for (i, sha) in shas.iter().enumerate() {
        let before = if i == 0 { zero } else { shas[i - 1] };
        let at = format!("2025-03-{:02}T10:00:00Z", i + 1);
        deliveries.push(push(before, &[(sha, at.as_str())]));
    }
    for (i, payload) in deliveries.iter().enumerate() {
        let (status, body) = deliver(&server, "push", &format!("p-{i}"), payload, SECRET).await;
        // A commit and a push: two rows, each in a file of its own.
        assert_eq!((status, body["stored"].as_u64()), (200, Some(2)), "{body}");
    }
    let march = || {
        data_files(lake.path())
            .iter()
            .filter(|p| p.starts_with("commits/month=2025-03/"))
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while march() != 1 {
        assert!(
            std::time::Instant::now() < deadline,
            "not compacted: {:?}",
            data_files(lake.path())
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let rows = query_json(
        lake.path(),
        "SELECT count(*) AS n, count(DISTINCT sha) AS shas FROM commits",
    );
    assert_eq!(
        (rows[0]["n"].as_i64(), rows[0]["shas"].as_i64()),
        (Some(6), Some(6))
    );
    let (status, body) = deliver(&server, "push", "p-2-again", &deliveries[2], SECRET).await;
    assert_eq!((status, body["stored"].as_u64()), (200, Some(0)), "{body}");
    assert!(server.terminate().success());
}
