//! DevEx and SPACE measures: CI and pull request feedback loops, context
//! switches, flow, activity and collaboration, per team (or repository), each
//! with its sample size, and comparisons of two periods with a significance
//! test.
//!
//! The definitions live in the `.sql` files next to this one, each opening
//! with the rule it implements and its source (the DevEx paper, Noda et al.,
//! ACM Queue 2023; the SPACE paper, Forsgren et al., ACM Queue 2021; DX Core
//! 4). People measures are team distributions only, hidden for teams smaller
//! than the minimum group size; nothing is ever reported per person.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use crate::columns::Columns;
use crate::dora::DoraSettings;
use crate::error::{Error, NameKind, Result};
use crate::stats;
use crate::template::{fill, local_midnight, sql_instant, sql_text};
use crate::window::Window;
use crate::LakeQueries;

const REPOSITORY_TEAMS: &str = include_str!("repository_teams.sql");
const CI_ATTEMPTS: &str = include_str!("ci_attempts.sql");
const CI_FLAKY: &str = include_str!("ci_flaky.sql");
const PULL_REQUEST_PHASES: &str = include_str!("pull_request_phases.sql");
const PULL_REQUEST_HANDOFFS: &str = include_str!("pull_request_handoffs.sql");
const DEVELOPER_DAYS: &str = include_str!("developer_days.sql");
const CI_SUMMARY: &str = include_str!("ci_summary.sql");
const CI_FLAKY_SUMMARY: &str = include_str!("ci_flaky_summary.sql");
const PULL_REQUEST_SUMMARY: &str = include_str!("pull_request_summary.sql");
const PEOPLE_SUMMARY: &str = include_str!("people_summary.sql");
const TEAM_MEMBERS_IN_WINDOW: &str = include_str!("team_members_in_window.sql");
const PULL_REQUEST_LIFETIMES: &str = include_str!("pull_request_lifetimes.sql");
const SPACE_REVIEWS: &str = include_str!("space_reviews.sql");
const SPACE_PEOPLE: &str = include_str!("space_people.sql");

/// Smallest minimum group size a configuration may set.
pub const MIN_GROUP_SIZE_FLOOR: usize = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DevexSettings {
    /// Teams with fewer developers show no people measures (never below 3).
    pub min_group_size: usize,
    /// A developer-day with more work items than this is a high-switching day.
    pub context_switch_threshold: u32,
    /// Leave Saturdays and Sundays (in the report's time zone) out of pull
    /// request phase durations.
    pub exclude_weekends: bool,
}

impl Default for DevexSettings {
    fn default() -> Self {
        DevexSettings {
            min_group_size: 5,
            context_switch_threshold: 4,
            exclude_weekends: false,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DevexGroupBy {
    #[default]
    Team,
    Repo,
}

impl FromStr for DevexGroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "team" => Ok(DevexGroupBy::Team),
            "repo" => Ok(DevexGroupBy::Repo),
            other => Err(Error::invalid_parameter(
                "group_by",
                format!("`{other}` is not one of team, repo"),
            )),
        }
    }
}

/// One question: a window of local days, a filter, a grouping.
#[derive(Debug, Clone)]
pub struct DevexRequest {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: Tz,
    pub team: Option<String>,
    pub repo: Option<String>,
    /// Only these repositories (a service's, from the catalog).
    pub repos: Option<Vec<String>>,
    pub group_by: DevexGroupBy,
    pub settings: DevexSettings,
    /// Production and the derive stage, for the deploy phase.
    pub dora: DoraSettings,
}

impl DevexRequest {
    /// Builds a request from text, reusing the DORA request's checks of
    /// dates and time zone.
    #[allow(clippy::too_many_arguments)]
    pub fn parse(
        from: &str,
        to: &str,
        tz: Option<&str>,
        team: Option<String>,
        repo: Option<String>,
        group_by: Option<&str>,
        settings: DevexSettings,
        dora: DoraSettings,
    ) -> Result<DevexRequest> {
        let window = Window::parse(Some(from), Some(to), tz, crate::window::REPORT_DAYS)?;
        let request = DevexRequest {
            from: window.from,
            to: window.to,
            tz: window.tz,
            team: team.filter(|t| !t.is_empty()),
            repo: repo.filter(|r| !r.is_empty()),
            repos: None,
            group_by: match group_by {
                None | Some("") => DevexGroupBy::Team,
                Some(g) => g.parse()?,
            },
            settings,
            dora,
        };
        request.validate()?;
        Ok(request)
    }

