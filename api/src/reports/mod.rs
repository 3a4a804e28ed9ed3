//! The reports both the CLI and the HTTP API answer: their shared parameters
//! (`--team` and `?team=` are one field) and their rendering as JSON, CSV or a
//! text table. The numbers come from `analytics` and `surveys`.

pub mod adoption;
pub mod ai;
pub mod audit;
pub mod catalog;
pub mod cost;
pub mod devex;
pub mod dora;
pub mod onboarding;
pub mod surveys;
