//! GitLab's REST API objects (`devex ingest gitlab`) to canonical rows: the
//! rows the webhooks give for the same facts, with the same event ids, so a
//! pull after webhooks (or webhooks after a pull) stores nothing twice.

use serde_json::Value as Json;

use super::rows::{
    deployment_outcome, issue_incident, job_row, micros, state_key, user, Context, API_JOB,
};
use crate::canonical::{Commit, Deployment, Micros, PullRequest, Review, Row};
use crate::sources::json::{optional_text, optional_time, text, time};
use crate::sources::webhook::PayloadError;
use crate::sources::PullDetails;

/// A commit of `GET /projects/:id/repository/commits`: real parents.
pub fn api_commit(repo: &str, commit: &Json, context: &Context<'_>) -> Result<Row, PayloadError> {
    let sha = text(commit, "id")?;
    let author = optional_text(commit, "author_email")
        .or_else(|| optional_text(commit, "author_name"))
        .unwrap_or_default();
    let parents: Vec<String> = commit["parent_ids"]
        .as_array()
        .ok_or_else(|| PayloadError("`parent_ids` is missing".into()))?
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect();
    Ok(Commit {
        event_id: format!("gitlab:commit:{repo}:{sha}"),
        repo: repo.to_string(),
        sha,
        parents: Some(parents),
        author: context.pseudonymizer.pseudonym(&author),
        authored_at: Micros(time(commit, "authored_date")?),
        committed_at: micros(commit, "committed_date")?,
        message_summary: optional_text(commit, "title"),
        files: None,
        ai_tool: commit_tool(commit, context),
    }
    .into())
}

/// The AI assistant an API commit's message trailers name (GitLab names
/// commit authors by e-mail and name, not by account).
pub fn commit_tool(commit: &Json, context: &Context<'_>) -> Option<String> {
    context
        .ai
        .tool_of_authored_commit(optional_text(commit, "message").as_deref(), None)
}

/// A merge request of `GET /projects/:id/merge_requests` at its current
/// state, with what its commits and diffs tell.
pub fn api_merge_request(
    repo: &str,
    mr: &Json,
    details: PullDetails,
    context: &Context<'_>,
) -> Result<Row, PayloadError> {
    let number = mr["iid"]
        .as_i64()
        .ok_or_else(|| PayloadError("`iid` is missing".into()))?;
    let state = optional_text(mr, "state").unwrap_or_default();
    let merged = state == "merged";
    let merge_sha = if !merged {
        None
    } else if mr["squash"].as_bool() == Some(true) {
        optional_text(mr, "squash_commit_sha").or_else(|| optional_text(mr, "merge_commit_sha"))
    } else {
        optional_text(mr, "merge_commit_sha")
    };
    let labels: Vec<String> = mr["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    Ok(PullRequest {
        event_id: format!(
            "gitlab:merge_request:{repo}!{number}:{}",
            state_key(mr, "updated_at")?
        ),
        repo: repo.to_string(),
        number,
        author: user(context, optional_text(mr, "author.id"), None),
        created_at: Micros(time(mr, "created_at")?),
        first_commit_at: details.first_commit_at.map(Micros),
        first_review_at: None,
        approved_at: None,
        merged_at: if merged {
            micros(mr, "merged_at")?
        } else {
            None
        },
        closed_at: micros(mr, "closed_at")?.or(if merged {
            micros(mr, "merged_at")?
        } else {
            None
        }),
        merge_sha,
        base_ref: optional_text(mr, "target_branch"),
        additions: None,
        deletions: None,
        commits_count: None,
        ai_tool: context
            .ai
            .tool_of_pull_request(optional_text(mr, "author.username").as_deref(), &labels)
            .map(str::to_string)
            .or(details.commit_tool),
        labels,
        files: details.files,
    }
    .into())
}

/// A review of a merge request from its notes: an approval (GitLab's
/// system note "approved this merge request") or the first comment of
/// someone other than the author; `None` for anything else.
pub fn note_review(
    repo: &str,
    number: i64,
    note: &Json,
    context: &Context<'_>,
) -> Result<Option<Row>, PayloadError> {
    let body = optional_text(note, "body").unwrap_or_default();
    let system = note["system"].as_bool() == Some(true);
    let state = if system && body.trim() == "approved this merge request" {
        "approved"
    } else if !system {
        "commented"
    } else {
        return Ok(None);
    };
    let reviewer = user(
        context,
        optional_text(note, "author.id"),
        optional_text(note, "author.username"),
    );
    let at = time(note, "created_at")?;
    let event_id = if state == "approved" {
        // The approval hook's id, so a webhook and a pull are one row.
        format!("gitlab:approval:{repo}!{number}:{reviewer}:{at}")
    } else {
        format!("gitlab:note:{repo}!{number}:{}", text(note, "id")?)
    };
    Ok(Some(
        Review {
            event_id,
            repo: repo.to_string(),
            pr_number: number,
            reviewer,
            state: state.into(),
            submitted_at: Micros(at),
        }
        .into(),
    ))
}

/// A job of `GET /projects/:id/pipelines/:id/jobs`.
pub fn api_job(repo: &str, pipeline_id: &str, job: &Json) -> Result<Row, PayloadError> {
    job_row(repo.to_string(), pipeline_id.to_string(), job, &API_JOB)
}

/// A deployment of `GET /projects/:id/deployments` with a final status.
pub fn api_deployment(
    repo: &str,
    deployment: &Json,
    context: &Context<'_>,
) -> Result<Option<Row>, PayloadError> {
    let Some(status) = deployment_outcome(&text(deployment, "status")?) else {
        return Ok(None);
    };
    let id = text(deployment, "id")?;
    let started = time(deployment, "created_at")?;
    let finished = optional_time(deployment, "finished_at")?
        .or(optional_time(deployment, "updated_at")?)
        .unwrap_or(started);
    Ok(Some(
        Deployment {
            event_id: format!("gitlab:deployment:{repo}:{id}:{status}"),
            service: context.catalog.service_of_repository(repo),
            environment: text(deployment, "environment.name")?,
            sha: text(deployment, "sha")?,
            deployment_id: id,
            status: status.into(),
            started_at: Micros(started),
            finished_at: Some(Micros(finished)),
            source: "gitlab".into(),
        }
        .into(),
    ))
}

/// An issue of `GET /projects/:id/issues` that is an incident (its type, or
/// the incident label).
pub fn api_incident(
    repo: &str,
    issue: &Json,
    context: &Context<'_>,
) -> Result<Option<Row>, PayloadError> {
    issue_incident(repo, issue, &issue["labels"], context)
}
