//! Platform adoption: who uses the internal developer platform, how often,
//! per tool, feature or team (`active_users.sql`), and per team the share of
//! its developers who use it (`headcount.sql`); on request, the configured
//! funnels (`funnels.rs`), monthly retention cohorts (`cohorts.rs`) and
//! golden-path shares per team (`golden_paths.rs`).
//! Groups smaller than the minimum group size are hidden, as the DevEx
//! people measures are.

mod cohorts;
mod funnels;
mod golden_paths;

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

pub use cohorts::RetentionCohort;
pub use funnels::{Funnel, FunnelStep, FunnelStepSpec};
pub use golden_paths::{GoldenPathShares, GoldenPathTeam, GoldenPaths};

use crate::columns::Columns;
use crate::devex::DevexSettings;
use crate::error::{Error, Result};
use crate::privacy::{hidden_beyond, Hidden};
use crate::template::fill;
use crate::window::Window;
use crate::LakeQueries;

const ACTIVE_USERS: &str = include_str!("active_users.sql");
const HEADCOUNT: &str = include_str!("headcount.sql");
const WEEKLY_USERS: &str = include_str!("weekly_users.sql");
const TEAM_USERS: &str = include_str!("team_users.sql");

/// `[adoption]` in the configuration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AdoptionSettings {
    /// `[adoption.funnels]`: name -> ordered steps `tool:feature` (`tool:*`
    /// for any feature of the tool).
    pub funnels: BTreeMap<String, Vec<String>>,
    /// A funnel step counts only this many days after the previous one.
    pub step_days: u32,
    /// A regular expression matching the CI pipelines that are the
    /// platform's golden path (`ci_runs.pipeline`).
    pub platform_pipelines: String,
}

impl Default for AdoptionSettings {
    fn default() -> Self {
        AdoptionSettings {
            // In the vocabulary `platform_usage` documents: scaffold a
            // service, deploy it, look at its scorecard.
            funnels: BTreeMap::from([(
                "new-service".to_string(),
                vec![
                    "template:scaffold-service".to_string(),
                    "cli:deploy".to_string(),
                    "portal:scorecards".to_string(),
                ],
            )]),
            step_days: 14,
            platform_pipelines: "^golden-path".to_string(),
        }
    }
}

impl AdoptionSettings {
    /// Every funnel step readable and `step_days` positive.
    pub fn check(&self) -> Result<()> {
        if self.step_days == 0 {
            return Err(Error::InvalidSetting(
                "adoption.step_days must be at least 1".into(),
            ));
        }
        if let Err(e) = regex::Regex::new(&self.platform_pipelines) {
            return Err(Error::InvalidSetting(format!(
                "adoption.platform_pipelines is not a regular expression: {e}"
            )));
        }
        for (name, steps) in &self.funnels {
            if steps.is_empty() {
                return Err(Error::InvalidSetting(format!(
                    "adoption.funnels.{name} has no steps; list them as [\"tool:feature\", ...]"
                )));
            }
            for step in steps {
                FunnelStepSpec::parse(name, step)?;
            }
        }
        Ok(())
    }
}

/// The parts of the report beyond the groups, each asked for on its own.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AdoptionExtras {
    pub funnels: bool,
    pub cohorts: bool,
    pub golden_paths: bool,
}

/// What the groups are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum AdoptionGroupBy {
    Tool,
    Feature,
    Team,
}

impl AdoptionGroupBy {
    pub fn name(self) -> &'static str {
        match self {
            AdoptionGroupBy::Tool => "tool",
            AdoptionGroupBy::Feature => "feature",
            AdoptionGroupBy::Team => "team",
        }
    }
}

impl std::str::FromStr for AdoptionGroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<AdoptionGroupBy> {
        match s {
            "tool" => Ok(AdoptionGroupBy::Tool),
            "feature" => Ok(AdoptionGroupBy::Feature),
            "team" => Ok(AdoptionGroupBy::Team),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of tool, feature, team"),
            )),
        }
    }
}

