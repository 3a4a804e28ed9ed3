//! GitLab payloads to canonical rows. Webhook events and the REST API's
//! objects differ in shape, so each maps here from its own fields:
//!
//! * Push Hook -> a `pushes` row and a `commits` row per pushed commit
//!   (parents unknown, as with GitHub pushes). A push without commits (a
//!   branch deleted) carries no time and is kept raw.
//! * Merge Request Hook -> a `pull_requests` row per observed state (`iid`
//!   is the number; merged only when GitLab says `merged`, its merge commit
//!   the squash commit when squashed); `approved` also a `reviews` row.
//! * Pipeline Hook -> `ci_runs`, one row per pipeline and status; Job Hook
//!   (`object_kind: build`) -> `ci_jobs`. GitLab's statuses map onto the
//!   closed sets (`failed` is `failure`, `canceled` is `cancelled`, `manual`
//!   is waiting).
//! * Deployment Hook with a final status -> `deployments` (the full sha is
//!   the end of `commit_url`).
//! * Issue Hook for issues of type incident, or carrying the incident label,
//!   -> `incidents`; GitLab's severities are S1 critical to S4 low.
//! * Release Hook -> `releases`. Anything else is kept raw.
//!
//! People are GitLab user ids (`gitlab-user:<id>`) or commit e-mails, only
//! ever stored as pseudonyms. A project is `path_with_namespace`; its
//! service is the catalog's (`services.repos`), else its name.

use serde_json::Value as Json;

use crate::canonical::{
    CiJob, CiRun, Commit, Deployment, Incident, Micros, PullRequest, Push, Release, Review, Row,
    Rows,
};
use crate::identity::Pseudonymizer;
use crate::sources::catalog::CatalogView;
use crate::sources::json::{optional_text, optional_time, text, time};
use crate::sources::webhook::{Parsed, PayloadError};

/// What the mapping needs beyond the payload.
pub struct Context<'a> {
    pub pseudonymizer: &'a Pseudonymizer,
    pub catalog: &'a CatalogView,
    pub incident_label: &'a str,
    /// Which commits and merge requests are AI-assisted.
    pub ai: &'a crate::ai_attribution::AiAttribution,
}

/// A GitLab user, by id (stable across renames), as the pseudonymizer's input.
pub(super) fn user(context: &Context<'_>, id: Option<String>, fallback: Option<String>) -> String {
    let identity = match id {
        Some(id) => format!("gitlab-user:{id}"),
        None => format!("gitlab-username:{}", fallback.unwrap_or_default()),
    };
    context.pseudonymizer.pseudonym(&identity)
}

pub(super) fn micros(value: &Json, path: &str) -> Result<Option<Micros>, PayloadError> {
    Ok(optional_time(value, path)?.map(Micros))
}

fn project(payload: &Json) -> Result<String, PayloadError> {
    text(payload, "project.path_with_namespace")
}

/// A row's event id part for a state observed at `updated_at`.
pub(super) fn state_key(value: &Json, path: &str) -> Result<String, PayloadError> {
    Ok(optional_time(value, path)?.unwrap_or(0).to_string())
}

/// Maps one delivery of `event` (`X-Gitlab-Event`, or `object_kind`).
pub fn parse(event: &str, payload: &Json, context: &Context<'_>) -> Result<Parsed, PayloadError> {
    if !payload.is_object() {
        return Err(PayloadError("the payload is not a JSON object".into()));
    }
    let kind = match event {
        "Push Hook" | "push" => "push",
        "Merge Request Hook" | "merge_request" => "merge_request",
        "Pipeline Hook" | "pipeline" => "pipeline",
        "Job Hook" | "build" => "build",
        "Deployment Hook" | "deployment" => "deployment",
        "Issue Hook" | "issue" => "issue",
        "Release Hook" | "release" => "release",
        _ => "",
    };
    let rows = match kind {
        "push" => push(payload, context)?,
        "merge_request" => merge_request(payload, context)?,
        "pipeline" => vec![pipeline(&project(payload)?, &payload["object_attributes"])?],
        "build" => vec![job(payload)?],
        "deployment" => deployment(payload, context)?.into_iter().collect(),
        "issue" => incident(payload, context)?.into_iter().collect(),
        "release" => vec![release(payload)?],
        _ => Vec::new(),
    };
    Ok(Parsed::rows_or(rows, || {
        format!("GitLab `{event}` events map to no rows (or this one is not an incident, a final deployment status, a push with commits, ...)")
    }))
}

