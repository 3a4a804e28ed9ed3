//! `[gitlab]` in the configuration: the typed settings of the GitLab source.

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct GitlabConfig {
    /// Secret token of `POST /webhooks/gitlab` (the webhook's "Secret
    /// token"); also `DEVEX_GITLAB__WEBHOOK_TOKEN`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_token: Option<String>,
    /// The label that makes an issue an incident (issues of type incident
    /// are incidents anyway).
    pub incident_label: String,
    /// Token of `devex ingest gitlab` (else GITLAB_TOKEN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// API root: https://gitlab.com/api/v4, or https://HOST/api/v4.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl Default for GitlabConfig {
    fn default() -> Self {
        GitlabConfig {
            webhook_token: None,
            incident_label: "incident".into(),
            token: None,
            base_url: None,
        }
    }
}

impl GitlabConfig {
    /// Reads the `[gitlab]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<GitlabConfig> {
        crate::sources::read_section("gitlab", section)
    }
}
