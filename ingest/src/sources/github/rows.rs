//! GitHub payloads to canonical rows: webhook deliveries ([`parse`]) and the
//! REST API's objects, which share their shapes (a pull request, a review, a
//! workflow run, a deployment and its status, an issue). One mapping for
//! both is what makes a pull and a push of the same history the same rows.
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
//! * `workflow_job` -> `ci_jobs`; `release` -> `releases`.
//! * Anything else (ping, deployment, check runs, ...) maps to no rows; the
//!   receiver keeps the raw delivery.
//!
//! Event ids come from GitHub's own ids and natural keys, never from the
//! delivery id, so a redelivery or an API pull of the same fact is the same
//! row.

use std::collections::HashMap;

use serde_json::Value as Json;

use crate::ai_attribution::AiAttribution;
use crate::canonical::{
    CiJob, CiRun, Commit, Deployment, Incident, Micros, PullRequest, Push, Release, Review,
};
pub use crate::canonical::{Row, Rows};
use crate::identity::Pseudonymizer;
pub(crate) use crate::sources::json::{optional_text, optional_time, text, time};
pub use crate::sources::webhook::PayloadError;
pub use crate::sources::PullDetails;

/// What the parser needs beyond the payload.
pub struct Context<'a> {
    pub pseudonymizer: &'a Pseudonymizer,
    /// Repository (`owner/name`) -> service, from the catalog.
    pub services: &'a HashMap<String, String>,
    /// The label that makes an issue an incident.
    pub incident_label: &'a str,
    /// Which commits and pull requests are AI-assisted.
    pub ai: &'a AiAttribution,
}

impl Context<'_> {
    /// The catalog's service for a repository, else its name without owner.
    pub fn service(&self, repo: &str) -> String {
        self.services
            .get(repo)
            .cloned()
            .unwrap_or_else(|| repo.rsplit('/').next().unwrap_or(repo).to_string())
    }
}

/// Maps one delivery of `event` to canonical rows.
pub fn parse(event: &str, payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    if !payload.is_object() {
        return Err(PayloadError("the payload is not a JSON object".into()));
    }
    let repo = || text(payload, "repository.full_name");
    match event {
        "push" => push(payload, context),
        "pull_request" => Ok(vec![pull_request(
            &repo()?,
            &payload["pull_request"],
            // The webhook does not list the commits or the files; the merge
            // commit's stand in.
            PullDetails::default(),
            context,
        )?]),
        "pull_request_review" => {
            let number = payload["pull_request"]["number"]
                .as_i64()
                .ok_or_else(|| PayloadError("`pull_request.number` is missing".into()))?;
            Ok(vec![review(&repo()?, number, &payload["review"], context)?])
        }
        "workflow_run" => Ok(vec![workflow_run(&repo()?, &payload["workflow_run"])?]),
        "workflow_job" => Ok(vec![workflow_job(&repo()?, &payload["workflow_job"])?]),
        "release" => Ok(vec![release(&repo()?, &payload["release"])?]),
        "deployment_status" => Ok(deployment(
            &repo()?,
            &payload["deployment"],
            &payload["deployment_status"],
            context,
        )?
        .into_iter()
        .collect()),
        "issues" => Ok(incident(&repo()?, &payload["issue"], context)?
            .into_iter()
            .collect()),
        _ => Ok(Vec::new()),
    }
}

/// A row's event id part for a state observed at `updated_at`: the time as
/// microseconds, so the webhook's and the REST API's spelling of one instant
/// give one id.
fn state_key(value: &Json, path: &str) -> Result<String, PayloadError> {
    Ok(optional_time(value, path)?.unwrap_or(0).to_string())
}

