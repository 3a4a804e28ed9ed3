//! The DORA per-deployment tables as steps of the incremental derive (see
//! `crate::derive::incremental`). A service is the key of each: its
//! deployments are ordered, classed and rolled back against each other, and
//! its incidents attributed to them, so a new event recomputes its
//! service's rows.
//!
//! A service is touched by a new deployment or incident of its own, by a
//! change of the commit-graph walk's result for it, and by a new commit or
//! merged pull request among its changes (their times start lead times).

use super::*;
use crate::derive::incremental::{rows_of, Step};

const SERVICE: &[&str] = &["service"];

/// A team's or a service's drill-down reads only its own row groups.
const TEAM_ORDER: &[&str] = &["team", "service", "deployed_at"];

/// The services whose walk result (deployment, change) differs from the
/// base's: their lead times are recomputed.
pub(super) const CHANGED_WALK: &str = "\
    SELECT DISTINCT service FROM ( \
        (SELECT service, deployment_id, sha FROM deployment_changes \
         EXCEPT SELECT service, deployment_id, sha FROM old_deployment_changes) \
        UNION ALL \
        (SELECT service, deployment_id, sha FROM old_deployment_changes \
         EXCEPT SELECT service, deployment_id, sha FROM deployment_changes))";

/// Rows of `input` whose `column` is a change of a service
/// `change_lead_times` recomputes.
fn of_touched_changes(input: &str, column: &str) -> String {
    format!(
        "SELECT i.* FROM {input} i LEFT SEMI JOIN ( \
           SELECT c.sha FROM deployment_changes c \
           LEFT SEMI JOIN touched_change_lead_times t ON c.service IS NOT DISTINCT FROM t.service \
         ) s ON i.{column} = s.sha"
    )
}

/// The steps, filled with the settings' `values`.
pub(super) fn steps(values: &[(&str, String)]) -> Result<Vec<Step>> {
    fn by_service(input: &'static str, step: &str) -> (&'static str, String) {
        (
            input,
            rows_of(input, &format!("touched_{step}"), SERVICE, SERVICE),
        )
    }
    Ok(vec![
        Step {
            name: "production_deployments",
            sql: fill(PRODUCTION_DEPLOYMENTS, values)?,
            key: SERVICE,
            month_of: Some("deployed_at"),
            sort_by: TEAM_ORDER,
            touched: Some("SELECT DISTINCT service FROM delta_deployments".into()),
            restricted: vec![by_service("deployments", "production_deployments")],
        },
        Step {
            name: "incident_attribution",
            sql: fill(INCIDENT_ATTRIBUTION, values)?,
            key: SERVICE,
            month_of: Some("opened_at"),
            sort_by: TEAM_ORDER,
            touched: Some(
                "SELECT DISTINCT service FROM delta_incidents \
                 UNION SELECT service FROM touched_production_deployments"
                    .into(),
            ),
            restricted: vec![
                by_service("incidents", "incident_attribution"),
                by_service("production_deployments", "incident_attribution"),
            ],
        },
        Step {
            name: "change_lead_times",
            sql: fill(CHANGE_LEAD_TIMES, values)?,
            key: SERVICE,
            month_of: Some("deployed_at"),
            sort_by: TEAM_ORDER,
            touched: Some(
                "SELECT service FROM touched_production_deployments \
                 UNION SELECT service FROM changed_deployment_changes \
                 UNION SELECT DISTINCT c.service FROM deployment_changes c \
                   JOIN delta_commits d ON c.sha = d.sha \
                 UNION SELECT DISTINCT c.service FROM deployment_changes c \
                   JOIN delta_pull_requests p ON c.sha = p.merge_sha"
                    .into(),
            ),
            restricted: vec![
                by_service("deployment_changes", "change_lead_times"),
                by_service("production_deployments", "change_lead_times"),
                // Only the commits and pull requests of the touched
                // services' changes: grouping every commit by sha for a few
                // services was most of this step's time.
                ("commits", of_touched_changes("commits", "sha")),
                (
                    "pull_requests",
                    of_touched_changes("pull_requests", "merge_sha"),
                ),
            ],
        },
        Step {
            name: "deployment_outcomes",
            sql: fill(DEPLOYMENT_OUTCOMES, values)?,
            key: SERVICE,
            month_of: Some("deployed_at"),
            sort_by: TEAM_ORDER,
            touched: Some(
                "SELECT service FROM touched_production_deployments \
                 UNION SELECT service FROM touched_incident_attribution \
                 UNION SELECT service FROM touched_change_lead_times"
                    .into(),
            ),
            restricted: vec![
                by_service("production_deployments", "deployment_outcomes"),
                by_service("incident_attribution", "deployment_outcomes"),
                by_service("change_lead_times", "deployment_outcomes"),
            ],
        },
    ])
}
