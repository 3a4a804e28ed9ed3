//! The demo organisation: a seeded, reproducible synthetic company.
//!
//! At scale 1: 8 teams in two groups, 40 services (one repository each, but
//! for three of the first team's, which share a monorepo), 300 founding
//! developers and six new hires a month over `months` of history ending at
//! `end`. Each team follows a
//! performance profile (elite, high, medium, low) that drives how often it
//! deploys, how long reviews wait, how flaky its CI is and how often its
//! deployments fail, so the DORA levels differ between teams the way a real
//! organisation's do. Work follows a weekday, working-hour rhythm in each
//! team's own time zone.
//!
//! Everything is drawn from ChaCha random streams seeded from the seed and a
//! stream name (team, repository), so the same seed and end date give the same
//! rows, and the lake writer names files after their content: the same lake.

mod ai;
mod costs;
mod deployments;
mod draw;
mod org;
mod output;
mod people;
mod profiles;
mod pull_requests;
mod simulation;
mod surveys;

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use crate::progress::{Progress, ProgressEvent};
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Weekday};
use chrono_tz::Tz;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use crate::error::Result;
use crate::lake::{AppendSummary, Lake};
use crate::rows::{TableBuilder, Value};
use crate::schema::{self, TableSpec, TABLES};
use costs::*;
use draw::*;
use org::*;
use output::*;
use people::*;
pub use profiles::SURVEY_LIKERT_QUESTIONS;
use profiles::*;
use pull_requests::*;
use simulation::*;
use surveys::*;

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const ORG: &str = "acme";
/// Bytes of rows the generator holds before it writes the largest tables
/// out: about a third of its peak memory (a table being written is also
/// partitioned, sorted and encoded).
const HELD_BYTES: usize = 160 << 20;

/// What to generate.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    pub seed: u64,
    /// Multiplies the organisation (teams, services, developers).
    pub scale: f64,
    /// First day after the history (exclusive end, UTC midnight).
    pub end: NaiveDate,
    pub months: u32,
}

impl DemoOptions {
    /// History ending today.
    pub fn ending_today(seed: u64, scale: f64) -> DemoOptions {
        DemoOptions {
            seed,
            scale,
            end: chrono::Utc::now().date_naive(),
            months: 12,
        }
    }
}

