//! Backstage: the software catalog as devex's ownership, from
//! `catalog-info.yaml` files (`devex import catalog PATH...`) or a live
//! catalog (`devex ingest backstage --url URL`), which also reads the
//! scaffolder's tasks (template runs) as platform usage.

pub mod aliases;
pub mod catalog;
pub mod collector;
pub mod config;
pub mod entities;
pub mod scaffolder;

pub use catalog::{plan, CatalogPlan, CurrentCatalog, ServiceVersion, TeamVersion};
pub use config::BackstageConfig;
pub use entities::{read, Entity};

use crate::sources::SourceEntry;

pub const ENTRY: SourceEntry = SourceEntry {
    name: "backstage",
    about: "Backstage: the software catalog (components, systems, groups, users) as services, owners and teams, with their history; scaffolder tasks as template use",
    environment: &[("BACKSTAGE_TOKEN", "token")],
    check: |section| BackstageConfig::from_section(section).map(drop),
    collector: Some(collector::Backstage::build),
    webhook: None,
};
