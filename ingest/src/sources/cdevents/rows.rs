//! CDEvents to canonical rows, by subject and predicate of the event type
//! (`dev.cdevents.<subject>.<predicate>.<version>`):
//!
//! * `service.deployed`, `.upgraded`, `.rolledback` -> `deployments`, one
//!   successful attempt at `context.timestamp` in `environment.id`. The
//!   deployed commit is `customData.sha`, else the `vcs_url` qualifier of the
//!   artifact's purl (`...@<commit>`), else the artifact's digest: a rollback
//!   then redeploys an earlier artifact, which the DORA rules see as such.
//!   `.removed` takes a service out of an environment; it is no deployment
//!   and is kept raw.
//! * `pipelinerun.queued`, `.started`, `.finished` -> `ci_runs` rows of one
//!   run (`subject.id`), which merge; `taskrun.started`, `.finished` ->
//!   `ci_jobs`. The repository is `customData.repository`, else the event's
//!   `subject.source`; the commit `customData.sha`, else unknown (a value of
//!   the run's own, so unrelated runs never look like re-runs of one commit).
//! * `change.created`, `.merged` -> `pull_requests` rows of one change in
//!   `repository.id`, which merge (created, then merged). The author is
//!   `customData.author`, else the sending tool (`subject.source`).
//! * `incident.detected`, `.reported`, `.resolved` -> `incidents` of
//!   `service.id`, linked to the artifact's commit as deployments are.
//!
//! Services are the catalog's, found by `subject.id` (deployments) or
//! `service.id` (incidents), whole or by its last `/` segment; an event of a
//! service the catalog does not know is kept raw with that reason.

use serde_json::Value as Json;

use crate::canonical::{CiJob, CiRun, Deployment, Incident, Micros, PullRequest, Row};
use crate::sources::json::{optional_text, text, time};
use crate::sources::webhook::{Parsed, PayloadError, WebhookContext};

/// Subject and predicate of `dev.cdevents.<subject>.<predicate>.<version>`.
pub fn event_kind(event_type: &str) -> Option<(&str, &str)> {
    let rest = event_type.strip_prefix("dev.cdevents.")?;
    let mut parts = rest.splitn(3, '.');
    Some((parts.next()?, parts.next()?))
}

fn custom(event: &Json, key: &str) -> Option<String> {
    optional_text(&event["customData"], key)
}

/// The commit an artifact was built from: `customData.sha`, the purl's
/// `vcs_url` qualifier (`git+https://host/repo@<commit>`), else the
/// artifact's own version (its digest), decoded.
pub fn artifact_commit(event: &Json, artifact_id: Option<&str>) -> Option<String> {
    if let Some(sha) = custom(event, "sha") {
        return Some(sha);
    }
    let purl = artifact_id?;
    let (before_qualifiers, qualifiers) = purl.split_once('?').unwrap_or((purl, ""));
    for qualifier in qualifiers.split('&') {
        if let Some(url) = qualifier.strip_prefix("vcs_url=") {
            let url = percent_decode(url);
            if let Some((_, commit)) = url.rsplit_once('@') {
                if !commit.is_empty() && !commit.contains('/') {
                    return Some(commit.to_string());
                }
            }
        }
    }
    let version = before_qualifiers.split('#').next()?.rsplit_once('@')?.1;
    Some(percent_decode(version))
}

/// Percent-decoding of a purl component (`sha256%3Aabc` -> `sha256:abc`).
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
            if let Some(byte) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                out.push(byte);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A run's or job's outcome as a CI conclusion: CDEvents' `error` (the
/// pipeline could not run) counts as a failure, as GitHub's startup failures do.
fn conclusion(event: &Json) -> Result<String, PayloadError> {
    let outcome = text(event, "subject.content.outcome")?;
    match outcome.to_ascii_lowercase().as_str() {
        "success" => Ok("success".into()),
        "failure" | "error" => Ok("failure".into()),
        "cancel" | "cancelled" | "canceled" => Ok("cancelled".into()),
        _ => Err(PayloadError(format!(
            "`subject.content.outcome`: `{outcome}` is not success, failure or error"
        ))),
    }
}

/// The catalog service a CDEvents id names: whole, or its last segment.
fn service(context: &WebhookContext<'_>, id: &str) -> Option<String> {
    let last = id.trim_end_matches('/').rsplit('/').next().unwrap_or(id);
    [id, last]
        .into_iter()
        .find_map(|name| context.catalog.service_named(name))
}

fn unknown_service(id: &str) -> Parsed {
    Parsed::Kept(format!(
        "service `{id}` is not in the catalog; import it (devex import catalog, or services) or send the catalog's service name as the subject id"
    ))
}

