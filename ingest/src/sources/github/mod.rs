//! GitHub (and GitHub Enterprise Server): the pull collector
//! (`devex ingest github`) and the payload mapping the webhook receiver
//! shares with it ([`rows`]).
//!
//! Per repository, six resources ([`Resource`]), each with its own cursor:
//! * `commits`: `GET /repos/{repo}/commits?since=`, with real parents; the
//!   cursor is the newest committer time, re-read with a day's overlap since
//!   a push can bring commits dated before the last sync. Commits of merged
//!   pull requests come with the pull requests, whatever their dates.
//! * `pulls`: the pull request list newest-updated first, read until the
//!   cursor; each changed pull request is read whole (for `merged`, sizes),
//!   with its reviews, and, when merged, its commits (their earliest author
//!   time is `first_commit_at`, which keeps squash merges' real start).
//! * `runs`: Actions workflow runs created since the cursor, and each
//!   finished run's jobs (`ci_jobs`); a run still going is kept pending and
//!   read again. A re-run of an old run (a new attempt) is not listed by
//!   creation time: webhooks bring those.
//! * `deployments`: deployments newer than the cursor and their statuses;
//!   a deployment without a final status stays pending and is read again.
//! * `incidents`: issues with the incident label updated since the cursor
//!   (`since=` is GitHub's own filter), pull requests left out.
//! * `releases`: releases newer than the cursor (`releases`).

pub mod client;
pub mod config;
pub mod rows;
pub mod webhook;

use chrono::{DateTime, SecondsFormat};
use futures::future::BoxFuture;
use serde_json::Value as Json;

pub use rows::{parse, Context, PayloadError, Row, Rows};

use crate::error::{Error, Result};
use crate::sources::{
    Cursor, Cursors, Progress, ProgressEvent, Source, SourceEntry, SourceSection, SyncContext,
    SyncReport, SyncRequest, WebhookReceiver,
};
use client::{encode, Client, Page};
pub use config::GithubConfig;
pub use webhook::GithubWebhook;

pub const ENTRY: SourceEntry = SourceEntry {
    name: "github",
    about: "GitHub or GitHub Enterprise Server: commits, pull requests and reviews, Actions runs, deployments, incident issues",
    environment: &[
        ("GITHUB_TOKEN", "token"),
        ("DEVEX_GITHUB_WEBHOOK_SECRET", "webhook_secret"),
    ],
    check: |section| GithubConfig::from_section(section).map(drop),
    collector: Some(GitHub::build),
    webhook: Some(|section| {
        Ok(Box::new(GithubWebhook::new(&GithubConfig::from_section(section)?)) as Box<dyn WebhookReceiver>)
    }),
};

/// The resources of a repository, in sync order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    Commits,
    Pulls,
    Runs,
    Deployments,
    Incidents,
    Releases,
}

impl Resource {
    pub const ALL: [Resource; 6] = [
        Resource::Commits,
        Resource::Pulls,
        Resource::Runs,
        Resource::Deployments,
        Resource::Incidents,
        Resource::Releases,
    ];

    /// The name of its cursor and of its line in the sync summary.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Commits => "commits",
            Resource::Pulls => "pulls",
            Resource::Runs => "runs",
            Resource::Deployments => "deployments",
            Resource::Incidents => "incidents",
            Resource::Releases => "releases",
        }
    }
}

/// How far back the commits cursor re-reads: a push may bring commits
/// whose committer time is older than the last sync.
const COMMIT_OVERLAP_MICROS: i64 = 24 * 3600 * 1_000_000;

/// How long (after the newest deployment) a deployment without a final
/// status is looked at again.
const PENDING_DEPLOYMENT_MICROS: i64 = 7 * 24 * 3600 * 1_000_000;

pub struct GitHub {
    client: Client,
    incident_label: String,
    per_page: u32,
}

