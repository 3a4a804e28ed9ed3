//! GitLab's REST API objects (`devex ingest gitlab`) to canonical rows: the
//! rows the webhooks give for the same facts, with the same event ids, so a
//! pull after webhooks (or webhooks after a pull) stores nothing twice.

use serde_json::Value as Json;

use super::rows::{
    deployment_outcome, job_status, micros, outcome, severity, state_key, user, Context,
};
use crate::canonical::{CiJob, Commit, Deployment, Incident, Micros, PullRequest, Review, Row};
use crate::sources::json::{optional_text, optional_time, text, time};
use crate::sources::webhook::PayloadError;

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
    }
    .into())
}

/// A merge request of `GET /projects/:id/merge_requests` at its current
/// state; `first_commit_at` from its commits.
pub fn api_merge_request(
    repo: &str,
    mr: &Json,
    first_commit_at: Option<i64>,
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
    Ok(PullRequest {
        event_id: format!(
            "gitlab:merge_request:{repo}!{number}:{}",
            state_key(mr, "updated_at")?
        ),
        repo: repo.to_string(),
        number,
        author: user(context, optional_text(mr, "author.id"), None),
        created_at: Micros(time(mr, "created_at")?),
        first_commit_at: first_commit_at.map(Micros),
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
        labels: mr["labels"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect(),
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
    let status = text(job, "status")?;
    let (finished, conclusion) = outcome(&status);
    let job_status = job_status(&status, finished);
    let job_id = text(job, "id")?;
    let queued_at = optional_time(job, "created_at")?;
    Ok(CiJob {
        event_id: format!("gitlab:job:{repo}:{job_id}:{status}"),
        repo: repo.to_string(),
        run_id: pipeline_id.to_string(),
        attempt: 1,
        job_id,
        name: text(job, "name")?,
        status: job_status.into(),
        queued_at: queued_at.map(Micros),
        started_at: Micros(
            optional_time(job, "started_at")?
                .or(queued_at)
                .ok_or_else(|| PayloadError("`created_at` is missing".into()))?,
        ),
        finished_at: if finished {
            micros(job, "finished_at")?
        } else {
            None
        },
        conclusion: conclusion.map(str::to_string),
        runner_name: optional_text(job, "runner.description"),
        runner_labels: job["tag_list"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
    }
    .into())
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
    let typed = ["issue_type", "type"]
        .iter()
        .any(|key| optional_text(issue, key).is_some_and(|t| t.eq_ignore_ascii_case("incident")));
    let labelled = issue["labels"].as_array().into_iter().flatten().any(|l| {
        l.as_str()
            .is_some_and(|l| l.eq_ignore_ascii_case(context.incident_label))
    });
    if !typed && !labelled {
        return Ok(None);
    }
    let number = text(issue, "iid")?;
    let closed = optional_text(issue, "state").as_deref() == Some("closed");
    Ok(Some(
        Incident {
            event_id: format!(
                "gitlab:issue:{repo}#{number}:{}",
                state_key(issue, "updated_at")?
            ),
            service: context.catalog.service_of_repository(repo),
            incident_id: format!("{repo}#{number}"),
            severity: severity(optional_text(issue, "severity")),
            opened_at: Micros(time(issue, "created_at")?),
            acknowledged_at: None,
            resolved_at: if closed {
                micros(issue, "closed_at")?
            } else {
                None
            },
            deployment_id: None,
            sha: None,
        }
        .into(),
    ))
}
