//! `[copilot]` in the configuration: the typed settings of the GitHub
//! Copilot usage-metrics source.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CopilotConfig {
    /// The organisation whose report to read (`--org`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org: Option<String>,
    /// The enterprise (its slug) whose report to read (`--enterprise`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enterprise: Option<String>,
    /// A token that may read Copilot metrics (else COPILOT_TOKEN, then
    /// GITHUB_TOKEN): classic `read:org` for an organisation,
    /// `manage_billing:copilot` or `read:enterprise` for an enterprise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// API root; https://HOST/api/v3 for GitHub Enterprise Server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Days read again on every run: GitHub completes a day's report over
    /// the following days.
    pub reread_days: u32,
}

impl Default for CopilotConfig {
    fn default() -> Self {
        CopilotConfig {
            org: None,
            enterprise: None,
            token: None,
            base_url: None,
            reread_days: 3,
        }
    }
}

impl CopilotConfig {
    /// Reads the `[copilot]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<CopilotConfig> {
        let config: CopilotConfig = crate::sources::read_section("copilot", section)?;
        if !(1..=28).contains(&config.reread_days) {
            return Err(Error::SourceConfig {
                message: format!(
                    "copilot reread_days = {}: give 1 to 28 days",
                    config.reread_days
                ),
            });
        }
        Ok(config)
    }
}
