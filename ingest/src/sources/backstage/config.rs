//! `[backstage]` in the configuration.

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BackstageConfig {
    /// The Backstage backend, e.g. https://backstage.example.com (or
    /// `devex ingest backstage --url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// A static token of the catalog API (else BACKSTAGE_TOKEN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl BackstageConfig {
    /// Reads the `[backstage]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<BackstageConfig> {
        crate::sources::read_section("backstage", section)
    }
}
