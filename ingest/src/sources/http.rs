//! HTTP for collectors, the way a long sync needs it: pages followed,
//! rate limits waited out (with a progress line) instead of failed, 5xx and
//! dropped connections retried with backoff, 401/403 turned into the token
//! to create. GitHub's client sends through octocrab; every other tool's
//! ([`ToolClient`]) through reqwest. Both share what is here.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use http::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::sources::{Progress, ProgressEvent};

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

/// Counters of what the client sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub requests: u64,
    pub rate_limited: u64,
    pub retried: u64,
}

/// The API root a collector uses: the configured one, else `default`,
/// without a trailing slash.
pub fn api_root(configured: Option<String>, default: &str) -> String {
    configured
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| default.to_string())
        .trim_end_matches('/')
        .to_string()
}

/// A tool's answer to one request.
pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

/// The request loop both clients share: retries with doubling backoff on a
/// 5xx or no answer, rate limits waited out, 404 as `None`, 401 and a 403
/// that is no rate limit handed to the client to explain, and the counts.
pub struct Requests {
    /// The tool's name in messages ("GitHub").
    tool: &'static str,
    /// What to do when retries run out (before "it continues where it stopped").
    exhausted_hint: &'static str,
    patience: Patience,
    requests: AtomicU64,
    rate_limited: AtomicU64,
    retried: AtomicU64,
}

impl Requests {
    pub fn new(tool: &'static str, exhausted_hint: &'static str, patience: Patience) -> Requests {
        Requests {
            tool,
            exhausted_hint,
            patience,
            requests: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            retried: AtomicU64::new(0),
        }
    }

    pub fn counts(&self) -> Counts {
        Counts {
            requests: self.requests.load(Ordering::Relaxed),
            rate_limited: self.rate_limited.load(Ordering::Relaxed),
            retried: self.retried.load(Ordering::Relaxed),
        }
    }

    /// GETs `url` through `send` until it answers: the JSON body and the
    /// headers, `None` on 404. `refused(status, message)` explains a 401, or
    /// a 403 that is not a rate limit.
    pub async fn get_json<F, Fut>(
        &self,
        url: &str,
        progress: &dyn Progress,
        send: F,
        refused: &(dyn Fn(u16, &str) -> Error + Sync),
    ) -> Result<Option<(Json, HeaderMap)>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Answer, String>>,
    {
        let Some(answer) = self.get_answer(url, progress, send, refused).await? else {
            return Ok(None);
        };
        let json = serde_json::from_str(&answer.body).map_err(|e| Error::SourcePayload {
            url: url.to_string(),
            message: format!("the answer is not JSON ({e})"),
        })?;
        Ok(Some((json, answer.headers)))
    }

