//! Backstage analytics: the events of Backstage's plugin analytics API
//! (`action`, `subject`, `value`, `attributes`, `context.pluginId`,
//! `context.routeRef`, `context.extension`, and the user's entity ref), sent
//! by an analytics module to `POST /webhooks/backstage-analytics`, as
//! platform usage: `pluginId` becomes the tool and `action:subject` the
//! feature, unless a configured mapping says otherwise.

pub mod config;
pub mod events;
pub mod webhook;

pub use config::{BackstageAnalyticsConfig, MappingRule};
pub use webhook::BackstageAnalyticsWebhook;

use crate::sources::{SourceEntry, WebhookReceiver};

pub const ENTRY: SourceEntry = SourceEntry {
    name: "backstage-analytics",
    about: "Backstage analytics events (plugin analytics API, from an analytics module posting to devex): platform usage per plugin and feature",
    environment: &[("BACKSTAGE_ANALYTICS_TOKEN", "token")],
    check: |section| BackstageAnalyticsConfig::from_section(section).map(drop),
    collector: None,
    webhook: Some(|section| {
        Ok(Box::new(BackstageAnalyticsWebhook::new(
            BackstageAnalyticsConfig::from_section(section)?,
        )) as Box<dyn WebhookReceiver>)
    }),
};
