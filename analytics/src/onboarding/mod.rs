//! Onboarding: how fast developers who joined in a window reach their first
//! merged pull request, their first change in production and their tenth
//! merged pull request (`new_developer_milestones.sql`), as medians per team
//! (with the catalog's parent groups) or per start-month cohort.
//!
//! Groups with fewer new developers than the minimum group size are hidden,
//! with the reason; their developers still count in the groups above them
//! and in `overall`, and a group that would reveal a hidden one by
//! difference is hidden too (`crate::privacy`). A milestone not reached is
//! counted apart, never as 0.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};

use crate::columns::Columns;
use crate::devex::DevexSettings;
use crate::dora::DoraSettings;
use crate::error::{Error, Result};
use crate::privacy::{hidden_groups, Hidden};
use crate::template::fill;
use crate::window::Window;
use crate::LakeQueries;

const NEW_DEVELOPER_MILESTONES: &str = include_str!("new_developer_milestones.sql");

/// The milestones, in the order reports list them: the SQL column names.
pub const MILESTONES: [&str; 3] = [
    "first_merged_pr_days",
    "first_production_change_days",
    "tenth_merged_pr_days",
];

/// What the groups are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum OnboardingGroupBy {
    /// The team of the first membership, and the catalog's groups above it.
    Team,
    /// The calendar month of the start, as YYYY-MM.
    Cohort,
}

impl OnboardingGroupBy {
    pub fn name(self) -> &'static str {
        match self {
            OnboardingGroupBy::Team => "team",
            OnboardingGroupBy::Cohort => "cohort",
        }
    }
}

impl std::str::FromStr for OnboardingGroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<OnboardingGroupBy> {
        match s {
            "team" => Ok(OnboardingGroupBy::Team),
            "cohort" => Ok(OnboardingGroupBy::Cohort),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of team, cohort"),
            )),
        }
    }
}

/// One question: developers who started on local days `[from, to)` of
/// `tz`, grouped by team or cohort.
#[derive(Debug, Clone)]
pub struct OnboardingRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    pub group_by: OnboardingGroupBy,
    /// The minimum group size.
    pub settings: DevexSettings,
    /// What counts as production, for the first production change.
    pub dora: DoraSettings,
}

impl OnboardingRequest {
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        group_by: Option<&str>,
        settings: DevexSettings,
        dora: DoraSettings,
    ) -> Result<OnboardingRequest> {
        // New hires are few: a year gives cohorts enough people to show.
        let window = Window::parse(from, to, tz, 365)?;
        Ok(OnboardingRequest {
            from: window.from,
            to: window.to,
            tz: window.tz,
            group_by: match group_by.map(str::trim).filter(|g| !g.is_empty()) {
                None => OnboardingGroupBy::Team,
                Some(g) => g.parse()?,
            },
            settings,
            dora,
        })
    }
}

/// One milestone over a group's new developers.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct MilestoneSummary {
    /// Median days from start to the milestone, over those who reached it.
    pub median: Option<f64>,
    /// How many reached it.
    pub n: u64,
    /// How many have not reached it yet.
    pub not_yet_reached: u64,
}

/// The measures of one group: in JSON `new_developers`, then
/// `<milestone>_median`, `<milestone>_n` and `<milestone>_not_yet_reached`
/// per milestone, all null when the group is hidden.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OnboardingMetrics {
    pub new_developers: Option<u64>,
    /// In the order of [`MILESTONES`]; `None` when hidden.
    pub milestones: Option<[MilestoneSummary; 3]>,
    pub hidden_reason: Option<String>,
}

impl Serialize for OnboardingMetrics {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("new_developers", &self.new_developers)?;
        for (i, name) in MILESTONES.iter().enumerate() {
            let summary = self.milestones.map(|m| m[i]);
            map.serialize_entry(&format!("{name}_median"), &summary.and_then(|s| s.median))?;
            map.serialize_entry(&format!("{name}_n"), &summary.map(|s| s.n))?;
            map.serialize_entry(
                &format!("{name}_not_yet_reached"),
                &summary.map(|s| s.not_yet_reached),
            )?;
        }
        if let Some(reason) = &self.hidden_reason {
            map.serialize_entry("hidden_reason", reason)?;
        }
        map.end()
    }
}

