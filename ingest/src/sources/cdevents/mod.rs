//! CDEvents: the vendor-neutral events Jenkins, Tekton, Keptn and Spinnaker
//! send, as CloudEvents over HTTP (`POST /webhooks/cdevents`), in structured
//! mode (`application/cloudevents+json`, the CDEvent in `data`) or binary
//! mode (`ce-*` headers, the CDEvent as the body). Spec v0.4 and v0.5: any
//! version of a known event type is read.

pub mod config;
pub mod rows;
pub mod webhook;

pub use config::CdeventsConfig;
pub use webhook::CdeventsWebhook;

use crate::sources::{SourceEntry, WebhookReceiver};

pub const ENTRY: SourceEntry = SourceEntry {
    name: "cdevents",
    about: "CDEvents (Jenkins, Tekton, Keptn, Spinnaker, ...): deployments, rollbacks, pipeline and task runs, merged changes, incidents",
    environment: &[],
    check: |section| CdeventsConfig::from_section(section).map(drop),
    collector: None,
    webhook: Some(|section| {
        Ok(Box::new(CdeventsWebhook::new(&CdeventsConfig::from_section(section)?))
            as Box<dyn WebhookReceiver>)
    }),
};
