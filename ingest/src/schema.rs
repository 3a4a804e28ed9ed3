//! The canonical tables: every event devex knows, as Arrow schemas, in one place.
//!
//! Collectors, importers and the demo generator all produce rows of these tables;
//! the lake stores them; the analytics crate reads them. Timestamps are UTC with
//! microsecond precision. Columns marked as person columns only ever hold
//! pseudonymous ids (see [`crate::identity`]).

use std::sync::Arc;

use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};

use crate::error::{Error, Result};

/// Precision and scale of money columns (FOCUS costs are decimals, never floats).
pub const MONEY_PRECISION: u8 = 38;
pub const MONEY_SCALE: i8 = 10;

/// The logical type of a canonical column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Text,
    Integer,
    Float,
    /// UTC timestamp, microseconds.
    Timestamp,
    /// A list of strings (e.g. commit parents).
    TextList,
    /// Money: a decimal with [`MONEY_PRECISION`] and [`MONEY_SCALE`].
    Money,
    /// A calendar day without time or zone (Arrow `Date32`), for sources
    /// that report per day (`YYYY-MM-DD`).
    Date,
}

impl ColumnKind {
    pub fn data_type(self) -> DataType {
        match self {
            ColumnKind::Text => DataType::Utf8,
            ColumnKind::Integer => DataType::Int64,
            ColumnKind::Float => DataType::Float64,
            ColumnKind::Timestamp => timestamp_type(),
            ColumnKind::TextList => {
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
            }
            ColumnKind::Money => DataType::Decimal128(MONEY_PRECISION, MONEY_SCALE),
            ColumnKind::Date => DataType::Date32,
        }
    }
}

/// The Arrow type of every canonical timestamp.
pub fn timestamp_type() -> DataType {
    DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()))
}

/// One documented column of a canonical table.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    pub name: &'static str,
    pub kind: ColumnKind,
    pub nullable: bool,
    /// Holds a developer identity: stored only as a pseudonymous id.
    pub person: bool,
    pub doc: &'static str,
}

/// A canonical table: its columns, how the lake partitions it and how rows are
/// sorted inside a file (so row-group statistics prune single-service queries).
#[derive(Debug)]
pub struct TableSpec {
    pub name: &'static str,
    pub doc: &'static str,
    pub columns: &'static [Column],
    /// The timestamp column whose UTC month names the Hive partition
    /// (`month=YYYY-MM`); `None` for catalog tables, which are small.
    pub partition_by: Option<&'static str>,
    /// Sort key of the rows inside each file.
    pub sort_by: &'static [&'static str],
}

/// Name of the Hive partition column the lake adds to event tables.
pub const PARTITION_COLUMN: &str = "month";

impl TableSpec {
    /// The Arrow schema of the stored columns (without the partition column).
    pub fn schema(&self) -> SchemaRef {
        let fields: Vec<Field> = self
            .columns
            .iter()
            .map(|c| {
                Field::new(c.name, c.kind.data_type(), c.nullable).with_metadata(
                    [("description".to_string(), c.doc.to_string())]
                        .into_iter()
                        .collect(),
                )
            })
            .collect();
        Arc::new(Schema::new(fields))
    }

    pub fn column(&self, name: &str) -> Option<(usize, &'static Column)> {
        self.columns
            .iter()
            .enumerate()
            .find(|(_, c)| c.name == name)
    }

    pub fn column_names(&self) -> Vec<&'static str> {
        self.columns.iter().map(|c| c.name).collect()
    }
}

macro_rules! col {
    ($name:literal, $kind:ident, required, $doc:literal) => {
        Column {
            name: $name,
            kind: ColumnKind::$kind,
            nullable: false,
            person: false,
            doc: $doc,
        }
    };
    ($name:literal, $kind:ident, optional, $doc:literal) => {
        Column {
            name: $name,
            kind: ColumnKind::$kind,
            nullable: true,
            person: false,
            doc: $doc,
        }
    };
    ($name:literal, $kind:ident, person, $doc:literal) => {
        Column {
            name: $name,
            kind: ColumnKind::$kind,
            nullable: false,
            person: true,
            doc: $doc,
        }
    };
    ($name:literal, $kind:ident, optional_person, $doc:literal) => {
        Column {
            name: $name,
            kind: ColumnKind::$kind,
            nullable: true,
            person: true,
            doc: $doc,
        }
    };
}

