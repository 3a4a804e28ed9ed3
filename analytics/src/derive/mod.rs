//! The derive stage: the tables every report aggregates, computed once per
//! change of their inputs rather than per query, and kept in the lake's
//! `_derived/` folder (through the lake writer's commit path).
//!
//! - [`commit_graph`]: the commit-graph walk, which gives each production
//!   deployment its changes (`deployment_changes`);
//! - the DORA per-deployment tables (`crate::dora`) and the DevEx per-run
//!   and per-pull-request tables (`crate::devex`), materialized by SQL.
//!
//! This module owns which canonical tables the stage reads ([`INPUTS`]):
//! new rows in one of them mean new derived tables, so `import`, `ingest`,
//! webhooks and `demo` ask [`reads`] whether to run [`run`] after writing.

pub mod commit_graph;
pub(crate) mod incremental;
pub(crate) mod parts;
pub(crate) mod walk_inputs;
pub(crate) mod walk_scope;
pub(crate) mod walk_store;

pub use commit_graph::{
    deployment_changes_table, walk, CommitGraph, DeploymentChange, WalkDeployment,
};

use ingest::schema::{self, TableSpec};

use crate::devex::DevexSettings;
use crate::dora::DoraSettings;
use crate::error::Result;
use crate::LakeQueries;

/// What the DORA per-deployment tables are computed from.
pub const DORA_INPUTS: [&TableSpec; 6] = [
    &schema::DEPLOYMENTS,
    &schema::COMMITS,
    &schema::PUSHES,
    &schema::PULL_REQUESTS,
    &schema::INCIDENTS,
    &schema::SERVICES,
];

/// What the DevEx per-run and per-pull-request tables are computed from
/// (the DORA tables' inputs too: the deploy phase reads them).
pub const DEVEX_INPUTS: [&TableSpec; 9] = [
    &schema::CI_RUNS,
    &schema::PULL_REQUESTS,
    &schema::REVIEWS,
    &schema::SERVICES,
    &schema::WORK_ACTIVITY,
    &schema::TEAM_MEMBERS,
    &schema::DEPLOYMENTS,
    &schema::COMMITS,
    &schema::PUSHES,
];

/// Every table the derive stage reads.
pub const INPUTS: [&TableSpec; 10] = [
    &schema::DEPLOYMENTS,
    &schema::COMMITS,
    &schema::PUSHES,
    &schema::PULL_REQUESTS,
    &schema::REVIEWS,
    &schema::INCIDENTS,
    &schema::SERVICES,
    &schema::CI_RUNS,
    &schema::WORK_ACTIVITY,
    &schema::TEAM_MEMBERS,
];

/// Whether new rows in `table` make the derived tables stale.
pub fn reads(table: &str) -> bool {
    INPUTS.iter().any(|t| t.name == table)
}

/// Brings every derived table up to date with the lake: the commit-graph
/// walk, the DORA tables, then the DevEx tables (for the default time zone).
pub async fn run(queries: &LakeQueries, dora: &DoraSettings, devex: &DevexSettings) -> Result<()> {
    crate::dora::derive(queries, dora).await?;
    crate::devex::derive(queries, devex, dora).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inputs_are_the_union_of_each_measures_inputs() {
        let mut union: Vec<&str> = DORA_INPUTS
            .iter()
            .chain(DEVEX_INPUTS.iter())
            .map(|t| t.name)
            .collect();
        union.sort();
        union.dedup();
        let mut inputs: Vec<&str> = INPUTS.iter().map(|t| t.name).collect();
        inputs.sort();
        assert_eq!(union, inputs);
        assert!(reads("deployments") && !reads("survey_responses"));
    }
}
