//! The outside of devex: the axum HTTP server (REST API, portal, Prometheus
//! `/metrics`, and later the webhook receivers) and the `devex` command line.
//!
//! This crate owns how results leave devex: [`server::app`] builds the router
//! from an [`server::AppState`], [`error::Error`] maps every failure to an HTTP
//! status and a JSON body (or a CLI message with a hint), [`render`] turns
//! query results into tables, JSON or CSV, and [`config::Config`] reads
//! `devex.toml` and `DEVEX_*` variables. It computes nothing itself: the CLI
//! and the API call the same functions of `ingest`, `analytics` and `surveys`.

pub mod cli;
pub mod collect;
pub mod config;
pub mod devex;
pub mod dora;
pub mod error;
pub mod metrics;
pub mod portal;
pub mod render;
pub mod scorecard;
pub mod server;
pub mod surveys;
pub mod webhooks;

pub use error::{Error, Result};