const EVENT_ID: Column = col!(
    "event_id",
    Text,
    required,
    "Stable id from the source and natural key (e.g. `github:deployment_status:42`); a second write of the same id is a no-op."
);

pub static COMMITS: TableSpec = TableSpec {
    name: "commits",
    doc: "Git commits with their parents, from collectors and pushes.",
    columns: &[
        EVENT_ID,
        col!("repo", Text, required, "Repository as `owner/name`."),
        col!("sha", Text, required, "Commit sha (hex)."),
        col!(
            "parents",
            TextList,
            optional,
            "Parent shas in git order; empty for a root commit, null when unknown."
        ),
        col!(
            "author",
            Text,
            person,
            "Pseudonymous id of the commit author."
        ),
        col!(
            "authored_at",
            Timestamp,
            required,
            "When the change was written (git author date)."
        ),
        col!(
            "committed_at",
            Timestamp,
            optional,
            "When the commit was created (git committer date)."
        ),
        col!(
            "message_summary",
            Text,
            optional,
            "First line of the commit message."
        ),
        col!(
            "files",
            TextList,
            optional,
            "Paths the commit added, modified or removed, when the source says (pushes do); null when unknown."
        ),
        col!(
            "ai_tool",
            Text,
            optional,
            "The AI assistant (`copilot`, `claude-code`, ...) a `Co-authored-by:` trailer of its message or its agent author names, by the `[ai]` rules; null when none. The trailer's text is not kept."
        ),
    ],
    partition_by: Some("authored_at"),
    sort_by: &["repo", "authored_at"],
};

pub static PUSHES: TableSpec = TableSpec {
    name: "pushes",
    doc: "Pushes to a ref: the before/after chain links commits when parents are unknown.",
    columns: &[
        EVENT_ID,
        col!("repo", Text, required, "Repository as `owner/name`."),
        col!(
            "ref",
            Text,
            required,
            "Full ref name, e.g. `refs/heads/main`."
        ),
        col!(
            "before_sha",
            Text,
            optional,
            "Sha the ref pointed to before the push (all zeros for a new ref)."
        ),
        col!(
            "after_sha",
            Text,
            optional,
            "Sha the ref points to after the push (all zeros for a deletion)."
        ),
        col!(
            "commit_shas",
            TextList,
            optional,
            "Shas of the commits the push introduced, oldest first."
        ),
        col!("pushed_at", Timestamp, required, "When the push happened."),
        col!(
            "actor",
            Text,
            optional_person,
            "Pseudonymous id of the pusher."
        ),
    ],
    partition_by: Some("pushed_at"),
    sort_by: &["repo", "pushed_at"],
};

pub static PULL_REQUESTS: TableSpec = TableSpec {
    name: "pull_requests",
    doc: "Pull (merge) requests with their lifecycle timestamps; one row per observed state.",
    columns: &[
        EVENT_ID,
        col!("repo", Text, required, "Repository as `owner/name`."),
        col!("number", Integer, required, "Pull request number within the repository."),
        col!("author", Text, person, "Pseudonymous id of the author."),
        col!("created_at", Timestamp, required, "When the pull request was opened."),
        col!("first_commit_at", Timestamp, optional, "Author time of its earliest commit: where squash and rebase merges keep their real start."),
        col!("first_review_at", Timestamp, optional, "First review by someone other than the author."),
        col!("approved_at", Timestamp, optional, "First approving review."),
        col!("merged_at", Timestamp, optional, "When it was merged; null when closed without merge."),
        col!("closed_at", Timestamp, optional, "When it was closed (merged or not)."),
        col!("merge_sha", Text, optional, "Sha of the merge, squash or rebase commit on the base branch."),
        col!("base_ref", Text, optional, "Target branch, e.g. `main`."),
        col!("additions", Integer, optional, "Lines added."),
        col!("deletions", Integer, optional, "Lines deleted."),
        col!("commits_count", Integer, optional, "Number of commits on the branch."),
        col!("labels", TextList, optional, "Label names."),
        col!("files", TextList, optional, "Paths the pull request changes (GitHub's pull request files, GitLab's merge request changes); null when unknown, as in webhooks, where its merge commit's files stand in."),
        col!("ai_tool", Text, optional, "The AI assistant its agent author, an `[ai] pr_labels` label or one of its commits' `Co-authored-by:` trailers names (in that order), when the source saw them; null when none. Reports also count a pull request whose merge commit names one."),
    ],
    partition_by: Some("created_at"),
    sort_by: &["repo", "created_at"],
};