fn push(payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    let repo = project(payload)?;
    let git_ref = text(payload, "ref")?;
    let commits = payload["commits"].as_array().cloned().unwrap_or_default();
    let after = optional_text(payload, "after");
    // The head commit's time is the push's; GitLab sends no push time.
    let head = commits
        .iter()
        .find(|c| optional_text(c, "id") == after)
        .or(commits.last());
    let Some(head) = head else {
        return Ok(Vec::new());
    };
    let mut rows: Rows = vec![Push {
        event_id: format!(
            "gitlab:push:{repo}:{git_ref}:{}",
            after.clone().unwrap_or_default()
        ),
        repo: repo.clone(),
        r#ref: git_ref,
        before_sha: optional_text(payload, "before"),
        after_sha: after,
        commit_shas: commits
            .iter()
            .map(|c| text(c, "id"))
            .collect::<Result<_, _>>()?,
        pushed_at: Micros(time(head, "timestamp")?),
        actor: Some(user(
            context,
            optional_text(payload, "user_id"),
            optional_text(payload, "user_username"),
        )),
    }
    .into()];
    for commit in &commits {
        let sha = text(commit, "id")?;
        let author = optional_text(commit, "author.email")
            .or_else(|| optional_text(commit, "author.name"))
            .unwrap_or_default();
        rows.push(
            Commit {
                event_id: format!("gitlab:push-commit:{repo}:{sha}"),
                repo: repo.clone(),
                sha,
                parents: None,
                author: context.pseudonymizer.pseudonym(&author),
                authored_at: Micros(time(commit, "timestamp")?),
                committed_at: None,
                message_summary: optional_text(commit, "title")
                    .or_else(|| optional_text(commit, "message"))
                    .map(|m| m.lines().next().unwrap_or("").to_string()),
                files: crate::sources::json::touched_files(commit),
                ai_tool: context
                    .ai
                    .tool_of_authored_commit(optional_text(commit, "message").as_deref(), None),
            }
            .into(),
        );
    }
    Ok(rows)
}

fn merge_request(payload: &Json, context: &Context<'_>) -> Result<Rows, PayloadError> {
    let repo = project(payload)?;
    let mr = &payload["object_attributes"];
    let number = mr["iid"]
        .as_i64()
        .ok_or_else(|| PayloadError("`object_attributes.iid` is missing".into()))?;
    let state = optional_text(mr, "state").unwrap_or_default();
    let action = optional_text(mr, "action").unwrap_or_default();
    let merged = state == "merged";
    let closed = merged || state == "closed";
    let updated = optional_time(mr, "updated_at")?;
    let labels: Vec<String> = payload["labels"]
        .as_array()
        .or(mr["labels"].as_array())
        .into_iter()
        .flatten()
        .filter_map(|l| l["title"].as_str().map(str::to_string))
        .collect();
    // The hook names the author by id; the acting user's name is the
    // author's when the two ids agree.
    let author_name = (optional_text(payload, "user.id") == optional_text(mr, "author_id"))
        .then(|| optional_text(payload, "user.username"))
        .flatten();
    let ai_tool = context
        .ai
        .tool_of_pull_request(author_name.as_deref(), &labels)
        .map(str::to_string);
    let merge_sha = if !merged {
        None
    } else if mr["squash"].as_bool() == Some(true) {
        optional_text(mr, "squash_commit_sha").or_else(|| optional_text(mr, "merge_commit_sha"))
    } else {
        optional_text(mr, "merge_commit_sha")
    };
    let mut rows: Rows = vec![PullRequest {
        event_id: format!(
            "gitlab:merge_request:{repo}!{number}:{}",
            state_key(mr, "updated_at")?
        ),
        repo: repo.clone(),
        number,
        author: user(context, optional_text(mr, "author_id"), None),
        created_at: Micros(time(mr, "created_at")?),
        first_commit_at: None,
        first_review_at: None,
        approved_at: None,
        merged_at: if merged {
            micros(mr, "merged_at")?.or(updated.map(Micros))
        } else {
            None
        },
        closed_at: if closed {
            micros(mr, "closed_at")?
                .or(micros(mr, "merged_at")?)
                .or(updated.map(Micros))
        } else {
            None
        },
        merge_sha,
        base_ref: optional_text(mr, "target_branch"),
        additions: None,
        deletions: None,
        commits_count: None,
        labels,
        // The hook does not list the changes; the merge commit's stand in.
        files: None,
        ai_tool,
    }
    .into()];
    if action == "approved" {
        let reviewer = user(
            context,
            optional_text(payload, "user.id"),
            optional_text(payload, "user.username"),
        );
        let at = updated.ok_or_else(|| {
            PayloadError("`object_attributes.updated_at` is missing on an approval".into())
        })?;
        rows.push(
            Review {
                event_id: format!("gitlab:approval:{repo}!{number}:{reviewer}:{at}"),
                repo,
                pr_number: number,
                reviewer,
                state: "approved".into(),
                submitted_at: Micros(at),
            }
            .into(),
        );
    }
    Ok(rows)
}