impl GitHub {
    /// The collector of the `[github]` section ([`GithubConfig`]).
    pub fn build(section: &SourceSection) -> Result<Box<dyn Source>> {
        let config = GithubConfig::from_section(section)?;
        Ok(Box::new(GitHub {
            client: Client::new(
                config
                    .base_url
                    .as_deref()
                    .filter(|s| !s.is_empty())
                    .unwrap_or("https://api.github.com"),
                config.token.as_deref().filter(|s| !s.is_empty()),
                config.patience(),
            )?,
            incident_label: config.incident_label,
            per_page: config.per_page,
        }))
    }

    async fn run(&self, context: &SyncContext<'_>, request: &SyncRequest) -> Result<SyncReport> {
        let progress = context.progress;
        let repos = self.repositories(request, progress).await?;
        let mut cursors = Cursors::load(context.lake, "github").await?;
        let rows_context = Context {
            pseudonymizer: context.pseudonymizer,
            services: &context.catalog.repository_services,
            incident_label: &self.incident_label,
            ai: context.ai,
        };
        let mut resources = Vec::new();
        let since = request.since.timestamp_micros();
        for repo in &repos {
            for kind in Resource::ALL {
                let resource = kind.name();
                progress.event(ProgressEvent::Started {
                    scope: repo,
                    resource,
                });
                let before = self.client.counts().requests;
                let cursor = if request.resync {
                    None
                } else {
                    cursors.get(repo, resource).cloned()
                };
                let fetch = Fetch {
                    repo,
                    resource,
                    rows: &rows_context,
                    progress,
                };
                let (rows, cursor) = match kind {
                    Resource::Commits => self.commits(&fetch, cursor, since).await?,
                    Resource::Pulls => self.pulls(&fetch, cursor, since).await?,
                    Resource::Runs => self.runs(&fetch, cursor, since).await?,
                    Resource::Deployments => self.deployments(&fetch, cursor, since).await?,
                    Resource::Incidents => self.incidents(&fetch, cursor, since).await?,
                    Resource::Releases => self.releases(&fetch, cursor, since).await?,
                };
                let stored = cursors
                    .store(
                        context,
                        (repo, resource),
                        rows,
                        cursor,
                        self.client.counts().requests - before,
                    )
                    .await?;
                resources.push(stored);
            }
        }
        Ok(SyncReport::new("github", resources, self.client.counts()))
    }

    /// The `--repo`s, and every repository of each `--org`.
    async fn repositories(
        &self,
        request: &SyncRequest,
        progress: &dyn Progress,
    ) -> Result<Vec<String>> {
        let mut repos: Vec<String> = Vec::new();
        for repo in &request.repos {
            if repo.split('/').count() != 2 || repo.starts_with('/') || repo.ends_with('/') {
                return Err(Error::SourceConfig {
                    message: format!("--repo {repo}: give the repository as OWNER/NAME"),
                });
            }
            repos.push(repo.clone());
        }
        for owner in &request.owners {
            let base = self.client.base();
            let per_page = self.per_page;
            let mut listed = self
                .list(
                    &format!(
                        "{base}/orgs/{}/repos?type=all&per_page={per_page}",
                        encode(owner)
                    ),
                    progress,
                )
                .await?;
            if listed.is_none() {
                // Not an organisation: a user's repositories.
                listed = self
                    .list(
                        &format!(
                            "{base}/users/{}/repos?type=owner&per_page={per_page}",
                            encode(owner)
                        ),
                        progress,
                    )
                    .await?;
            }
            let Some(items) = listed else {
                return Err(Error::SourceConfig {
                    message: format!(
                        "--org {owner}: GitHub knows no organisation or user of that name that this token can see; check the spelling, or the token's access to it"
                    ),
                });
            };
            for item in items {
                let name = rows::text(&item, "full_name").map_err(|e| Error::SourcePayload {
                    url: format!("{base}/orgs/{owner}/repos"),
                    message: e.0,
                })?;
                repos.push(name);
            }
        }
        repos.sort();
        repos.dedup();
        if repos.is_empty() {
            return Err(Error::SourceConfig {
                message: "nothing to sync: give --org OWNER or --repo OWNER/NAME".into(),
            });
        }
        Ok(repos)
    }