    fn validate(&self) -> Result<()> {
        Window {
            from: self.from,
            to: self.to,
            tz: self.tz,
        }
        .check()?;
        if self.settings.min_group_size < MIN_GROUP_SIZE_FLOOR {
            return Err(Error::InvalidSetting(format!(
                "devex.min_group_size {} is below {MIN_GROUP_SIZE_FLOOR}: groups that small identify people",
                self.settings.min_group_size
            )));
        }
        Ok(())
    }

    /// A team or repository nobody knows is a typo, not an empty report.
    async fn check_filters(&self, queries: &LakeQueries) -> Result<()> {
        if let Some(team) = &self.team {
            crate::catalog::check_known(queries, NameKind::Team, team).await?;
        }
        if let Some(repo) = &self.repo {
            crate::catalog::check_known(queries, NameKind::Repository, repo).await?;
        }
        Ok(())
    }

    fn days(&self) -> i64 {
        (self.to - self.from).num_days()
    }

    fn values(&self) -> Vec<(&'static str, String)> {
        let mut filter = String::new();
        if let Some(team) = &self.team {
            filter.push_str(&format!(" AND team = {}", sql_text(team)));
        }
        if let Some(repo) = &self.repo {
            filter.push_str(&format!(" AND repo = {}", sql_text(repo)));
        }
        if let Some(repos) = &self.repos {
            let list: Vec<String> = repos.iter().map(|r| sql_text(r)).collect();
            filter.push_str(&format!(" AND repo IN ({})", list.join(", ")));
        }
        let team_filter = match &self.team {
            Some(team) => format!(" AND team = {}", sql_text(team)),
            None => String::new(),
        };
        vec![
            ("from", sql_instant(local_midnight(self.tz, self.from))),
            ("to", sql_instant(local_midnight(self.tz, self.to))),
            ("filter", filter),
            ("team_filter", team_filter),
            (
                "switch_threshold",
                self.settings.context_switch_threshold.to_string(),
            ),
            (
                "group_key",
                match self.group_by {
                    DevexGroupBy::Team => "team".into(),
                    DevexGroupBy::Repo => "repo".into(),
                },
            ),
        ]
    }
}

/// The repositories of a service in the catalog (`services.repos`): how a
/// `service` filter reaches repository measures.
pub async fn service_repositories(queries: &LakeQueries, service: &str) -> Result<Vec<String>> {
    crate::catalog::service_repositories(queries, service).await
}

/// The derive stage's share of the DevEx measures: materializes their
/// per-row tables for the default time zone (UTC) now, when events arrive,
/// so the first report after them does not pay for it.
pub async fn derive(
    queries: &LakeQueries,
    settings: &DevexSettings,
    dora: &DoraSettings,
) -> Result<()> {
    materialize_for(queries, chrono_tz::UTC, settings, dora)
        .await
        .map(|_| ())
}

/// The per-row tables, materialized once per lake content and time zone.
async fn materialize(queries: &LakeQueries, request: &DevexRequest) -> Result<SessionContext> {
    materialize_for(queries, request.tz, &request.settings, &request.dora).await
}