pub static REVIEWS: TableSpec = TableSpec {
    name: "reviews",
    doc: "Pull request reviews.",
    columns: &[
        EVENT_ID,
        col!("repo", Text, required, "Repository as `owner/name`."),
        col!("pr_number", Integer, required, "The reviewed pull request."),
        col!("reviewer", Text, person, "Pseudonymous id of the reviewer."),
        col!(
            "state",
            Text,
            required,
            "Lower case: `approved`, `changes_requested`, `commented` or `dismissed`."
        ),
        col!(
            "submitted_at",
            Timestamp,
            required,
            "When the review was submitted."
        ),
    ],
    partition_by: Some("submitted_at"),
    sort_by: &["repo", "submitted_at"],
};

pub static CI_RUNS: TableSpec = TableSpec {
    name: "ci_runs",
    doc: "CI pipeline runs, one row per attempt.",
    columns: &[
        EVENT_ID,
        col!("repo", Text, required, "Repository as `owner/name`."),
        col!("pipeline", Text, required, "Workflow or pipeline name."),
        col!(
            "run_id",
            Text,
            required,
            "Run id at the CI system; attempts of one run share it."
        ),
        col!(
            "attempt",
            Integer,
            required,
            "Attempt number, starting at 1."
        ),
        col!("sha", Text, required, "Commit the run tested."),
        col!("ref", Text, optional, "Branch or tag the run was for."),
        col!(
            "trigger",
            Text,
            optional,
            "What started it: `push`, `pull_request`, `schedule`, ..."
        ),
        col!("queued_at", Timestamp, required, "When the run was queued."),
        col!(
            "started_at",
            Timestamp,
            optional,
            "When a runner picked it up."
        ),
        col!(
            "finished_at",
            Timestamp,
            optional,
            "When it finished; null while running."
        ),
        col!(
            "conclusion",
            Text,
            optional,
            "`success`, `failure`, `cancelled`, `timed_out`, `skipped`, `neutral`, `action_required`, `stale` or `startup_failure` (a closed set); null while running."
        ),
        col!("runner_os", Text, optional, "Runner operating system."),
        col!(
            "billable_minutes",
            Float,
            optional,
            "Billable runner minutes."
        ),
    ],
    partition_by: Some("queued_at"),
    sort_by: &["repo", "queued_at"],
};

pub static CI_JOBS: TableSpec = TableSpec {
    name: "ci_jobs",
    doc: "Jobs of CI runs (one row per job and status): where a run's time went, and on which runner.",
    columns: &[
        EVENT_ID,
        col!("repo", Text, required, "Repository as `owner/name`."),
        col!("run_id", Text, required, "The run the job belongs to (`ci_runs.run_id`)."),
        col!("attempt", Integer, required, "Attempt of the run, starting at 1."),
        col!("job_id", Text, required, "Job id at the CI system."),
        col!("name", Text, required, "Job name."),
        col!("status", Text, required, "`queued`, `in_progress`, `completed`, `waiting`, `requested` or `pending` (a closed set)."),
        col!("queued_at", Timestamp, optional, "When the job was queued."),
        col!("started_at", Timestamp, required, "When a runner picked it up (GitHub sets it on queued jobs too)."),
        col!("finished_at", Timestamp, optional, "When it finished; null until then."),
        col!("conclusion", Text, optional, "As `ci_runs.conclusion` (a closed set); null until finished."),
        col!("runner_name", Text, optional, "The runner that ran it."),
        col!("runner_labels", TextList, optional, "Labels the job asked its runner for (e.g. `ubuntu-latest`)."),
    ],
    partition_by: Some("started_at"),
    sort_by: &["repo", "started_at"],
};

pub static RELEASES: TableSpec = TableSpec {
    name: "releases",
    doc: "Releases (tags published as releases) of a repository.",
    columns: &[
        EVENT_ID,
        col!("repo", Text, required, "Repository as `owner/name`."),
        col!("release_id", Text, required, "Release id at the source."),
        col!("tag", Text, required, "The release's tag."),
        col!(
            "target",
            Text,
            optional,
            "Branch or sha the tag was made from."
        ),
        col!(
            "kind",
            Text,
            required,
            "`release`, `prerelease` or `draft`."
        ),
        col!(
            "created_at",
            Timestamp,
            required,
            "When the release was created."
        ),
        col!(
            "published_at",
            Timestamp,
            optional,
            "When it was published; null for a draft."
        ),
    ],
    partition_by: Some("created_at"),
    sort_by: &["repo", "created_at"],
};

