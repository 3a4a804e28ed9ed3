//! Feedback loops, context switches and flow per group, and their series;
//! groups below the minimum size are never shown.

use super::*;

/// The DevEx measures of one group.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
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

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DevexGroup {
    #[serde(flatten)]
    pub key: DevexKey,
    #[serde(flatten)]
    pub metrics: DevexMetrics,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DevexReport {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
    pub group_by: DevexGroupBy,
    pub min_group_size: usize,
    pub groups: Vec<DevexGroup>,
}

pub(super) fn ratio(part: Option<i64>, whole: Option<i64>) -> Option<f64> {
    match (part, whole) {
        (Some(p), Some(w)) if w > 0 => Some(p as f64 / w as f64),
        _ => None,
    }
}

/// Developers per team during the window, and open pull requests of those
/// still members at its end.
pub(super) struct Membership {
    pub(super) developers: HashMap<String, u64>,
    pub(super) open_prs: HashMap<String, Vec<f64>>,
}

pub(super) async fn membership(
    queries: &LakeQueries,
    context: &SessionContext,
    values: &[(&str, String)],
) -> Result<Membership> {
    let result = queries
        .metric_sql_on(context, &fill(TEAM_MEMBERS_IN_WINDOW, values)?, false)
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
    report_on(queries, &context, request).await
}

/// The report over one generation's tables.
async fn report_on(
    queries: &LakeQueries,
    context: &SessionContext,
    request: &DevexRequest,
) -> Result<DevexReport> {
    let asked = format!("devex report {request:?}");
    if let Some(report) = queries.remembered::<DevexReport>(context, &asked) {
        return Ok(report);
    }
    request.check_filters(queries).await?;
    let values = request.values();
    let mut groups: BTreeMap<Option<String>, DevexMetrics> = BTreeMap::new();

    // Three queries one after the other rather than one joining them: each
    // holds its own percentile states, so the peak is the largest, not the sum.
    let ci = queries
        .metric_sql_on(context, &fill(CI_SUMMARY, &values)?, true)
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
        .metric_sql_on(context, &fill(CI_FLAKY_SUMMARY, &values)?, true)
        .await?;
    let c = Columns::new(&flaky.batches);
    let (shas, flaky_shas) = (c.int("ci_shas")?, c.int("flaky_shas")?);
    for (i, key) in c.text("group_key")?.into_iter().enumerate() {
        let m = groups.entry(key).or_default();
        m.ci_shas = shas[i].unwrap_or(0) as u64;
        m.flaky_rate = ratio(flaky_shas[i], shas[i]);
    }

    let prs = queries
        .metric_sql_on(context, &fill(PULL_REQUEST_SUMMARY, &values)?, true)
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
        _ if request.service.is_some() => {
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
            let members = membership(queries, context, &values).await?;
            let people = queries
                .metric_sql_on(context, &fill(PEOPLE_SUMMARY, &values)?, true)
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
        data_as_of: crate::freshness::of_answer(queries, context, &crate::derive::DEVEX_INPUTS)
            .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        group_by: request.group_by,
        min_group_size: request.settings.min_group_size,
        groups,
    };
    // About a kilobyte per group: some thirty measures and a key.
    let bytes = (report.groups.len() + 1) * 1024;
    queries.remember(context, &asked, report.clone(), bytes);
    Ok(report)
}

/// One period of a DevEx series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DevexPeriod {
    pub period_start: NaiveDate,
    /// Day after the period's last day in the window.
    pub period_end: NaiveDate,
    /// Cut by the window or still running (fewer days than a period).
    pub partial: bool,
    pub groups: Vec<DevexGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct DevexSeries {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub tz: String,
    /// The newest event the answer's input tables hold (each table's own
    /// event time: a deployment's start, a commit's author date, ...), in
    /// UTC; null when they hold none.
    pub data_as_of: Option<chrono::DateTime<chrono::Utc>>,
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
    // One generation for every period, even when a newer one is published
    // meanwhile.
    let context = materialize(queries, request).await?;
    let mut periods = Vec::new();
    let today = chrono::Utc::now().with_timezone(&request.tz).date_naive();
    for window in crate::dora::periods(request.from, request.to, granularity, today) {
        let period = DevexRequest {
            from: window.from,
            to: window.to,
            ..request.clone()
        };
        periods.push(DevexPeriod {
            period_start: window.from,
            period_end: window.to,
            partial: window.partial,
            groups: report_on(queries, &context, &period).await?.groups,
        });
    }
    Ok(DevexSeries {
        from: request.from,
        data_as_of: crate::freshness::of_answer(queries, &context, &crate::derive::DEVEX_INPUTS)
            .await?,
        to: request.to,
        tz: request.tz.name().to_string(),
        granularity,
        group_by: request.group_by,
        min_group_size: request.settings.min_group_size,
        periods,
    })
}