/// One question: local days `[from, to)` in `tz`, a grouping.
#[derive(Debug, Clone)]
pub struct AdoptionRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    pub group_by: AdoptionGroupBy,
    /// The minimum group size of people measures.
    pub settings: DevexSettings,
    /// The funnels and their step window, the platform's pipelines.
    pub adoption: AdoptionSettings,
    /// What counts as a production deployment, for golden paths.
    pub dora: crate::dora::DoraSettings,
    pub extras: AdoptionExtras,
}

impl AdoptionRequest {
    pub fn parse(
        from: Option<&str>,
        to: Option<&str>,
        tz: Option<&str>,
        group_by: Option<&str>,
        settings: DevexSettings,
        adoption: AdoptionSettings,
    ) -> Result<AdoptionRequest> {
        adoption.check()?;
        let window = Window::parse(from, to, tz, crate::window::REPORT_DAYS)?;
        Ok(AdoptionRequest {
            from: window.from,
            to: window.to,
            tz: window.tz,
            group_by: match group_by.map(str::trim).filter(|g| !g.is_empty()) {
                None => AdoptionGroupBy::Tool,
                Some(g) => g.parse()?,
            },
            settings,
            adoption,
            dora: crate::dora::DoraSettings::default(),
            extras: AdoptionExtras::default(),
        })
    }

    fn days(&self) -> i64 {
        (self.to - self.from).num_days().max(1)
    }

    /// ISO weeks (Monday first) holding at least one of the window's days.
    fn weeks(&self) -> usize {
        crate::window::iso_weeks(self.from, self.to)
    }
}

/// The measures of one group.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct AdoptionMetrics {
    pub active_users: Option<u64>,
    pub dau_mean: Option<f64>,
    pub wau_mean: Option<f64>,
    /// dau_mean / active_users.
    pub stickiness: Option<f64>,
    pub events: Option<u64>,
    /// Of the events with an outcome, the shares that succeeded, failed and
    /// were abandoned (null when none has one).
    pub success_share: Option<f64>,
    pub failure_share: Option<f64>,
    pub abandoned_share: Option<f64>,
    /// Team grouping: the team's developers in the window, and the share of
    /// them active on the platform.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub developers: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adoption: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

/// A group's key: `"tool": ...`, `"feature": ...` or `"team": ...` in JSON.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
pub enum AdoptionKey {
    #[serde(rename = "tool")]
    Tool(Option<String>),
    #[serde(rename = "feature")]
    Feature(Option<String>),
    #[serde(rename = "team")]
    Team(Option<String>),
}

impl AdoptionKey {
    pub fn label(&self) -> Option<&str> {
        match self {
            AdoptionKey::Tool(k) | AdoptionKey::Feature(k) | AdoptionKey::Team(k) => k.as_deref(),
        }
    }
}

/// One group: its key and measures.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdoptionGroup {
    #[serde(flatten)]
    pub key: AdoptionKey,
    #[serde(flatten)]
    pub metrics: AdoptionMetrics,
}

/// An adoption report.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AdoptionReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub group_by: AdoptionGroupBy,
    pub days: i64,
    pub weeks: usize,
    pub groups: Vec<AdoptionGroup>,
    pub overall: AdoptionMetrics,
    /// With `funnels`: each configured funnel.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub funnels: Option<Vec<Funnel>>,
    /// With `cohorts`: monthly retention cohorts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cohorts: Option<Vec<RetentionCohort>>,
    /// With `golden_paths`: template and pipeline shares per team.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub golden_paths: Option<GoldenPaths>,
}

pub(crate) fn window_values(request: &AdoptionRequest) -> Vec<(&'static str, String)> {
    crate::template::window_values(request.tz, request.from, request.to)
}

