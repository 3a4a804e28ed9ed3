//! `[github]` in the configuration: the typed settings of the GitHub source.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::client::Patience;
use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GithubConfig {
    /// Secret of `POST /webhooks/github` (also DEVEX_GITHUB_WEBHOOK_SECRET).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// The label that makes an issue an incident.
    pub incident_label: String,
    /// Token of `devex ingest github` (else GITHUB_TOKEN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// API root; https://HOST/api/v3 for GitHub Enterprise Server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Items per page (1 to 100).
    pub per_page: u32,
    /// First backoff after a 5xx, doubled per attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_backoff_ms: Option<u64>,
    /// Attempts per request before the sync stops.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_attempts: Option<u32>,
    /// The longest rate-limit wait sat out.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_wait_seconds: Option<u64>,
}

impl Default for GithubConfig {
    fn default() -> Self {
        GithubConfig {
            webhook_secret: None,
            incident_label: "incident".into(),
            token: None,
            base_url: None,
            per_page: 100,
            retry_backoff_ms: None,
            retry_attempts: None,
            max_wait_seconds: None,
        }
    }
}

impl GithubConfig {
    /// Reads the `[github]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<GithubConfig> {
        let config: GithubConfig = crate::sources::read_section("github", section)?;
        if !(1..=100).contains(&config.per_page) {
            return Err(Error::SourceConfig {
                message: format!(
                    "github per_page = {}: GitHub pages hold 1 to 100 items",
                    config.per_page
                ),
            });
        }
        Ok(config)
    }

    /// How long and how often requests are retried.
    pub fn patience(&self) -> Patience {
        let defaults = Patience::default();
        Patience {
            attempts: self.retry_attempts.map_or(defaults.attempts, |n| n.max(1)),
            backoff: self
                .retry_backoff_ms
                .map_or(defaults.backoff, Duration::from_millis),
            max_wait: self
                .max_wait_seconds
                .map_or(defaults.max_wait, Duration::from_secs),
        }
    }
}