async fn materialize_for(
    queries: &LakeQueries,
    tz: Tz,
    settings: &DevexSettings,
    dora_settings: &DoraSettings,
) -> Result<SessionContext> {
    let dora = crate::dora::materialized_context(queries, dora_settings).await?;
    let change_lead_times = dora
        .table_provider("change_lead_times")
        .await
        .map_err(Error::Engine)?;
    let content = crate::template::content_key(queries, &crate::derive::DEVEX_INPUTS).await?;
    let key = format!(
        "devex:{content}:{}:{}:{}",
        tz.name(),
        dora_settings.production_pattern,
        settings.exclude_weekends
    );
    let tz_value = [("tz", tz.name().to_string())];
    let hours = if settings.exclude_weekends {
        "weekday_hours"
    } else {
        "elapsed_hours"
    };
    let tables = [
        ("repository_teams", REPOSITORY_TEAMS.to_string()),
        ("ci_attempts", CI_ATTEMPTS.to_string()),
        ("ci_flaky", CI_FLAKY.to_string()),
        (
            "pull_request_phases",
            fill(PULL_REQUEST_PHASES, &[("hours", hours.to_string())])?,
        ),
        ("pull_request_handoffs", PULL_REQUEST_HANDOFFS.to_string()),
        ("pull_request_lifetimes", PULL_REQUEST_LIFETIMES.to_string()),
        ("developer_days", fill(DEVELOPER_DAYS, &tz_value)?),
    ];
    // Unsorted: sorting ten million CI attempts costs more than the
    // team filter it would speed up.
    crate::template::materialize(
        queries,
        key,
        &tables,
        &[],
        &[("change_lead_times", change_lead_times)],
        vec![
            crate::durations::elapsed_hours_udf(),
            crate::durations::weekday_hours_udf(tz),
        ],
    )
    .await
}

/// The DevEx measures of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DevexMetrics {
    pub ci_runs: u64,
    pub ci_duration_median_minutes: Option<f64>,
    pub ci_duration_p90_minutes: Option<f64>,
    pub ci_queued_runs: u64,
    pub ci_queue_median_minutes: Option<f64>,
    pub ci_queue_p90_minutes: Option<f64>,
    pub ci_shas: u64,
    pub flaky_rate: Option<f64>,
    pub merged_prs: u64,
    pub pr_coding_median_hours: Option<f64>,
    pub pr_pickup_median_hours: Option<f64>,
    pub pr_review_median_hours: Option<f64>,
    pub deployed_prs: u64,
    pub pr_deploy_median_hours: Option<f64>,
    pub pr_cycle_time_median_hours: Option<f64>,
    pub pr_cycle_time_p90_hours: Option<f64>,
    pub unreviewed_merge_share: Option<f64>,
    pub handoffs_median: Option<f64>,
    /// Developers whose membership overlaps the window (people measures' group).
    pub developers: Option<u64>,
    pub developer_days: Option<u64>,
    pub context_switches_median: Option<f64>,
    pub context_switches_p90: Option<f64>,
    pub repos_touched_median: Option<f64>,
    pub high_context_switch_day_share: Option<f64>,
    pub focus_day_share: Option<f64>,
    pub wip_median: Option<f64>,
    /// Why the people measures are null, when they are.
    pub people_measures_hidden: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub enum DevexKey {
    #[serde(rename = "team")]
    Team(Option<String>),
    #[serde(rename = "repo")]
    Repo(Option<String>),
}