/// Measures per `group_key` (a platform_usage column, or a constant).
async fn measures(
    queries: &LakeQueries,
    request: &AdoptionRequest,
    group_key: &str,
) -> Result<BTreeMap<Option<String>, AdoptionMetrics>> {
    let mut values = window_values(request);
    values.push(("group_key", group_key.to_string()));
    let result = queries.read_only_sql(&fill(ACTIVE_USERS, &values)?).await?;
    let c = Columns::new(&result.batches);
    let (days, weeks) = (request.days() as f64, request.weeks() as f64);
    let mut out = BTreeMap::new();
    let outcomes = [c.int("success")?, c.int("failure")?, c.int("abandoned")?];
    for (i, ((((key, users), events), user_days), user_weeks)) in c
        .text("group_key")?
        .into_iter()
        .zip(c.int("active_users")?)
        .zip(c.int("events")?)
        .zip(c.float("user_days")?)
        .zip(c.float("user_weeks")?)
        .enumerate()
    {
        let users = users.unwrap_or(0) as u64;
        let dau = user_days.unwrap_or(0.0) / days;
        let [success, failure, abandoned] = outcomes.each_ref().map(|o| o[i].unwrap_or(0) as f64);
        let with_outcome = success + failure + abandoned;
        let share = |n: f64| (with_outcome > 0.0).then(|| n / with_outcome);
        out.insert(
            key.filter(|k| !k.is_empty()),
            AdoptionMetrics {
                active_users: Some(users),
                dau_mean: Some(dau),
                wau_mean: Some(user_weeks.unwrap_or(0.0) / weeks),
                stickiness: (users > 0).then(|| dau / users as f64),
                events: Some(events.unwrap_or(0) as u64),
                success_share: share(success),
                failure_share: share(failure),
                abandoned_share: share(abandoned),
                ..AdoptionMetrics::default()
            },
        );
    }
    Ok(out)
}

/// The measures of every (tool, feature) pair in the request's window,
/// for gauges that label both.
pub async fn by_tool_and_feature(
    queries: &LakeQueries,
    request: &AdoptionRequest,
) -> Result<BTreeMap<(String, String), AdoptionMetrics>> {
    let pairs = measures(queries, request, "tool || chr(31) || feature").await?;
    Ok(pairs
        .into_iter()
        .filter_map(|(key, metrics)| {
            let (tool, feature) = key?
                .split_once('\u{1f}')
                .map(|(t, f)| (t.to_string(), f.to_string()))?;
            Some(((tool, feature), metrics))
        })
        .collect())
}

/// One tool's distinct users in one ISO week.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct WeeklyUsers {
    pub tool: String,
    /// The Monday that starts the week (local).
    pub week: NaiveDate,
    pub users: u64,
}

