//! Argo CD: deployments from Argo CD Notifications webhooks
//! (`POST /webhooks/argocd`), in the body `devex argocd template` sets up.
//!
//! An app is a service through the catalog annotation `argocd/app-name`,
//! else by the app's name. The environment is `[argocd] environments`'
//! entry for the destination namespace, cluster name or cluster URL, else
//! the app's `devex.io/environment` label. A sync that succeeded and became
//! Healthy is a successful deployment; a failed sync or a degraded app is a
//! failed attempt.

pub mod config;
pub mod template;
pub mod webhook;

pub use config::ArgocdConfig;
pub use webhook::ArgocdWebhook;

use crate::sources::{SourceEntry, WebhookReceiver};

pub const ENTRY: SourceEntry = SourceEntry {
    name: "argocd",
    about: "Argo CD: deployments (synced and healthy, failed, degraded) from Argo CD Notifications",
    environment: &[],
    check: |section| ArgocdConfig::from_section(section).map(drop),
    collector: None,
    webhook: Some(|section| {
        Ok(
            Box::new(ArgocdWebhook::new(&ArgocdConfig::from_section(section)?))
                as Box<dyn WebhookReceiver>,
        )
    }),
};
