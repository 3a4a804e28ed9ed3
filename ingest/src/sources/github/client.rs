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
use crate::sources::{Progress, ProgressEvent};

/// One page of a list, or one object.
pub struct Page {
    pub body: Json,
    /// The `rel="next"` link: absent on the last page.
    pub next: Option<String>,
    /// The page number of `rel="last"`, when GitHub gives it.
    pub last_page: Option<u64>,
}

/// How patient a client is.
#[derive(Debug, Clone)]
pub struct Patience {
    /// Attempts for a request that fails with a 5xx or no answer.
    pub attempts: u32,
    /// The first backoff; it doubles with every further attempt.
    pub backoff: Duration,
    /// The longest rate-limit wait we sit out before giving up with a message.
    pub max_wait: Duration,
}

impl Default for Patience {
    fn default() -> Self {
        Patience {
            attempts: 5,
            backoff: Duration::from_secs(1),
            max_wait: Duration::from_secs(3600),
        }
    }
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

/// Counters of what the client sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub requests: u64,
    pub rate_limited: u64,
    pub retried: u64,
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

/// How long GitHub wants us to wait, when a 403/429 is a rate limit: the
/// secondary limit's `retry-after`, or the primary limit's reset time when
/// `x-ratelimit-remaining` is 0. `None` means the refusal is not a limit.
fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(seconds) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    if header("x-ratelimit-remaining")?.trim() != "0" {
        return None;
    }
    let reset = header("x-ratelimit-reset")?.trim().parse::<i64>().ok()?;
    let now = chrono::Utc::now().timestamp();
    // One second more: the reset time is rounded down.
    Some(Duration::from_secs((reset - now).max(0) as u64 + 1))
}

/// The `next` URL and the `last` page number of a `Link` header.
fn links(headers: &HeaderMap) -> (Option<String>, Option<u64>) {
    let Some(link) = headers.get("link").and_then(|v| v.to_str().ok()) else {
        return (None, None);
    };
    let (mut next, mut last) = (None, None);
    for part in link.split(',') {
        let mut pieces = part.split(';');
        let url = pieces
            .next()
            .map(|u| u.trim().trim_start_matches('<').trim_end_matches('>'));
        let rel = pieces
            .filter_map(|p| p.trim().strip_prefix("rel="))
            .map(|r| r.trim_matches('"'))
            .next();
        match (url, rel) {
            (Some(url), Some("next")) => next = Some(url.to_string()),
            (Some(url), Some("last")) => last = page_number(url),
            _ => {}
        }
    }
    (next, last)
}

fn page_number(url: &str) -> Option<u64> {
    let query = url.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == "page")
        .and_then(|(_, value)| value.parse().ok())
}

/// Percent-encodes a query value (labels may hold spaces and symbols).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_headers_give_the_next_url_and_the_last_page() {
        // The shape GitHub documents ("Using pagination in the REST API").
        let mut headers = HeaderMap::new();
        headers.insert("link", HeaderValue::from_static("<https://api.github.com/repositories/1300192/issues?page=2>; rel=\"prev\", <https://api.github.com/repositories/1300192/issues?page=4>; rel=\"next\", <https://api.github.com/repositories/1300192/issues?page=515>; rel=\"last\", <https://api.github.com/repositories/1300192/issues?page=1>; rel=\"first\""));
        let (next, last) = links(&headers);
        assert_eq!(
            next.as_deref(),
            Some("https://api.github.com/repositories/1300192/issues?page=4")
        );
        assert_eq!(last, Some(515));
        assert_eq!(links(&HeaderMap::new()), (None, None));
    }

    #[test]
    fn only_rate_limit_refusals_are_waited_out() {
        let mut headers = HeaderMap::new();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("12"));
        assert_eq!(rate_limit_wait(&headers), None);
        let reset = (chrono::Utc::now().timestamp() + 30).to_string();
        headers.insert("x-ratelimit-remaining", HeaderValue::from_static("0"));
        headers.insert("x-ratelimit-reset", HeaderValue::from_str(&reset).unwrap());
        let wait = rate_limit_wait(&headers).unwrap().as_secs();
        assert!((29..=32).contains(&wait), "{wait}");
        headers.insert("retry-after", HeaderValue::from_static("60"));
        assert_eq!(rate_limit_wait(&headers), Some(Duration::from_secs(60)));
    }

    #[test]
    fn query_values_are_encoded() {
        assert_eq!(encode("sev 1/incident"), "sev%201%2Fincident");
        assert_eq!(
            encode(">=2025-01-01T00:00:00Z"),
            "%3E%3D2025-01-01T00%3A00%3A00Z"
        );
    }
}
