//! `devex ingest gitlab --org GROUP | --repo GROUP/PROJECT`: a project's
//! history from the REST API v4 (`GITLAB_TOKEN`), incrementally.
//!
//! Per project, five resources, each with its own cursor:
//! * `commits`: `GET .../repository/commits?since=&all=true`, with real
//!   parents, re-read with a day's overlap (a push may bring older commits);
//! * `merge_requests`: changed since the cursor (`updated_after`), each with
//!   its commits (the earliest author time is `first_commit_at`) and notes
//!   (approvals and the first comments are reviews);
//! * `pipelines`: changed since the cursor, each read whole (start, finish,
//!   queue wait) with its jobs;
//! * `deployments`: changed since the cursor, final statuses only;
//! * `incidents`: issues of type incident, or with the incident label.
//!
//! The rows are the webhooks' rows for the same facts (same event ids), so
//! a pull after webhooks, or webhooks after a pull, store nothing twice.

use chrono::SecondsFormat;
use futures::future::BoxFuture;
use serde_json::Value as Json;

use super::api as rows;
use super::config::GitlabConfig;
use super::rows::{pipeline, Context};
use crate::canonical::Rows;
use crate::error::{Error, Result};
use crate::sources::http::{api_root, encode, Patience, ToolClient};
use crate::sources::json::time;
use crate::sources::PullDetails;
use crate::sources::{
    Cursor, Cursors, Progress, ProgressEvent, Source, SourceSection, SyncContext, SyncReport,
    SyncRequest,
};

const RESOURCES: [&str; 5] = [
    "commits",
    "merge_requests",
    "pipelines",
    "deployments",
    "incidents",
];

/// How far back the commits cursor re-reads.
const COMMIT_OVERLAP_MICROS: i64 = 24 * 3600 * 1_000_000;

pub struct GitLab {
    client: ToolClient,
    base: String,
    incident_label: String,
}

impl GitLab {
    pub fn build(section: &SourceSection) -> Result<Box<dyn Source>> {
        let config = GitlabConfig::from_section(section)?;
        let client = ToolClient::new(
            "GitLab",
            config
                .token
                .filter(|t| !t.is_empty())
                .map(|t| ("private-token", t)),
            "Create a personal, group or project access token with the read_api scope, then set GITLAB_TOKEN or [gitlab] token and run again",
            Patience::default(),
        )?;
        let base = api_root(config.base_url, "https://gitlab.com/api/v4");
        Ok(Box::new(GitLab {
            client,
            base,
            incident_label: config.incident_label,
        }))
    }

    /// Every item of a list, following `Link: rel="next"`.
    async fn list(&self, url: String, progress: &dyn Progress) -> Result<Option<Vec<Json>>> {
        let mut items = Vec::new();
        let mut next = Some(url);
        let mut first = true;
        while let Some(url) = next {
            let Some(page) = self.client.get(&url, progress).await? else {
                // A 404 on the first page: no such project (or feature off).
                return Ok(if first { None } else { Some(items) });
            };
            first = false;
            next = page.next_link();
            match page.body.as_array() {
                Some(list) => items.extend(list.iter().cloned()),
                None => {
                    return Err(Error::SourcePayload {
                        url,
                        message: "the answer is not a list".into(),
                    })
                }
            }
        }
        Ok(Some(items))
    }

    /// The `--repo`s, and every project of each `--org` group (subgroups too).
    async fn projects(
        &self,
        request: &SyncRequest,
        progress: &dyn Progress,
    ) -> Result<Vec<String>> {
        let mut projects: Vec<String> = request.repos.clone();
        for group in &request.owners {
            let url = format!(
                "{}/groups/{}/projects?include_subgroups=true&per_page=100&archived=false",
                self.base,
                encode(group)
            );
            let listed = self
                .list(url, progress)
                .await?
                .ok_or_else(|| Error::SourceConfig {
                    message: format!(
                        "--org {group}: GitLab knows no group of that path that this token can see"
                    ),
                })?;
            for project in listed {
                if let Some(path) = project["path_with_namespace"].as_str() {
                    projects.push(path.to_string());
                }
            }
        }
        projects.sort();
        projects.dedup();
        if projects.is_empty() {
            return Err(Error::SourceConfig {
                message: "nothing to sync: give --org GROUP or --repo GROUP/PROJECT".into(),
            });
        }
        Ok(projects)
    }