    /// Every item of a list, all pages; `None` on 404.
    async fn list(&self, url: &str, progress: &dyn Progress) -> Result<Option<Vec<Json>>> {
        self.list_in(url, None, progress).await
    }

    /// Every item of a list whose pages hold it under `envelope` (e.g.
    /// `{"total_count": .., "jobs": [..]}`), or are arrays; `None` on 404.
    async fn list_in(
        &self,
        url: &str,
        envelope: Option<&str>,
        progress: &dyn Progress,
    ) -> Result<Option<Vec<Json>>> {
        let mut items = Vec::new();
        let mut next = Some(url.to_string());
        while let Some(url) = next {
            let Some(page) = self.client.get(&url, progress).await? else {
                return Ok(None);
            };
            next = page.next.clone();
            items.extend(page_items(&page, &url, envelope)?);
        }
        Ok(Some(items))
    }

    /// The items of a newest-first list that are new to `threshold`, with
    /// their time (at `time_path`) and key (at `key_path`). Reading stops at
    /// the first item older than the threshold: all after it are older too.
    /// A 404 (the feature is off for the repository) is an empty list.
    async fn newer_than(
        &self,
        url: String,
        envelope: Option<&str>,
        threshold: &Cursor,
        (time_path, key_path): (&str, &str),
        progress: &dyn Progress,
    ) -> Result<Vec<(Json, i64, String)>> {
        let mut items = Vec::new();
        let mut next = Some(url);
        while let Some(url) = next {
            let Some(page) = self.client.get(&url, progress).await? else {
                break;
            };
            next = page.next.clone();
            for item in page_items(&page, &url, envelope)? {
                let at = rows::time(&item, time_path).map_err(payload(&url))?;
                let key = rows::text(&item, key_path).map_err(payload(&url))?;
                if threshold.is_new(at, &key) {
                    items.push((item, at, key));
                } else if at < threshold.at {
                    return Ok(items);
                }
            }
        }
        Ok(items)
    }

    /// Adds to `listed` the items a cursor kept pending that the listing
    /// did not bring again, each read from `{collection}/{id}`; one GitHub
    /// no longer knows (404) is dropped.
    async fn reread_pending(
        &self,
        collection: &str,
        pending: Vec<String>,
        listed: &mut Vec<(Json, i64, String)>,
        progress: &dyn Progress,
    ) -> Result<()> {
        for id in pending {
            if listed.iter().any(|(_, _, key)| *key == id) {
                continue;
            }
            let url = format!("{collection}/{id}");
            if let Some(page) = self.client.get(&url, progress).await? {
                let at = rows::time(&page.body, "created_at").map_err(payload(&url))?;
                listed.push((page.body, at, id));
            }
        }
        Ok(())
    }

    async fn commits(
        &self,
        fetch: &Fetch<'_>,
        cursor: Option<Cursor>,
        since: i64,
    ) -> Result<(Rows, Cursor)> {
        let mut cursor = Cursor::or_since(cursor.as_ref(), since);
        let from = if cursor.at > since {
            cursor.at - COMMIT_OVERLAP_MICROS
        } else {
            cursor.at
        };
        let url = format!(
            "{}/repos/{}/commits?per_page={}&since={}",
            self.client.base(),
            fetch.repo,
            self.per_page,
            encode(&rfc3339(from))
        );
        let mut rows = Vec::new();
        let mut next = Some(url);
        let mut done = 0;
        while let Some(url) = next {
            let Some(page) = self.client.get(&url, fetch.progress).await? else {
                // An empty repository answers 409 or 404: nothing to read.
                break;
            };
            for commit in page_items(&page, &url, None)? {
                rows.push(
                    rows::api_commit(fetch.repo, &commit, fetch.rows).map_err(payload(&url))?,
                );
                if let Ok(at) = rows::time(&commit, "commit.committer.date") {
                    cursor.at = cursor.at.max(at);
                }
            }
            done += 1;
            fetch.advance(done, page.last_page.or(Some(done)), "pages");
            next = page.next;
        }
        Ok((rows, cursor))
    }

