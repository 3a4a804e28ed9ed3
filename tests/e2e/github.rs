//! `devex ingest github` against a fake GitHub on 127.0.0.1: a complete
//! first sync through pages, a rate limit and a 502; an incremental second
//! run that fetches only what changed; a bad token and a missing scope that
//! say what to do; and the proof that a pull and a push (webhooks) of the
//! same history give the same canonical rows.

use std::path::Path;

use serde_json::{json, Value};

use crate::fake_github::{self, History, GOOD_TOKEN, NO_SCOPE_TOKEN, REPO};
use crate::serve::Server;
use crate::support::*;
use crate::webhooks::{deliver, SECRET};

fn config(dir: &Path, base: &str) -> std::path::PathBuf {
    let path = dir.join("devex.toml");
    std::fs::write(
        &path,
        format!("[github]\nbase_url = \"{base}\"\nper_page = 2\nretry_backoff_ms = 50\n"),
    )
    .unwrap();
    path
}

fn sync(config: &Path, lake: &Path, token: &str, scope: &[&str]) -> std::process::Output {
    let mut command = devex();
    command
        .env("GITHUB_TOKEN", token)
        .args(["--config", config.to_str().unwrap(), "ingest", "github"])
        .args(scope)
        .args([
            "--since",
            "2025-02-01",
            "--json",
            "--lake",
            lake.to_str().unwrap(),
        ]);
    command.output().unwrap()
}

fn report(output: &std::process::Output) -> Value {
    assert!(output.status.success(), "sync failed: {}", stderr(output));
    serde_json::from_str(&stdout(output)).expect("the report is JSON")
}