fn person(context: &Context<'_>, identity: &str) -> String {
    context.pseudonymizer.pseudonym(identity)
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
    let commit_shas: Vec<String> = commits
        .iter()
        .map(|c| text(c, "id"))
        .collect::<Result<_, _>>()?;
    let mut rows: Rows = vec![Push {
        event_id: format!(
            "github:push:{repo}:{git_ref}:{}",
            after.clone().unwrap_or_default()
        ),
        repo: repo.clone(),
        r#ref: git_ref,
        before_sha: before,
        after_sha: after,
        commit_shas,
        pushed_at: Micros(pushed_at),
        actor,
    }
    .into()];
    for commit in &commits {
        let sha = text(commit, "id")?;
        // The author's e-mail or login identifies the person; only its
        // pseudonym is kept.
        let author = optional_text(commit, "author.email")
            .or_else(|| optional_text(commit, "author.username"))
            .or_else(|| optional_text(commit, "author.name"))
            .unwrap_or_default();
        rows.push(
            Commit {
                event_id: format!("github:push-commit:{repo}:{sha}"),
                repo: repo.clone(),
                sha,
                // A push does not list parents: unknown, not none.
                parents: None,
                author: person(context, &author),
                authored_at: Micros(time(commit, "timestamp")?),
                committed_at: None,
                message_summary: summary(commit, "message"),
                files: crate::sources::json::touched_files(commit),
                ai_tool: context.ai.tool_of_authored_commit(
                    optional_text(commit, "message").as_deref(),
                    optional_text(commit, "author.username").as_deref(),
                ),
            }
            .into(),
        );
    }
    Ok(rows)
}

fn summary(value: &Json, path: &str) -> Option<String> {
    optional_text(value, path).map(|m| m.lines().next().unwrap_or("").to_string())
}

fn optional_micros(value: &Json, path: &str) -> Result<Option<Micros>, PayloadError> {
    Ok(optional_time(value, path)?.map(Micros))
}

/// A commit from the REST API (`GET /repos/{repo}/commits`, or a pull
/// request's commits): with its real parents and committer time.
pub fn api_commit(repo: &str, commit: &Json, context: &Context<'_>) -> Result<Row, PayloadError> {
    let sha = text(commit, "sha")?;
    // The same identity a push names: the git author's e-mail first.
    let author = optional_text(commit, "commit.author.email")
        .or_else(|| optional_text(commit, "author.login"))
        .or_else(|| optional_text(commit, "commit.author.name"))
        .unwrap_or_default();
    let parents: Vec<String> = match commit["parents"].as_array() {
        Some(parents) => parents
            .iter()
            .map(|p| text(p, "sha"))
            .collect::<Result<_, _>>()?,
        None => return Err(PayloadError("`parents` is missing".into())),
    };
    Ok(Commit {
        event_id: format!("github:commit:{repo}:{sha}"),
        repo: repo.to_string(),
        sha,
        parents: Some(parents),
        author: person(context, &author),
        authored_at: Micros(time(commit, "commit.author.date")?),
        committed_at: optional_micros(commit, "commit.committer.date")?,
        message_summary: summary(commit, "commit.message"),
        // The list endpoint does not say; a commit's own endpoint does.
        files: commit["files"].as_array().map(|files| {
            files
                .iter()
                .filter_map(|f| f["filename"].as_str().map(str::to_string))
                .collect()
        }),
        ai_tool: api_commit_tool(commit, context),
    }
    .into())
}

/// The AI assistant a REST API commit names: a trailer of its message, or
/// its author when that is an agent account.
pub fn api_commit_tool(commit: &Json, context: &Context<'_>) -> Option<String> {
    context.ai.tool_of_authored_commit(
        optional_text(commit, "commit.message").as_deref(),
        optional_text(commit, "author.login").as_deref(),
    )
}

