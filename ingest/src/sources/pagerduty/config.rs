//! `[pagerduty]` in the configuration: the typed settings of the PagerDuty
//! source.

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct PagerdutyConfig {
    /// Signing secret of the V3 webhook subscription (`POST
    /// /webhooks/pagerduty`); also `DEVEX_PAGERDUTY__WEBHOOK_SECRET`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_secret: Option<String>,
    /// REST API token of `devex ingest pagerduty` (else PAGERDUTY_TOKEN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// API root (default https://api.pagerduty.com).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
}

impl PagerdutyConfig {
    /// Reads the `[pagerduty]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<PagerdutyConfig> {
        crate::sources::read_section("pagerduty", section)
    }
}
