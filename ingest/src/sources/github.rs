//! GitHub webhook deliveries to canonical rows.
//!
//! * `push` -> one `pushes` row (its before/after chain) and one `commits` row
//!   per pushed commit. Parents are left unknown: a push does not list them,
//!   and the derive stage takes them from the push chain, while an API pull
//!   (with real parents) writes its own rows, which win.
//! * `pull_request` -> a `pull_requests` row per observed state; `merged_at`
//!   and `merge_sha` only when GitHub says `merged` (closed is not merged:
//!   unmerged pull requests also carry a test-merge sha).
//! * `pull_request_review` -> `reviews` (state lower-cased: webhooks and the
//!   REST API differ in case).
//! * `workflow_run` -> `ci_runs`, one row per run attempt and status.
//! * `deployment_status` with a terminal state (success, failure, error) ->
//!   `deployments`: started at the deployment's `created_at`, finished at the
//!   status's `created_at`.
//! * `issues` carrying the incident label -> `incidents` (opened, and
//!   resolved when closed).
//! * Anything else (ping, release, workflow_job, ...) maps to no rows; the
//!   receiver keeps the raw delivery.
//!
//! Event ids come from GitHub's own ids and natural keys, never from the
//! delivery id, so a redelivery or an API pull of the same fact is the same
//! row.

use std::collections::HashMap;

use chrono::DateTime;
use serde_json::Value as Json;

use crate::identity::Pseudonymizer;
use crate::rows::Value;
use crate::schema::{self, TableSpec};

/// Canonical rows of one delivery, by table.
pub type Rows = Vec<(&'static TableSpec, Vec<Value>)>;

/// What the parser needs beyond the payload.
pub struct Context<'a> {
    pub pseudonymizer: &'a Pseudonymizer,
    /// Repository (`owner/name`) -> service, from the catalog.
    pub services: &'a HashMap<String, String>,
    /// The label that makes an issue an incident.
    pub incident_label: &'a str,
}

impl Context<'_> {
    /// The catalog's service for a repository, else its name without owner.
    fn service(&self, repo: &str) -> String {
        self.services
            .get(repo)
            .cloned()
            .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_string())
    }
}

/// Why a payload could not be mapped: the field and what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadError(pub String);

impl std::fmt::Display for PayloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

fn text(value: &Json, path: &str) -> Result<String, PayloadError> {
    let mut at = value;
    for key in path.split('.') {
        at = &at[key];
    }
    match at {
        Json::String(s) => Ok(s.clone()),
        Json::Number(n) => Ok(n.to_string()),
        _ => Err(PayloadError(format!("`{path}` is missing or not text"))),
    }
}

fn optional_text(value: &Json, path: &str) -> Option<String> {
    text(value, path).ok().filter(|s| !s.is_empty())
}

fn time(value: &Json, path: &str) -> Result<i64, PayloadError> {
    let raw = text(value, path)?;
    DateTime::parse_from_rfc3339(&raw)
        .map(|t| t.timestamp_micros())
        .map_err(|_| PayloadError(format!("`{path}`: `{raw}` is not an RFC 3339 time")))
}

fn optional_time(value: &Json, path: &str) -> Result<Option<i64>, PayloadError> {
    match optional_text(value, path) {
        None => Ok(None),
        Some(_) => time(value, path).map(Some),
    }
}

/// Maps one delivery of `event` to canonical rows.
pub fn parse(event: &str, payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    if !payload.is_object() {
        return Err(PayloadError("the payload is not a JSON object".into()));
    }
    match event {
        "push" => push(payload, context),
        "pull_request" => pull_request(payload, context),
        "pull_request_review" => review(payload, context),
        "workflow_run" => workflow_run(payload),
        "deployment_status" => deployment_status(payload, context),
        "issues" => issue(payload, context),
        _ => Ok(Vec::new()),
    }
}