pub static DEPLOYMENTS: TableSpec = TableSpec {
    name: "deployments",
    doc: "Deployment attempts of a service to an environment, successful or not.",
    columns: &[
        EVENT_ID,
        col!("service", Text, required, "Service name as in the catalog."),
        col!(
            "environment",
            Text,
            required,
            "Target environment, e.g. `production`, `staging`."
        ),
        col!("sha", Text, required, "Commit deployed."),
        col!(
            "deployment_id",
            Text,
            required,
            "Id of the deployment at its source; incidents link to it."
        ),
        col!(
            "status",
            Text,
            required,
            "`success`, `failure`, `error` or `cancelled` (a closed set: `succeeded` is read as `success`, `failed` as `failure`)."
        ),
        col!(
            "started_at",
            Timestamp,
            required,
            "When the deployment started."
        ),
        col!("finished_at", Timestamp, optional, "When it finished."),
        col!(
            "source",
            Text,
            required,
            "Where it came from: `github`, `gitlab`, `argocd`, `cdevents`, `import`, `demo`."
        ),
    ],
    partition_by: Some("started_at"),
    sort_by: &["service", "started_at"],
};

pub static INCIDENTS: TableSpec = TableSpec {
    name: "incidents",
    doc: "Production incidents, optionally linked to the deployment that caused them.",
    columns: &[
        EVENT_ID,
        col!("service", Text, required, "Affected service."),
        col!("incident_id", Text, required, "Id at the incident tool."),
        col!(
            "severity",
            Text,
            optional,
            "`sev1` (worst) to `sev5` (a closed set: `SEV-1` and `S1` are read as `sev1`)."
        ),
        col!(
            "opened_at",
            Timestamp,
            required,
            "When the incident was opened."
        ),
        col!(
            "acknowledged_at",
            Timestamp,
            optional,
            "When someone acknowledged it."
        ),
        col!(
            "resolved_at",
            Timestamp,
            optional,
            "When it was resolved; null while open."
        ),
        col!(
            "deployment_id",
            Text,
            optional,
            "The deployment that caused it, when known."
        ),
        col!(
            "sha",
            Text,
            optional,
            "The commit that caused it, when known."
        ),
    ],
    partition_by: Some("opened_at"),
    sort_by: &["service", "opened_at"],
};

pub static WORK_ACTIVITY: TableSpec = TableSpec {
    name: "work_activity",
    doc: "Individual work events (commit, review, comment, issue, pr): the input of context-switch and flow measures.",
    columns: &[
        EVENT_ID,
        col!("developer", Text, person, "Pseudonymous id of the developer."),
        col!("at", Timestamp, required, "When it happened."),
        col!("kind", Text, required, "`commit`, `review`, `comment`, `issue` or `pr`."),
        col!("item", Text, required, "The work item, as `owner/name#number`."),
        col!("repo", Text, required, "Repository as `owner/name`."),
    ],
    partition_by: Some("at"),
    sort_by: &["repo", "at"],
};

pub static PLATFORM_USAGE: TableSpec = TableSpec {
    name: "platform_usage",
    doc: "Use of the internal developer platform.",
    columns: &[
        EVENT_ID,
        col!("user", Text, person, "Pseudonymous id of the user."),
        col!(
            "team",
            Text,
            optional,
            "Team of the user, when the source knows it."
        ),
        col!(
            "tool",
            Text,
            required,
            "`portal`, `cli`, `template` or `api`."
        ),
        col!(
            "feature",
            Text,
            required,
            "Feature used, e.g. `scaffold-service`."
        ),
        col!("at", Timestamp, required, "When it was used."),
        col!(
            "outcome",
            Text,
            optional,
            "`success`, `failure` or `abandoned` (a closed set)."
        ),
    ],
    partition_by: Some("at"),
    sort_by: &["tool", "at"],
};

