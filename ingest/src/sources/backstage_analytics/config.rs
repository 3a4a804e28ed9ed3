//! `[backstage-analytics]` in the configuration.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct BackstageAnalyticsConfig {
    /// The bearer token of `POST /webhooks/backstage-analytics` (also
    /// `BACKSTAGE_ANALYTICS_TOKEN`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// `[[backstage-analytics.mapping]]`: the first rule that matches an
    /// event names its tool and feature, or skips it.
    pub mapping: Vec<MappingRule>,
}

/// One mapping rule. Every matcher given must equal the event's value (a
/// trailing `*` matches any rest); `tool` and `feature` may use
/// `{pluginId}`, `{action}`, `{subject}`, `{routeRef}` and `{extension}`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct MappingRule {
    #[serde(rename = "pluginId", alias = "plugin_id")]
    pub plugin_id: Option<String>,
    pub action: Option<String>,
    pub subject: Option<String>,
    #[serde(rename = "routeRef", alias = "route_ref")]
    pub route_ref: Option<String>,
    /// The tool instead of `{pluginId}`.
    pub tool: Option<String>,
    /// The feature instead of `{action}:{subject}`.
    pub feature: Option<String>,
    /// Drop matching events (e.g. page views) instead of storing them.
    pub skip: bool,
}

impl BackstageAnalyticsConfig {
    /// Reads the `[backstage-analytics]` section; a misspelt key is an
    /// error naming it, as is a rule that matches or does nothing.
    pub fn from_section(section: &serde_json::Value) -> Result<BackstageAnalyticsConfig> {
        let config: BackstageAnalyticsConfig =
            crate::sources::read_section("backstage-analytics", section)?;
        for (i, rule) in config.mapping.iter().enumerate() {
            let matches = rule.plugin_id.is_some()
                || rule.action.is_some()
                || rule.subject.is_some()
                || rule.route_ref.is_some();
            let acts = rule.skip || rule.tool.is_some() || rule.feature.is_some();
            if !matches || !acts {
                return Err(Error::SourceConfig {
                    message: format!(
                        "[backstage-analytics] mapping[{i}]: a rule needs a matcher (pluginId, action, subject or routeRef) and an effect (tool, feature or skip = true)"
                    ),
                });
            }
        }
        Ok(config)
    }
}