    fn payload(url: &str) -> impl Fn(crate::sources::PayloadError) -> Error + '_ {
        move |e| Error::SourcePayload {
            url: url.to_string(),
            message: e.0,
        }
    }

    async fn resource(
        &self,
        project: &str,
        resource: &str,
        after: &str,
        context: &Context<'_>,
        progress: &dyn Progress,
    ) -> Result<(Rows, Option<i64>)> {
        let base = format!("{}/projects/{}", self.base, encode(project));
        let mut rows: Rows = Vec::new();
        let mut newest: Option<i64> = None;
        let mut seen = |value: &Json, path: &str| {
            if let Ok(at) = time(value, path) {
                newest = Some(newest.map_or(at, |n: i64| n.max(at)));
            }
        };
        match resource {
            "commits" => {
                let url = format!("{base}/repository/commits?all=true&per_page=100&since={after}");
                for commit in self.list(url.clone(), progress).await?.unwrap_or_default() {
                    rows.push(
                        rows::api_commit(project, &commit, context).map_err(Self::payload(&url))?,
                    );
                    seen(&commit, "committed_date");
                }
            }
            "merge_requests" => {
                let url = format!(
                    "{base}/merge_requests?state=all&order_by=updated_at&sort=asc&per_page=100&updated_after={after}"
                );
                for mr in self.list(url.clone(), progress).await?.unwrap_or_default() {
                    seen(&mr, "updated_at");
                    let number = mr["iid"].as_i64().unwrap_or_default();
                    let commits = self
                        .list(
                            format!("{base}/merge_requests/{number}/commits?per_page=100"),
                            progress,
                        )
                        .await?
                        .unwrap_or_default();
                    let first_commit_at = commits
                        .iter()
                        .filter_map(|c| time(c, "authored_date").ok())
                        .min();
                    let commit_tool = commits.iter().find_map(|c| rows::commit_tool(c, context));
                    // What it changed places it among a monorepo's services.
                    let files = if mr["state"] == "merged" {
                        self.list(
                            format!("{base}/merge_requests/{number}/diffs?per_page=100"),
                            progress,
                        )
                        .await?
                        .map(|items| {
                            crate::sources::json::changed_paths(&items, ["new_path", "old_path"])
                        })
                    } else {
                        None
                    };
                    rows.push(
                        rows::api_merge_request(
                            project,
                            &mr,
                            PullDetails {
                                first_commit_at,
                                files,
                                commit_tool,
                            },
                            context,
                        )
                        .map_err(Self::payload(&url))?,
                    );
                    let author = mr["author"]["id"].clone();
                    let notes = self
                        .list(
                            format!("{base}/merge_requests/{number}/notes?sort=asc&order_by=created_at&per_page=100"),
                            progress,
                        )
                        .await?
                        .unwrap_or_default();
                    for note in notes {
                        // The author's own comments are not reviews.
                        if note["system"].as_bool() != Some(true) && note["author"]["id"] == author
                        {
                            continue;
                        }
                        if let Some(row) = rows::note_review(project, number, &note, context)
                            .map_err(Self::payload(&url))?
                        {
                            rows.push(row);
                        }
                    }
                }
            }
            "pipelines" => {
                let url = format!("{base}/pipelines?order_by=updated_at&sort=asc&per_page=100&updated_after={after}");
                for listed in self.list(url.clone(), progress).await?.unwrap_or_default() {
                    seen(&listed, "updated_at");
                    let id = listed["id"].to_string();
                    let detail_url = format!("{base}/pipelines/{id}");
                    let Some(detail) = self.client.get(&detail_url, progress).await? else {
                        continue;
                    };
                    rows.push(pipeline(project, &detail.body).map_err(Self::payload(&detail_url))?);
                    let jobs_url =
                        format!("{base}/pipelines/{id}/jobs?include_retried=true&per_page=100");
                    for job in self
                        .list(jobs_url.clone(), progress)
                        .await?
                        .unwrap_or_default()
                    {
                        rows.push(
                            rows::api_job(project, &id, &job).map_err(Self::payload(&jobs_url))?,
                        );
                    }
                }
            }
            "deployments" => {
                let url = format!("{base}/deployments?order_by=updated_at&sort=asc&per_page=100&updated_after={after}");
                for deployment in self.list(url.clone(), progress).await?.unwrap_or_default() {
                    seen(&deployment, "updated_at");
                    if let Some(row) = rows::api_deployment(project, &deployment, context)
                        .map_err(Self::payload(&url))?
                    {
                        rows.push(row);
                    }
                }
            }
            _ => {
                // Incidents: by type, and by label (two lists, one set of rows).
                for filter in [
                    "issue_type=incident".to_string(),
                    format!("labels={}", encode(&self.incident_label)),
                ] {
                    let url = format!("{base}/issues?{filter}&scope=all&order_by=updated_at&sort=asc&per_page=100&updated_after={after}");
                    for issue in self.list(url.clone(), progress).await?.unwrap_or_default() {
                        seen(&issue, "updated_at");
                        if let Some(row) = rows::api_incident(project, &issue, context)
                            .map_err(Self::payload(&url))?
                        {
                            rows.push(row);
                        }
                    }
                }
            }
        }
        Ok((rows, newest))
    }

    async fn run(&self, context: &SyncContext<'_>, request: &SyncRequest) -> Result<SyncReport> {
        let progress = context.progress;
        let projects = self.projects(request, progress).await?;
        let mut cursors = Cursors::load(context.lake, "gitlab").await?;
        let rows_context = Context {
            pseudonymizer: context.pseudonymizer,
            catalog: context.catalog,
            incident_label: &self.incident_label,
            ai: context.ai,
        };
        let mut resources = Vec::new();
        let since = request.since.timestamp_micros();
        for project in &projects {
            for resource in RESOURCES {
                progress.event(ProgressEvent::Started {
                    scope: project,
                    resource,
                });
                let before = self.client.counts().requests;
                let stored = if request.resync {
                    None
                } else {
                    cursors.get(project, resource).cloned()
                };
                let mut cursor = Cursor::or_since(stored.as_ref(), since);
                let from = if resource == "commits" && cursor.at > since {
                    cursor.at - COMMIT_OVERLAP_MICROS
                } else {
                    cursor.at
                };
                let after = encode(
                    &chrono::DateTime::from_timestamp_micros(from)
                        .unwrap_or_default()
                        .to_rfc3339_opts(SecondsFormat::Secs, true),
                );
                let (rows, newest) = self
                    .resource(project, resource, &after, &rows_context, progress)
                    .await?;
                if let Some(newest) = newest {
                    cursor.at = cursor.at.max(newest);
                }
                let stored = cursors
                    .store(
                        context,
                        (project, resource),
                        rows,
                        cursor,
                        self.client.counts().requests - before,
                    )
                    .await?;
                resources.push(stored);
            }
        }
        Ok(SyncReport::new("gitlab", resources, self.client.counts()))
    }
}

impl Source for GitLab {
    fn name(&self) -> &'static str {
        "gitlab"
    }

    fn sync<'a>(
        &'a self,
        context: &'a SyncContext<'a>,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncReport>> {
        Box::pin(self.run(context, request))
    }
}