/// Generates the demo organisation into the lake.
pub async fn generate(
    lake: &Lake,
    options: &DemoOptions,
    progress: &dyn Progress,
) -> Result<Vec<(&'static str, AppendSummary)>> {
    let org = Org::plan(options);
    let mut out = Output::new();
    catalog(&org, &mut out)?;
    let total = Some(org.teams.len() as u64 + 1);
    let advanced = |done: u64, unit: &str| {
        progress.event(ProgressEvent::Advanced {
            scope: "demo",
            resource: "teams",
            done,
            total,
            unit,
        })
    };
    advanced(0, "planning pull requests");

    // A team's pull requests mostly change its own services, sometimes
    // another team's. Those for other teams' services (a few percent) are
    // drawn first and held; a team's own are drawn again from the same random
    // stream just before its repositories are simulated, so the generator
    // never holds the whole organisation's pull requests.
    let mut elsewhere: Vec<Vec<(usize, PullRequestPlan)>> =
        (0..org.services.len()).map(|_| Vec::new()).collect();
    let team_ai: Vec<ai::TeamAi> = (0..org.teams.len())
        .map(|t| ai::TeamAi::plan(&org, t, options.seed))
        .collect();
    for (t, team) in org.teams.iter().enumerate() {
        let mut rng = stream(options.seed, &format!("prs/{t}"));
        let mut ai_rng = stream(options.seed, &format!("ai-prs/{t}"));
        plan_pull_requests(
            &org,
            team,
            &mut rng,
            &team_ai[t],
            &mut ai_rng,
            &mut |service, plan| {
                if org.services[service].1 != t {
                    elsewhere[service].push((t, plan));
                }
            },
        );
    }
    let mut summaries: Vec<(&'static str, AppendSummary)> = TABLES
        .iter()
        .map(|t| (t.name, AppendSummary::default()))
        .collect();
    for (t, team) in org.teams.iter().enumerate() {
        advanced(t as u64, &format!("team {}", team.name));
        let mut own: HashMap<usize, Vec<PullRequestPlan>> = HashMap::new();
        let mut rng = stream(options.seed, &format!("prs/{t}"));
        let mut ai_rng = stream(options.seed, &format!("ai-prs/{t}"));
        plan_pull_requests(
            &org,
            team,
            &mut rng,
            &team_ai[t],
            &mut ai_rng,
            &mut |service, plan| {
                if org.services[service].1 == t {
                    own.entry(service).or_default().push(plan);
                }
            },
        );
        for &s in &team.services {
            // The monorepo's services share one history, simulated with its first.
            let services = if org.monorepo.1.first() == Some(&s) {
                org.monorepo.1.clone()
            } else if org.monorepo.1.contains(&s) {
                Vec::new()
            } else {
                vec![s]
            };
            let mut plans = Vec::new();
            for (part, &service) in services.iter().enumerate() {
                // In team order, as if every team had been planned at once.
                let (before, after): (Vec<_>, Vec<_>) = std::mem::take(&mut elsewhere[service])
                    .into_iter()
                    .partition(|(from, _)| *from < t);
                let in_order = before
                    .into_iter()
                    .map(|(_, plan)| plan)
                    .chain(own.remove(&service).unwrap_or_default())
                    .chain(after.into_iter().map(|(_, plan)| plan));
                plans.extend(in_order.map(|mut plan| {
                    plan.part = part;
                    plan
                }));
            }
            if !services.is_empty() {
                let mut rng = stream(options.seed, &format!("repo/{s}"));
                RepoSimulation::new(&org, services, &mut rng, &mut out).run(plans)?;
            }
            costs(
                &org,
                s,
                &mut stream(options.seed, &format!("costs/{s}")),
                &mut out,
            )?;
            out.flush_over_budget(lake, &mut summaries).await?;
        }
        let mut rng = stream(options.seed, &format!("people/{t}"));
        issue_work_and_platform_usage(&org, t, &mut rng, &mut out)?;
        ai::ai_usage(
            &org,
            t,
            &team_ai[t],
            &mut stream(options.seed, &format!("ai-usage/{t}")),
            &mut out,
        )?;
        out.flush_over_budget(lake, &mut summaries).await?;
    }
    org_costs(&org, &mut stream(options.seed, "costs/org"), &mut out)?;
    advanced(org.teams.len() as u64, "survey waves");
    survey_waves(&org, &mut stream(options.seed, "surveys"), &mut out)?;
    out.flush_all(lake, &mut summaries).await?;
    advanced(org.teams.len() as u64 + 1, "done");
    Ok(summaries)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> DemoOptions {
        DemoOptions {
            seed: 7,
            scale: 0.25,
            end: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            months: 6,
        }
    }

    #[test]
    fn local_time_follows_dst() {
        let berlin = chrono_tz::Europe::Berlin;
        let winter = local_time(berlin, NaiveDate::from_ymd_opt(2026, 1, 10).unwrap(), 14.0);
        let summer = local_time(berlin, NaiveDate::from_ymd_opt(2026, 7, 10).unwrap(), 14.0);
        assert_eq!(winter % DAY, 13 * HOUR);
        assert_eq!(summer % DAY, 12 * HOUR);
        // 02:30 does not exist on 2026-03-29 in Berlin: it moves to 03:30 CEST.
        let gap = local_time(berlin, NaiveDate::from_ymd_opt(2026, 3, 29).unwrap(), 2.5);
        assert_eq!(gap % DAY, HOUR + 30 * MINUTE);
    }

    #[test]
    fn work_outside_hours_moves_to_the_next_working_morning() {
        let berlin = chrono_tz::Europe::Berlin;
        let at = |s: &str| {
            chrono::DateTime::parse_from_rfc3339(s)
                .unwrap()
                .timestamp_micros()
        };
        // Friday 20:15 CET -> Monday 09:15 CET.
        assert_eq!(
            working_time(berlin, at("2026-01-09T20:15:00+01:00")),
            at("2026-01-12T09:15:00+01:00")
        );
        // Tuesday 07:40 CEST -> same day 09:40.
        assert_eq!(
            working_time(berlin, at("2026-06-09T07:40:00+02:00")),
            at("2026-06-09T09:40:00+02:00")
        );
        let inside = at("2026-06-09T11:00:00+02:00");
        assert_eq!(working_time(berlin, inside), inside);
    }

    #[tokio::test]
    async fn every_table_gets_rows_and_the_org_has_its_shape() {
        let dir = tempfile::tempdir().unwrap();
        let lake = Lake::create_or_open(dir.path()).unwrap();
        let summaries = generate(&lake, &options(), &crate::progress::NoProgress)
            .await
            .unwrap();
        for (table, summary) in &summaries {
            assert!(summary.rows_written > 0, "{table} is empty");
            assert_eq!(summary.duplicates, 0, "{table} has duplicate event ids");
        }
        let org = Org::plan(&DemoOptions {
            scale: 1.0,
            ..options()
        });
        assert_eq!(org.teams.len(), 8);
        assert_eq!(org.services.len(), 40);
        // 300 founders and six hires in each month after the first.
        assert_eq!(org.developers.len(), 300 + 6 * 5);
        assert_eq!(org.starts.iter().filter(|&&s| s > org.start).count(), 30);
    }
}