fn stored(report: &Value, resource: &str) -> u64 {
    report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["resource"] == resource)
        .map(|r| r["stored"].as_u64().unwrap())
        .sum()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_is_complete_incremental_and_waits_out_rate_limits() {
    // The second page of pull requests is refused for a used-up rate limit
    // once; the first deployments page answers 502 once.
    let (github, histories) = fake_github::start(vec![
        ("/repos/acme/shop/pulls? &page=2", 403),
        ("/repos/acme/shop/deployments?", 502),
    ])
    .await;
    let dir = tempfile::tempdir().unwrap();
    let (config, lake) = (config(dir.path(), &github.uri()), dir.path().join("lake"));

    let output = sync(&config, &lake, GOOD_TOKEN, &["--org", "acme"]);
    let first = report(&output);
    let log = stderr(&output);
    assert!(log.contains("rate limit is used up; waiting 1 s"), "{log}");
    assert!(log.contains("GitHub answered 502"), "{log}");
    // Main's 5 commits and PR #2's branch commits c1, c2 (PR #1's b1 is on main);
    // 4 pull requests; 3 submitted reviews (the pending one is not a review);
    // 3 runs, the 2 jobs of each finished one; 4 final deployment statuses
    // (904 is still in progress; 900's in_progress status is no attempt); the
    // incident (#11 is a bug, #12 a PR); 2 releases.
    for (table, n) in [
        ("commits", 7),
        ("pull_requests", 4),
        ("reviews", 3),
        ("ci_runs", 3),
        ("ci_jobs", 4),
        ("deployments", 4),
        ("incidents", 1),
        ("releases", 2),
    ] {
        assert_eq!(count(&lake, table), n, "{table}");
    }
    assert_eq!(stored(&first, "commits"), 5);
    assert_eq!(stored(&first, "pulls"), 4 + 3 + 2);
    assert_eq!(
        (first["rate_limited"].as_u64(), first["retried"].as_u64()),
        (Some(1), Some(1))
    );
    // Requests: the org's repos 1; acme/docs has none of the six resources 6;
    // commits 3 pages; pulls 2 pages + the refused one, 4 details, 4 review
    // lists, commits and files of the 2 merged = 15; runs 2 pages + jobs of
    // the 2 finished = 4; deployments 3 pages + the 502, 5 status lists = 9;
    // incidents 1; releases 1.
    let received = github.received_requests().await.unwrap().len() as u64;
    assert_eq!(
        first["requests"].as_u64(),
        Some(1 + 6 + 3 + 15 + 4 + 9 + 1 + 1)
    );
    assert_eq!(received, 40);

    // Nothing changed: nothing stored; one look per resource, plus the
    // pending run 503, and the pending deployment 904 and its statuses.
    let second = report(&sync(&config, &lake, GOOD_TOKEN, &["--org", "acme"]));
    assert_eq!(
        second["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["stored"].as_u64().unwrap())
            .sum::<u64>(),
        0
    );
    assert_eq!(
        second["requests"].as_u64(),
        Some(1 + 6 + 1 + 1 + 2 + 3 + 1 + 1)
    );
    assert_eq!(count(&lake, "deployments"), 4);

    // Then 904 succeeds, run 503 ends, PR #4 is merged (as g1 on main,
    // bringing f1), and a new incident opens: exactly those rows arrive.
    {
        let mut h = histories.lock().unwrap();
        let shop: &mut History = h.get_mut(REPO).unwrap();
        shop.deployments[4]
            .statuses
            .push((9042, "success", "2025-03-07T17:20:00Z"));
        shop.runs[2].status = "completed";
        shop.runs[2].conclusion = Some("success");
        shop.runs[2].updated = "2025-03-07T16:15:00Z";
        let pr = &mut shop.pulls[3];
        pr.closed = Some("2025-03-08T12:00:00Z");
        pr.merged = Some("2025-03-08T12:00:00Z");
        pr.updated = "2025-03-08T12:00:05Z";
        pr.merge_sha = "g1";
        shop.commits.push(fake_github::Commit {
            sha: "g1",
            parents: vec!["d1", "f1"],
            authored: "2025-03-08T12:00:00Z",
            committed: "2025-03-08T12:00:00Z",
            email: "dev@acme.example",
            message: "Merge pull request #4 from acme/images",
        });
        shop.issues.push(fake_github::Issue {
            number: 13,
            created: "2025-03-08T13:00:00Z",
            updated: "2025-03-08T13:00:00Z",
            closed: None,
            labels: vec!["Incident"],
            is_pull_request: false,
        });
    }
    let third = report(&sync(&config, &lake, GOOD_TOKEN, &["--org", "acme"]));
    assert_eq!(stored(&third, "deployments"), 1);
    assert_eq!(
        stored(&third, "runs"),
        1 + 2,
        "run 503 finished, and its jobs"
    );
    assert_eq!(stored(&third, "commits"), 1);
    assert_eq!(stored(&third, "pulls"), 2, "PR #4's new state and f1");
    assert_eq!(stored(&third, "incidents"), 1);
    assert_eq!(count(&lake, "deployments"), 5);
    assert_eq!(count(&lake, "commits"), 9);
    let merged = query_json(
        &lake,
        "SELECT merge_sha FROM pull_requests WHERE number = 4 AND merged_at IS NOT NULL",
    );
    assert_eq!(merged, json!([{"merge_sha": "g1"}]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bad_token_or_a_missing_scope_says_what_to_do() {
    let (github, _) = fake_github::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let (config, lake) = (config(dir.path(), &github.uri()), dir.path().join("lake"));
    let output = sync(&config, &lake, "ghp_revoked", &["--org", "acme"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("GitHub rejected the token (401 Bad credentials)"),
        "{message}"
    );
    assert!(message.contains("set GITHUB_TOKEN"), "{message}");
    let output = sync(&config, &lake, NO_SCOPE_TOKEN, &["--org", "acme"]);
    assert!(!output.status.success());
    let message = stderr(&output);
    assert!(
        message.contains("403 Resource not accessible by personal access token"),
        "{message}"
    );
    assert!(message.contains("lacks a permission"), "{message}");
    assert!(!lake.join("_devex/sources/github/cursors.json").exists());
    // An unknown organisation names itself.
    let output = sync(&config, &lake, GOOD_TOKEN, &["--org", "nobody"]);
    assert!(
        stderr(&output).contains("--org nobody: GitHub knows no organisation"),
        "{}",
        stderr(&output)
    );
}

/// The webhook deliveries GitHub would have sent for the same history.
fn deliveries(h: &History) -> Vec<(String, Value)> {
    let repo = |mut p: Value| {
        p["repository"]["full_name"] = json!(REPO);
        p["repository"]["name"] = json!("shop");
        p
    };
    let mut out: Vec<(String, Value)> = Vec::new();
    let push = |git_ref: &str, before: &str, shas: &[&str]| {
        let mut p = repo(fake_github::fixture("drone-go-scm/github/push.json"));
        let template = p["commits"][0].clone();
        let commits: Vec<Value> = shas
            .iter()
            .map(|sha| {
                let c = h
                    .commits
                    .iter()
                    .chain(&h.branch_commits)
                    .find(|c| c.sha == *sha)
                    .unwrap();
                let mut v = template.clone();
                v["id"] = json!(c.sha);
                v["timestamp"] = json!(c.authored);
                v["message"] = json!(format!("{}\n\nDetails.", c.message));
                v["author"]["email"] = json!(c.email);
                v
            })
            .collect();
        p["ref"] = json!(git_ref);
        p["before"] = json!(before);
        p["after"] = json!(shas.last().unwrap());
        p["head_commit"] = commits.last().unwrap().clone();
        p["commits"] = json!(commits);
        ("push".to_string(), p)
    };
    let zero = "0000000000000000000000000000000000000000";
    out.push(push("refs/heads/main", zero, &["a1"]));
    out.push(push("refs/heads/cart", "a1", &["b1"]));
    out.push(push("refs/heads/main", "a1", &["b1", "m1"]));
    out.push(push("refs/heads/checkout", "m1", &["c1", "c2"]));
    out.push(push("refs/heads/main", "m1", &["s1"]));
    out.push(push("refs/heads/main", "s1", &["d1"]));
    for p in &h.pulls {
        let mut opened = repo(fake_github::fixture(
            "octokit-webhooks/api.github.com/pull_request/closed.payload.json",
        ));
        let full = h.pull_json(p);
        let mut first = full.clone();
        first["state"] = json!("open");
        first["updated_at"] = json!(p.created);
        first["closed_at"] = Value::Null;
        first["merged_at"] = Value::Null;
        first["merged"] = json!(false);
        opened["action"] = json!("opened");
        opened["pull_request"] = first;
        out.push(("pull_request".into(), opened.clone()));
        if p.closed.is_some() || p.updated != p.created {
            opened["action"] = json!(if p.closed.is_some() {
                "closed"
            } else {
                "synchronize"
            });
            opened["pull_request"] = full;
            out.push(("pull_request".into(), opened));
        }
        for r in p.reviews.iter().filter(|r| r.submitted.is_some()) {
            let mut d = repo(fake_github::fixture(
                "octokit-webhooks/api.github.com/pull_request_review/submitted.payload.json",
            ));
            let mut review = h.review_json(r);
            // Webhooks spell review states in lower case.
            review["state"] = json!(r.state.to_lowercase());
            d["review"] = review;
            d["pull_request"] = h.pull_json(p);
            out.push(("pull_request_review".into(), d));
        }
    }
    for r in &h.runs {
        let mut d = repo(fake_github::fixture(
            "octokit-webhooks/api.github.com/workflow_run/completed.payload.json",
        ));
        d["action"] = json!(if r.status == "completed" {
            "completed"
        } else {
            "in_progress"
        });
        d["workflow_run"] = h.run_json(r);
        out.push(("workflow_run".into(), d));
    }
    for r in &h.runs {
        for job in h.jobs_json(r) {
            let mut d = repo(fake_github::fixture("octokit-webhooks/api.github.com/workflow_job/completed.success.with-organization.payload.json"));
            d["action"] = json!(if r.status == "completed" {
                "completed"
            } else {
                "in_progress"
            });
            d["workflow_job"] = job;
            out.push(("workflow_job".into(), d));
        }
    }
    for r in &h.releases {
        let mut d = repo(fake_github::fixture(
            "octokit-webhooks/api.github.com/release/published.payload.json",
        ));
        d["release"] = h.release_json(r);
        out.push(("release".into(), d));
    }
    for d in &h.deployments {
        for s in &d.statuses {
            let mut p = repo(fake_github::fixture(
                "octokit-webhooks/api.github.com/deployment_status/payload.json",
            ));
            p["deployment"] = h.deployment_json(d);
            p["deployment_status"] = h.status_json(d, *s);
            out.push(("deployment_status".into(), p));
        }
    }
    for i in h.issues.iter().filter(|i| !i.is_pull_request) {
        let full = h.issue_json(i);
        let mut opened = full.clone();
        opened["state"] = json!("open");
        opened["updated_at"] = json!(i.created);
        opened["closed_at"] = Value::Null;
        let mut d = repo(fake_github::fixture(
            "C-Saunders-comment-when-done/issues.closed.json",
        ));
        d["action"] = json!("opened");
        d["issue"] = opened;
        out.push(("issues".into(), d.clone()));
        if i.closed.is_some() {
            d["action"] = json!("closed");
            d["issue"] = full;
            out.push(("issues".into(), d));
        }
    }
    out
}

/// The rows of `sql` in the pull lake, and the push lake's rows with the
/// same event ids.
fn same_rows(pulled: &Path, pushed: &Path, table: &str, columns: &str) {
    let pull = query_json(
        pulled,
        &format!("SELECT {columns} FROM {table} ORDER BY event_id"),
    );
    let ids: Vec<String> = pull
        .as_array()
        .unwrap()
        .iter()
        .map(|r| format!("'{}'", r["event_id"].as_str().unwrap()))
        .collect();
    assert!(!ids.is_empty(), "{table} is empty");
    let push = query_json(
        pushed,
        &format!(
            "SELECT {columns} FROM {table} WHERE event_id IN ({}) ORDER BY event_id",
            ids.join(",")
        ),
    );
    assert_eq!(pull, push, "{table}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_and_a_push_of_one_history_give_the_same_rows() {
    let (github, _) = fake_github::start(vec![]).await;
    let dir = tempfile::tempdir().unwrap();
    let (config, pulled) = (config(dir.path(), &github.uri()), dir.path().join("pulled"));
    report(&sync(&config, &pulled, GOOD_TOKEN, &["--repo", REPO]));

    let pushed = dir.path().join("pushed");
    let server = Server::start_with_env(
        &pushed,
        &[
            ("DEVEX_GITHUB__WEBHOOK_SECRET", SECRET),
            ("DEVEX_METRICS__REFRESH_SECONDS", "3600"),
        ],
    );
    for (n, (event, payload)) in deliveries(&fake_github::history()).iter().enumerate() {
        let (status, body) = deliver(&server, event, &format!("pp-{n}"), payload, SECRET).await;
        assert!(
            status == 200 || status == 202,
            "{event} {n}: {status} {body}"
        );
    }
    assert!(server.terminate().success());

    // Facts both carry, row for row: the latest state of each pull request,
    // run and incident is the same row (same event id) in both lakes.
    same_rows(&pulled, &pushed, "reviews", "*");
    same_rows(&pulled, &pushed, "deployments", "*");
    same_rows(&pulled, &pushed, "ci_runs", "*");
    same_rows(&pulled, &pushed, "incidents", "*");
    same_rows(&pulled, &pushed, "ci_jobs", "*");
    same_rows(&pulled, &pushed, "releases", "*");
    same_rows(&pulled, &pushed, "pull_requests", "event_id, repo, number, author, created_at, merged_at, closed_at, merge_sha, base_ref, additions, deletions, commits_count, labels");
    let commits =
        "SELECT DISTINCT repo, sha, author, authored_at, message_summary FROM commits ORDER BY sha";
    assert_eq!(query_json(&pulled, commits), query_json(&pushed, commits));
    assert_eq!(count(&pulled, "deployments"), count(&pushed, "deployments"));

    // What only the API knows: real parents (pushes give the chain), and a
    // pull request's first commit (c1 at 08:00 for the squash-merged #2).
    assert_eq!(
        query_json(&pulled, "SELECT parents FROM commits WHERE sha = 'm1'"),
        json!([{"parents": ["a1", "b1"]}])
    );
    assert_eq!(
        query_json(
            &pulled,
            "SELECT CAST(first_commit_at AS VARCHAR) AS t FROM pull_requests WHERE number = 2"
        ),
        json!([{"t": "2025-03-05T08:00:00Z"}])
    );
    // And what a merged pull request changed (a rename names both paths);
    // the webhook does not say.
    let files =
        "SELECT number, files FROM pull_requests WHERE merged_at IS NOT NULL ORDER BY number";
    let pulled_files = query_json(&pulled, files);
    assert!(
        pulled_files
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["files"].is_array()),
        "{pulled_files}"
    );
    assert_eq!(
        query_json(
            &pulled,
            "SELECT files FROM pull_requests WHERE number = 2 AND merged_at IS NOT NULL"
        ),
        json!([{"files": ["old/c2.rs", "src/c1.rs", "src/c2.rs"]}])
    );
    assert!(query_json(&pushed, files)
        .as_array()
        .unwrap()
        .iter()
        .all(|row| row["files"].is_null()));
    // Real parents and the push chain reach the same commits: every
    // deployment brings the same changes.
    let changes = "SELECT deployment_id, sha FROM deployment_changes ORDER BY deployment_id, sha";
    let pulled_changes = query_json(&pulled, changes);
    assert_eq!(pulled_changes, query_json(&pushed, changes));
    // 901 is the baseline; 903 brings s1 (the failed 902 counts nothing).
    assert_eq!(
        pulled_changes,
        json!([{"deployment_id": "903", "sha": "s1"}])
    );
}