fn push(payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    let repo = text(payload, "repository.full_name")?;
    let git_ref = text(payload, "ref")?;
    let before = optional_text(payload, "before");
    let after = optional_text(payload, "after");
    let commits = payload["commits"].as_array().cloned().unwrap_or_default();
    let pushed_at = match optional_time(payload, "head_commit.timestamp")? {
        Some(t) => t,
        None => match payload["repository"]["pushed_at"].as_i64() {
            Some(seconds) => seconds * 1_000_000,
            None => time(payload, "repository.updated_at")?,
        },
    };
    let actor = optional_text(payload, "pusher.name").map(|p| context.pseudonymizer.pseudonym(&p));
    let mut rows: Rows = Vec::new();
    let shas: Vec<String> = commits
        .iter()
        .map(|c| text(c, "id"))
        .collect::<Result<_, _>>()?;
    rows.push((
        &schema::PUSHES,
        vec![
            Value::text(format!(
                "github:push:{repo}:{git_ref}:{}",
                after.clone().unwrap_or_default()
            )),
            Value::text(&repo),
            Value::text(&git_ref),
            Value::opt_text(before),
            Value::opt_text(after),
            Value::TextList(shas),
            Value::Timestamp(pushed_at),
            Value::opt_text(actor),
        ],
    ));
    for commit in &commits {
        let sha = text(commit, "id")?;
        // The author's e-mail or login identifies the person; only its
        // pseudonym is kept.
        let author = optional_text(commit, "author.email")
            .or_else(|| optional_text(commit, "author.username"))
            .or_else(|| optional_text(commit, "author.name"))
            .unwrap_or_default();
        rows.push((
            &schema::COMMITS,
            vec![
                Value::text(format!("github:push-commit:{repo}:{sha}")),
                Value::text(&repo),
                Value::text(&sha),
                Value::Null,
                Value::text(context.pseudonymizer.pseudonym(&author)),
                Value::Timestamp(time(commit, "timestamp")?),
                Value::Null,
                Value::opt_text(
                    optional_text(commit, "message")
                        .map(|m| m.lines().next().unwrap_or("").to_string()),
                ),
            ],
        ));
    }
    Ok(rows)
}

