//! Getting events into devex: the canonical event schema, the Parquet lake
//! writer, file importers, collectors and the demo organisation.
//!
//! This crate owns:
//! - [`schema`]: every canonical table as an Arrow schema, each column documented;
//! - [`lake::Lake`]: the only code that writes the lake folder (atomic Parquet
//!   files, Hive-style monthly partitions, deduplication on `event_id`);
//! - [`import`]: JSON Lines and CSV rows of any canonical table, validated whole;
//! - [`sources`]: collectors behind one [`sources::Source`] trait and a
//!   registry (GitHub first), and the payload mapping webhooks share;
//! - [`canonical`]: one typed row struct per table, checked against [`schema`];
//! - [`identity`]: pseudonymous developer ids;
//! - [`vocabulary`]: the closed sets (statuses, conclusions, severities,
//!   outcomes) checked on the way in;
//! - [`demo`]: a seeded synthetic organisation for trying devex and for tests.
//!
//! It does not compute metrics (that is `analytics`), analyse surveys
//! (`surveys`) or serve anything (`api`).
//!
//! ```no_run
//! # async fn example() -> ingest::Result<()> {
//! use ingest::{lake::Lake, schema};
//! let lake = Lake::create_or_open("devex-lake")?;
//! let stats = lake.table_stats().await?;
//! # Ok(()) }
//! ```

pub mod ai_attribution;
pub mod audit;
pub mod canonical;
pub mod demo;
pub mod error;
pub mod focus;
pub mod group_commit;
pub mod identity;
pub mod import;
pub mod lake;
pub mod progress;
pub mod rows;
pub mod schema;
pub mod sources;
pub mod usage;
pub mod vocabulary;

pub use error::{Error, Result};