/// GitLab's pipeline and job statuses: (finished, conclusion).
pub(super) fn outcome(status: &str) -> (bool, Option<&'static str>) {
    match status {
        "success" => (true, Some("success")),
        "failed" => (true, Some("failure")),
        "canceled" | "cancelled" => (true, Some("cancelled")),
        "skipped" => (true, Some("skipped")),
        _ => (false, None),
    }
}

/// A GitLab job status in the closed set of CI job statuses.
fn job_status(status: &str, finished: bool) -> &'static str {
    match status {
        "created" | "pending" => "queued",
        "running" => "in_progress",
        "manual" | "scheduled" | "waiting_for_resource" => "waiting",
        _ if finished => "completed",
        _ => "pending",
    }
}

/// A pipeline at one status. The webhook's `object_attributes` and
/// `GET /projects/:id/pipelines/:id` share these fields.
pub fn pipeline(repo: &str, pipeline: &Json) -> Result<Row, PayloadError> {
    let id = text(pipeline, "id")?;
    let status = text(pipeline, "status")?;
    let (finished, conclusion) = outcome(&status);
    let queued_at = time(pipeline, "created_at")?;
    // The webhook gives the queue wait in seconds; the API a start time.
    let started_at = match optional_time(pipeline, "started_at")? {
        Some(started) => Some(started),
        None => pipeline["queued_duration"]
            .as_f64()
            .map(|seconds| queued_at + (seconds * 1e6) as i64),
    };
    Ok(CiRun {
        event_id: format!("gitlab:pipeline:{repo}:{id}:{status}"),
        repo: repo.to_string(),
        pipeline: optional_text(pipeline, "name").unwrap_or_else(|| "pipeline".into()),
        run_id: id,
        attempt: 1,
        sha: text(pipeline, "sha")?,
        r#ref: optional_text(pipeline, "ref"),
        trigger: optional_text(pipeline, "source"),
        queued_at: Micros(queued_at),
        started_at: started_at.map(Micros),
        finished_at: if finished {
            micros(pipeline, "finished_at")?
        } else {
            None
        },
        conclusion: conclusion.map(str::to_string),
        runner_os: None,
        billable_minutes: None,
    }
    .into())
}

/// A job at one status (Job Hook).
fn job(payload: &Json) -> Result<Row, PayloadError> {
    let repo = text(payload, "project.path_with_namespace")
        .or_else(|_| text(payload, "repository.homepage").map(|url| project_path(&url)))?;
    job_row(repo, text(payload, "pipeline_id")?, payload, &HOOK_JOB)
}

/// Where a job's fields are: the Job Hook spells them `build_*`, the REST
/// API plainly.
pub(super) struct JobFields {
    status: &'static str,
    id: &'static str,
    name: &'static str,
    created_at: &'static str,
    started_at: &'static str,
    finished_at: &'static str,
    runner_labels: &'static str,
}

const HOOK_JOB: JobFields = JobFields {
    status: "build_status",
    id: "build_id",
    name: "build_name",
    created_at: "build_created_at",
    started_at: "build_started_at",
    finished_at: "build_finished_at",
    runner_labels: "runner.tags",
};

pub(super) const API_JOB: JobFields = JobFields {
    status: "status",
    id: "id",
    name: "name",
    created_at: "created_at",
    started_at: "started_at",
    finished_at: "finished_at",
    runner_labels: "tag_list",
};

/// A job of pipeline `run_id` at one status.
pub(super) fn job_row(
    repo: String,
    run_id: String,
    job: &Json,
    fields: &JobFields,
) -> Result<Row, PayloadError> {
    let status = text(job, fields.status)?;
    let (finished, conclusion) = outcome(&status);
    let job_id = text(job, fields.id)?;
    let queued_at = optional_time(job, fields.created_at)?;
    Ok(CiJob {
        event_id: format!("gitlab:job:{repo}:{job_id}:{status}"),
        repo,
        run_id,
        attempt: 1,
        job_id,
        name: text(job, fields.name)?,
        status: job_status(&status, finished).into(),
        queued_at: queued_at.map(Micros),
        // A job not started yet is dated by its creation.
        started_at: Micros(
            optional_time(job, fields.started_at)?
                .or(queued_at)
                .ok_or_else(|| PayloadError(format!("`{}` is missing", fields.created_at)))?,
        ),
        finished_at: if finished {
            micros(job, fields.finished_at)?
        } else {
            None
        },
        conclusion: conclusion.map(str::to_string),
        runner_name: optional_text(job, "runner.description"),
        runner_labels: crate::sources::json::at(job, fields.runner_labels)
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_string))
            .collect(),
    }
    .into())
}

