//! `[argocd]` in the configuration.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::error::Result;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ArgocdConfig {
    /// The bearer token of `POST /webhooks/argocd` (also
    /// `DEVEX_ARGOCD__TOKEN`); `devex argocd template` puts it in the
    /// notifications service's `Authorization` header.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Destination namespace, cluster name or cluster URL -> environment,
    /// e.g. `prod = "production"`. Else the app's `devex.io/environment` label.
    pub environments: BTreeMap<String, String>,
}

impl ArgocdConfig {
    /// Reads the `[argocd]` section; a misspelt key is an error naming it.
    pub fn from_section(section: &serde_json::Value) -> Result<ArgocdConfig> {
        crate::sources::read_section("argocd", section)
    }
}
