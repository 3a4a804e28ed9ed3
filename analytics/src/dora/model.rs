//! The answers: metrics per group, the report, the series.

use super::*;

/// The metrics of one group (or of everything).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraMetrics {
    pub deployments: u64,
    pub deployments_per_week: f64,
    /// Median over the group's services of each one's deployments per week
    /// (services deployed to production before the window's end, zero for
    /// those idle in it). DORA asks how often *a service* deploys, so the
    /// deployment frequency level grades this, not the group's sum.
    pub service_deployments_per_week_median: Option<f64>,
    pub deployment_days_share: f64,
    pub changes: u64,
    pub lead_time_median_hours: Option<f64>,
    pub lead_time_p90_hours: Option<f64>,
    pub failed_deployments: u64,
    pub unrecovered: u64,
    pub change_failure_rate: Option<f64>,
    pub recovery_time_median_hours: Option<f64>,
    pub recovery_time_p90_hours: Option<f64>,
    pub rework_rate: Option<f64>,
    pub levels: Levels,
}

/// A group's key: `"service": ...` or `"team": ...` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum GroupKey {
    #[serde(rename = "service")]
    Service(Option<String>),
    #[serde(rename = "team")]
    Team(Option<String>),
}

impl GroupKey {
    pub fn label(&self) -> Option<&str> {
        match self {
            GroupKey::Service(s) | GroupKey::Team(s) => s.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraGroup {
    #[serde(flatten)]
    pub key: GroupKey,
    #[serde(flatten)]
    pub metrics: DoraMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub group_by: GroupBy,
    pub days: i64,
    pub production_pattern: String,
    pub levels_source: String,
    /// Which team a deployment counts for ([`OWNERSHIP_RULE`]).
    pub ownership: &'static str,
    pub groups: Vec<DoraGroup>,
    pub overall: DoraMetrics,
}

/// The ownership rule of every DORA answer, said in the answer.
pub const OWNERSHIP_RULE: &str = "a deployment counts for the team that owned its service when it was deployed (the catalog version with the latest valid_from not after it)";

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct SeriesPoint {
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    #[schema(schema_with = optional_group_key)]
    pub key: Option<GroupKey>,
    pub period_start: NaiveDate,
    /// Day after the period's last day in the window.
    pub period_end: NaiveDate,
    /// Cut by the window or still running: fewer days than a period, so
    /// drawn apart and not graded (its levels are null).
    pub partial: bool,
    #[serde(flatten)]
    pub metrics: DoraMetrics,
}

/// In OpenAPI: a flattened `Option<GroupKey>` is the key's fields, or none
/// (`group_by=none`), not `null`.
fn optional_group_key() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
    use utoipa::openapi::Ref;
    utoipa::openapi::schema::Schema::AnyOf(
        AnyOfBuilder::new()
            .item(Ref::from_schema_name("GroupKey"))
            .item(ObjectBuilder::new().schema_type(Type::Object))
            .build(),
    )
    .into()
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DoraSeries {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub granularity: Granularity,
    pub group_by: GroupBy,
    pub levels_source: String,
    /// Which team a deployment counts for ([`OWNERSHIP_RULE`]).
    pub ownership: &'static str,
    pub points: Vec<SeriesPoint>,
}
