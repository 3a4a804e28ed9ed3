//! The outside of devex, and nothing else: the `devex` command line
//! ([`cli`]) and the axum HTTP server ([`http`]: REST API, portal,
//! Prometheus `/metrics`, webhook receivers) and the MCP server ([`mcp`]:
//! the reports as tools for assistants, over stdio and `/mcp`).
//!
//! Both are thin: they parse a request, call the same functions of `ingest`,
//! `analytics` and `surveys`, and render the answer. [`reports`] holds what
//! they share (a report's parameters and its JSON, CSV and table forms,
//! through [`render`]), [`config::Config`] reads `devex.toml` and `DEVEX_*`
//! variables, and [`error::Error`] is the one error type (its HTTP status and
//! stable code are mapped in `http::status`). Nothing under `http` imports
//! `cli`; domain rules live in the libraries.

pub mod auth;
pub mod cli;
pub mod config;
pub mod error;
pub mod http;
pub mod mcp;
pub mod render;
pub mod reports;

pub use error::{Error, Result};
