//! `[opencost]` in the configuration: the typed settings of the OpenCost
//! source.

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct OpencostConfig {
    /// The OpenCost API, e.g. `http://opencost.opencost:9003` (or `--url`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// A bearer token, when a proxy in front of OpenCost asks for one (else
    /// OPENCOST_TOKEN).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// How far back each run reads (`--window`), in OpenCost's terms: `30d`,
    /// `7d`, ...
    pub window: String,
    /// `namespace` or `label:KEY` (`--aggregate`).
    pub aggregate: String,
    /// The currency OpenCost is configured to report in.
    pub currency: String,
}

impl Default for OpencostConfig {
    fn default() -> Self {
        OpencostConfig {
            base_url: None,
            token: None,
            window: "30d".into(),
            aggregate: "namespace".into(),
            currency: "USD".into(),
        }
    }
}

impl OpencostConfig {
    /// Reads the `[opencost]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<OpencostConfig> {
        crate::sources::read_section("opencost", section)
    }
}
