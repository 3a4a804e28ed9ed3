//! The rollout effect: each team's rollout month (from `ai_cohorts.sql`) and
//! a difference-in-differences of its median cycle time, change failure
//! rate and rework rate against the teams not yet rolled out.
//!
//! Rule (devex's AI contract; difference-in-differences as in Angrist and
//! Pischke, "Mostly Harmless Econometrics", ch. 5, and DORA 2025's caution
//! that AI's effects show at the team, not the individual, level):
//! * a team's rollout month R is the first calendar month (UTC) in which at
//!   least half its developers were AI-active;
//! * before: the three months R-3 .. R-1; after: R+1 .. R+3 (the rollout
//!   month itself is mixed and left out);
//! * controls: the other teams whose rollout month is after R+3, or who
//!   have none, pooled, over the same months;
//! * effect = (after - before) of the team minus (after - before) of the
//!   controls, for the median cycle time (merged pull requests, hours), the
//!   change failure rate (counted production deployments) and the rework
//!   rate (merged pull requests reworked within 30 days), each with a 95%
//!   bootstrap interval (2,000 resamples of each of the four samples; past
//!   400 units, the normal interval from each sample's standard error:
//!   Price and Bonett's for medians, linearization for rates);
//! * only rollout months inside the report's window are estimated; a team
//!   smaller than the minimum group size in its rollout month is hidden.
//!   It is an observational estimate: it assumes the team and the controls
//!   would have moved alike without the rollout.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{Datelike, Months, NaiveDate};
use serde::Serialize;

use super::pull_requests::{rows, PullRequestRow};
use super::request::months;
use super::AiRequest;
use crate::columns::Columns;
use crate::error::Result;
use crate::privacy::Hidden;
use crate::stats;
use crate::template::{fill, sql_instant};
use crate::LakeQueries;

const ROLLOUT_DEPLOYMENTS: &str = include_str!("ai_rollout_deployments.sql");
const RESAMPLES: usize = 2000;
/// Months before and after the rollout month.
const SPAN: u32 = 3;

/// A statistic of one of the four samples, and its n.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RolloutSample {
    pub value: Option<f64>,
    pub n: u64,
}

/// One measure's difference-in-differences.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RolloutEffect {
    /// `cycle_time_hours` (median), `change_failure_rate` or `rework_rate`.
    pub metric: String,
    pub team_before: RolloutSample,
    pub team_after: RolloutSample,
    pub control_before: RolloutSample,
    pub control_after: RolloutSample,
    /// (team after - before) - (controls after - before).
    pub estimate: Option<f64>,
    pub interval: Option<[f64; 2]>,
    /// Whether the interval leaves out 0.
    pub significant: bool,
}

/// A team's month: its developers and the share AI-active.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ActiveMonth {
    pub month: NaiveDate,
    pub developers: u64,
    pub ai_active_share: Option<f64>,
}

/// One team's rollout.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct RolloutTeam {
    pub team: String,
    /// The first month with at least half the developers AI-active; null
    /// when none in the months read.
    pub rollout_month: Option<NaiveDate>,
    /// The teams compared with (not yet rolled out over the same months).
    pub controls: Vec<String>,
    pub effects: Vec<RolloutEffect>,
    /// Why there is no estimate, when there is none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// AI-active share per month from the first reported use to the
    /// window's end, for the rollout chart.
    pub months: Vec<ActiveMonth>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden_reason: Option<String>,
}

fn add_months(month: NaiveDate, n: i32) -> NaiveDate {
    let shifted = if n >= 0 {
        month.checked_add_months(Months::new(n as u32))
    } else {
        month.checked_sub_months(Months::new(n.unsigned_abs()))
    };
    shifted.unwrap_or(month)
}

fn month_of_micros(micros: i64) -> Option<NaiveDate> {
    chrono::DateTime::from_timestamp_micros(micros).and_then(|t| t.date_naive().with_day(1))
}