    async fn pulls(
        &self,
        fetch: &Fetch<'_>,
        cursor: Option<Cursor>,
        since: i64,
    ) -> Result<(Rows, Cursor)> {
        let threshold = Cursor::or_since(cursor.as_ref(), since);
        let mut cursor = cursor.unwrap_or_default();
        let base = self.client.base();
        let repo = fetch.repo;
        // Newest-updated first: everything changed since the cursor comes
        // before the first unchanged one.
        let changed = self
            .newer_than(
                format!(
                    "{base}/repos/{repo}/pulls?state=all&sort=updated&direction=desc&per_page={}",
                    self.per_page
                ),
                None,
                &threshold,
                ("updated_at", "number"),
                fetch.progress,
            )
            .await?;
        let mut rows = Vec::new();
        let total = changed.len() as u64;
        for (done, (_, updated, number)) in changed.into_iter().enumerate() {
            let url = format!("{base}/repos/{repo}/pulls/{number}");
            let Some(detail) = self.client.get(&url, fetch.progress).await? else {
                continue;
            };
            let pr = detail.body;
            let reviews = self
                .list(
                    &format!("{url}/reviews?per_page={}", self.per_page),
                    fetch.progress,
                )
                .await?
                .unwrap_or_default();
            for review in &reviews {
                // A pending review is not submitted yet: not a review.
                if rows::optional_text(review, "submitted_at").is_some() {
                    rows.push(
                        rows::review(repo, pr_number(&pr, &url)?, review, fetch.rows)
                            .map_err(payload(&url))?,
                    );
                }
            }
            let merged = pr["merged"].as_bool().unwrap_or(false);
            let mut details = rows::PullDetails::default();
            if merged {
                // What it changed places it among a monorepo's services.
                details.files = self
                    .list(
                        &format!("{url}/files?per_page={}", self.per_page),
                        fetch.progress,
                    )
                    .await?
                    .map(|items| {
                        crate::sources::json::changed_paths(
                            &items,
                            ["filename", "previous_filename"],
                        )
                    });
                let commits = self
                    .list(
                        &format!("{url}/commits?per_page={}", self.per_page),
                        fetch.progress,
                    )
                    .await?
                    .unwrap_or_default();
                for commit in &commits {
                    let row = rows::api_commit(repo, commit, fetch.rows).map_err(payload(&url))?;
                    let authored =
                        rows::time(commit, "commit.author.date").map_err(payload(&url))?;
                    details.first_commit_at = Some(
                        details
                            .first_commit_at
                            .map_or(authored, |t: i64| t.min(authored)),
                    );
                    details.commit_tool = details
                        .commit_tool
                        .or_else(|| rows::api_commit_tool(commit, fetch.rows));
                    rows.push(row);
                }
            }
            rows.push(rows::pull_request(repo, &pr, details, fetch.rows).map_err(payload(&url))?);
            cursor.observe(updated, &number);
            fetch.advance(done as u64 + 1, Some(total), "pull requests");
        }
        Ok((rows, cursor))
    }

