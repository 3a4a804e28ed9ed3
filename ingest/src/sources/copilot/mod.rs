//! GitHub Copilot's usage metrics (`devex ingest copilot --org O |
//! --enterprise E`): per person and day, what Copilot was used for, as
//! `ai_usage` rows. No webhook: GitHub publishes the reports once a day.

pub mod collector;
pub mod config;
pub mod records;

pub use config::CopilotConfig;

use crate::sources::SourceEntry;

pub const ENTRY: SourceEntry = SourceEntry {
    name: "copilot",
    about: "GitHub Copilot: per person and day, its use (completions, chat, agent, CLI), from the usage-metrics reports",
    environment: &[("COPILOT_TOKEN", "token"), ("GITHUB_TOKEN", "token")],
    check: |section| CopilotConfig::from_section(section).map(drop),
    collector: Some(collector::Copilot::build),
    webhook: None,
};
