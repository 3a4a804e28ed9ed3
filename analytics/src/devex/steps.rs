//! The DevEx per-row tables as steps of the incremental derive (see
//! `crate::derive::incremental`): each table's key, the month its rows are
//! kept by, which keys new events touch, and which inputs a recomputation
//! reads only for those keys.
//!
//! A key is touched by a new row of an input it groups, and by a change in
//! a table it looks up by that key: a commit's services (`commit_scopes`)
//! touch the pull requests merged as that commit and the CI attempts that
//! ran on it; a first production deployment that moved touches the pull
//! requests it deployed; CI attempts touch their (repository, pipeline,
//! commit) flakiness groups, before and after.

use chrono_tz::Tz;

use super::*;
use crate::derive::incremental::{rows_of, Step};

const PULL_REQUEST: &[&str] = &["repo", "number"];
const CI_ATTEMPT: &[&str] = &["repo", "pipeline", "run_id", "attempt"];
const CI_GROUP: &[&str] = &["repo", "pipeline", "sha"];

/// The steps, in the order they read each other.
pub(super) fn steps(tz: Tz, hours: &str) -> Result<Vec<Step>> {
    let local_day = |column: &str| {
        format!(
            "date_trunc('day', to_local_time({column} AT TIME ZONE {}))",
            sql_text(tz.name())
        )
    };
    Ok(vec![
        Step {
            name: "repository_teams",
            sql: REPOSITORY_TEAMS.to_string(),
            key: &["repo"],
            month_of: None,
            sort_by: &[],
            touched: None,
            restricted: vec![],
        },
        Step {
            name: "commit_scopes",
            sql: COMMIT_SCOPES.to_string(),
            key: &["repo", "sha"],
            month_of: None,
            sort_by: &[],
            touched: Some("SELECT DISTINCT repo, sha FROM delta_commits".into()),
            restricted: vec![(
                "commits",
                rows_of(
                    "commits",
                    "touched_commit_scopes",
                    &["repo", "sha"],
                    &["repo", "sha"],
                ),
            )],
        },
        Step {
            name: "pull_request_scopes",
            sql: PULL_REQUEST_SCOPES.to_string(),
            key: PULL_REQUEST,
            month_of: None,
            sort_by: &[],
            touched: Some(format!(
                "SELECT DISTINCT repo, number FROM delta_pull_requests \
                 UNION SELECT DISTINCT p.repo, p.number FROM pull_requests p \
                 JOIN touched_commit_scopes c ON {}",
                "(p.repo IS NOT DISTINCT FROM c.repo) AND (p.merge_sha IS NOT DISTINCT FROM c.sha)"
            )),
            restricted: vec![(
                "pull_requests",
                rows_of(
                    "pull_requests",
                    "touched_pull_request_scopes",
                    PULL_REQUEST,
                    PULL_REQUEST,
                ),
            )],
        },
        Step {
            name: "ci_attempts",
            sql: CI_ATTEMPTS.to_string(),
            key: CI_ATTEMPT,
            month_of: Some("queued_at"),
            sort_by: &[],
            touched: Some(
                "SELECT DISTINCT repo, pipeline, run_id, attempt FROM delta_ci_runs \
                 UNION SELECT DISTINCT r.repo, r.pipeline, r.run_id, r.attempt FROM ci_runs r \
                 JOIN touched_commit_scopes c \
                 ON (r.repo IS NOT DISTINCT FROM c.repo) AND (r.sha IS NOT DISTINCT FROM c.sha)"
                    .into(),
            ),
            restricted: vec![(
                "ci_runs",
                rows_of("ci_runs", "touched_ci_attempts", CI_ATTEMPT, CI_ATTEMPT),
            )],
        },
        Step {
            name: "ci_flaky",
            sql: CI_FLAKY.to_string(),
            key: CI_GROUP,
            month_of: Some("queued_at"),
            sort_by: &[],
            touched: Some(
                "SELECT DISTINCT repo, pipeline, sha FROM replaced_ci_attempts \
                 UNION SELECT DISTINCT repo, pipeline, sha FROM recomputed_ci_attempts"
                    .into(),
            ),
            restricted: vec![(
                "ci_attempts",
                rows_of("ci_attempts", "touched_ci_flaky", CI_GROUP, CI_GROUP),
            )],
        },
        Step {
            name: "pull_request_phases",
            sql: fill(PULL_REQUEST_PHASES, &[("hours", hours.to_string())])?,
            key: PULL_REQUEST,
            month_of: Some("created_at"),
            sort_by: &[],
            touched: Some(
                "SELECT DISTINCT repo, number FROM delta_pull_requests \
                 UNION SELECT DISTINCT repo, pr_number AS number FROM delta_reviews \
                 UNION SELECT repo, number FROM touched_pull_request_scopes \
                 UNION SELECT DISTINCT p.repo, p.number FROM pull_requests p \
                 JOIN changed_change_lead_times c ON p.merge_sha = c.sha"
                    .into(),
            ),
            restricted: vec![
                (
                    "pull_requests",
                    rows_of(
                        "pull_requests",
                        "touched_pull_request_phases",
                        PULL_REQUEST,
                        PULL_REQUEST,
                    ),
                ),
                (
                    "reviews",
                    rows_of(
                        "reviews",
                        "touched_pull_request_phases",
                        &["repo", "pr_number"],
                        PULL_REQUEST,
                    ),
                ),
            ],
        },
        Step {
            name: "pull_request_handoffs",
            sql: PULL_REQUEST_HANDOFFS.to_string(),
            key: &["item"],
            month_of: None,
            sort_by: &[],
            touched: Some("SELECT DISTINCT item FROM delta_work_activity".into()),
            restricted: vec![(
                "work_activity",
                rows_of(
                    "work_activity",
                    "touched_pull_request_handoffs",
                    &["item"],
                    &["item"],
                ),
            )],
        },
        Step {
            name: "pull_request_lifetimes",
            sql: PULL_REQUEST_LIFETIMES.to_string(),
            key: PULL_REQUEST,
            month_of: Some("created_at"),
            sort_by: &[],
            touched: Some("SELECT DISTINCT repo, number FROM delta_pull_requests".into()),
            restricted: vec![(
                "pull_requests",
                rows_of(
                    "pull_requests",
                    "touched_pull_request_lifetimes",
                    PULL_REQUEST,
                    PULL_REQUEST,
                ),
            )],
        },
        Step {
            name: "developer_days",
            sql: fill(DEVELOPER_DAYS, &[("tz", tz.name().to_string())])?,
            // Every team's row of a developer's day is recomputed together.
            key: &["developer", "day"],
            month_of: Some("day"),
            sort_by: &[],
            touched: Some(format!(
                "SELECT DISTINCT developer, {} AS day FROM delta_work_activity",
                local_day("at")
            )),
            restricted: vec![(
                "work_activity",
                format!(
                    "SELECT i.* FROM work_activity i LEFT SEMI JOIN touched_developer_days t \
                     ON (i.developer IS NOT DISTINCT FROM t.developer) AND {} = t.day",
                    local_day("i.at")
                ),
            )],
        },
    ])
}