fn pull_request(payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    let repo = text(payload, "repository.full_name")?;
    let pr = &payload["pull_request"];
    let number = pr["number"]
        .as_i64()
        .ok_or_else(|| PayloadError("`pull_request.number` is missing".into()))?;
    let merged = pr["merged"].as_bool().unwrap_or(false);
    let action = optional_text(payload, "action").unwrap_or_default();
    let updated = optional_text(pr, "updated_at").unwrap_or_default();
    let labels: Vec<String> = pr["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str().map(str::to_string))
        .collect();
    let integer = |v: &Json| v.as_i64().map_or(Value::Null, Value::Integer);
    Ok(vec![(
        &schema::PULL_REQUESTS,
        vec![
            Value::text(format!(
                "github:pull_request:{repo}#{number}:{action}:{updated}"
            )),
            Value::text(&repo),
            Value::Integer(number),
            Value::text(context.pseudonymizer.pseudonym(&text(pr, "user.login")?)),
            Value::Timestamp(time(pr, "created_at")?),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::opt_timestamp(if merged {
                optional_time(pr, "merged_at")?
            } else {
                None
            }),
            Value::opt_timestamp(optional_time(pr, "closed_at")?),
            Value::opt_text(if merged {
                optional_text(pr, "merge_commit_sha")
            } else {
                None
            }),
            Value::opt_text(optional_text(pr, "base.ref")),
            integer(&pr["additions"]),
            integer(&pr["deletions"]),
            integer(&pr["commits"]),
            Value::TextList(labels),
        ],
    )])
}

fn review(payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    let repo = text(payload, "repository.full_name")?;
    let review = &payload["review"];
    let number = payload["pull_request"]["number"]
        .as_i64()
        .ok_or_else(|| PayloadError("`pull_request.number` is missing".into()))?;
    Ok(vec![(
        &schema::REVIEWS,
        vec![
            Value::text(format!("github:review:{}", text(review, "id")?)),
            Value::text(&repo),
            Value::Integer(number),
            Value::text(
                context
                    .pseudonymizer
                    .pseudonym(&text(review, "user.login")?),
            ),
            Value::text(text(review, "state")?.to_lowercase()),
            Value::Timestamp(time(review, "submitted_at")?),
        ],
    )])
}

fn workflow_run(payload: &Json) -> Result<Rows, PayloadError> {
    let repo = text(payload, "repository.full_name")?;
    let run = &payload["workflow_run"];
    let attempt = run["run_attempt"].as_i64().unwrap_or(1);
    let status = optional_text(run, "status").unwrap_or_default();
    let completed = status == "completed";
    let pipeline = optional_text(run, "name")
        .or_else(|| optional_text(run, "path"))
        .unwrap_or_else(|| format!("workflow {}", run["workflow_id"]));
    Ok(vec![(
        &schema::CI_RUNS,
        vec![
            Value::text(format!(
                "github:workflow_run:{}:{attempt}:{status}",
                text(run, "id")?
            )),
            Value::text(&repo),
            Value::text(pipeline),
            Value::text(text(run, "id")?),
            Value::Integer(attempt),
            Value::text(text(run, "head_sha")?),
            Value::opt_text(optional_text(run, "head_branch")),
            Value::opt_text(optional_text(run, "event")),
            Value::Timestamp(time(run, "created_at")?),
            Value::opt_timestamp(optional_time(run, "run_started_at")?),
            Value::opt_timestamp(if completed {
                optional_time(run, "updated_at")?
            } else {
                None
            }),
            Value::opt_text(if completed {
                optional_text(run, "conclusion")
            } else {
                None
            }),
            Value::Null,
            Value::Null,
        ],
    )])
}

fn deployment_status(payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    let repo = text(payload, "repository.full_name")?;
    let status = &payload["deployment_status"];
    let deployment = &payload["deployment"];
    let state = text(status, "state")?.to_lowercase();
    // queued, pending and in_progress are not outcomes; inactive is GitHub
    // retiring an older deployment, not a new attempt.
    if !matches!(state.as_str(), "success" | "failure" | "error") {
        return Ok(Vec::new());
    }
    let environment = optional_text(status, "environment")
        .or_else(|| optional_text(deployment, "environment"))
        .ok_or_else(|| PayloadError("`deployment.environment` is missing".into()))?;
    Ok(vec![(
        &schema::DEPLOYMENTS,
        vec![
            Value::text(format!("github:deployment_status:{}", text(status, "id")?)),
            Value::text(context.service(&repo)),
            Value::text(environment),
            Value::text(text(deployment, "sha")?),
            Value::text(text(deployment, "id")?),
            Value::text(state),
            Value::Timestamp(time(deployment, "created_at")?),
            Value::Timestamp(time(status, "created_at")?),
            Value::text("github"),
        ],
    )])
}

fn issue(payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    let repo = text(payload, "repository.full_name")?;
    let issue = &payload["issue"];
    let is_incident = issue["labels"].as_array().into_iter().flatten().any(|l| {
        l["name"]
            .as_str()
            .is_some_and(|n| n.eq_ignore_ascii_case(context.incident_label))
    });
    // The issues list of GitHub also holds pull requests.
    if !is_incident || issue.get("pull_request").is_some() {
        return Ok(Vec::new());
    }
    let number = text(issue, "number")?;
    let action = optional_text(payload, "action").unwrap_or_default();
    let closed = optional_text(issue, "state").as_deref() == Some("closed");
    Ok(vec![(
        &schema::INCIDENTS,
        vec![
            Value::text(format!(
                "github:issue:{repo}#{number}:{action}:{}",
                optional_text(issue, "updated_at").unwrap_or_default()
            )),
            Value::text(context.service(&repo)),
            Value::text(format!("{repo}#{number}")),
            Value::Null,
            Value::Timestamp(time(issue, "created_at")?),
            Value::Null,
            Value::opt_timestamp(if closed {
                optional_time(issue, "closed_at")?
            } else {
                None
            }),
            Value::Null,
            Value::Null,
        ],
    )])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(path: &str) -> Json {
        let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../shared/fixtures")
            .join(path);
        serde_json::from_str(&std::fs::read_to_string(&full).unwrap()).unwrap()
    }

    fn context<'a>(p: &'a Pseudonymizer, services: &'a HashMap<String, String>) -> Context<'a> {
        Context {
            pseudonymizer: p,
            services,
            incident_label: "incident",
        }
    }

    #[test]
    fn real_payloads_map_to_canonical_rows() {
        let p = Pseudonymizer::new(b"k");
        let services = HashMap::from([("Codertocat/Hello-World".to_string(), "hello".to_string())]);
        let c = context(&p, &services);
        // A push with a commit time at -07:00.
        let rows = parse("push", &fixture("drone-go-scm/github/push.json"), &c).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1].0.name, "commits");
        assert_eq!(
            rows[1].1[5],
            Value::Timestamp(
                DateTime::parse_from_rfc3339("2018-06-15T20:01:51Z")
                    .unwrap()
                    .timestamp_micros()
            )
        );
        // Closed and merged: merged_at and merge_sha set.
        let rows = parse(
            "pull_request",
            &fixture("robvanderleek-create-issue-branch/pull_request.closed.json"),
            &c,
        )
        .unwrap();
        assert!(matches!(rows[0].1[8], Value::Timestamp(_)));
        assert!(matches!(rows[0].1[10], Value::Text(_)));
        // Closed without merge: neither.
        let rows = parse(
            "pull_request",
            &fixture("octokit-webhooks/api.github.com/pull_request/closed.payload.json"),
            &c,
        )
        .unwrap();
        assert_eq!(
            (&rows[0].1[8], &rows[0].1[10]),
            (&Value::Null, &Value::Null)
        );
        // A deployment status: the catalog's service, deployment times.
        let rows = parse(
            "deployment_status",
            &fixture("octokit-webhooks/api.github.com/deployment_status/payload.json"),
            &c,
        )
        .unwrap();
        assert_eq!(rows[0].1[1], Value::text("hello"));
        assert_eq!(rows[0].1[2], Value::text("production"));
        assert_eq!(rows[0].1[5], Value::text("success"));
        // A review's state is lower case.
        let rows = parse(
            "pull_request_review",
            &fixture("octokit-webhooks/api.github.com/pull_request_review/submitted.payload.json"),
            &c,
        )
        .unwrap();
        assert_eq!(rows[0].1[4], Value::text("commented"));
        // A completed workflow run.
        let rows = parse(
            "workflow_run",
            &fixture("octokit-webhooks/api.github.com/workflow_run/completed.payload.json"),
            &c,
        )
        .unwrap();
        assert_eq!(rows[0].1[11], Value::text("success"));
        // An issue without the incident label is not an incident; ping maps to nothing.
        assert!(parse(
            "issues",
            &fixture("octokit-webhooks/api.github.com/issues/labeled.payload.json"),
            &c
        )
        .unwrap()
        .is_empty());
        assert!(parse(
            "ping",
            &fixture("octokit-webhooks/api.github.com/ping/payload.json"),
            &c
        )
        .unwrap()
        .is_empty());
        // No login or e-mail survives.
        for event in ["push", "pull_request"] {
            let path = if event == "push" {
                "drone-go-scm/github/push.json"
            } else {
                "robvanderleek-create-issue-branch/pull_request.closed.json"
            };
            for (_, row) in parse(event, &fixture(path), &c).unwrap() {
                for v in row {
                    if let Value::Text(t) = v {
                        assert!(!t.contains('@') && t != "robvanderleek", "{t}");
                    }
                }
            }
        }
        // A payload missing what it needs says which field.
        let err = parse("deployment_status", &serde_json::json!({"repository": {"full_name": "a/b"}, "deployment_status": {"state": "success"}}), &c).unwrap_err();
        assert!(err.0.contains("deployment"), "{err}");
    }
}