/// `group/project` of a project URL.
fn project_path(url: &str) -> String {
    let without_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    without_scheme
        .split_once('/')
        .map_or(without_scheme, |(_, path)| path)
        .trim_end_matches('/')
        .to_string()
}

fn deployment(payload: &Json, context: &Context<'_>) -> Result<Option<Row>, PayloadError> {
    let Some(status) = deployment_outcome(&text(payload, "status")?) else {
        return Ok(None);
    };
    let repo = project(payload)?;
    let sha = optional_text(payload, "commit_url")
        .and_then(|url| url.rsplit('/').next().map(str::to_string))
        .filter(|sha| sha.len() >= 40)
        .or_else(|| optional_text(payload, "sha"))
        .ok_or_else(|| PayloadError("`commit_url` does not end in a full sha".into()))?;
    let at = time(payload, "status_changed_at")?;
    let id = text(payload, "deployment_id")?;
    Ok(Some(
        Deployment {
            event_id: format!("gitlab:deployment:{repo}:{id}:{status}"),
            service: context.catalog.service_of_repository(&repo),
            environment: text(payload, "environment")?,
            sha,
            deployment_id: id,
            status: status.into(),
            started_at: Micros(at),
            finished_at: Some(Micros(at)),
            source: "gitlab".into(),
        }
        .into(),
    ))
}

/// A final deployment status as a deployment status; created and running
/// are not outcomes yet.
pub(super) fn deployment_outcome(status: &str) -> Option<&'static str> {
    match status {
        "success" => Some("success"),
        "failed" => Some("failure"),
        "canceled" => Some("cancelled"),
        _ => None,
    }
}

/// GitLab's incident severities (S1 critical .. S4 low).
pub(super) fn severity(value: Option<String>) -> Option<String> {
    match value?.to_ascii_lowercase().as_str() {
        "critical" => Some("sev1".into()),
        "high" => Some("sev2".into()),
        "medium" => Some("sev3".into()),
        "low" => Some("sev4".into()),
        _ => None,
    }
}

fn incident(payload: &Json, context: &Context<'_>) -> Result<Option<Row>, PayloadError> {
    let issue = &payload["object_attributes"];
    let labels = if payload["labels"].is_array() {
        &payload["labels"]
    } else {
        &issue["labels"]
    };
    issue_incident(&project(payload)?, issue, labels, context)
}

/// The incident row of an issue (an Issue Hook's `object_attributes`, or an
/// issue of the REST API) when it is one: of type incident, or carrying the
/// incident label. `labels` are objects with a `title` (hooks) or names (API).
pub(super) fn issue_incident(
    repo: &str,
    issue: &Json,
    labels: &Json,
    context: &Context<'_>,
) -> Result<Option<Row>, PayloadError> {
    let typed = ["issue_type", "type"]
        .iter()
        .any(|key| optional_text(issue, key).is_some_and(|t| t.eq_ignore_ascii_case("incident")));
    let labelled = labels.as_array().into_iter().flatten().any(|l| {
        l["title"]
            .as_str()
            .or(l.as_str())
            .is_some_and(|t| t.eq_ignore_ascii_case(context.incident_label))
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
            // Hooks of older GitLab carry no closed_at: the close's update.
            resolved_at: if closed {
                micros(issue, "closed_at")?.or(micros(issue, "updated_at")?)
            } else {
                None
            },
            deployment_id: None,
            sha: None,
        }
        .into(),
    ))
}

fn release(payload: &Json) -> Result<Row, PayloadError> {
    let repo = project(payload)?;
    let id = text(payload, "id")?;
    let released = optional_time(payload, "released_at")?;
    Ok(Release {
        event_id: format!("gitlab:release:{repo}:{id}:{}", released.unwrap_or(0)),
        repo,
        release_id: id,
        tag: text(payload, "tag")?,
        target: optional_text(payload, "commit.id"),
        kind: "release".into(),
        created_at: Micros(time(payload, "created_at")?),
        published_at: released.map(Micros),
    }
    .into())
}