impl DevexKey {
    pub fn label(&self) -> Option<&str> {
        match self {
            DevexKey::Team(k) | DevexKey::Repo(k) => k.as_deref(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevexGroup {
    #[serde(flatten)]
    pub key: DevexKey,
    #[serde(flatten)]
    pub metrics: DevexMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevexReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    pub group_by: DevexGroupBy,
    pub min_group_size: usize,
    pub groups: Vec<DevexGroup>,
}

fn ratio(part: Option<i64>, whole: Option<i64>) -> Option<f64> {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0 => Some(p as f64 / w as f64),
        _ => None,
    }
}

/// Developers per team during the window, and open pull requests of those
/// still members at its end.
struct Membership {
    developers: HashMap<String, u64>,
    open_prs: HashMap<String, Vec<f64>>,
}

async fn membership(
    queries: &LakeQueries,
    context: &SessionContext,
    values: &[(&str, String)],
) -> Result<Membership> {
    let result = queries
        .read_only_sql_on(context, &fill(TEAM_MEMBERS_IN_WINDOW, values)?)
        .await?;
    let c = Columns::new(&result.batches);
    let mut developers: HashMap<String, u64> = HashMap::new();
    let mut open_prs: HashMap<String, Vec<f64>> = HashMap::new();
    for ((team, at_end), open) in c
        .text("team")?
        .into_iter()
        .zip(c.boolean("at_end")?)
        .zip(c.int("open_prs")?)
    {
        let Some(team) = team else { continue };
        *developers.entry(team.clone()).or_default() += 1;
        if at_end == Some(true) {
            open_prs
                .entry(team)
                .or_default()
                .push(open.unwrap_or(0) as f64);
        }
    }
    Ok(Membership {
        developers,
        open_prs,
    })
}

/// The DevEx report: CI and pull request feedback loops per team (or
/// repository), and per team the people measures (context switches, flow,
/// work in progress) when the team is large enough.
pub async fn report(queries: &LakeQueries, request: &DevexRequest) -> Result<DevexReport> {
    request.validate()?;
    let context = materialize(queries, request).await?;
    let asked = format!("devex report {request:?}");
    if let Some(report) = queries.remembered::<DevexReport>(&context, &asked) {
        return Ok(report);
    }
    request.check_filters(queries).await?;
    let values = request.values();
    let mut groups: BTreeMap<Option<String>, DevexMetrics> = BTreeMap::new();

    // Three queries one after the other rather than one joining them: each
    // holds its own percentile states, so the peak is the largest, not the sum.
    let ci = queries
        .read_only_sql_on_one_partition(&context, &fill(CI_SUMMARY, &values)?)
        .await?;
    let c = Columns::new(&ci.batches);
    let keys = c.text("group_key")?;
    let (runs, queued) = (c.int("ci_runs")?, c.int("ci_queued_runs")?);
    let (dur_med, dur_p90, q_med, q_p90) = (
        c.float("ci_duration_median_minutes")?,
        c.float("ci_duration_p90_minutes")?,
        c.float("ci_queue_median_minutes")?,
        c.float("ci_queue_p90_minutes")?,
    );
    for (i, key) in keys.into_iter().enumerate() {
        let m = groups.entry(key).or_default();
        m.ci_runs = runs[i].unwrap_or(0) as u64;
        m.ci_duration_median_minutes = dur_med[i];
        m.ci_duration_p90_minutes = dur_p90[i];
        m.ci_queued_runs = queued[i].unwrap_or(0) as u64;
        m.ci_queue_median_minutes = q_med[i];
        m.ci_queue_p90_minutes = q_p90[i];
    }

    let flaky = queries
        .read_only_sql_on_one_partition(&context, &fill(CI_FLAKY_SUMMARY, &values)?)
        .await?;
    let c = Columns::new(&flaky.batches);
    let (shas, flaky_shas) = (c.int("ci_shas")?, c.int("flaky_shas")?);
    for (i, key) in c.text("group_key")?.into_iter().enumerate() {
        let m = groups.entry(key).or_default();
        m.ci_shas = shas[i].unwrap_or(0) as u64;
        m.flaky_rate = ratio(flaky_shas[i], shas[i]);
    }

    let prs = queries
        .read_only_sql_on_one_partition(&context, &fill(PULL_REQUEST_SUMMARY, &values)?)
        .await?;
    let c = Columns::new(&prs.batches);
    let floats = |name: &str| c.float(name);
    let (merged, unreviewed, deployed) = (
        c.int("merged_prs")?,
        c.int("unreviewed_prs")?,
        c.int("deployed_prs")?,
    );
    let (coding, pickup, review, deploy, cycle, cycle_p90, handoffs) = (
        floats("pr_coding_median_hours")?,
        floats("pr_pickup_median_hours")?,
        floats("pr_review_median_hours")?,
        floats("pr_deploy_median_hours")?,
        floats("pr_cycle_time_median_hours")?,
        floats("pr_cycle_time_p90_hours")?,
        floats("handoffs_median")?,
    );
    for (i, key) in c.text("group_key")?.into_iter().enumerate() {
        let m = groups.entry(key).or_default();
        m.merged_prs = merged[i].unwrap_or(0) as u64;
        m.pr_coding_median_hours = coding[i];
        m.pr_pickup_median_hours = pickup[i];
        m.pr_review_median_hours = review[i];
        m.deployed_prs = deployed[i].unwrap_or(0) as u64;
        m.pr_deploy_median_hours = deploy[i];
        m.pr_cycle_time_median_hours = cycle[i];
        m.pr_cycle_time_p90_hours = cycle_p90[i];
        m.unreviewed_merge_share = ratio(unreviewed[i], merged[i]);
        m.handoffs_median = handoffs[i];
    }

    match request.group_by {
        _ if request.repos.is_some() => {
            for m in groups.values_mut() {
                m.people_measures_hidden =
                    Some("people measures are reported per team, not per service".into());
            }
        }
        DevexGroupBy::Repo => {
            for m in groups.values_mut() {
                m.people_measures_hidden =
                    Some("people measures are reported per team, not per repository".into());
            }
        }
        DevexGroupBy::Team => {
            let members = membership(queries, &context, &values).await?;
            let people = queries
                .read_only_sql_on_one_partition(&context, &fill(PEOPLE_SUMMARY, &values)?)
                .await?;
            let c = Columns::new(&people.batches);
            let mut by_team: HashMap<String, usize> = HashMap::new();
            for (i, team) in c.text("group_key")?.into_iter().enumerate() {
                if let Some(team) = team {
                    by_team.insert(team, i);
                }
            }
            let (days, median, p90, repos, high, focus) = (
                c.int("developer_days")?,
                c.float("context_switches_median")?,
                c.float("context_switches_p90")?,
                c.float("repos_touched_median")?,
                c.int("high_switch_days")?,
                c.int("focus_days")?,
            );
            let mut teams: BTreeSet<String> = members.developers.keys().cloned().collect();
            teams.extend(groups.keys().flatten().cloned());
            if let Some(only) = &request.team {
                teams.retain(|t| t == only);
            }
            for team in teams {
                let m = groups.entry(Some(team.clone())).or_default();
                let developers = members.developers.get(&team).copied().unwrap_or(0);
                m.developers = Some(developers);
                if (developers as usize) < request.settings.min_group_size {
                    m.people_measures_hidden = Some(format!(
                        "the team had {developers} developers in the window; people measures need at least {}",
                        request.settings.min_group_size
                    ));
                    continue;
                }
                if let Some(&i) = by_team.get(&team) {
                    m.developer_days = days[i].map(|d| d as u64);
                    m.context_switches_median = median[i];
                    m.context_switches_p90 = p90[i];
                    m.repos_touched_median = repos[i];
                    m.high_context_switch_day_share = ratio(high[i], days[i]);
                    m.focus_day_share = ratio(focus[i], days[i]);
                } else {
                    m.developer_days = Some(0);
                }
                let mut open = members.open_prs.get(&team).cloned().unwrap_or_default();
                open.sort_by(f64::total_cmp);
                m.wip_median = stats::median(&open);
            }
        }
    }

    let groups = groups
        .into_iter()
        .map(|(key, metrics)| DevexGroup {
            key: match request.group_by {
                DevexGroupBy::Team => DevexKey::Team(key),
                DevexGroupBy::Repo => DevexKey::Repo(key),
            },
            metrics,
        })
        .collect();
    let report = DevexReport {
        from: request.from,
        to: request.to,
        tz: request.tz.name().to_string(),
        group_by: request.group_by,
        min_group_size: request.settings.min_group_size,
        groups,
    };
    // About a kilobyte per group: some thirty measures and a key.
    let bytes = (report.groups.len() + 1) * 1024;
    queries.remember(&context, &asked, report.clone(), bytes);
    Ok(report)
}

/// One period of a DevEx series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevexPeriod {
    pub period_start: NaiveDate,
    /// Day after the period's last day in the window.
    pub period_end: NaiveDate,
    pub groups: Vec<DevexGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DevexSeries {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    pub granularity: crate::dora::Granularity,
    pub group_by: DevexGroupBy,
    pub min_group_size: usize,
    pub periods: Vec<DevexPeriod>,
}

/// The DevEx report for every week or month of the window (clipped to it),
/// for trend charts. The rows are materialized once; each period only
/// aggregates.
pub async fn series(
    queries: &LakeQueries,
    request: &DevexRequest,
    granularity: crate::dora::Granularity,
) -> Result<DevexSeries> {
    request.validate()?;
    request.check_filters(queries).await?;
    let mut periods = Vec::new();
    for (_, start, end) in crate::dora::periods(request.from, request.to, granularity) {
        let period = DevexRequest {
            from: start,
            to: end,
            ..request.clone()
        };
        periods.push(DevexPeriod {
            period_start: start,
            period_end: end,
            groups: report(queries, &period).await?.groups,
        });
    }
    Ok(DevexSeries {
        from: request.from,
        to: request.to,
        tz: request.tz.name().to_string(),
        granularity,
        group_by: request.group_by,
        min_group_size: request.settings.min_group_size,
        periods,
    })
}

/// SPACE activity and collaboration of one team.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SpaceMetrics {
    pub developers: u64,
    pub merged_prs: Option<u64>,
    pub merged_prs_per_developer_week: Option<f64>,
    pub reviewing_developers: Option<u64>,
    pub review_participation: Option<f64>,
    /// Reviews submitted on the team's repositories.
    pub reviews: u64,
    pub reviewers: u64,
    pub reviewer_gini: Option<f64>,
    pub cross_team_review_share: Option<f64>,
    pub people_measures_hidden: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpaceGroup {
    pub team: Option<String>,
    #[serde(flatten)]
    pub metrics: SpaceMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SpaceReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    pub min_group_size: usize,
    pub groups: Vec<SpaceGroup>,
}

/// SPACE activity and collaboration per team.
pub async fn space(queries: &LakeQueries, request: &DevexRequest) -> Result<SpaceReport> {
    request.validate()?;
    request.check_filters(queries).await?;
    let context = materialize(queries, request).await?;
    let values = request.values();
    let members = membership(queries, &context, &values).await?;
    let mut groups: BTreeMap<String, SpaceMetrics> = BTreeMap::new();

    let reviews = queries
        .read_only_sql_on(&context, &fill(SPACE_REVIEWS, &values)?)
        .await?;
    let c = Columns::new(&reviews.batches);
    let mut per_reviewer: HashMap<String, Vec<f64>> = HashMap::new();
    let mut cross: HashMap<String, u64> = HashMap::new();
    for ((team, count), cross_team) in c
        .text("team")?
        .into_iter()
        .zip(c.int("reviews")?)
        .zip(c.int("cross_team_reviews")?)
    {
        let Some(team) = team else { continue };
        per_reviewer
            .entry(team.clone())
            .or_default()
            .push(count.unwrap_or(0) as f64);
        *cross.entry(team).or_default() += cross_team.unwrap_or(0) as u64;
    }
    let people = queries
        .read_only_sql_on(&context, &fill(SPACE_PEOPLE, &values)?)
        .await?;
    let c = Columns::new(&people.batches);
    let mut activity: HashMap<String, (u64, u64)> = HashMap::new();
    for ((team, merged), reviewing) in c
        .text("team")?
        .into_iter()
        .zip(c.int("merged_prs")?)
        .zip(c.int("reviewing_developers")?)
    {
        if let Some(team) = team {
            activity.insert(
                team,
                (merged.unwrap_or(0) as u64, reviewing.unwrap_or(0) as u64),
            );
        }
    }

    let mut teams: BTreeSet<String> = members.developers.keys().cloned().collect();
    teams.extend(per_reviewer.keys().cloned());
    if let Some(only) = &request.team {
        teams.retain(|t| t == only);
    }
    let weeks = request.days() as f64 / 7.0;
    for team in teams {
        let m = groups.entry(team.clone()).or_default();
        let developers = members.developers.get(&team).copied().unwrap_or(0);
        m.developers = developers;
        let counts = per_reviewer.get(&team).cloned().unwrap_or_default();
        m.reviews = counts.iter().sum::<f64>() as u64;
        m.reviewers = counts.len() as u64;
        m.cross_team_review_share = (m.reviews > 0)
            .then(|| cross.get(&team).copied().unwrap_or(0) as f64 / m.reviews as f64);
        if (developers as usize) < request.settings.min_group_size {
            m.people_measures_hidden = Some(format!(
                "the team had {developers} developers in the window; people measures need at least {}",
                request.settings.min_group_size
            ));
            continue;
        }
        // A coefficient over fewer reviewers than the group size would say
        // too much about each of them.
        if counts.len() >= request.settings.min_group_size {
            m.reviewer_gini = stats::gini(&counts);
        }
        let (merged, reviewing) = activity.get(&team).copied().unwrap_or((0, 0));
        m.merged_prs = Some(merged);
        m.merged_prs_per_developer_week = Some(merged as f64 / (developers as f64 * weeks));
        m.reviewing_developers = Some(reviewing);
        m.review_participation = Some(reviewing as f64 / developers as f64);
    }
    Ok(SpaceReport {
        from: request.from,
        to: request.to,
        tz: request.tz.name().to_string(),
        min_group_size: request.settings.min_group_size,
        groups: groups
            .into_iter()
            .map(|(team, metrics)| SpaceGroup {
                team: Some(team),
                metrics,
            })
            .collect(),
    })
}

/// A measure two periods can be compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompareMetric {
    CiDuration,
    CiQueue,
    PrCoding,
    PrPickup,
    PrReview,
    PrDeploy,
    PrCycleTime,
    LeadTime,
    ContextSwitches,
}

impl FromStr for CompareMetric {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|_| {
            Error::invalid_parameter(
                "metric",
                format!("`{s}` is not one of ci_duration, ci_queue, pr_coding, pr_pickup, pr_review, pr_deploy, pr_cycle_time, lead_time, context_switches"),
            )
        })
    }
}

