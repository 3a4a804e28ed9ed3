//! GitHub's REST API through octocrab, the way a long sync needs it: every
//! page followed by its `Link` header, rate limits waited out (with a
//! progress line) instead of failed, 5xx and dropped connections retried
//! with backoff, and 401/403 turned into the next step to take.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::HeaderMap;
use http::HeaderValue;
use octocrab::Octocrab;
use serde_json::Value as Json;

use crate::error::{Error, Result};
pub use crate::sources::http::{encode, Counts, Patience};
use crate::sources::http::{links, rate_limit_wait};
use crate::sources::{Progress, ProgressEvent};

/// One page of a list, or one object.
pub struct Page {
    pub body: Json,
    /// The `rel="next"` link: absent on the last page.
    pub next: Option<String>,
    /// The page number of `rel="last"`, when GitHub gives it.
    pub last_page: Option<u64>,
}

pub struct Client {
    octocrab: Octocrab,
    base: String,
    has_token: bool,
    patience: Patience,
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retried: AtomicU64,
}

impl Client {
    /// A client for `base` (`https://api.github.com`, or a GitHub Enterprise
    /// Server's `https://HOST/api/v3`).
    pub fn new(base: &str, token: Option<&str>, patience: Patience) -> Result<Client> {
        let base = base.trim_end_matches('/').to_string();
        let bad_url = |e: String| {
            Error::SourceConfig {
            message: format!(
                "github base URL `{base}` is not usable ({e}); give the API root, e.g. https://api.github.com or https://HOST/api/v3 for GitHub Enterprise Server"
            ),
        }
        };
        let mut builder = Octocrab::builder()
            .base_uri(base.as_str())
            .map_err(|e| bad_url(e.to_string()))?
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)));
        if let Some(token) = token {
            builder = builder.personal_token(token.to_string());
        }
        let octocrab = builder.build().map_err(|e| bad_url(e.to_string()))?;
        Ok(Client {
            octocrab,
            base,
            has_token: token.is_some(),
            patience,
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            retried: AtomicU64::new(0),
        })
    }

    /// The API root, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }

    /// GETs `url` (absolute); `None` when GitHub answers 404.
    pub async fn get(&self, url: &str, progress: &dyn Progress) -> Result<Option<Page>> {
        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::ACCEPT,
            HeaderValue::from_static("application/vnd.github+json"),
        );
        headers.insert(
            "x-github-api-version",
            HeaderValue::from_static("2022-11-28"),
        );
        let mut failures = 0u32;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match self
                .octocrab
                ._get_with_headers(url, Some(headers.clone()))
                .await
            {
                Err(e) => format!("no answer from GitHub ({e})"),
                Ok(response) => {
                    let status = response.status();
                    let response_headers = response.headers().clone();
                    let body = self
                        .octocrab
                        .body_to_string(response)
                        .await
                        .unwrap_or_default();
                    if status.is_success() {
                        let body: Json =
                            serde_json::from_str(&body).map_err(|e| Error::SourcePayload {
                                url: url.to_string(),
                                message: format!("the answer is not JSON ({e})"),
                            })?;
                        let (next, last_page) = links(&response_headers);
                        return Ok(Some(Page {
                            body,
                            next,
                            last_page,
                        }));
                    }
                    let message = serde_json::from_str::<Json>(&body)
                        .ok()
                        .and_then(|b| b["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| body.chars().take(200).collect());
                    match status.as_u16() {
                        404 => return Ok(None),
                        401 => return Err(self.bad_token(&message)),
                        403 | 429 => match rate_limit_wait(&response_headers) {
                            Some(wait) => {
                                self.wait_for_rate_limit(url, wait, progress).await?;
                                continue;
                            }
                            None if status.as_u16() == 403 => {
                                return Err(self.missing_scope(url, &message))
                            }
                            None => format!("GitHub answered 429 {message}"),
                        },
                        code if code >= 500 => format!("GitHub answered {code} {message}"),
                        code => {
                            return Err(Error::SourceRequest {
                                url: url.to_string(),
                                message: format!("GitHub answered {code}: {message}"),
                            })
                        }
                    }
                }
            };
            failures += 1;
            if failures >= self.patience.attempts {
                return Err(Error::SourceRequest {
                    url: url.to_string(),
                    message: format!(
                        "{failure}, {failures} times in a row; check https://www.githubstatus.com and run the sync again, it continues where it stopped"
                    ),
                });
            }
            self.retried.fetch_add(1, Ordering::Relaxed);
            let backoff = self.patience.backoff * 2u32.saturating_pow(failures - 1);
            progress.event(ProgressEvent::Waiting {
                message: format!(
                    "{failure}; retrying in {:.1} s (attempt {} of {})",
                    backoff.as_secs_f64(),
                    failures + 1,
                    self.patience.attempts
                ),
                seconds: backoff.as_secs(),
            });
            tokio::time::sleep(backoff).await;
        }
    }

    async fn wait_for_rate_limit(
        &self,
        url: &str,
        wait: Duration,
        progress: &dyn Progress,
    ) -> Result<()> {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        if wait > self.patience.max_wait {
            return Err(Error::SourceRequest {
                url: url.to_string(),
                message: format!(
                    "GitHub's rate limit resets in {} min, longer than the {} min we wait; run the sync again later, it continues where it stopped",
                    wait.as_secs() / 60,
                    self.patience.max_wait.as_secs() / 60
                ),
            });
        }
        let resume = chrono::Utc::now()
            + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::zero());
        progress.event(ProgressEvent::Waiting {
            message: format!(
                "GitHub's rate limit is used up; waiting {} s for its reset at {} UTC",
                wait.as_secs(),
                resume.format("%H:%M:%S")
            ),
            seconds: wait.as_secs(),
        });
        tokio::time::sleep(wait).await;
        Ok(())
    }

    fn bad_token(&self, message: &str) -> Error {
        let what = if self.has_token {
            "GitHub rejected the token"
        } else {
            "GitHub needs a token for this"
        };
        Error::SourceAuth {
            message: format!(
                "{what} (401 {message}) at {}. Create a token (fine-grained: read access to Contents, Metadata, Pull requests, Actions, Deployments and Issues of the repositories; classic: the `repo` scope, and `read:org` for an organisation), then set GITHUB_TOKEN or `token` under [github] in devex.toml and run again",
                self.base
            ),
        }
    }

    fn missing_scope(&self, url: &str, message: &str) -> Error {
        Error::SourceAuth {
            message: format!(
                "GitHub refused {url} (403 {message}). The token lacks a permission: a fine-grained token needs read access to Contents, Metadata, Pull requests, Actions, Deployments and Issues; a classic token needs `repo` (and `read:org` for an organisation); an organisation may also have to approve the token. Fix the token and run again"
            ),
        }
    }
}
