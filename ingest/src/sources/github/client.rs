//! GitHub's REST API through octocrab, the way a long sync needs it: every
//! page followed by its `Link` header, rate limits waited out (with a
//! progress line) instead of failed, 5xx and dropped connections retried
//! with backoff, and 401/403 turned into the next step to take.

use std::time::Duration;

use http::header::HeaderMap;
use http::HeaderValue;
use octocrab::Octocrab;
use serde_json::Value as Json;

use crate::error::{Error, Result};
pub use crate::sources::http::{encode, Counts, Patience};
use crate::sources::http::{links, Answer, Requests};
use crate::sources::Progress;

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
    requests: Requests,
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
            requests: Requests::new(
                "GitHub",
                "check https://www.githubstatus.com and run the sync again",
                patience,
            ),
        })
    }

    /// The API root, without a trailing slash.
    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn counts(&self) -> Counts {
        self.requests.counts()
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
        let send = || async {
            let response = self
                .octocrab
                ._get_with_headers(url, Some(headers.clone()))
                .await
                .map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = self
                .octocrab
                .body_to_string(response)
                .await
                .unwrap_or_default();
            Ok(Answer {
                status,
                headers,
                body,
            })
        };
        let refused = |status: u16, message: &str| {
            if status == 401 {
                self.bad_token(message)
            } else {
                self.missing_scope(url, message)
            }
        };
        Ok(self
            .requests
            .get_json(url, progress, send, &refused)
            .await?
            .map(|(body, headers)| {
                let (next, last_page) = links(&headers);
                Page {
                    body,
                    next,
                    last_page,
                }
            }))
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