pub static SURVEY_RESPONSES: TableSpec = TableSpec {
    name: "survey_responses",
    doc: "Survey answers, one row per question answered.",
    columns: &[
        EVENT_ID,
        col!(
            "survey_id",
            Text,
            required,
            "Survey wave, e.g. `devex-2026-q3`."
        ),
        col!(
            "response_id",
            Text,
            required,
            "Id of the whole response at the survey tool."
        ),
        col!(
            "respondent",
            Text,
            required,
            "Salted hash of the respondent; never the e-mail itself."
        ),
        col!("team", Text, optional, "Team of the respondent."),
        col!(
            "submitted_at",
            Timestamp,
            required,
            "When the response was submitted."
        ),
        col!(
            "question_id",
            Text,
            required,
            "Question id from the survey definition."
        ),
        col!(
            "value_numeric",
            Float,
            optional,
            "Numeric answer (Likert, NPS)."
        ),
        col!(
            "value_text",
            Text,
            optional,
            "Text answer (choice or free text)."
        ),
    ],
    partition_by: Some("submitted_at"),
    sort_by: &["survey_id", "question_id"],
};

pub static COSTS: TableSpec = TableSpec {
    name: "costs",
    doc: "Cost lines in FOCUS terms (cloud bills, Kubernetes allocations); the attribution to teams and services is derived, never stored.",
    columns: &[
        EVENT_ID,
        col!("charge_period_start", Timestamp, required, "FOCUS ChargePeriodStart (inclusive)."),
        col!("charge_period_end", Timestamp, required, "FOCUS ChargePeriodEnd (exclusive)."),
        col!("billed_cost", Money, required, "FOCUS BilledCost, in billing_currency."),
        col!("effective_cost", Money, optional, "FOCUS EffectiveCost (after discounts and amortized commitments); null when the source does not say."),
        col!("list_cost", Money, optional, "FOCUS ListCost (at public prices)."),
        col!("billing_currency", Text, required, "FOCUS BillingCurrency, ISO 4217 (after conversion, when a rate converted the row)."),
        col!("charge_category", Text, optional, "FOCUS ChargeCategory: `Usage`, `Purchase`, `Tax`, `Credit` or `Adjustment`."),
        col!("provider_name", Text, optional, "FOCUS ProviderName (`AWS`, `OpenCost`, ...)."),
        col!("service_name", Text, optional, "FOCUS ServiceName: the provider's service, e.g. `Amazon Simple Queue Service`."),
        col!("resource_id", Text, optional, "FOCUS ResourceId."),
        col!("resource_name", Text, optional, "FOCUS ResourceName."),
        col!("sub_account_name", Text, optional, "FOCUS SubAccountName (account, subscription or project)."),
        col!("tags", Text, optional, "FOCUS Tags: a JSON object of strings, keys sorted."),
        col!("source_currency", Text, optional, "The currency the source billed in, when a rate converted the row."),
        col!("exchange_rate", Money, optional, "The rate that converted the row from source_currency."),
    ],
    partition_by: Some("charge_period_start"),
    sort_by: &["billing_currency", "charge_period_start"],
};

mod ai_usage;
pub mod format_doc;
pub use ai_usage::AI_USAGE;

pub static TEAMS: TableSpec = TableSpec {
    name: "teams",
    doc: "Catalog: teams and their hierarchy.",
    columns: &[
        EVENT_ID,
        col!("team", Text, required, "Team name."),
        col!(
            "parent",
            Text,
            optional,
            "Parent team or group; null at the top."
        ),
        col!(
            "members_count",
            Integer,
            optional,
            "Headcount, for response rates."
        ),
        col!(
            "valid_from",
            Timestamp,
            optional,
            "Since when this version of the team holds (a catalog re-import records changes as of its day); null: always."
        ),
    ],
    partition_by: None,
    sort_by: &["team"],
};

pub static SERVICES: TableSpec = TableSpec {
    name: "services",
    doc: "Catalog: services, their owner team and repositories, as versions over time: the version of a moment is the latest whose valid_from is not after it.",
    columns: &[
        EVENT_ID,
        col!("service", Text, required, "Service name."),
        col!("owner_team", Text, required, "Team that owns it."),
        col!("system", Text, optional, "System it belongs to."),
        col!(
            "repos",
            TextList,
            optional,
            "Repositories (`owner/name`) whose commits it deploys."
        ),
        col!(
            "lifecycle",
            Text,
            optional,
            "Backstage lifecycle (`production`, `experimental`, ...)."
        ),
        col!(
            "annotations",
            Text,
            optional,
            "The catalog entity's annotations as a JSON object (e.g. `pagerduty.com/service-id`, `argocd/app-name`)."
        ),
        col!(
            "paths",
            TextList,
            optional,
            "Globs of the files it owns in its repositories (`devex.io/paths`, e.g. `services/payments/**`); null or empty: the whole repository."
        ),
        col!(
            "valid_from",
            Timestamp,
            optional,
            "Since when this version holds (a catalog re-import records changes as of its day); null: always."
        ),
    ],
    partition_by: None,
    sort_by: &["service"],
};