    async fn runs(
        &self,
        fetch: &Fetch<'_>,
        cursor: Option<Cursor>,
        since: i64,
    ) -> Result<(Rows, Cursor)> {
        let threshold = Cursor::or_since(cursor.as_ref(), since);
        let mut cursor = cursor.unwrap_or_default();
        let pending = std::mem::take(&mut cursor.pending);
        let base = self.client.base();
        let repo = fetch.repo;
        // A 404: Actions are off for this repository.
        let mut runs = self
            .newer_than(
                format!(
                    "{base}/repos/{repo}/actions/runs?per_page={}&created={}",
                    self.per_page,
                    encode(&format!(">={}", rfc3339(threshold.at)))
                ),
                Some("workflow_runs"),
                &threshold,
                ("created_at", "id"),
                fetch.progress,
            )
            .await?;
        // Runs that were still going last time.
        self.reread_pending(
            &format!("{base}/repos/{repo}/actions/runs"),
            pending,
            &mut runs,
            fetch.progress,
        )
        .await?;
        let mut rows = Vec::new();
        let total = runs.len() as u64;
        for (done, (run, created, id)) in runs.into_iter().enumerate() {
            let url = format!("{base}/repos/{repo}/actions/runs");
            rows.push(rows::workflow_run(repo, &run).map_err(payload(&url))?);
            cursor.observe(created, &id);
            if run["status"].as_str() != Some("completed") {
                // Read again next time, when it has finished.
                cursor.pending.push(id);
            } else {
                // Its jobs: where the time went, and on which runners.
                let attempt = run["run_attempt"].as_i64().unwrap_or(1);
                let url = format!(
                    "{base}/repos/{repo}/actions/runs/{id}/attempts/{attempt}/jobs?per_page={}",
                    self.per_page
                );
                let jobs = self
                    .list_in(&url, Some("jobs"), fetch.progress)
                    .await?
                    .unwrap_or_default();
                for mut job in jobs {
                    if job["run_attempt"].is_null() {
                        job["run_attempt"] = Json::from(attempt);
                    }
                    rows.push(rows::workflow_job(repo, &job).map_err(payload(&url))?);
                }
            }
            fetch.advance(done as u64 + 1, Some(total), "runs");
        }
        Ok((rows, cursor))
    }

    async fn releases(
        &self,
        fetch: &Fetch<'_>,
        cursor: Option<Cursor>,
        since: i64,
    ) -> Result<(Rows, Cursor)> {
        let threshold = Cursor::or_since(cursor.as_ref(), since);
        let mut cursor = cursor.unwrap_or_default();
        let url = format!(
            "{}/repos/{}/releases?per_page={}",
            self.client.base(),
            fetch.repo,
            self.per_page
        );
        // Newest first: read until the first one the cursor has seen.
        let releases = self
            .newer_than(
                url.clone(),
                None,
                &threshold,
                ("created_at", "id"),
                fetch.progress,
            )
            .await?;
        let mut rows = Vec::new();
        let total = releases.len() as u64;
        for (done, (release, created, id)) in releases.into_iter().enumerate() {
            rows.push(rows::release(fetch.repo, &release).map_err(payload(&url))?);
            cursor.observe(created, &id);
            fetch.advance(done as u64 + 1, Some(total), "releases");
        }
        Ok((rows, cursor))
    }

    async fn deployments(
        &self,
        fetch: &Fetch<'_>,
        cursor: Option<Cursor>,
        since: i64,
    ) -> Result<(Rows, Cursor)> {
        let threshold = Cursor::or_since(cursor.as_ref(), since);
        let mut cursor = cursor.unwrap_or_default();
        let pending = std::mem::take(&mut cursor.pending);
        let base = self.client.base();
        let repo = fetch.repo;
        let mut deployments = self
            .newer_than(
                format!("{base}/repos/{repo}/deployments?per_page={}", self.per_page),
                None,
                &threshold,
                ("created_at", "id"),
                fetch.progress,
            )
            .await?;
        // Deployments that had no final status last time.
        self.reread_pending(
            &format!("{base}/repos/{repo}/deployments"),
            pending,
            &mut deployments,
            fetch.progress,
        )
        .await?;
        let mut rows = Vec::new();
        let total = deployments.len() as u64;
        let mut unfinished = Vec::new();
        for (done, (deployment, created, id)) in deployments.iter().enumerate() {
            let created = *created;
            let url = format!(
                "{base}/repos/{repo}/deployments/{id}/statuses?per_page={}",
                self.per_page
            );
            let statuses = self.list(&url, fetch.progress).await?.unwrap_or_default();
            let mut finished = false;
            for status in &statuses {
                if let Some(row) =
                    rows::deployment(repo, deployment, status, fetch.rows).map_err(payload(&url))?
                {
                    rows.push(row);
                    finished = true;
                }
            }
            cursor.observe(created, id);
            if !finished {
                unfinished.push((created, id.clone()));
            }
            fetch.advance(done as u64 + 1, Some(total), "deployments");
        }
        // A deployment without a final status is looked at again, until it
        // is a week older than the newest one (an abandoned deployment).
        cursor.pending = unfinished
            .into_iter()
            .filter(|(created, _)| cursor.at - created < PENDING_DEPLOYMENT_MICROS)
            .map(|(_, id)| id)
            .collect();
        Ok((rows, cursor))
    }