/// Distinct users per tool and ISO week of the request's window
/// (`weekly_users.sql`), by week then tool.
pub async fn weekly_users(
    queries: &LakeQueries,
    request: &AdoptionRequest,
) -> Result<Vec<WeeklyUsers>> {
    let result = queries
        .read_only_sql(&fill(WEEKLY_USERS, &window_values(request))?)
        .await?;
    let c = Columns::new(&result.batches);
    let mut out: Vec<WeeklyUsers> = c
        .text("tool")?
        .into_iter()
        .zip(c.micros("week")?)
        .zip(c.int("users")?)
        .filter_map(|((tool, week), users)| {
            let week = chrono::DateTime::from_timestamp_micros(week?)?.date_naive();
            Some(WeeklyUsers {
                tool: tool?,
                week,
                users: users.unwrap_or(0) as u64,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.week, &a.tool).cmp(&(b.week, &b.tool)));
    Ok(out)
}

/// The report of a request.
pub async fn report(queries: &LakeQueries, request: &AdoptionRequest) -> Result<AdoptionReport> {
    let column = match request.group_by {
        AdoptionGroupBy::Tool => "tool",
        AdoptionGroupBy::Feature => "feature",
        AdoptionGroupBy::Team => "team",
    };
    let mut by_group = measures(queries, request, column).await?;
    let overall = measures(queries, request, "'all'")
        .await?
        .into_values()
        .next()
        .unwrap_or(AdoptionMetrics {
            active_users: Some(0),
            dau_mean: Some(0.0),
            wau_mean: Some(0.0),
            stickiness: None,
            events: Some(0),
            ..AdoptionMetrics::default()
        });
    if request.group_by == AdoptionGroupBy::Team {
        let result = queries
            .read_only_sql(&fill(HEADCOUNT, &window_values(request))?)
            .await?;
        let c = Columns::new(&result.batches);
        let headcounts: BTreeMap<String, u64> = c
            .text("team")?
            .into_iter()
            .zip(c.int("developers")?)
            .filter_map(|(team, n)| Some((team?, n.unwrap_or(0) as u64)))
            .collect();
        // Every team with developers shows, with or without platform use.
        for team in headcounts.keys() {
            by_group
                .entry(Some(team.clone()))
                .or_insert_with(|| AdoptionMetrics {
                    active_users: Some(0),
                    dau_mean: Some(0.0),
                    wau_mean: Some(0.0),
                    stickiness: None,
                    events: Some(0),
                    ..AdoptionMetrics::default()
                });
        }
        let min = request.settings.min_group_size;
        // Teams too small by headcount, and teams whose users, shown, would
        // leave a few of the hidden teams' users to work out by difference.
        let mut users: BTreeMap<String, BTreeSet<String>> = by_group
            .keys()
            .flatten()
            .map(|team| (team.clone(), BTreeSet::new()))
            .collect();
        let mut everyone = BTreeSet::new();
        let result = queries
            .read_only_sql(&fill(TEAM_USERS, &window_values(request))?)
            .await?;
        let c = Columns::new(&result.batches);
        for (team, user) in c.text("team")?.into_iter().zip(c.text("user")?) {
            let (Some(team), Some(user)) = (team, user) else {
                continue;
            };
            everyone.insert(user.clone());
            if let Some(set) = users.get_mut(&team) {
                set.insert(user);
            }
        }
        let too_few = users
            .keys()
            .filter(|team| headcounts.get(*team).is_none_or(|n| (*n as usize) < min))
            .map(|team| (team.clone(), Hidden::TooFew))
            .collect();
        // The overall numbers are always shown.
        let hidden = hidden_beyond(&users, &|_| None, &everyone, min, too_few, true);
        for (team, metrics) in by_group.iter_mut() {
            let Some(team) = team else {
                // Events whose source named no team: counted overall only.
                *metrics = AdoptionMetrics {
                    hidden_reason: Some("events without a team; they count in overall".into()),
                    ..AdoptionMetrics::default()
                };
                continue;
            };
            match hidden.get(team) {
                Some(why) => {
                    *metrics = AdoptionMetrics {
                        hidden_reason: Some(why.reason(min, "developers")),
                        ..AdoptionMetrics::default()
                    };
                }
                None => {
                    let n = headcounts.get(team).copied().unwrap_or(0);
                    metrics.developers = Some(n);
                    metrics.adoption = metrics.active_users.map(|u| u as f64 / n as f64);
                }
            }
        }
    }
    let groups = by_group
        .into_iter()
        .map(|(key, metrics)| AdoptionGroup {
            key: match request.group_by {
                AdoptionGroupBy::Tool => AdoptionKey::Tool(key),
                AdoptionGroupBy::Feature => AdoptionKey::Feature(key),
                AdoptionGroupBy::Team => AdoptionKey::Team(key),
            },
            metrics,
        })
        .collect();
    Ok(AdoptionReport {
        from: request.from,
        data_as_of: crate::freshness::data_as_of(
            queries,
            &[&ingest::schema::PLATFORM_USAGE, &ingest::schema::SERVICES],
        )
        .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        group_by: request.group_by,
        days: request.days(),
        weeks: request.weeks(),
        groups,
        overall,
        funnels: match request.extras.funnels {
            true => Some(funnels::funnels(queries, request).await?),
            false => None,
        },
        cohorts: match request.extras.cohorts {
            true => Some(cohorts::cohorts(queries, request).await?),
            false => None,
        },
        golden_paths: match request.extras.golden_paths {
            true => Some(golden_paths::golden_paths(queries, request).await?),
            false => None,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weeks_are_the_iso_weeks_the_window_touches() {
        let request = |from: &str, to: &str| {
            AdoptionRequest::parse(
                Some(from),
                Some(to),
                None,
                None,
                DevexSettings::default(),
                AdoptionSettings::default(),
            )
            .unwrap()
        };
        // Mon 2024-07-29 to Sun 2024-08-04 is one week, across a month.
        assert_eq!(request("2024-07-29", "2024-08-05").weeks(), 1);
        // Wed to the next Tue: two weeks.
        assert_eq!(request("2024-07-31", "2024-08-07").weeks(), 2);
        assert_eq!(request("2024-07-31", "2024-08-07").days(), 7);
    }
}