pub static TEAM_MEMBERS: TableSpec = TableSpec {
    name: "team_members",
    doc: "Catalog: which developer belonged to which team, when. A developer may be in several teams.",
    columns: &[
        EVENT_ID,
        col!("developer", Text, person, "Pseudonymous id of the developer."),
        col!("team", Text, required, "Team name."),
        col!("valid_from", Timestamp, required, "Start of the membership (inclusive)."),
        col!("valid_to", Timestamp, optional, "End of the membership (exclusive); null while current."),
    ],
    partition_by: None,
    sort_by: &["team", "developer"],
};

/// devex's own record of who did what: not a canonical table (nothing imports
/// into it, raw SQL does not see it), read by admins only. Every entry has a
/// random id, so none is ever deduplicated away.
pub static AUDIT: TableSpec = TableSpec {
    name: "audit",
    doc: "Audit log: who (token name, OIDC subject or local user; never a secret) did what, when, from where, and the outcome.",
    columns: &[
        EVENT_ID,
        col!("at", Timestamp, required, "When it happened."),
        col!("actor", Text, required, "Who: a token's name, `oidc:<subject>`, `local:<user>` or `anonymous`."),
        col!("action", Text, required, "What: `http.refused`, `token.create`, `token.revoke`, `import`, `ingest`, `query`, `survey.view`, ..."),
        col!("target", Text, optional, "What it was done to: a path, table, token or survey."),
        col!("origin", Text, optional, "From where: the peer address, or `cli`."),
        col!("outcome", Text, required, "`ok`, or what went wrong (e.g. `401 unauthorized`)."),
    ],
    partition_by: Some("at"),
    sort_by: &["at"],
};

/// Every canonical table, in documentation order.
pub static TABLES: &[&TableSpec] = &[
    &COMMITS,
    &PUSHES,
    &PULL_REQUESTS,
    &REVIEWS,
    &CI_RUNS,
    &CI_JOBS,
    &DEPLOYMENTS,
    &RELEASES,
    &INCIDENTS,
    &WORK_ACTIVITY,
    &PLATFORM_USAGE,
    &SURVEY_RESPONSES,
    &COSTS,
    &AI_USAGE,
    &TEAMS,
    &SERVICES,
    &TEAM_MEMBERS,
];

/// Looks a canonical table up by name.
pub fn table(name: &str) -> Result<&'static TableSpec> {
    TABLES
        .iter()
        .copied()
        .find(|t| t.name == name)
        .ok_or_else(|| Error::UnknownTable {
            name: name.to_string(),
            known: TABLES.iter().map(|t| t.name).collect::<Vec<_>>().join(", "),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn table_names_are_unique() {
        let names: HashSet<_> = TABLES.iter().map(|t| t.name).collect();
        assert_eq!(names.len(), TABLES.len());
    }

    #[test]
    fn every_table_is_well_formed() {
        for t in TABLES {
            assert_eq!(t.columns[0].name, "event_id", "{}", t.name);
            let names: HashSet<_> = t.columns.iter().map(|c| c.name).collect();
            assert_eq!(
                names.len(),
                t.columns.len(),
                "duplicate column in {}",
                t.name
            );
            assert!(!names.contains(PARTITION_COLUMN), "{}", t.name);
            if let Some(p) = t.partition_by {
                let (_, c) = t.column(p).expect("partition column exists");
                assert!(
                    matches!(c.kind, ColumnKind::Timestamp | ColumnKind::Date),
                    "{}",
                    t.name
                );
                assert!(
                    !c.nullable,
                    "partition column of {} must be required",
                    t.name
                );
            }
            for s in t.sort_by {
                assert!(t.column(s).is_some(), "sort column {s} of {}", t.name);
            }
            for c in t.columns {
                assert!(!c.doc.is_empty(), "{}.{} has no doc", t.name, c.name);
            }
        }
    }

    #[test]
    fn unknown_table_lists_the_known_ones() {
        let err = table("deploys").unwrap_err().to_string();
        assert!(err.contains("unknown table 'deploys'"), "{err}");
        assert!(err.contains("deployments"), "{err}");
    }
}