/// Team -> month -> (developers, AI-active): the cohorts of
/// `ai_cohorts.sql`, all but `none` active.
async fn monthly_active(
    queries: &LakeQueries,
    request: &AiRequest,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<BTreeMap<String, BTreeMap<NaiveDate, (u64, u64)>>> {
    let mut out: BTreeMap<String, BTreeMap<NaiveDate, (u64, u64)>> = BTreeMap::new();
    let counts = super::cohorts::cohort_counts(queries, request, from, to).await?;
    for ((team, month), parts) in counts {
        let developers: u64 = parts.values().sum();
        let active = developers - parts.get("none").copied().unwrap_or(0);
        out.entry(team)
            .or_default()
            .insert(month, (developers, active));
    }
    Ok(out)
}

/// (team, month, failed) of counted production deployments.
async fn deployments(
    queries: &LakeQueries,
    request: &AiRequest,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<Vec<(String, NaiveDate, bool)>> {
    let context = crate::dora::derived_context(queries, &request.dora).await?;
    let instant =
        |day: NaiveDate| sql_instant(day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc());
    let values = [("from", instant(from)), ("to", instant(to))];
    let result = queries
        .read_only_sql_on(&context, &fill(ROLLOUT_DEPLOYMENTS, &values)?)
        .await?;
    let c = Columns::new(&result.batches);
    Ok(c.text("team")?
        .into_iter()
        .zip(c.micros("month")?)
        .zip(c.boolean("failed")?)
        .filter_map(|((team, month), failed)| {
            Some((team?, month_of_micros(month?)?, failed.unwrap_or(false)))
        })
        .collect())
}

/// The four samples of one measure, by which team is treated.
struct Cells<T> {
    team_before: Vec<T>,
    team_after: Vec<T>,
    control_before: Vec<T>,
    control_after: Vec<T>,
}

impl<T: Copy> Cells<T> {
    fn new() -> Self {
        Cells {
            team_before: Vec::new(),
            team_after: Vec::new(),
            control_before: Vec::new(),
            control_after: Vec::new(),
        }
    }

    /// Files a unit of `team` in `month`.
    fn file(
        &mut self,
        team: &str,
        month: NaiveDate,
        unit: T,
        treated: &str,
        controls: &BTreeSet<&str>,
        rollout: NaiveDate,
    ) {
        let before = add_months(rollout, -(SPAN as i32)) <= month && month < rollout;
        let after = add_months(rollout, 1) <= month && month <= add_months(rollout, SPAN as i32);
        let cell = match (team == treated, controls.contains(team), before, after) {
            (true, _, true, _) => &mut self.team_before,
            (true, _, _, true) => &mut self.team_after,
            (false, true, true, _) => &mut self.control_before,
            (false, true, _, true) => &mut self.control_after,
            _ => return,
        };
        cell.push(unit);
    }

    fn effect(
        &self,
        metric: &str,
        statistic: fn(&mut [T]) -> Option<f64>,
        standard_error: fn(&mut [T]) -> Option<f64>,
        n: fn(&[T]) -> u64,
    ) -> RolloutEffect {
        let sample = |v: &Vec<T>| RolloutSample {
            value: statistic(&mut v.clone()),
            n: n(v),
        };
        let estimate = stats::difference_in_differences(
            [
                &self.team_before[..],
                &self.team_after,
                &self.control_before,
                &self.control_after,
            ],
            statistic,
            Some(standard_error),
            RESAMPLES,
        );
        RolloutEffect {
            metric: metric.to_string(),
            team_before: sample(&self.team_before),
            team_after: sample(&self.team_after),
            control_before: sample(&self.control_before),
            control_after: sample(&self.control_after),
            estimate: estimate.map(|e| e.0),
            interval: estimate.map(|(_, (low, high))| [low, high]),
            significant: estimate.is_some_and(|(_, (low, high))| low > 0.0 || high < 0.0),
        }
    }
}

fn count_units(units: &[(f64, f64)]) -> u64 {
    units.iter().map(|u| u.1).sum::<f64>() as u64
}

fn count_values(values: &[f64]) -> u64 {
    values.len() as u64
}

/// Every team's rollout and, for rollouts inside the window, its effect.
pub(super) async fn rollout(
    queries: &LakeQueries,
    request: &AiRequest,
) -> Result<Vec<RolloutTeam>> {
    let min = request.min_group_size() as u64;
    let first = add_months(
        request.from.with_day(1).unwrap_or(request.from),
        -(SPAN as i32),
    );
    let end = add_months(
        request.to.with_day(1).unwrap_or(request.to),
        SPAN as i32 + 1,
    );
    // The rollout month is the first month ever with half the team
    // active: read from the first reported use, not just the window's.
    let result = queries
        .read_only_sql("SELECT min(day) AS day FROM ai_usage")
        .await?;
    let first_use = Columns::new(&result.batches)
        .dates("day")?
        .into_iter()
        .flatten()
        .next()
        .and_then(|d| d.with_day(1))
        .map_or(first, |d| d.min(first));
    let active = monthly_active(queries, request, first_use, end).await?;
    let rollouts: BTreeMap<&str, Option<NaiveDate>> = active
        .iter()
        .map(|(team, months)| {
            let month = months
                .iter()
                .find(|(_, (developers, active))| *developers > 0 && 2 * active >= *developers)
                .map(|(month, _)| *month);
            (team.as_str(), month)
        })
        .collect();
    // Pull requests in UTC months, as usage and the rollout month are.
    let utc = AiRequest {
        tz: chrono_tz::UTC,
        ..request.clone()
    };
    let prs: Vec<PullRequestRow> = rows(queries, &utc, first, end).await?;
    let deployments = deployments(queries, request, first, end).await?;
    let first_merge = prs
        .iter()
        .filter_map(|pr| month_of_micros(pr.merged_at))
        .min();
    let window_months: BTreeSet<NaiveDate> = months(request.from, request.to)
        .iter()
        .map(|m| m.0)
        .collect();
    let mut out = Vec::new();
    for (team, months) in &active {
        if request.team.as_ref().is_some_and(|t| t != team) {
            continue;
        }
        let rollout_month = rollouts.get(team.as_str()).copied().flatten();
        let developers_then = rollout_month
            .and_then(|m| months.get(&m))
            .or_else(|| months.values().last())
            .map_or(0, |(developers, _)| *developers);
        let chart = months
            .iter()
            .filter(|(month, _)| **month < request.to)
            .map(|(month, (developers, active))| ActiveMonth {
                month: *month,
                developers: *developers,
                ai_active_share: (*developers >= min).then(|| *active as f64 / *developers as f64),
            })
            .collect();
        let mut entry = RolloutTeam {
            team: team.clone(),
            rollout_month,
            controls: Vec::new(),
            effects: Vec::new(),
            note: None,
            months: chart,
            hidden_reason: None,
        };
        if developers_then < min {
            entry.months = Vec::new();
            entry.rollout_month = None;
            entry.hidden_reason = Some(Hidden::TooFew.reason(min as usize, "developers"));
            out.push(entry);
            continue;
        }
        let Some(rollout) = rollout_month else {
            entry.note = Some("no month with half the team AI-active yet".into());
            out.push(entry);
            continue;
        };
        if !window_months.contains(&rollout) {
            entry.note = Some("the rollout month is outside the report's window".into());
            out.push(entry);
            continue;
        }
        let last_after = add_months(rollout, SPAN as i32);
        let controls: BTreeSet<&str> = rollouts
            .iter()
            .filter(|(other, month)| {
                **other != team.as_str() && month.is_none_or(|m| m > last_after)
            })
            .map(|(other, _)| *other)
            .collect();
        entry.controls = controls.iter().map(|c| c.to_string()).collect();
        let mut cycle = Cells::<f64>::new();
        let mut rework = Cells::<(f64, f64)>::new();
        let mut failures = Cells::<(f64, f64)>::new();
        for pr in &prs {
            let (Some(pr_team), Some(month)) = (pr.team.as_deref(), month_of_micros(pr.merged_at))
            else {
                continue;
            };
            if let Some(hours) = pr.cycle_time_hours {
                cycle.file(pr_team, month, hours, team, &controls, rollout);
            }
            if pr.observed {
                rework.file(
                    pr_team,
                    month,
                    (f64::from(u8::from(pr.reworked)), 1.0),
                    team,
                    &controls,
                    rollout,
                );
            }
        }
        for (deployment_team, month, failed) in &deployments {
            failures.file(
                deployment_team,
                *month,
                (f64::from(u8::from(*failed)), 1.0),
                team,
                &controls,
                rollout,
            );
        }
        entry.effects = vec![
            cycle.effect(
                "cycle_time_hours",
                stats::median_of,
                stats::median_standard_error_of,
                count_values,
            ),
            failures.effect(
                "change_failure_rate",
                stats::ratio_of,
                stats::ratio_standard_error_of,
                count_units,
            ),
            rework.effect(
                "rework_rate",
                stats::ratio_of,
                stats::ratio_standard_error_of,
                count_units,
            ),
        ];
        if controls.is_empty() {
            entry.note =
                Some("no team was still without AI over the same months to compare with".into());
        } else if entry.effects.iter().all(|e| e.estimate.is_none()) {
            entry.note = Some(
                "no estimate: a period (three months before, three after) has no pull requests or deployments yet"
                    .into(),
            );
        } else if first_merge.is_none_or(|m| add_months(rollout, -(SPAN as i32)) < m) {
            entry.note = Some("fewer than three months of data before the rollout".into());
        }
        out.push(entry);
    }
    Ok(out)
}
