//! `[cdevents]` in the configuration.

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct CdeventsConfig {
    /// The bearer token senders put in `Authorization` (also
    /// `DEVEX_CDEVENTS__TOKEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

impl CdeventsConfig {
    /// Reads the `[cdevents]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<CdeventsConfig> {
        crate::sources::read_section("cdevents", section)
    }
}
