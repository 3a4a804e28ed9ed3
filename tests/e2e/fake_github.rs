//! A fake GitHub on 127.0.0.1 (wiremock) that serves one small history the
//! way GitHub's REST API does: objects in the real shapes (each built from a
//! published example in tests/fixtures/payloads with this history's ids, shas
//! and times), pages with `Link` headers, filters (`since`, `created`,
//! `labels`, `state`, `sort`), rate-limit headers, token checks, and
//! one-shot faults (a 403 rate limit, a 502). The same history also renders
//! as webhook deliveries, so a pull and a push of it can be compared.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::{json, Value};
use wiremock::{Request, Respond, ResponseTemplate};

pub fn fixture(path: &str) -> Value {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/payloads")
        .join(path);
    serde_json::from_str(&std::fs::read_to_string(full).unwrap()).unwrap()
}

pub const REPO: &str = "acme/shop";
pub const OTHER_REPO: &str = "acme/docs";
pub const GOOD_TOKEN: &str = "ghp_good";
pub const NO_SCOPE_TOKEN: &str = "ghp_no_scope";

pub struct Commit {
    pub sha: &'static str,
    pub parents: Vec<&'static str>,
    pub authored: &'static str,
    pub committed: &'static str,
    pub email: &'static str,
    pub message: &'static str,
}

pub struct Review {
    pub id: i64,
    pub login: &'static str,
    /// REST spelling (upper case).
    pub state: &'static str,
    pub submitted: Option<&'static str>,
}

pub struct Pull {
    pub number: i64,
    pub login: &'static str,
    pub created: &'static str,
    pub updated: &'static str,
    pub closed: Option<&'static str>,
    pub merged: Option<&'static str>,
    /// The merge (or test-merge) sha GitHub reports.
    pub merge_sha: &'static str,
    pub head_ref: &'static str,
    pub commits: Vec<&'static str>,
    pub reviews: Vec<Review>,
    pub labels: Vec<&'static str>,
}

pub struct Run {
    pub id: i64,
    pub attempt: i64,
    pub sha: &'static str,
    pub created: &'static str,
    pub updated: &'static str,
    pub status: &'static str,
    pub conclusion: Option<&'static str>,
}

pub struct Deployment {
    pub id: i64,
    pub sha: &'static str,
    pub environment: &'static str,
    pub created: &'static str,
    /// (status id, state, created), oldest first.
    pub statuses: Vec<(i64, &'static str, &'static str)>,
}

pub struct Release {
    pub id: i64,
    pub tag: &'static str,
    pub created: &'static str,
    pub published: Option<&'static str>,
    pub prerelease: bool,
}

pub struct Issue {
    pub number: i64,
    pub created: &'static str,
    pub updated: &'static str,
    pub closed: Option<&'static str>,
    pub labels: Vec<&'static str>,
    pub is_pull_request: bool,
}

/// One repository's history. `commits` are the default branch's (newest
/// last); `branch_commits` exist only on pull request branches.
pub struct History {
    pub commits: Vec<Commit>,
    pub branch_commits: Vec<Commit>,
    pub pulls: Vec<Pull>,
    pub runs: Vec<Run>,
    pub deployments: Vec<Deployment>,
    pub issues: Vec<Issue>,
    pub releases: Vec<Release>,
}