    /// As [`Requests::get_json`], the body as it came (a successful answer's
    /// status, headers and text).
    pub async fn get_answer<F, Fut>(
        &self,
        url: &str,
        progress: &dyn Progress,
        send: F,
        refused: &(dyn Fn(u16, &str) -> Error + Sync),
    ) -> Result<Option<Answer>>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = std::result::Result<Answer, String>>,
    {
        let tool = self.tool;
        let mut failures = 0u32;
        loop {
            self.requests.fetch_add(1, Ordering::Relaxed);
            let failure = match send().await {
                Err(e) => format!("no answer from {tool} ({e})"),
                Ok(Answer {
                    status,
                    headers,
                    body,
                }) => {
                    if (200..300).contains(&status) {
                        return Ok(Some(Answer {
                            status,
                            headers,
                            body,
                        }));
                    }
                    // Tools say why in a JSON `message`; else the body's start.
                    let message = serde_json::from_str::<Json>(&body)
                        .ok()
                        .and_then(|b| b["message"].as_str().map(str::to_string))
                        .unwrap_or_else(|| body.chars().take(200).collect());
                    match status {
                        404 => return Ok(None),
                        401 => return Err(refused(401, &message)),
                        403 | 429 => match rate_limit_wait(&headers) {
                            Some(wait) => {
                                self.wait(url, wait, progress).await?;
                                continue;
                            }
                            None if status == 403 => return Err(refused(403, &message)),
                            None => format!("{tool} answered 429 {message}"),
                        },
                        code if code >= 500 => format!("{tool} answered {code} {message}"),
                        code => {
                            return Err(Error::SourceRequest {
                                url: url.to_string(),
                                message: format!("{tool} answered {code}: {message}"),
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
                        "{failure}, {failures} times in a row; {}, it continues where it stopped",
                        self.exhausted_hint
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

    async fn wait(&self, url: &str, wait: Duration, progress: &dyn Progress) -> Result<()> {
        self.rate_limited.fetch_add(1, Ordering::Relaxed);
        if wait > self.patience.max_wait {
            return Err(Error::SourceRequest {
                url: url.to_string(),
                message: format!(
                    "{}'s rate limit resets in {} min, longer than the {} min we wait; run the sync again later, it continues where it stopped",
                    self.tool,
                    wait.as_secs() / 60,
                    self.patience.max_wait.as_secs() / 60
                ),
            });
        }
        let resume = chrono::Utc::now()
            + chrono::Duration::from_std(wait).unwrap_or_else(|_| chrono::Duration::zero());
        progress.event(ProgressEvent::Waiting {
            message: format!(
                "{}'s rate limit is used up; waiting {} s for its reset at {} UTC",
                self.tool,
                wait.as_secs(),
                resume.format("%H:%M:%S")
            ),
            seconds: wait.as_secs(),
        });
        tokio::time::sleep(wait).await;
        Ok(())
    }
}

/// How long a tool wants us to wait, when a 403/429 is a rate limit: its
/// `retry-after`, or the limit's reset time when the remaining count is 0
/// (`x-ratelimit-*` as GitHub names them, `ratelimit-*` as GitLab does).
/// `None` means the refusal is not a limit.
pub fn rate_limit_wait(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(seconds) = header("retry-after").and_then(|v| v.trim().parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    let remaining = header("x-ratelimit-remaining").or_else(|| header("ratelimit-remaining"))?;
    if remaining.trim() != "0" {
        return None;
    }
    let reset = header("x-ratelimit-reset")
        .or_else(|| header("ratelimit-reset"))?
        .trim()
        .parse::<i64>()
        .ok()?;
    let now = chrono::Utc::now().timestamp();
    // One second more: the reset time is rounded down.
    Some(Duration::from_secs((reset - now).max(0) as u64 + 1))
}

/// The `next` URL and the `last` page number of a `Link` header.
pub fn links(headers: &HeaderMap) -> (Option<String>, Option<u64>) {
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

/// One answer of a tool: its JSON body and headers (for pagination).
pub struct ToolPage {
    pub body: Json,
    pub headers: HeaderMap,
}

impl ToolPage {
    /// The `rel="next"` link, if any.
    pub fn next_link(&self) -> Option<String> {
        links(&self.headers).0
    }
}

/// A JSON client of one tool's REST API.
pub struct ToolClient {
    http: reqwest::Client,
    /// The header that carries the token, when there is one.
    auth: Option<(HeaderName, HeaderValue)>,
    /// What to do about a refused token: which token to make, where to put it.
    token_help: String,
    requests: Requests,
}

impl ToolClient {
    /// A client of `tool`; `auth` is the header and value of its token.
    pub fn new(
        tool: &'static str,
        auth: Option<(&'static str, String)>,
        token_help: impl Into<String>,
        patience: Patience,
    ) -> Result<ToolClient> {
        let auth = match auth {
            Some((name, value)) => Some((
                HeaderName::from_static(name),
                HeaderValue::from_str(&value).map_err(|_| Error::SourceConfig {
                    message: format!("the {tool} token holds characters a header cannot carry"),
                })?,
            )),
            None => None,
        };
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(60))
            .user_agent(concat!("devex/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::SourceConfig {
                message: format!("cannot build an HTTP client for {tool}: {e}"),
            })?;
        Ok(ToolClient {
            http,
            auth,
            token_help: token_help.into(),
            requests: Requests::new(tool, "run the sync again later", patience),
        })
    }

    pub fn counts(&self) -> Counts {
        self.requests.counts()
    }

    /// GETs `url` as JSON; `None` on 404.
    pub async fn get(&self, url: &str, progress: &dyn Progress) -> Result<Option<ToolPage>> {
        let Some(answer) = self.get_text(url, "application/json", progress).await? else {
            return Ok(None);
        };
        let body = serde_json::from_str(&answer.body).map_err(|e| Error::SourcePayload {
            url: url.to_string(),
            message: format!("the answer is not JSON ({e})"),
        })?;
        Ok(Some(ToolPage {
            body,
            headers: answer.headers,
        }))
    }

    /// GETs `url` accepting `accept`: the answer as it came; `None` on 404.
    pub async fn get_text(
        &self,
        url: &str,
        accept: &str,
        progress: &dyn Progress,
    ) -> Result<Option<Answer>> {
        let tool = self.requests.tool;
        let send = || async {
            let mut request = self.http.get(url).header("accept", accept);
            if let Some((name, value)) = &self.auth {
                request = request.header(name, value);
            }
            let response = request.send().await.map_err(|e| e.to_string())?;
            Ok(Answer {
                status: response.status().as_u16(),
                headers: response.headers().clone(),
                body: response.text().await.unwrap_or_default(),
            })
        };
        let refused = |status: u16, message: &str| Error::SourceAuth {
            message: if status == 401 {
                format!(
                    "{tool} refused the token (401 {message}) at {url}. {}",
                    self.token_help
                )
            } else {
                format!(
                    "{tool} refused {url} (403 {message}): the token lacks a permission. {}",
                    self.token_help
                )
            },
        };
        self.requests
            .get_answer(url, progress, send, &refused)
            .await
    }
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