/// One observed state of a pull request. The webhook's `pull_request` and
/// `GET /repos/{repo}/pulls/{number}` have the same shape; list items lack
/// `merged`, so `merged_at` decides there. The [`PullDetails`] are known
/// only to a pull.
pub fn pull_request(
    repo: &str,
    pr: &Json,
    details: PullDetails,
    context: &Context<'_>,
) -> Result<Row, PayloadError> {
    let number = pr["number"]
        .as_i64()
        .ok_or_else(|| PayloadError("`pull_request.number` is missing".into()))?;
    // Closed is not merged: unmerged pull requests also carry a test-merge sha.
    let merged = match pr["merged"].as_bool() {
        Some(merged) => merged,
        None => optional_text(pr, "merged_at").is_some(),
    };
    let labels: Vec<String> = pr["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l["name"].as_str().map(str::to_string))
        .collect();
    let author = text(pr, "user.login")?;
    let ai_tool = context
        .ai
        .tool_of_pull_request(Some(&author), &labels)
        .map(str::to_string)
        .or(details.commit_tool);
    Ok(PullRequest {
        event_id: format!(
            "github:pull_request:{repo}#{number}:{}",
            state_key(pr, "updated_at")?
        ),
        repo: repo.to_string(),
        number,
        author: person(context, &author),
        created_at: Micros(time(pr, "created_at")?),
        first_commit_at: details.first_commit_at.map(Micros),
        // Reviews are rows of their own; the derive stage dates them.
        first_review_at: None,
        approved_at: None,
        merged_at: if merged {
            optional_micros(pr, "merged_at")?
        } else {
            None
        },
        closed_at: optional_micros(pr, "closed_at")?,
        merge_sha: if merged {
            optional_text(pr, "merge_commit_sha")
        } else {
            None
        },
        base_ref: optional_text(pr, "base.ref"),
        additions: pr["additions"].as_i64(),
        deletions: pr["deletions"].as_i64(),
        commits_count: pr["commits"].as_i64(),
        labels,
        files: details.files,
        ai_tool,
    }
    .into())
}

/// A review; its state is lower-cased (webhooks say `approved`, the REST
/// API `APPROVED`). Pending reviews have no `submitted_at` and are not rows.
pub fn review(
    repo: &str,
    number: i64,
    review: &Json,
    context: &Context<'_>,
) -> Result<Row, PayloadError> {
    Ok(Review {
        event_id: format!("github:review:{}", text(review, "id")?),
        repo: repo.to_string(),
        pr_number: number,
        reviewer: person(context, &text(review, "user.login")?),
        state: text(review, "state")?.to_lowercase(),
        submitted_at: Micros(time(review, "submitted_at")?),
    }
    .into())
}

/// One attempt of a workflow run at one status.
pub fn workflow_run(repo: &str, run: &Json) -> Result<Row, PayloadError> {
    let attempt = run["run_attempt"].as_i64().unwrap_or(1);
    let status = optional_text(run, "status").unwrap_or_default();
    let completed = status == "completed";
    let pipeline = optional_text(run, "name")
        .or_else(|| optional_text(run, "path"))
        .unwrap_or_else(|| format!("workflow {}", run["workflow_id"]));
    let run_id = text(run, "id")?;
    Ok(CiRun {
        event_id: format!("github:workflow_run:{run_id}:{attempt}:{status}"),
        repo: repo.to_string(),
        pipeline,
        run_id,
        attempt,
        sha: text(run, "head_sha")?,
        r#ref: optional_text(run, "head_branch"),
        trigger: optional_text(run, "event"),
        queued_at: Micros(time(run, "created_at")?),
        started_at: optional_micros(run, "run_started_at")?,
        finished_at: if completed {
            optional_micros(run, "updated_at")?
        } else {
            None
        },
        conclusion: if completed {
            optional_text(run, "conclusion")
        } else {
            None
        },
        runner_os: None,
        billable_minutes: None,
    }
    .into())
}

/// One job of a workflow run at one status. Webhooks and
/// `GET .../runs/{id}/attempts/{n}/jobs` share the shape.
pub fn workflow_job(repo: &str, job: &Json) -> Result<Row, PayloadError> {
    let status = text(job, "status")?;
    let runner_labels: Vec<String> = job["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    let job_id = text(job, "id")?;
    Ok(CiJob {
        event_id: format!("github:workflow_job:{job_id}:{status}"),
        repo: repo.to_string(),
        run_id: text(job, "run_id")?,
        attempt: job["run_attempt"].as_i64().unwrap_or(1),
        job_id,
        name: text(job, "name")?,
        status,
        queued_at: optional_micros(job, "created_at")?,
        started_at: Micros(time(job, "started_at")?),
        finished_at: optional_micros(job, "completed_at")?,
        conclusion: optional_text(job, "conclusion"),
        runner_name: optional_text(job, "runner_name"),
        runner_labels,
    }
    .into())
}

/// A release at one state (a draft, then published, is two rows).
pub fn release(repo: &str, release: &Json) -> Result<Row, PayloadError> {
    let kind = if release["draft"].as_bool() == Some(true) {
        "draft"
    } else if release["prerelease"].as_bool() == Some(true) {
        "prerelease"
    } else {
        "release"
    };
    let published = optional_time(release, "published_at")?;
    let release_id = text(release, "id")?;
    Ok(Release {
        event_id: format!(
            "github:release:{release_id}:{kind}:{}",
            published.unwrap_or(0)
        ),
        repo: repo.to_string(),
        release_id,
        tag: text(release, "tag_name")?,
        target: optional_text(release, "target_commitish"),
        kind: kind.to_string(),
        created_at: Micros(time(release, "created_at")?),
        published_at: published.map(Micros),
    }
    .into())
}

/// Whether a deployment status is an outcome: queued, pending and
/// in_progress are not; inactive is GitHub retiring an older deployment,
/// not a new attempt.
pub fn is_terminal_state(state: &str) -> bool {
    matches!(
        state.to_ascii_lowercase().as_str(),
        "success" | "failure" | "error"
    )
}

/// A deployment attempt from a terminal status; other statuses are no row.
pub fn deployment(
    repo: &str,
    deployment: &Json,
    status: &Json,
    context: &Context<'_>,
) -> Result<Option<Row>, PayloadError> {
    let state = text(status, "state")?.to_lowercase();
    if !is_terminal_state(&state) {
        return Ok(None);
    }
    let environment = optional_text(status, "environment")
        .or_else(|| optional_text(deployment, "environment"))
        .ok_or_else(|| PayloadError("`deployment.environment` is missing".into()))?;
    Ok(Some(
        Deployment {
            event_id: format!("github:deployment_status:{}", text(status, "id")?),
            service: context.service(repo),
            environment,
            sha: text(deployment, "sha")?,
            deployment_id: text(deployment, "id")?,
            status: state,
            started_at: Micros(time(deployment, "created_at")?),
            finished_at: Some(Micros(time(status, "created_at")?)),
            source: "github".into(),
        }
        .into(),
    ))
}

/// Whether an issue carries the incident label (pull requests never do:
/// GitHub's issues lists also hold them).
pub fn is_incident(issue: &Json, incident_label: &str) -> bool {
    issue.get("pull_request").is_none()
        && issue["labels"].as_array().into_iter().flatten().any(|l| {
            l["name"]
                .as_str()
                .is_some_and(|n| n.eq_ignore_ascii_case(incident_label))
        })
}

/// One observed state of an incident issue: opened, and resolved when closed.
pub fn incident(
    repo: &str,
    issue: &Json,
    context: &Context<'_>,
) -> Result<Option<Row>, PayloadError> {
    if !is_incident(issue, context.incident_label) {
        return Ok(None);
    }
    let number = text(issue, "number")?;
    let closed = optional_text(issue, "state").as_deref() == Some("closed");
    Ok(Some(
        Incident {
            event_id: format!(
                "github:issue:{repo}#{number}:{}",
                state_key(issue, "updated_at")?
            ),
            service: context.service(repo),
            incident_id: format!("{repo}#{number}"),
            severity: None,
            opened_at: Micros(time(issue, "created_at")?),
            acknowledged_at: None,
            resolved_at: if closed {
                optional_micros(issue, "closed_at")?
            } else {
                None
            },
            deployment_id: None,
            sha: None,
        }
        .into(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rows::Value;
    use chrono::DateTime;

    use crate::sources::fixtures::json as fixture;

    fn context<'a>(p: &'a Pseudonymizer, services: &'a HashMap<String, String>) -> Context<'a> {
        Context {
            pseudonymizer: p,
            services,
            incident_label: "incident",
            ai: AiAttribution::defaults(),
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
        // A job with its runner; a published release.
        let rows = parse(
            "workflow_job",
            &fixture("octokit-webhooks/api.github.com/workflow_job/completed.success.with-organization.payload.json"),
            &c,
        )
        .unwrap();
        assert_eq!(rows[0].0.name, "ci_jobs");
        assert_eq!(rows[0].1[11], Value::text("GitHub Actions 5"));
        let rows = parse(
            "release",
            &fixture("octokit-webhooks/api.github.com/release/published.payload.json"),
            &c,
        )
        .unwrap();
        assert_eq!(
            (rows[0].1[3].clone(), rows[0].1[5].clone()),
            (Value::text("0.0.1"), Value::text("release"))
        );
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