fn commit(
    sha: &'static str,
    parents: &[&'static str],
    at: &'static str,
    message: &'static str,
) -> Commit {
    Commit {
        sha,
        parents: parents.to_vec(),
        authored: at,
        committed: at,
        email: "dev@acme.example",
        message,
    }
}

/// The story: a merge-commit PR, a squash-merged PR, a closed unmerged PR
/// with a test-merge sha, an open PR with a pending review, a direct push;
/// runs (one still going); staging and production deployments (a failed
/// attempt, one still pending); an incident, a plain bug and a pull request
/// carrying the incident label (GitHub's issues list holds PRs).
pub fn history() -> History {
    History {
        commits: vec![
            commit("a1", &[], "2025-03-01T10:00:00Z", "Initial service"),
            commit("b1", &["a1"], "2025-03-03T09:00:00Z", "Add cart"),
            commit(
                "m1",
                &["a1", "b1"],
                "2025-03-04T12:00:00Z",
                "Merge pull request #1 from acme/cart",
            ),
            commit("s1", &["m1"], "2025-03-06T15:00:00Z", "Checkout flow (#2)"),
            commit("d1", &["s1"], "2025-03-07T16:00:00Z", "Fix typo"),
        ],
        branch_commits: vec![
            commit("c1", &["m1"], "2025-03-05T08:00:00Z", "Start checkout"),
            commit("c2", &["c1"], "2025-03-05T10:00:00Z", "Finish checkout"),
            commit("e1", &["m1"], "2025-03-06T09:00:00Z", "Try a new search"),
            commit("f1", &["d1"], "2025-03-08T09:00:00Z", "Faster images"),
        ],
        pulls: vec![
            Pull {
                number: 1,
                login: "alice",
                created: "2025-03-03T09:30:00Z",
                updated: "2025-03-04T12:00:05Z",
                closed: Some("2025-03-04T12:00:00Z"),
                merged: Some("2025-03-04T12:00:00Z"),
                merge_sha: "m1",
                head_ref: "cart",
                commits: vec!["b1"],
                reviews: vec![Review {
                    id: 7001,
                    login: "bob",
                    state: "APPROVED",
                    submitted: Some("2025-03-04T10:00:00Z"),
                }],
                labels: vec![],
            },
            Pull {
                number: 2,
                login: "alice",
                created: "2025-03-05T10:30:00Z",
                updated: "2025-03-06T15:00:05Z",
                closed: Some("2025-03-06T15:00:00Z"),
                merged: Some("2025-03-06T15:00:00Z"),
                merge_sha: "s1",
                head_ref: "checkout",
                commits: vec!["c1", "c2"],
                reviews: vec![
                    Review {
                        id: 7002,
                        login: "bob",
                        state: "CHANGES_REQUESTED",
                        submitted: Some("2025-03-05T16:00:00Z"),
                    },
                    Review {
                        id: 7003,
                        login: "bob",
                        state: "APPROVED",
                        submitted: Some("2025-03-06T11:00:00Z"),
                    },
                ],
                labels: vec!["feature"],
            },
            Pull {
                number: 3,
                login: "carol",
                created: "2025-03-06T09:30:00Z",
                updated: "2025-03-07T10:00:00Z",
                closed: Some("2025-03-07T10:00:00Z"),
                merged: None,
                merge_sha: "t3",
                head_ref: "search",
                commits: vec!["e1"],
                reviews: vec![],
                labels: vec![],
            },
            Pull {
                number: 4,
                login: "carol",
                created: "2025-03-08T09:30:00Z",
                updated: "2025-03-08T11:00:00Z",
                closed: None,
                merged: None,
                merge_sha: "t4",
                head_ref: "images",
                commits: vec!["f1"],
                reviews: vec![Review {
                    id: 7004,
                    login: "bob",
                    state: "PENDING",
                    submitted: None,
                }],
                labels: vec![],
            },
        ],
        runs: vec![
            Run {
                id: 501,
                attempt: 1,
                sha: "m1",
                created: "2025-03-04T12:01:00Z",
                updated: "2025-03-04T12:09:00Z",
                status: "completed",
                conclusion: Some("success"),
            },
            Run {
                id: 502,
                attempt: 2,
                sha: "s1",
                created: "2025-03-06T15:01:00Z",
                updated: "2025-03-06T15:20:00Z",
                status: "completed",
                conclusion: Some("failure"),
            },
            Run {
                id: 503,
                attempt: 1,
                sha: "d1",
                created: "2025-03-07T16:01:00Z",
                updated: "2025-03-07T16:02:00Z",
                status: "in_progress",
                conclusion: None,
            },
        ],
        deployments: vec![
            Deployment {
                id: 900,
                sha: "m1",
                environment: "staging",
                created: "2025-03-04T13:00:00Z",
                statuses: vec![
                    (9000, "in_progress", "2025-03-04T13:01:00Z"),
                    (9001, "success", "2025-03-04T13:05:00Z"),
                ],
            },
            Deployment {
                id: 901,
                sha: "m1",
                environment: "production",
                created: "2025-03-04T14:00:00Z",
                statuses: vec![(9011, "success", "2025-03-04T14:10:00Z")],
            },
            Deployment {
                id: 902,
                sha: "s1",
                environment: "production",
                created: "2025-03-06T16:00:00Z",
                statuses: vec![(9021, "failure", "2025-03-06T16:05:00Z")],
            },
            Deployment {
                id: 903,
                sha: "s1",
                environment: "production",
                created: "2025-03-06T17:00:00Z",
                statuses: vec![(9031, "success", "2025-03-06T17:10:00Z")],
            },
            Deployment {
                id: 904,
                sha: "d1",
                environment: "production",
                created: "2025-03-07T17:00:00Z",
                statuses: vec![(9041, "in_progress", "2025-03-07T17:01:00Z")],
            },
        ],
        issues: vec![
            Issue {
                number: 10,
                created: "2025-03-06T16:10:00Z",
                updated: "2025-03-06T18:00:00Z",
                closed: Some("2025-03-06T18:00:00Z"),
                labels: vec!["incident", "sev2"],
                is_pull_request: false,
            },
            Issue {
                number: 11,
                created: "2025-03-06T16:20:00Z",
                updated: "2025-03-06T16:20:00Z",
                closed: None,
                labels: vec!["bug"],
                is_pull_request: false,
            },
            Issue {
                number: 12,
                created: "2025-03-07T08:00:00Z",
                updated: "2025-03-07T08:00:00Z",
                closed: None,
                labels: vec!["incident"],
                is_pull_request: true,
            },
        ],
        releases: vec![
            Release {
                id: 801,
                tag: "v1.0.0",
                created: "2025-03-04T14:30:00Z",
                published: Some("2025-03-04T14:31:00Z"),
                prerelease: false,
            },
            Release {
                id: 802,
                tag: "v1.1.0-rc.1",
                created: "2025-03-06T17:30:00Z",
                published: Some("2025-03-06T17:31:00Z"),
                prerelease: true,
            },
        ],
    }
}

fn user(login: &str) -> Value {
    let mut u = fixture("github-rest-openapi-examples/issue-items.json")[0]["user"].clone();
    u["login"] = json!(login);
    u
}

impl History {
    fn all_commits(&self) -> impl Iterator<Item = &Commit> {
        self.commits.iter().chain(&self.branch_commits)
    }

    pub fn commit_json(&self, c: &Commit) -> Value {
        let mut v = fixture("github-rest-openapi-examples/commit-items.json")[0].clone();
        v["sha"] = json!(c.sha);
        v["commit"]["author"]["email"] = json!(c.email);
        v["commit"]["author"]["date"] = json!(c.authored);
        v["commit"]["committer"]["date"] = json!(c.committed);
        v["commit"]["message"] = json!(format!("{}\n\nDetails.", c.message));
        v["parents"] = json!(c
            .parents
            .iter()
            .map(|p| json!({"sha": p, "url": "", "html_url": ""}))
            .collect::<Vec<_>>());
        v
    }

    /// The full pull request object: `GET /pulls/{n}` and the webhook's.
    pub fn pull_json(&self, p: &Pull) -> Value {
        let mut v = fixture("octokit-webhooks/api.github.com/pull_request/closed.payload.json")
            ["pull_request"]
            .clone();
        v["number"] = json!(p.number);
        v["user"] = user(p.login);
        v["state"] = json!(if p.closed.is_some() { "closed" } else { "open" });
        v["created_at"] = json!(p.created);
        v["updated_at"] = json!(p.updated);
        v["closed_at"] = json!(p.closed);
        v["merged_at"] = json!(p.merged);
        v["merged"] = json!(p.merged.is_some());
        v["merge_commit_sha"] = json!(p.merge_sha);
        v["head"]["ref"] = json!(p.head_ref);
        v["head"]["sha"] = json!(p.commits.last().copied().unwrap_or(""));
        v["base"]["ref"] = json!("main");
        v["commits"] = json!(p.commits.len());
        v["additions"] = json!(10 * p.number);
        v["deletions"] = json!(p.number);
        v["labels"] = json!(p
            .labels
            .iter()
            .map(|l| json!({"id": 1, "name": l, "color": "ededed", "default": false}))
            .collect::<Vec<_>>());
        v
    }

    /// A list item (`GET /pulls`): the simple shape, without `merged` or sizes.
    fn pull_list_json(&self, p: &Pull) -> Value {
        let mut v =
            fixture("github-rest-openapi-examples/pull-request-simple-items.json")[0].clone();
        let full = self.pull_json(p);
        for key in [
            "number",
            "user",
            "state",
            "created_at",
            "updated_at",
            "closed_at",
            "merged_at",
            "merge_commit_sha",
            "labels",
        ] {
            v[key] = full[key].clone();
        }
        v
    }

    /// `GET /pulls/{n}/files`: GitHub's diff entries, one file per commit
    /// of the branch (`src/<sha>.rs`), the last one renamed from `old/`.
    pub fn files_json(&self, p: &Pull) -> Vec<Value> {
        let count = p.commits.len();
        p.commits
            .iter()
            .enumerate()
            .map(|(i, sha)| {
                let filename = format!("src/{sha}.rs");
                let mut entry = json!({
                    "sha": "bbcd538c8e72b8c175046e27cc8f907076331401",
                    "filename": filename,
                    "status": "modified",
                    "additions": 1, "deletions": 1, "changes": 2,
                    "blob_url": format!("https://github.com/{REPO}/blob/{sha}/{filename}"),
                    "raw_url": format!("https://github.com/{REPO}/raw/{sha}/{filename}"),
                    "contents_url": format!("https://api.github.com/repos/{REPO}/contents/{filename}?ref={sha}"),
                    "patch": "@@ -1 +1 @@\n-a\n+b"
                });
                if i + 1 == count {
                    entry["status"] = json!("renamed");
                    entry["previous_filename"] = json!(format!("old/{sha}.rs"));
                }
                entry
            })
            .collect()
    }

    pub fn review_json(&self, r: &Review) -> Value {
        let mut v =
            fixture("github-rest-openapi-examples/pull-request-review-items.json")[0].clone();
        v["id"] = json!(r.id);
        v["user"] = user(r.login);
        v["state"] = json!(r.state);
        match r.submitted {
            Some(at) => v["submitted_at"] = json!(at),
            None => {
                v.as_object_mut().unwrap().remove("submitted_at");
            }
        }
        v
    }

    pub fn run_json(&self, r: &Run) -> Value {
        let mut v = fixture("github-rest-openapi-examples/workflow-run-paginated.json")
            ["workflow_runs"][0]
            .clone();
        v["id"] = json!(r.id);
        v["name"] = json!("CI");
        v["run_attempt"] = json!(r.attempt);
        v["head_sha"] = json!(r.sha);
        v["head_branch"] = json!("main");
        v["event"] = json!("push");
        v["status"] = json!(r.status);
        v["conclusion"] = json!(r.conclusion);
        v["created_at"] = json!(r.created);
        v["run_started_at"] = json!(r.created);
        v["updated_at"] = json!(r.updated);
        v
    }

    /// A run's two jobs (build, test), at the run's status.
    pub fn jobs_json(&self, r: &Run) -> Vec<Value> {
        ["build", "test"]
            .iter()
            .enumerate()
            .map(|(k, name)| {
                let mut v =
                    fixture("github-rest-openapi-examples/job-paginated.json")["jobs"][0].clone();
                v["id"] = json!(r.id * 10 + k as i64);
                v["run_id"] = json!(r.id);
                v["run_attempt"] = json!(r.attempt);
                v["head_sha"] = json!(r.sha);
                v["name"] = json!(name);
                v["status"] = json!(r.status);
                v["conclusion"] = json!(r.conclusion);
                v["created_at"] = json!(r.created);
                v["started_at"] = json!(r.created);
                v["completed_at"] = json!(if r.status == "completed" {
                    Some(r.updated)
                } else {
                    None
                });
                v["runner_name"] = json!("GitHub Actions 3");
                v["labels"] = json!(["ubuntu-latest"]);
                v
            })
            .collect()
    }

    pub fn release_json(&self, r: &Release) -> Value {
        let mut v = fixture("octokit-webhooks/api.github.com/release/published.payload.json")
            ["release"]
            .clone();
        v["id"] = json!(r.id);
        v["tag_name"] = json!(r.tag);
        v["target_commitish"] = json!("main");
        v["created_at"] = json!(r.created);
        v["published_at"] = json!(r.published);
        v["prerelease"] = json!(r.prerelease);
        v["draft"] = json!(r.published.is_none());
        v
    }

    pub fn deployment_json(&self, d: &Deployment) -> Value {
        let mut v = fixture("github-rest-openapi-examples/deployment-items.json")[0].clone();
        v["id"] = json!(d.id);
        v["sha"] = json!(d.sha);
        v["environment"] = json!(d.environment);
        v["original_environment"] = json!(d.environment);
        v["created_at"] = json!(d.created);
        v["updated_at"] = json!(d.created);
        v
    }

    pub fn status_json(&self, d: &Deployment, (id, state, at): (i64, &str, &str)) -> Value {
        let mut v = fixture("github-rest-openapi-examples/deployment-status-items.json")[0].clone();
        v["id"] = json!(id);
        v["state"] = json!(state);
        v["environment"] = json!(d.environment);
        v["created_at"] = json!(at);
        v["updated_at"] = json!(at);
        v
    }

    pub fn issue_json(&self, i: &Issue) -> Value {
        let mut v = fixture("github-rest-openapi-examples/issue-items.json")[0].clone();
        v["number"] = json!(i.number);
        v["state"] = json!(if i.closed.is_some() { "closed" } else { "open" });
        v["created_at"] = json!(i.created);
        v["updated_at"] = json!(i.updated);
        v["closed_at"] = json!(i.closed);
        v["labels"] = json!(i
            .labels
            .iter()
            .map(|l| json!({"id": 1, "name": l, "color": "d73a4a", "default": false}))
            .collect::<Vec<_>>());
        if !i.is_pull_request {
            v.as_object_mut().unwrap().remove("pull_request");
        }
        v
    }
}

/// What a test can change or inject while the fake runs.
#[derive(Default)]
pub struct Control {
    /// One-shot faults: (path and query contain each space-separated part
    /// of this, status). 403 comes
    /// as a primary rate limit with a reset a second away.
    pub faults: Vec<(String, u16)>,
}

pub struct FakeGitHub {
    /// The server's own address: `Link` headers point back at it.
    pub base: String,
    pub history: Arc<Mutex<HashMap<String, History>>>,
    pub control: Arc<Mutex<Control>>,
}

fn query(request: &Request) -> HashMap<String, String> {
    request
        .url
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn time(s: &str) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap().to_utc()
}

impl FakeGitHub {
    fn page(
        &self,
        request: &Request,
        items: Vec<Value>,
        envelope: Option<&str>,
    ) -> ResponseTemplate {
        let q = query(request);
        let per_page: usize = q.get("per_page").and_then(|p| p.parse().ok()).unwrap_or(30);
        let page: usize = q.get("page").and_then(|p| p.parse().ok()).unwrap_or(1);
        let pages = items.len().div_ceil(per_page).max(1);
        let total = items.len();
        let slice: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per_page)
            .take(per_page)
            .collect();
        let link_to = |n: usize| {
            let mut url = request.url.clone();
            let base = url::Url::parse(&self.base).unwrap();
            url.set_host(base.host_str()).unwrap();
            url.set_port(base.port()).unwrap();
            let pairs: Vec<(String, String)> = query(request)
                .into_iter()
                .filter(|(k, _)| k != "page")
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(pairs)
                .append_pair("page", &n.to_string());
            url.to_string()
        };
        let mut links = Vec::new();
        if page < pages {
            links.push(format!("<{}>; rel=\"next\"", link_to(page + 1)));
            links.push(format!("<{}>; rel=\"last\"", link_to(pages)));
        }
        if page > 1 {
            links.push(format!("<{}>; rel=\"prev\"", link_to(page - 1)));
            links.push(format!("<{}>; rel=\"first\"", link_to(1)));
        }
        let body = match envelope {
            Some(key) => json!({"total_count": total, key: slice}),
            None => Value::Array(slice),
        };
        let mut response = ok(body);
        if !links.is_empty() {
            response = response.insert_header("link", links.join(", ").as_str());
        }
        response
    }
}

