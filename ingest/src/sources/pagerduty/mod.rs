//! PagerDuty: incidents from V3 webhooks (`POST /webhooks/pagerduty`) and
//! from the REST API (`devex ingest pagerduty`), as the same rows.
//!
//! A PagerDuty service maps to a devex service through the catalog
//! annotation `pagerduty.com/service-id`, else by name; an incident of a
//! service that maps to nothing is kept raw with that reason, never stored
//! under a guessed service.

pub mod collector;
pub mod config;
pub mod rows;
pub mod webhook;

pub use config::PagerdutyConfig;
pub use webhook::PagerdutyWebhook;

use crate::sources::{SourceEntry, WebhookReceiver};

pub const ENTRY: SourceEntry = SourceEntry {
    name: "pagerduty",
    about: "PagerDuty: incidents (triggered, acknowledged, resolved, reopened) from V3 webhooks",
    environment: &[("PAGERDUTY_TOKEN", "token")],
    check: |section| PagerdutyConfig::from_section(section).map(drop),
    collector: Some(collector::PagerDuty::build),
    webhook: Some(|section| {
        Ok(
            Box::new(PagerdutyWebhook::new(&PagerdutyConfig::from_section(
                section,
            )?)) as Box<dyn WebhookReceiver>,
        )
    }),
};