impl CompareMetric {
    /// (table, value column, time column, unit, more is...)
    fn source(
        self,
    ) -> (
        &'static str,
        &'static str,
        &'static str,
        &'static str,
        &'static str,
    ) {
        match self {
            CompareMetric::CiDuration => (
                "ci_attempts",
                "duration_minutes",
                "queued_at",
                "minutes",
                "slower",
            ),
            CompareMetric::CiQueue => (
                "ci_attempts",
                "queue_minutes",
                "queued_at",
                "minutes",
                "slower",
            ),
            CompareMetric::PrCoding => (
                "pull_request_phases",
                "coding_hours",
                "merged_at",
                "hours",
                "slower",
            ),
            CompareMetric::PrPickup => (
                "pull_request_phases",
                "pickup_hours",
                "merged_at",
                "hours",
                "slower",
            ),
            CompareMetric::PrReview => (
                "pull_request_phases",
                "review_hours",
                "merged_at",
                "hours",
                "slower",
            ),
            CompareMetric::PrDeploy => (
                "pull_request_phases",
                "deploy_hours",
                "merged_at",
                "hours",
                "slower",
            ),
            CompareMetric::PrCycleTime => (
                "pull_request_phases",
                "cycle_time_hours",
                "merged_at",
                "hours",
                "slower",
            ),
            CompareMetric::LeadTime => (
                "change_lead_times",
                "lead_time_hours",
                "deployed_at",
                "hours",
                "slower",
            ),
            CompareMetric::ContextSwitches => (
                "developer_days",
                "work_items",
                "first_at",
                "work items per developer-day",
                "more",
            ),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodSample {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub n: u64,
    pub median: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub metric: CompareMetric,
    pub unit: String,
    pub team: Option<String>,
    pub a: PeriodSample,
    pub b: PeriodSample,
    /// median(b) - median(a).
    pub difference: Option<f64>,
    /// 95% bootstrap interval of the difference.
    pub difference_interval: Option<[f64; 2]>,
    /// Two-sided Mann-Whitney U test.
    pub p_value: Option<f64>,
    pub significant: bool,
    /// E.g. "slower, and the change is real (p = 0.003)".
    pub verdict: String,
}

/// Compares a measure between period a and period b (each [from, to) in
/// local days), for one team or everything.
#[allow(clippy::too_many_arguments)]
pub async fn compare(
    queries: &LakeQueries,
    metric: CompareMetric,
    team: Option<String>,
    tz: Tz,
    a: (NaiveDate, NaiveDate),
    b: (NaiveDate, NaiveDate),
    settings: DevexSettings,
    dora: DoraSettings,
) -> Result<Comparison> {
    for (name, (from, to)) in [("a", a), ("b", b)] {
        if from >= to {
            return Err(Error::invalid_parameter(
                if name == "a" { "a_from" } else { "b_from" },
                format!(
                    "period {name} is empty: {name}_from ({from}) must be before {name}_to ({to})"
                ),
            ));
        }
    }
    let request = DevexRequest {
        from: a.0.min(b.0),
        to: a.1.max(b.1),
        tz,
        team: team.clone(),
        repo: None,
        repos: None,
        group_by: DevexGroupBy::Team,
        settings,
        dora,
    };
    request.validate()?;
    request.check_filters(queries).await?;
    let context = materialize(queries, &request).await?;
    let (table, column, time, unit, more) = metric.source();
    if let (CompareMetric::ContextSwitches, Some(team)) = (metric, &team) {
        let members = membership(queries, &context, &request.values()).await?;
        let developers = members.developers.get(team).copied().unwrap_or(0) as usize;
        if developers < request.settings.min_group_size {
            return Err(Error::GroupTooSmall {
                team: team.clone(),
                developers,
                minimum: request.settings.min_group_size,
            });
        }
    }
    let mut samples = Vec::new();
    for (from, to) in [a, b] {
        let filter = match &team {
            Some(team) => format!(" AND team = {}", sql_text(team)),
            None => String::new(),
        };
        let sql = format!(
            "SELECT CAST({column} AS DOUBLE) AS value FROM {table} \
             WHERE {time} >= {} AND {time} < {} AND {column} IS NOT NULL{filter}",
            sql_instant(local_midnight(tz, from)),
            sql_instant(local_midnight(tz, to)),
        );
        let result = queries.read_only_sql_on(&context, &sql).await?;
        let mut values: Vec<f64> = Columns::new(&result.batches)
            .float("value")?
            .into_iter()
            .flatten()
            .collect();
        values.sort_by(f64::total_cmp);
        samples.push(((from, to), values));
    }
    let (a_values, b_values) = (&samples[0].1, &samples[1].1);
    let (a_median, b_median) = (stats::median(a_values), stats::median(b_values));
    let difference = a_median.zip(b_median).map(|(x, y)| y - x);
    let test = stats::mann_whitney_u(a_values, b_values);
    let interval = stats::median_difference_interval(a_values, b_values, 2000);
    let p_value = test.map(|t| t.p_value);
    let significant = p_value.is_some_and(|p| p < 0.05);
    let direction = match difference {
        Some(d) if d > 0.0 => more.to_string(),
        Some(d) if d < 0.0 => match more {
            "slower" => "faster".to_string(),
            _ => "fewer".to_string(),
        },
        _ => "unchanged".to_string(),
    };
    let verdict = match p_value {
        None => "not enough data to compare".to_string(),
        Some(p) if significant => format!("{direction}, and the change is real (p = {p:.3})"),
        Some(p) => format!("no significant change (p = {p:.2})"),
    };
    let sample = |((from, to), values): &((NaiveDate, NaiveDate), Vec<f64>)| PeriodSample {
        from: *from,
        to: *to,
        n: values.len() as u64,
        median: stats::median(values),
    };
    Ok(Comparison {
        metric,
        unit: unit.to_string(),
        team,
        a: sample(&samples[0]),
        b: sample(&samples[1]),
        difference,
        difference_interval: interval.map(|(low, high)| [low, high]),
        p_value,
        significant,
        verdict,
    })
}