fn ok(body: Value) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(body)
        .insert_header("x-ratelimit-limit", "5000")
        .insert_header("x-ratelimit-remaining", "4990")
        .insert_header(
            "x-ratelimit-reset",
            (chrono::Utc::now().timestamp() + 3600).to_string().as_str(),
        )
}

fn not_found() -> ResponseTemplate {
    ResponseTemplate::new(404).set_body_json(
        json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest"}),
    )
}

impl Respond for FakeGitHub {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let auth = request
            .headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let token = auth
            .trim_start_matches("Bearer ")
            .trim_start_matches("token ");
        if token != GOOD_TOKEN && token != NO_SCOPE_TOKEN {
            return ResponseTemplate::new(401).set_body_json(json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}));
        }
        let target = format!(
            "{}?{}",
            request.url.path(),
            request.url.query().unwrap_or("")
        );
        {
            let mut control = self.control.lock().unwrap();
            if let Some(i) = control
                .faults
                .iter()
                .position(|(needle, _)| needle.split(' ').all(|part| target.contains(part)))
            {
                let (_, status) = control.faults.remove(i);
                return match status {
                    403 => ResponseTemplate::new(403)
                        .set_body_json(json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#rate-limiting"}))
                        .insert_header("x-ratelimit-limit", "5000")
                        .insert_header("x-ratelimit-remaining", "0")
                        .insert_header("x-ratelimit-reset", chrono::Utc::now().timestamp().to_string().as_str()),
                    status => ResponseTemplate::new(status).set_body_string("<html><body><h1>502 Bad Gateway</h1></body></html>"),
                };
            }
        }
        let segments: Vec<&str> = request
            .url
            .path()
            .trim_start_matches('/')
            .split('/')
            .collect();
        if segments.first() == Some(&"orgs") && segments.get(2) == Some(&"repos") {
            if segments[1] != "acme" {
                return not_found();
            }
            if token == NO_SCOPE_TOKEN {
                return ResponseTemplate::new(403)
                    .set_body_json(json!({"message": "Resource not accessible by personal access token", "documentation_url": "https://docs.github.com/rest/repos/repos#list-organization-repositories"}))
                    .insert_header("x-ratelimit-remaining", "4999");
            }
            let mut repo = fixture("drone-go-scm/github/push.json")["repository"].clone();
            let names: Vec<Value> = [REPO, OTHER_REPO]
                .iter()
                .map(|name| {
                    repo["full_name"] = json!(name);
                    repo["name"] = json!(name.split('/').nth(1));
                    repo.clone()
                })
                .collect();
            return self.page(request, names, None);
        }
        if segments.first() != Some(&"repos") || segments.len() < 4 {
            return not_found();
        }
        let repo = format!("{}/{}", segments[1], segments[2]);
        let histories = self.history.lock().unwrap();
        let Some(h) = histories.get(&repo) else {
            return not_found();
        };
        let q = query(request);
        let rest: Vec<&str> = segments[3..].to_vec();
        match rest.as_slice() {
            ["commits"] => {
                let since = q.get("since").map(|s| time(s));
                let mut items: Vec<&Commit> = h
                    .commits
                    .iter()
                    .filter(|c| since.is_none_or(|s| time(c.committed) >= s))
                    .collect();
                items.reverse();
                self.page(
                    request,
                    items.into_iter().map(|c| h.commit_json(c)).collect(),
                    None,
                )
            }
            ["pulls"] => {
                let mut items: Vec<&Pull> = h.pulls.iter().collect();
                items.sort_by_key(|p| std::cmp::Reverse(time(p.updated)));
                self.page(
                    request,
                    items.into_iter().map(|p| h.pull_list_json(p)).collect(),
                    None,
                )
            }
            ["pulls", n] => match h.pulls.iter().find(|p| p.number.to_string() == *n) {
                Some(p) => ok(h.pull_json(p)),
                None => not_found(),
            },
            ["pulls", n, "reviews"] => match h.pulls.iter().find(|p| p.number.to_string() == *n) {
                Some(p) => self.page(
                    request,
                    p.reviews.iter().map(|r| h.review_json(r)).collect(),
                    None,
                ),
                None => not_found(),
            },
            ["pulls", n, "commits"] => match h.pulls.iter().find(|p| p.number.to_string() == *n) {
                Some(p) => {
                    let commits = p
                        .commits
                        .iter()
                        .map(|sha| h.commit_json(h.all_commits().find(|c| c.sha == *sha).unwrap()))
                        .collect();
                    self.page(request, commits, None)
                }
                None => not_found(),
            },
            ["pulls", n, "files"] => match h.pulls.iter().find(|p| p.number.to_string() == *n) {
                Some(p) => self.page(request, h.files_json(p), None),
                None => not_found(),
            },
            ["actions", "runs"] => {
                let created = q.get("created").map(|c| time(c.trim_start_matches(">=")));
                let mut items: Vec<&Run> = h
                    .runs
                    .iter()
                    .filter(|r| created.is_none_or(|c| time(r.created) >= c))
                    .collect();
                items.sort_by_key(|r| std::cmp::Reverse(time(r.created)));
                self.page(
                    request,
                    items.into_iter().map(|r| h.run_json(r)).collect(),
                    Some("workflow_runs"),
                )
            }
            ["actions", "runs", id] => match h.runs.iter().find(|r| r.id.to_string() == *id) {
                Some(r) => ok(h.run_json(r)),
                None => not_found(),
            },
            ["actions", "runs", id, "attempts", attempt, "jobs"] => {
                match h
                    .runs
                    .iter()
                    .find(|r| r.id.to_string() == *id && r.attempt.to_string() == *attempt)
                {
                    Some(r) => self.page(request, h.jobs_json(r), Some("jobs")),
                    None => not_found(),
                }
            }
            ["releases"] => {
                let mut items: Vec<&Release> = h.releases.iter().collect();
                items.sort_by_key(|r| std::cmp::Reverse(time(r.created)));
                self.page(
                    request,
                    items.into_iter().map(|r| h.release_json(r)).collect(),
                    None,
                )
            }
            ["deployments"] => {
                let mut items: Vec<&Deployment> = h.deployments.iter().collect();
                items.sort_by_key(|d| std::cmp::Reverse(time(d.created)));
                self.page(
                    request,
                    items.into_iter().map(|d| h.deployment_json(d)).collect(),
                    None,
                )
            }
            ["deployments", id] => match h.deployments.iter().find(|d| d.id.to_string() == *id) {
                Some(d) => ok(h.deployment_json(d)),
                None => not_found(),
            },
            ["deployments", id, "statuses"] => {
                match h.deployments.iter().find(|d| d.id.to_string() == *id) {
                    // Newest first, as GitHub lists them.
                    Some(d) => self.page(
                        request,
                        d.statuses
                            .iter()
                            .rev()
                            .map(|s| h.status_json(d, *s))
                            .collect(),
                        None,
                    ),
                    None => not_found(),
                }
            }
            ["issues"] => {
                let since = q.get("since").map(|s| time(s));
                let labels: Vec<String> = q
                    .get("labels")
                    .map(|l| l.split(',').map(str::to_lowercase).collect())
                    .unwrap_or_default();
                let mut items: Vec<&Issue> = h
                    .issues
                    .iter()
                    .filter(|i| since.is_none_or(|s| time(i.updated) >= s))
                    .filter(|i| {
                        labels
                            .iter()
                            .all(|l| i.labels.iter().any(|x| x.to_lowercase() == *l))
                    })
                    .collect();
                items.sort_by_key(|i| time(i.updated));
                self.page(
                    request,
                    items.into_iter().map(|i| h.issue_json(i)).collect(),
                    None,
                )
            }
            _ => not_found(),
        }
    }
}

/// A running fake GitHub with `acme/shop` (the history) and an empty `acme/docs`.
pub async fn start(
    faults: Vec<(&str, u16)>,
) -> (wiremock::MockServer, Arc<Mutex<HashMap<String, History>>>) {
    let server = wiremock::MockServer::start().await;
    let histories = Arc::new(Mutex::new(HashMap::from([
        (REPO.to_string(), history()),
        (
            OTHER_REPO.to_string(),
            History {
                commits: vec![],
                branch_commits: vec![],
                pulls: vec![],
                runs: vec![],
                deployments: vec![],
                issues: vec![],
                releases: vec![],
            },
        ),
    ])));
    let control = Arc::new(Mutex::new(Control {
        faults: faults
            .into_iter()
            .map(|(n, s)| (n.to_string(), s))
            .collect(),
    }));
    wiremock::Mock::given(wiremock::matchers::method("GET"))
        .respond_with(FakeGitHub {
            base: server.uri(),
            history: histories.clone(),
            control,
        })
        .mount(&server)
        .await;
    (server, histories)
}
