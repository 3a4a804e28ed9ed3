//! OpenCost: Kubernetes cost allocations (`devex ingest opencost`), as cost
//! rows in FOCUS terms, one per allocation (namespace, or label value) and
//! day. No webhook: OpenCost is read, not heard from.

pub mod collector;
pub mod config;

pub use config::OpencostConfig;

use crate::sources::SourceEntry;

pub const ENTRY: SourceEntry = SourceEntry {
    name: "opencost",
    about: "OpenCost: Kubernetes cost per namespace (or label) and day, from its allocation API",
    environment: &[("OPENCOST_TOKEN", "token")],
    check: |section| OpencostConfig::from_section(section).map(drop),
    collector: Some(collector::OpenCost::build),
    webhook: None,
};