/// In OpenAPI: the fields `Serialize` writes, from the same [`MILESTONES`].
impl utoipa::PartialSchema for OnboardingMetrics {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
        let nullable = |kind: Type, description: String| {
            ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([kind, Type::Null]))
                .description(Some(description))
        };
        let mut object = ObjectBuilder::new()
            .property(
                "new_developers",
                nullable(
                    Type::Integer,
                    "Developers who started; null when hidden".into(),
                ),
            )
            .required("new_developers");
        for name in MILESTONES {
            for (suffix, kind, what) in [
                (
                    "median",
                    Type::Number,
                    "median days from start, over those who reached it",
                ),
                ("n", Type::Integer, "how many reached it"),
                ("not_yet_reached", Type::Integer, "how many have not yet"),
            ] {
                let field = format!("{name}_{suffix}");
                object = object
                    .property(
                        &field,
                        nullable(kind, format!("{name}: {what}; null when hidden")),
                    )
                    .required(field);
            }
        }
        object
            .property(
                "hidden_reason",
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some(
                        "Why the group is hidden (below the minimum group size)",
                    )),
            )
            .into()
    }
}

impl utoipa::ToSchema for OnboardingMetrics {}

/// A group's key: `"team": ...` or `"cohort": ...` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum OnboardingKey {
    #[serde(rename = "team")]
    Team(String),
    #[serde(rename = "cohort")]
    Cohort(String),
}

impl OnboardingKey {
    pub fn label(&self) -> &str {
        match self {
            OnboardingKey::Team(k) | OnboardingKey::Cohort(k) => k,
        }
    }
}

/// One group: its key, its parent group (team grouping) and measures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OnboardingGroup {
    #[serde(flatten)]
    pub key: OnboardingKey,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    #[serde(flatten)]
    pub metrics: OnboardingMetrics,
}

/// An onboarding report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct OnboardingReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub group_by: OnboardingGroupBy,
    pub groups: Vec<OnboardingGroup>,
    pub overall: OnboardingMetrics,
}

/// One new developer in one of their starting teams.
struct NewDeveloper {
    developer: String,
    team: String,
    cohort: String,
    days: [Option<f64>; 3],
}

async fn new_developers(
    queries: &LakeQueries,
    request: &OnboardingRequest,
) -> Result<Vec<NewDeveloper>> {
    let dora = crate::dora::materialized_context(queries, &request.dora).await?;
    let change_lead_times = dora
        .table_provider("change_lead_times")
        .await
        .map_err(Error::Engine)?;
    let context = queries.scratch_context().await?;
    context
        .register_table("change_lead_times", change_lead_times)
        .map_err(Error::Engine)?;
    let sql = fill(
        NEW_DEVELOPER_MILESTONES,
        &crate::template::window_values(request.tz, request.from, request.to),
    )?;
    let result = queries.read_only_sql_on(&context, &sql).await?;
    let c = Columns::new(&result.batches);
    let days = MILESTONES
        .iter()
        .map(|m| c.float(m))
        .collect::<Result<Vec<_>>>()?;
    let mut out = Vec::new();
    for (i, ((developer, team), cohort)) in c
        .text("developer")?
        .into_iter()
        .zip(c.text("team")?)
        .zip(c.text("cohort")?)
        .enumerate()
    {
        if let (Some(developer), Some(team), Some(cohort)) = (developer, team, cohort) {
            out.push(NewDeveloper {
                developer,
                team,
                cohort,
                days: [days[0][i], days[1][i], days[2][i]],
            });
        }
    }
    Ok(out)
}

/// The measures over a set of developers (each counted once), or why they
/// are hidden.
fn summarize(
    developers: &BTreeMap<&str, [Option<f64>; 3]>,
    hidden: Option<Hidden>,
    min: usize,
) -> OnboardingMetrics {
    if let Some(why) = hidden {
        return OnboardingMetrics {
            new_developers: None,
            milestones: None,
            hidden_reason: Some(why.reason(min, "new developers")),
        };
    }
    let n = developers.len();
    let summary = |i: usize| {
        let mut reached: Vec<f64> = developers.values().filter_map(|d| d[i]).collect();
        reached.sort_by(f64::total_cmp);
        MilestoneSummary {
            median: crate::stats::median(&reached),
            n: reached.len() as u64,
            not_yet_reached: (n - reached.len()) as u64,
        }
    };
    OnboardingMetrics {
        new_developers: Some(n as u64),
        milestones: Some([summary(0), summary(1), summary(2)]),
        hidden_reason: None,
    }
}

