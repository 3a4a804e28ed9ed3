//! AI coding assistants, per team: who uses them and how (utilization,
//! acceptance, usage cohorts), which merged pull requests they assisted,
//! how those compare with the others (impact, with sample sizes,
//! Mann-Whitney p-values and bootstrap intervals, stratified by size), the
//! effect of each team's rollout (a difference-in-differences) and what the
//! assistants cost.
//!
//! The definitions live in the `.sql` files next to this one. Every measure
//! is a team's or the organisation's: groups smaller than the minimum group
//! size are hidden, and so is any group that would reveal a smaller one by
//! difference (`crate::privacy`). Nothing here is reported per person. The
//! comparisons are observational: the report names the confounders.

mod cohorts;
mod cost;
mod impact;
mod pull_requests;
mod request;
mod rollout;
mod usage;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use serde::Serialize;

pub use cohorts::{CohortMonth, COHORT_NAMES};
pub use cost::{AiCost, AiScopeCost};
pub use impact::{ImpactGroup, ImpactMetric, ImpactSide, ImpactStratum};
pub use request::{AiGroupBy, AiRequest, AiSettings, CohortDays, SizeBuckets};
pub use rollout::{ActiveMonth, RolloutEffect, RolloutSample, RolloutTeam};
pub use usage::AiUse;

use crate::error::Result;
use crate::LakeQueries;

const USAGE_DAYS: &str = include_str!("ai_usage_days.sql");

/// The headline measures of a group (a team, a tool or the organisation).
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct AiMeasures {
    /// Distinct people with AI use in the window.
    pub ai_active_users: Option<u64>,
    /// Of the group's developers (team members during the window), the
    /// share that was AI-active.
    pub ai_active_share: Option<f64>,
    pub developers: Option<u64>,
    /// Mean AI-active people per day and per ISO week of the window.
    pub dau_mean: Option<f64>,
    pub wau_mean: Option<f64>,
    /// acceptances / suggestions, and its n (suggestions).
    pub acceptance_rate: Option<f64>,
    pub suggestions: Option<u64>,
    /// lines accepted / lines suggested.
    pub line_acceptance_rate: Option<f64>,
    /// Merged pull requests in the window, those AI-assisted and their share.
    pub merged_prs: Option<u64>,
    pub ai_assisted_prs: Option<u64>,
    pub ai_assisted_pr_share: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

impl AiMeasures {
    fn hidden(reason: String) -> AiMeasures {
        AiMeasures {
            hidden_reason: Some(reason),
            ..AiMeasures::default()
        }
    }
}

/// A group's key: `"team": ...` or `"tool": ...` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum AiKey {
    #[serde(rename = "team")]
    Team(String),
    #[serde(rename = "tool")]
    Tool(String),
}

impl AiKey {
    pub fn label(&self) -> &str {
        match self {
            AiKey::Team(name) | AiKey::Tool(name) => name,
        }
    }
}

/// One group: its key, its measures and its use per tool (a team) or per
/// surface (a tool).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AiGroup {
    #[serde(flatten)]
    pub key: AiKey,
    #[serde(flatten)]
    pub measures: AiMeasures,
    pub uses: Vec<AiUse>,
}

/// An AI report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AiReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event of the answer's input tables, in UTC.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub group_by: AiGroupBy,
    pub days: i64,
    pub weeks: usize,
    pub groups: Vec<AiGroup>,
    pub overall: AiMeasures,
    /// Per team and calendar month: developers by active AI days.
    pub cohorts: Vec<CohortMonth>,
    /// With `impact`: AI-assisted against other merged pull requests, per
    /// team and overall.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub impact: Option<Vec<ImpactGroup>>,
    /// With `rollout`: each team's rollout month and its effect.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rollout: Option<Vec<RolloutTeam>>,
    pub cost: AiCost,
    /// What the comparisons do not control for.
    pub caveats: Vec<String>,
}

/// The caveats every AI report carries.
pub const CAVEATS: [&str; 3] = [
    "observational: AI-assisted and other pull requests differ in who writes them, what they change and when; size strata separate the largest difference, experience, team and time are not controlled",
    "AI-assisted means a label, a co-author trailer, an agent author or a tool named on its merge commit: work an assistant helped with unmarked counts as other",
    "the rollout effect is a difference-in-differences against teams not yet rolled out; it assumes both would have moved alike without the rollout",
];

/// The report of a request.
pub async fn report(queries: &LakeQueries, request: &AiRequest) -> Result<AiReport> {
    request.check(queries).await?;
    let people = usage::people(queries, request).await?;
    let prs = pull_requests::rows(queries, request, request.from, request.to).await?;
    let (groups, overall, shown_teams) = usage::groups(queries, request, &people, &prs).await?;
    let cohorts = cohorts::cohorts(queries, request).await?;
    let impact = match request.impact {
        true => Some(impact::impact(request, &prs)),
        false => None,
    };
    let rollout = match request.rollout {
        true => Some(rollout::rollout(queries, request).await?),
        false => None,
    };
    let cost = cost::cost(queries, request, &people, &prs, &shown_teams).await?;
    Ok(AiReport {
        from: request.from,
        to: request.to,
        tz: request.tz.name().to_string(),
        data_as_of: crate::freshness::data_as_of(
            queries,
            &[
                &ingest::schema::AI_USAGE,
                &ingest::schema::PULL_REQUESTS,
                &ingest::schema::COMMITS,
            ],
        )
        .await?,
        group_by: request.group_by,
        days: request.days(),
        weeks: request.weeks(),
        groups,
        overall,
        cohorts,
        impact,
        rollout,
        cost,
        caveats: CAVEATS.iter().map(|c| c.to_string()).collect(),
    })
}

/// People per group, for the privacy rule.
type PeopleOf = BTreeMap<String, BTreeSet<String>>;