/// Maps one CDEvent of type `event_type` to canonical rows.
pub fn parse(
    event_type: &str,
    event: &Json,
    context: &WebhookContext<'_>,
) -> Result<Parsed, PayloadError> {
    if !event.is_object() {
        return Err(PayloadError("the CDEvent is not a JSON object".into()));
    }
    let Some((subject, predicate)) = event_kind(event_type) else {
        return Ok(Parsed::Kept(format!(
            "`{event_type}` is not a CDEvents type"
        )));
    };
    let id = text(event, "context.id")?;
    let at = time(event, "context.timestamp")?;
    let subject_id = text(event, "subject.id")?;
    let content = &event["subject"]["content"];
    let row: Row = match (subject, predicate) {
        ("service", "deployed" | "upgraded" | "rolledback") => {
            let Some(service) = service(context, &subject_id) else {
                return Ok(unknown_service(&subject_id));
            };
            let artifact = optional_text(content, "artifactId");
            Deployment {
                event_id: format!("cdevents:{id}"),
                service,
                environment: text(content, "environment.id").map_err(|_| {
                    PayloadError("`subject.content.environment.id` is missing".into())
                })?,
                sha: artifact_commit(event, artifact.as_deref()).ok_or_else(|| {
                    PayloadError(
                        "`subject.content.artifactId` is missing (and no customData.sha)".into(),
                    )
                })?,
                deployment_id: id,
                status: "success".into(),
                started_at: Micros(at),
                finished_at: Some(Micros(at)),
                source: "cdevents".into(),
            }
            .into()
        }
        ("pipelinerun", "queued" | "started" | "finished") => {
            let finished = predicate == "finished";
            CiRun {
                event_id: format!("cdevents:{id}"),
                repo: custom(event, "repository")
                    .unwrap_or_else(|| optional_text(event, "subject.source").unwrap_or_default()),
                pipeline: optional_text(content, "pipelineName")
                    .unwrap_or_else(|| "pipeline".into()),
                sha: custom(event, "sha").unwrap_or_else(|| format!("unknown:{subject_id}")),
                run_id: subject_id,
                attempt: 1,
                r#ref: custom(event, "ref"),
                trigger: None,
                queued_at: Micros(at),
                started_at: (predicate == "started").then_some(Micros(at)),
                finished_at: finished.then_some(Micros(at)),
                conclusion: if finished {
                    Some(conclusion(event)?)
                } else {
                    None
                },
                runner_os: None,
                billable_minutes: None,
            }
            .into()
        }
        ("taskrun", "started" | "finished") => {
            let finished = predicate == "finished";
            CiJob {
                event_id: format!("cdevents:{id}"),
                repo: custom(event, "repository")
                    .unwrap_or_else(|| optional_text(event, "subject.source").unwrap_or_default()),
                run_id: optional_text(content, "pipelineRun.id")
                    .unwrap_or_else(|| subject_id.clone()),
                attempt: 1,
                name: optional_text(content, "taskName").unwrap_or_else(|| "task".into()),
                job_id: subject_id,
                status: if finished { "completed" } else { "in_progress" }.into(),
                queued_at: None,
                started_at: Micros(at),
                finished_at: finished.then_some(Micros(at)),
                conclusion: if finished {
                    Some(conclusion(event)?)
                } else {
                    None
                },
                runner_name: None,
                runner_labels: Vec::new(),
            }
            .into()
        }
        ("change", "created" | "merged") => {
            let repo = text(content, "repository.id")
                .map_err(|_| PayloadError("`subject.content.repository.id` is missing".into()))?;
            let merged = predicate == "merged";
            let author = custom(event, "author")
                .unwrap_or_else(|| optional_text(event, "subject.source").unwrap_or_default());
            PullRequest {
                event_id: format!("cdevents:{id}"),
                repo,
                number: change_number(&subject_id),
                author: context.pseudonymizer.pseudonym(&author),
                created_at: Micros(at),
                first_commit_at: None,
                first_review_at: None,
                approved_at: None,
                merged_at: merged.then_some(Micros(at)),
                closed_at: merged.then_some(Micros(at)),
                merge_sha: if merged { custom(event, "sha") } else { None },
                base_ref: custom(event, "ref"),
                additions: None,
                deletions: None,
                commits_count: None,
                labels: Vec::new(),
                files: None,
                // CDEvents carry no labels or trailers; an agent author says.
                ai_tool: context.ai.tool_of_agent(&author).map(str::to_string),
            }
            .into()
        }
        ("incident", "detected" | "reported" | "resolved") => {
            let service_id = text(content, "service.id")
                .map_err(|_| PayloadError("`subject.content.service.id` is missing".into()))?;
            let Some(service) = service(context, &service_id) else {
                return Ok(unknown_service(&service_id));
            };
            let resolved = predicate == "resolved";
            Incident {
                event_id: format!("cdevents:{id}"),
                service,
                incident_id: subject_id,
                severity: None,
                opened_at: Micros(at),
                acknowledged_at: None,
                resolved_at: resolved.then_some(Micros(at)),
                deployment_id: None,
                sha: artifact_commit(event, optional_text(content, "artifactId").as_deref()),
            }
            .into()
        }
        _ => {
            return Ok(Parsed::Kept(format!(
                "CDEvents `{subject}.{predicate}` events map to no rows"
            )))
        }
    };
    Ok(Parsed::Rows(vec![row]))
}

/// A change's number: the digits its id ends with (`PR-42`, `42`), else a
/// stable number derived from the id.
fn change_number(id: &str) -> i64 {
    let digits: String = id
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    match digits.parse::<i64>() {
        Ok(n) if !digits.is_empty() && digits.len() < 18 => n,
        _ => {
            use sha2::{Digest, Sha256};
            let digest = Sha256::digest(id.as_bytes());
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(&digest[..8]);
            // Positive, within what JSON numbers hold exactly.
            (u64::from_be_bytes(bytes) >> 11) as i64
        }
    }
}
