//! GitLab (gitlab.com or self-managed): the webhook receiver
//! (`POST /webhooks/gitlab`), the pull collector (`devex ingest gitlab`)
//! and the mapping both share ([`rows`]).

pub mod api;
pub mod collector;
pub mod config;
pub mod rows;
pub mod webhook;

pub use config::GitlabConfig;
pub use webhook::GitlabWebhook;

use crate::sources::{SourceEntry, WebhookReceiver};

pub const ENTRY: SourceEntry = SourceEntry {
    name: "gitlab",
    about: "GitLab: pushes, merge requests and approvals, pipelines and jobs, deployments, incident issues",
    environment: &[("GITLAB_TOKEN", "token")],
    check: |section| GitlabConfig::from_section(section).map(drop),
    collector: Some(collector::GitLab::build),
    webhook: Some(|section| {
        Ok(Box::new(GitlabWebhook::new(&GitlabConfig::from_section(section)?))
            as Box<dyn WebhookReceiver>)
    }),
};