    async fn incidents(
        &self,
        fetch: &Fetch<'_>,
        cursor: Option<Cursor>,
        since: i64,
    ) -> Result<(Rows, Cursor)> {
        let mut cursor = Cursor::or_since(cursor.as_ref(), since);
        let mut next = Some(format!(
            "{}/repos/{}/issues?state=all&labels={}&sort=updated&direction=asc&per_page={}&since={}",
            self.client.base(),
            fetch.repo,
            encode(&self.incident_label),
            self.per_page,
            encode(&rfc3339(cursor.at))
        ));
        let mut rows = Vec::new();
        let mut done = 0;
        while let Some(url) = next {
            let Some(page) = self.client.get(&url, fetch.progress).await? else {
                // Issues are off for this repository.
                break;
            };
            for issue in page_items(&page, &url, None)? {
                let updated = rows::time(&issue, "updated_at").map_err(payload(&url))?;
                let number = rows::text(&issue, "number").map_err(payload(&url))?;
                if !cursor.is_new(updated, &number) {
                    continue;
                }
                if let Some(row) =
                    rows::incident(fetch.repo, &issue, fetch.rows).map_err(payload(&url))?
                {
                    rows.push(row);
                }
                cursor.observe(updated, &number);
            }
            done += 1;
            fetch.advance(done, page.last_page.or(Some(done)), "pages");
            next = page.next;
        }
        Ok((rows, cursor))
    }
}

impl Source for GitHub {
    fn name(&self) -> &'static str {
        "github"
    }

    fn sync<'a>(
        &'a self,
        context: &'a SyncContext<'a>,
        request: &'a SyncRequest,
    ) -> BoxFuture<'a, Result<SyncReport>> {
        Box::pin(self.run(context, request))
    }
}

/// What one resource's fetch shares.
struct Fetch<'a> {
    repo: &'a str,
    resource: &'a str,
    rows: &'a Context<'a>,
    progress: &'a dyn Progress,
}

impl Fetch<'_> {
    fn advance(&self, done: u64, total: Option<u64>, unit: &str) {
        self.progress.event(ProgressEvent::Advanced {
            scope: self.repo,
            resource: self.resource,
            done,
            total,
            unit,
        });
    }
}

/// The items of a list page: a JSON array, or the array under `envelope`.
fn page_items(page: &Page, url: &str, envelope: Option<&str>) -> Result<Vec<Json>> {
    let items = match envelope {
        Some(key) => &page.body[key],
        None => &page.body,
    };
    items
        .as_array()
        .cloned()
        .ok_or_else(|| Error::SourcePayload {
            url: url.to_string(),
            message: match envelope {
                Some(key) => format!("`{key}` is missing or not an array"),
                None => "expected a JSON array".into(),
            },
        })
}

fn pr_number(pr: &Json, url: &str) -> Result<i64> {
    pr["number"].as_i64().ok_or_else(|| Error::SourcePayload {
        url: url.to_string(),
        message: "`number` is missing".into(),
    })
}

fn payload(url: &str) -> impl Fn(PayloadError) -> Error + '_ {
    move |e| Error::SourcePayload {
        url: url.to_string(),
        message: e.0,
    }
}

fn rfc3339(micros: i64) -> String {
    DateTime::from_timestamp_micros(micros)
        .unwrap_or_default()
        .to_rfc3339_opts(SecondsFormat::Secs, true)
}