/// The report of a request.
pub async fn report(
    queries: &LakeQueries,
    request: &OnboardingRequest,
) -> Result<OnboardingReport> {
    let rows = new_developers(queries, request).await?;
    let min = request.settings.min_group_size;
    let everyone: BTreeMap<&str, [Option<f64>; 3]> = rows
        .iter()
        .map(|r| (r.developer.as_str(), r.days))
        .collect();
    // Each group's developers; a team's also count in every group above it.
    let mut members: BTreeMap<String, BTreeMap<&str, [Option<f64>; 3]>> = BTreeMap::new();
    let parents = match request.group_by {
        OnboardingGroupBy::Team => crate::catalog::team_parents(queries).await?,
        OnboardingGroupBy::Cohort => HashMap::new(),
    };
    for row in &rows {
        let mut groups = BTreeSet::new();
        match request.group_by {
            OnboardingGroupBy::Cohort => {
                groups.insert(row.cohort.clone());
            }
            OnboardingGroupBy::Team => {
                let mut at = row.team.clone();
                // A cycle in the catalog stops at the first repeat.
                while groups.insert(at.clone()) {
                    match parents.get(&at) {
                        Some(parent) => at = parent.clone(),
                        None => break,
                    }
                }
            }
        }
        for group in groups {
            members
                .entry(group)
                .or_default()
                .insert(row.developer.as_str(), row.days);
        }
    }
    // Small groups, and groups that would reveal one by difference.
    let people: BTreeMap<String, BTreeSet<String>> = members
        .iter()
        .map(|(g, d)| (g.clone(), d.keys().map(|k| k.to_string()).collect()))
        .collect();
    let all: BTreeSet<String> = everyone.keys().map(|k| k.to_string()).collect();
    let hidden = hidden_groups(&people, &|g| parents.get(g).cloned(), &all, min);
    let overall_hidden = (all.len() < min).then_some(Hidden::TooFew);
    let groups = members
        .into_iter()
        .map(|(name, developers)| OnboardingGroup {
            parent: match request.group_by {
                OnboardingGroupBy::Team => parents.get(&name).cloned(),
                OnboardingGroupBy::Cohort => None,
            },
            metrics: summarize(&developers, hidden.get(&name).copied(), min),
            key: match request.group_by {
                OnboardingGroupBy::Team => OnboardingKey::Team(name),
                OnboardingGroupBy::Cohort => OnboardingKey::Cohort(name),
            },
        })
        .collect();
    Ok(OnboardingReport {
        from: request.from,
        data_as_of: crate::freshness::data_as_of(
            queries,
            &[
                &ingest::schema::PULL_REQUESTS,
                &ingest::schema::DEPLOYMENTS,
                &ingest::schema::TEAM_MEMBERS,
            ],
        )
        .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        group_by: request.group_by,
        groups,
        overall: summarize(&everyone, overall_hidden, min),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_milestone_not_reached_is_counted_apart_and_small_groups_hide() {
        let developers: BTreeMap<&str, [Option<f64>; 3]> = [
            ("a", [Some(2.0), None, None]),
            ("b", [Some(4.0), Some(6.0), None]),
            ("c", [None, None, None]),
        ]
        .into_iter()
        .collect();
        let shown = summarize(&developers, None, 3);
        let milestones = shown.milestones.unwrap();
        assert_eq!(shown.new_developers, Some(3));
        assert_eq!(milestones[0].median, Some(3.0));
        assert_eq!((milestones[0].n, milestones[0].not_yet_reached), (2, 1));
        assert_eq!(milestones[2].median, None);
        assert_eq!(milestones[2].not_yet_reached, 3);
        let hidden = summarize(&developers, Some(Hidden::TooFew), 4);
        assert_eq!(hidden.new_developers, None);
        assert!(hidden.hidden_reason.is_some());
        let json = serde_json::to_value(&hidden).unwrap();
        assert_eq!(json["first_merged_pr_days_median"], serde_json::Value::Null);
        assert_eq!(
            json["tenth_merged_pr_days_not_yet_reached"],
            serde_json::Value::Null
        );
    }
}
