//! Backstage: the software catalog as devex's ownership, from
//! `catalog-info.yaml` files (`devex import catalog PATH...`).

pub mod catalog;
pub mod entities;

pub use catalog::{plan, CatalogPlan, CurrentCatalog, ServiceVersion, TeamVersion};
pub use entities::{read, Entity};
