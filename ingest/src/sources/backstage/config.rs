//! `[backstage]` in the configuration.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
        match section {
            serde_json::Value::Null => Ok(BackstageConfig::default()),
            section => serde_json::from_value(section.clone()).map_err(|e| Error::SourceConfig {
                message: format!("[backstage]: {e}; see the README's configuration section"),
            }),
        }
    }
}
