//! The demo organisation: a seeded, reproducible synthetic company.
//!
//! At scale 1: 8 teams in two groups, 40 services (one repository each), 300
//! developers and `months` of history ending at `end`. Each team follows a
//! performance profile (elite, high, medium, low) that drives how often it
//! deploys, how long reviews wait, how flaky its CI is and how often its
//! deployments fail, so the DORA levels differ between teams the way a real
//! organisation's do. Work follows a weekday, working-hour rhythm in each
//! team's own time zone.
//!
//! Everything is drawn from ChaCha random streams seeded from the seed and a
//! stream name (team, repository), so the same seed and end date give the same
//! rows, and the lake writer names files after their content: the same lake.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

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

const MINUTE: i64 = 60_000_000;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 24 * HOUR;
const ORG: &str = "acme";
/// Rows a table may hold in memory before the generator writes them out.
const FLUSH_ROWS: usize = 2_000_000;

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

#[derive(Debug, Clone, Copy)]
enum Cadence {
    EveryMerge,
    Daily,
    /// Every other Tuesday: between once a week and once a month (DORA medium).
    Fortnightly,
    /// The first Wednesday of every other month: less than monthly (DORA low).
    Bimonthly,
}

/// How a team works.
#[derive(Debug)]
struct Profile {
    level: &'static str,
    /// Chance a developer opens a pull request on a working day.
    pr_rate: f64,
    coding_hours: f64,
    pickup_hours: f64,
    review_hours: f64,
    cadence: Cadence,
    change_failure: f64,
    recovery_hours: f64,
    flaky_rate: f64,
    ci_minutes: f64,
    merged_without_review: f64,
}

static PROFILES: [Profile; 4] = [
    Profile {
        level: "elite",
        pr_rate: 0.45,
        coding_hours: 6.0,
        pickup_hours: 1.5,
        review_hours: 2.0,
        cadence: Cadence::EveryMerge,
        change_failure: 0.04,
        recovery_hours: 0.6,
        flaky_rate: 0.03,
        ci_minutes: 7.0,
        merged_without_review: 0.02,
    },
    Profile {
        level: "high",
        pr_rate: 0.38,
        coding_hours: 16.0,
        pickup_hours: 5.0,
        review_hours: 6.0,
        cadence: Cadence::Daily,
        change_failure: 0.09,
        recovery_hours: 5.0,
        flaky_rate: 0.06,
        ci_minutes: 12.0,
        merged_without_review: 0.05,
    },
    Profile {
        level: "medium",
        pr_rate: 0.30,
        coding_hours: 40.0,
        pickup_hours: 14.0,
        review_hours: 16.0,
        cadence: Cadence::Fortnightly,
        change_failure: 0.17,
        recovery_hours: 36.0,
        flaky_rate: 0.10,
        ci_minutes: 20.0,
        merged_without_review: 0.08,
    },
    Profile {
        level: "low",
        pr_rate: 0.22,
        coding_hours: 80.0,
        pickup_hours: 30.0,
        review_hours: 30.0,
        cadence: Cadence::Bimonthly,
        change_failure: 0.32,
        recovery_hours: 200.0,
        flaky_rate: 0.16,
        ci_minutes: 32.0,
        merged_without_review: 0.12,
    },
];

const TEAM_NAMES: [&str; 8] = [
    "checkout", "payments", "search", "identity", "platform", "data", "mobile", "growth",
];
/// Profile index of each team in the cycle above: some elite, some low.
const TEAM_PROFILES: [usize; 8] = [0, 1, 2, 3, 1, 0, 2, 3];
const TEAM_SIZES: [usize; 8] = [45, 38, 30, 42, 35, 40, 33, 37];
const SERVICE_KINDS: [&str; 5] = ["api", "web", "worker", "gateway", "jobs"];
const ZONES: [Tz; 2] = [chrono_tz::Europe::Berlin, chrono_tz::America::New_York];
/// Question ids of the demo's DevEx quarterly survey (Likert 1-5).
pub const SURVEY_LIKERT_QUESTIONS: [&str; 10] = [
    "ci_speed_satisfaction",
    "local_validation_time",
    "ease_of_deploying",
    "codebase_complexity",
    "ease_of_debugging",
    "docs_clarity",
    "ability_to_focus",
    "task_goal_clarity",
    "oncall_disruption",
    "perceived_productivity",
];

struct Team {
    name: String,
    group: &'static str,
    profile: &'static Profile,
    zone: Tz,
    /// Indices into `Org::services`.
    services: Vec<usize>,
    /// Indices into `Org::developers` (members for the whole history).
    members: Vec<usize>,
    /// Its platform adoption rises over the year.
    adopting: bool,
}

struct Org {
    teams: Vec<Team>,
    /// (service name, owner team index)
    services: Vec<(String, usize)>,
    developers: Vec<String>,
    start: i64,
    end: i64,
    start_day: NaiveDate,
    end_day: NaiveDate,
}

/// A pull request as planned before its repository's history is simulated.
struct PullRequestPlan {
    author: usize,
    first_commit_at: i64,
    commit_times: Vec<i64>,
    created_at: i64,
    /// (reviewer, state, submitted_at)
    reviews: Vec<(usize, &'static str, i64)>,
    merged_at: Option<i64>,
    closed_at: Option<i64>,
    squash: bool,
    hotfix: bool,
    /// Assigned when the repository receives the plan.
    number: i64,
    title: String,
    additions: i64,
    deletions: i64,
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

    // Plan every team's pull requests, then hand them to the repositories.
    let mut per_repo: Vec<Vec<PullRequestPlan>> =
        (0..org.services.len()).map(|_| Vec::new()).collect();
    for (t, team) in org.teams.iter().enumerate() {
        let mut rng = stream(options.seed, &format!("prs/{t}"));
        plan_pull_requests(&org, team, &mut rng, &mut per_repo);
    }
    let mut summaries: Vec<(&'static str, AppendSummary)> = TABLES
        .iter()
        .map(|t| (t.name, AppendSummary::default()))
        .collect();
    let mut repo_plans = per_repo.into_iter().enumerate().collect::<Vec<_>>();
    for (t, team) in org.teams.iter().enumerate() {
        advanced(t as u64, &format!("team {}", team.name));
        for &s in &team.services {
            let (_, plans) = &mut repo_plans[s];
            let plans = std::mem::take(plans);
            let mut rng = stream(options.seed, &format!("repo/{s}"));
            RepoSimulation::new(&org, s, &mut rng, &mut out).run(plans)?;
            costs(
                &org,
                s,
                &mut stream(options.seed, &format!("costs/{s}")),
                &mut out,
            )?;
        }
        let mut rng = stream(options.seed, &format!("people/{t}"));
        issue_work_and_platform_usage(&org, t, &mut rng, &mut out)?;
        out.flush_large(lake, &mut summaries).await?;
    }
    advanced(org.teams.len() as u64, "survey waves");
    survey_waves(&org, &mut stream(options.seed, "surveys"), &mut out)?;
    out.flush_all(lake, &mut summaries).await?;
    advanced(org.teams.len() as u64 + 1, "done");
    Ok(summaries)
}

fn stream(seed: u64, name: &str) -> ChaCha8Rng {
    let digest = Sha256::digest(format!("{seed}/{name}").as_bytes());
    let mut bytes = [0u8; 32];
    bytes.copy_from_slice(&digest);
    ChaCha8Rng::from_seed(bytes)
}

fn sha(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{:016x}{:016x}{:08x}",
        rng.gen::<u64>(),
        rng.gen::<u64>(),
        rng.gen::<u32>()
    )
}

fn exponential(rng: &mut ChaCha8Rng, mean: f64) -> f64 {
    -mean * (1.0 - rng.gen::<f64>()).ln()
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    let u1: f64 = 1.0 - rng.gen::<f64>();
    let u2: f64 = rng.gen();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn lognormal(rng: &mut ChaCha8Rng, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

fn hours(h: f64) -> i64 {
    (h * HOUR as f64) as i64
}

fn day_start(day: NaiveDate) -> i64 {
    day.and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_micros())
}

/// A local wall-clock time on `day` in `zone`, as UTC micros. Times in a DST
/// gap move an hour later.
fn local_time(zone: Tz, day: NaiveDate, hour: f64) -> i64 {
    let seconds = (hour.clamp(0.0, 23.99) * 3600.0) as u32;
    let Some(naive) = day.and_hms_opt(seconds / 3600, (seconds / 60) % 60, seconds % 60) else {
        return day_start(day);
    };
    zone.from_local_datetime(&naive)
        .earliest()
        .or_else(|| {
            zone.from_local_datetime(&(naive + Duration::hours(1)))
                .earliest()
        })
        .map_or(day_start(day), |t| t.timestamp_micros())
}

/// Moves a time outside working hours (09:00-19:00 local, Monday to Friday)
/// to the start of the next working day, keeping its minutes past the hour as
/// jitter so that work does not pile up on the stroke of nine.
fn working_time(zone: Tz, at: i64) -> i64 {
    let Some(local) = chrono::DateTime::from_timestamp_micros(at).map(|t| t.with_timezone(&zone))
    else {
        return at;
    };
    let (day, hour) = (local.date_naive(), chrono::Timelike::hour(&local));
    if !is_weekend(day) && (9..19).contains(&hour) {
        return at;
    }
    let mut next = if hour >= 19 {
        day.succ_opt().unwrap_or(day)
    } else {
        day
    };
    while is_weekend(next) {
        next = next.succ_opt().unwrap_or(next);
    }
    let seconds =
        f64::from(chrono::Timelike::minute(&local) * 60 + chrono::Timelike::second(&local));
    local_time(zone, next, 9.0 + seconds / 3600.0).max(at)
}

/// A working hour, peaking mid-day.
fn working_hour(rng: &mut ChaCha8Rng) -> f64 {
    9.0 + 9.0 * (rng.gen::<f64>() + rng.gen::<f64>()) / 2.0
}

fn is_weekend(day: NaiveDate) -> bool {
    matches!(day.weekday(), Weekday::Sat | Weekday::Sun)
}

fn days(from: NaiveDate, to: NaiveDate) -> impl Iterator<Item = NaiveDate> {
    from.iter_days().take_while(move |d| *d < to)
}

impl Org {
    fn plan(options: &DemoOptions) -> Org {
        let team_count = ((8.0 * options.scale).round() as usize).max(2);
        let mut rng = stream(options.seed, "org");
        let mut teams = Vec::with_capacity(team_count);
        let mut services = Vec::new();
        let mut developers = Vec::new();
        for t in 0..team_count {
            let base = TEAM_NAMES[t % TEAM_NAMES.len()];
            let name = if t < TEAM_NAMES.len() {
                base.to_string()
            } else {
                format!("{base}-{}", t / TEAM_NAMES.len() + 1)
            };
            let service_ids = (0..SERVICE_KINDS.len())
                .map(|k| {
                    services.push((format!("{name}-{}", SERVICE_KINDS[k]), t));
                    services.len() - 1
                })
                .collect();
            let members = (0..TEAM_SIZES[t % TEAM_SIZES.len()])
                .map(|_| {
                    developers.push(format!("dev_{:016x}", rng.gen::<u64>()));
                    developers.len() - 1
                })
                .collect();
            teams.push(Team {
                name,
                group: if t % 2 == 0 { "product" } else { "engineering" },
                profile: &PROFILES[TEAM_PROFILES[t % TEAM_PROFILES.len()]],
                zone: ZONES[t % ZONES.len()],
                services: service_ids,
                members,
                adopting: t % 3 != 2,
            });
        }
        let start_day = options
            .end
            .checked_sub_months(chrono::Months::new(options.months))
            .unwrap_or(options.end);
        Org {
            teams,
            services,
            developers,
            start: day_start(start_day),
            end: day_start(options.end),
            start_day,
            end_day: options.end,
        }
    }

    fn repo(&self, service: usize) -> String {
        format!("{ORG}/{}", self.services[service].0)
    }
}

/// Builders of every table, written out when they grow large.
struct Output {
    builders: Vec<TableBuilder>,
    /// Numbers work-activity events, which have no natural key of their own.
    activity_sequence: u64,
}

impl Output {
    fn new() -> Output {
        Output {
            builders: TABLES.iter().map(|t| TableBuilder::new(t)).collect(),
            activity_sequence: 0,
        }
    }

    fn push(&mut self, table: &'static TableSpec, values: Vec<Value>) -> Result<()> {
        let index = TABLES
            .iter()
            .position(|t| t.name == table.name)
            .unwrap_or(0);
        self.builders[index].push(values)
    }

    async fn flush_large(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
    ) -> Result<()> {
        self.flush(lake, summaries, FLUSH_ROWS).await
    }

    async fn flush_all(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
    ) -> Result<()> {
        self.flush(lake, summaries, 1).await
    }

    async fn flush(
        &mut self,
        lake: &Lake,
        summaries: &mut [(&'static str, AppendSummary)],
        at_least: usize,
    ) -> Result<()> {
        for (i, builder) in self.builders.iter_mut().enumerate() {
            if builder.len() >= at_least {
                let batch = builder.finish()?;
                let summary = lake.append(builder.spec(), &batch).await?;
                summaries[i].1.add(&summary);
            }
        }
        Ok(())
    }
}

fn catalog(org: &Org, out: &mut Output) -> Result<()> {
    for group in ["product", "engineering"] {
        out.push(
            &schema::TEAMS,
            vec![
                Value::text(format!("demo:team:{group}")),
                Value::text(group),
                Value::Null,
                Value::Null,
            ],
        )?;
    }
    for team in &org.teams {
        out.push(
            &schema::TEAMS,
            vec![
                Value::text(format!("demo:team:{}", team.name)),
                Value::text(&team.name),
                Value::text(team.group),
                Value::Integer(team.members.len() as i64),
            ],
        )?;
        for &member in &team.members {
            out.push(
                &schema::TEAM_MEMBERS,
                vec![
                    Value::text(format!(
                        "demo:team_member:{}:{}",
                        team.name, org.developers[member]
                    )),
                    Value::text(&org.developers[member]),
                    Value::text(&team.name),
                    Value::Timestamp(org.start),
                    Value::Null,
                ],
            )?;
        }
    }
    // Some developers also belong to a second team (embedded platform
    // engineers): they count in both.
    for (t, team) in org.teams.iter().enumerate() {
        let other = &org.teams[(t + 1) % org.teams.len()];
        for &member in team.members.iter().step_by(15) {
            out.push(
                &schema::TEAM_MEMBERS,
                vec![
                    Value::text(format!(
                        "demo:team_member:{}:{}",
                        other.name, org.developers[member]
                    )),
                    Value::text(&org.developers[member]),
                    Value::text(&other.name),
                    Value::Timestamp(org.start + 90 * DAY),
                    Value::Timestamp(org.start + 200 * DAY),
                ],
            )?;
        }
    }
    for (s, (service, owner)) in org.services.iter().enumerate() {
        let team = &org.teams[*owner];
        out.push(
            &schema::SERVICES,
            vec![
                Value::text(format!("demo:service:{service}")),
                Value::text(service),
                Value::text(&team.name),
                Value::text(format!("{}-system", team.group)),
                Value::TextList(vec![org.repo(s)]),
            ],
        )?;
    }
    Ok(())
}

fn plan_pull_requests(
    org: &Org,
    team: &Team,
    rng: &mut ChaCha8Rng,
    per_repo: &mut [Vec<PullRequestPlan>],
) {
    let profile = team.profile;
    for day in days(org.start_day, org.end_day) {
        let weekend = is_weekend(day);
        for &author in &team.members {
            let rate = if weekend {
                profile.pr_rate * 0.03
            } else {
                profile.pr_rate
            };
            if rng.gen::<f64>() >= rate {
                continue;
            }
            // Mostly the team's own services; sometimes another team's.
            let service = if rng.gen::<f64>() < 0.05 {
                rng.gen_range(0..org.services.len())
            } else {
                team.services[rng.gen_range(0..team.services.len())]
            };
            let owner = &org.teams[org.services[service].1];
            let first_commit_at = local_time(team.zone, day, working_hour(rng));
            let plan = plan_one(org, rng, owner, author, first_commit_at, profile, false);
            per_repo[service].push(plan);
        }
    }
}

#[allow(clippy::too_many_arguments)]
fn plan_one(
    org: &Org,
    rng: &mut ChaCha8Rng,
    owner: &Team,
    author: usize,
    first_commit_at: i64,
    profile: &Profile,
    hotfix: bool,
) -> PullRequestPlan {
    let scale = if hotfix { 0.1 } else { 1.0 };
    // Regular work happens in working hours; hotfixes happen when they must.
    let work = |at: i64| {
        if hotfix {
            at
        } else {
            working_time(owner.zone, at)
        }
    };
    let commits = if hotfix { 1 } else { rng.gen_range(1..=6) };
    let coding = hours(exponential(rng, profile.coding_hours * scale));
    let mut commit_times: Vec<i64> = (0..commits)
        .map(|i| work(first_commit_at + coding * i / commits.max(1)))
        .collect();
    commit_times.sort_unstable();
    let created_at = work(
        commit_times.last().copied().unwrap_or(first_commit_at) + rng.gen_range(2..30) * MINUTE,
    );
    let mut reviews = Vec::new();
    let mut at = created_at;
    let reviewers: Vec<usize> = owner
        .members
        .iter()
        .copied()
        .filter(|&m| m != author)
        .collect();
    let unreviewed = rng.gen::<f64>() < profile.merged_without_review;
    if !unreviewed && !reviewers.is_empty() {
        let reviewer = reviewers[rng.gen_range(0..reviewers.len())];
        at = work(at + hours(exponential(rng, profile.pickup_hours * scale)) + MINUTE);
        let roll = rng.gen::<f64>();
        if roll < 0.25 && !hotfix {
            reviews.push((reviewer, "changes_requested", at));
            let fix = work(at + hours(exponential(rng, profile.review_hours / 2.0)));
            commit_times.push(fix);
            at = work(fix + hours(exponential(rng, profile.review_hours / 2.0)) + MINUTE);
            reviews.push((reviewer, "approved", at));
        } else if roll < 0.35 && !hotfix {
            reviews.push((reviewer, "commented", at));
            at = work(at + hours(exponential(rng, profile.review_hours / 2.0)) + MINUTE);
            reviews.push((reviewer, "approved", at));
        } else {
            reviews.push((reviewer, "approved", at));
        }
    }
    let decided_at =
        work(at + hours(exponential(rng, profile.review_hours * scale / 3.0)) + MINUTE);
    let (merged_at, closed_at) = if decided_at >= org.end {
        (None, None) // still open at the end of the history
    } else if !hotfix && rng.gen::<f64>() < 0.08 {
        (None, Some(decided_at))
    } else {
        (Some(decided_at), Some(decided_at))
    };
    let title = if hotfix {
        format!(
            "hotfix: {}",
            [
                "restore timeout",
                "fix null handling",
                "revert cache change",
                "guard empty payload"
            ][rng.gen_range(0..4)]
        )
    } else {
        format!(
            "{} {}",
            ["Add", "Fix", "Refactor", "Improve", "Remove"][rng.gen_range(0..5)],
            [
                "retry logic",
                "pagination",
                "metrics",
                "validation",
                "caching",
                "logging",
                "error handling"
            ][rng.gen_range(0..7)]
        )
    };
    PullRequestPlan {
        author,
        first_commit_at,
        commit_times,
        created_at,
        reviews,
        merged_at,
        closed_at,
        squash: rng.gen::<f64>() < 0.6,
        hotfix,
        number: 0,
        title,
        additions: lognormal(rng, 60.0, 1.2).round() as i64 + 1,
        deletions: lognormal(rng, 20.0, 1.2).round() as i64,
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Event {
    /// Merge the planned pull request with this index.
    Merge(usize),
    /// A deployment on the cadence's schedule (or after a merge for `EveryMerge`).
    Deploy { emergency: bool },
    /// Roll production back to this sha.
    Rollback(String),
    /// Next tick of the deployment schedule.
    Tick,
}

/// Replays one repository's history in time order: merges build the main
/// branch, deployments follow the team's cadence, failures bring incidents,
/// rollbacks and hotfixes.
struct RepoSimulation<'a> {
    org: &'a Org,
    service: usize,
    team: &'a Team,
    repo: String,
    rng: &'a mut ChaCha8Rng,
    out: &'a mut Output,
    /// Main branch heads in time order: (since, sha).
    main: Vec<(i64, String)>,
    /// Production shas in the order they ran.
    production: Vec<String>,
    plans: Vec<PullRequestPlan>,
    queue: BinaryHeap<Reverse<(i64, u64, Event)>>,
    sequence: u64,
    deployments: u64,
    incidents: u64,
    ci_runs: u64,
    pushes: u64,
    next_number: i64,
}

impl<'a> RepoSimulation<'a> {
    fn new(org: &'a Org, service: usize, rng: &'a mut ChaCha8Rng, out: &'a mut Output) -> Self {
        let team = &org.teams[org.services[service].1];
        RepoSimulation {
            org,
            service,
            team,
            repo: org.repo(service),
            rng,
            out,
            main: Vec::new(),
            production: Vec::new(),
            plans: Vec::new(),
            queue: BinaryHeap::new(),
            sequence: 0,
            deployments: 0,
            incidents: 0,
            ci_runs: 0,
            pushes: 0,
            next_number: 1,
        }
    }

    fn schedule(&mut self, at: i64, event: Event) {
        if at < self.org.end {
            self.sequence += 1;
            self.queue.push(Reverse((at, self.sequence, event)));
        }
    }

    fn head_at(&self, at: i64) -> Option<&str> {
        let index = self.main.partition_point(|(since, _)| *since <= at);
        index.checked_sub(1).map(|i| self.main[i].1.as_str())
    }

    fn service_name(&self) -> &str {
        &self.org.services[self.service].0
    }

    fn run(mut self, mut plans: Vec<PullRequestPlan>) -> Result<()> {
        self.initial_history()?;
        plans.sort_by_key(|p| p.created_at);
        for plan in plans {
            self.add_pull_request(plan)?;
        }
        let first_tick = self.next_tick(self.org.start);
        if let Some(at) = first_tick {
            self.schedule(at, Event::Tick);
        }
        self.random_incidents()?;
        while let Some(Reverse((at, _, event))) = self.queue.pop() {
            match event {
                Event::Merge(index) => self.merge(index, at)?,
                Event::Tick => {
                    self.schedule(at, Event::Deploy { emergency: false });
                    if let Some(next) = self.next_tick(at + HOUR) {
                        self.schedule(next, Event::Tick);
                    }
                }
                Event::Deploy { emergency } => self.deploy(at, emergency)?,
                Event::Rollback(to) => {
                    self.production_deployment(at, &to, false)?;
                }
            }
        }
        Ok(())
    }

    /// The repository's history before the window: a year-old root and some
    /// commits, which the first (baseline) deployment must not count.
    fn initial_history(&mut self) -> Result<()> {
        let mut at = self.org.start - 330 * DAY;
        let author = self.team.members[0];
        let mut parent: Option<String> = None;
        for i in 0..12 {
            let sha = sha(self.rng);
            let message = if i == 0 {
                "Initial commit".to_string()
            } else {
                format!("Early work {i}")
            };
            self.commit(&sha, parent.iter().cloned().collect(), author, at, &message)?;
            parent = Some(sha);
            at += 25 * DAY;
        }
        if let Some(sha) = parent {
            self.main.push((self.org.start - DAY, sha));
        }
        Ok(())
    }

    fn next_tick(&self, after: i64) -> Option<i64> {
        let zone = self.team.zone;
        let mut day = chrono::DateTime::from_timestamp_micros(after)?
            .with_timezone(&zone)
            .date_naive();
        loop {
            let fits = match self.team.profile.cadence {
                Cadence::EveryMerge => return None,
                Cadence::Daily => !is_weekend(day),
                Cadence::Fortnightly => {
                    day.weekday() == Weekday::Tue && day.iso_week().week() % 2 == 0
                }
                Cadence::Bimonthly => {
                    day.weekday() == Weekday::Wed && day.day() <= 7 && day.month() % 2 == 1
                }
            };
            if fits {
                let at = local_time(zone, day, 14.0);
                if at >= after {
                    return (at < self.org.end).then_some(at);
                }
            }
            day = day.succ_opt()?;
        }
    }

    fn add_pull_request(&mut self, mut plan: PullRequestPlan) -> Result<()> {
        let index = self.plans.len();
        plan.number = self.next_number;
        self.next_number += 1;
        let merged_at = plan.merged_at;
        self.plans.push(plan);
        match merged_at {
            Some(at) => self.schedule(at, Event::Merge(index)),
            None => {
                // Closed or still open: its branch exists but never reaches main.
                self.branch(index)?;
                self.pull_request_row(index, None)?;
            }
        }
        Ok(())
    }

    /// Commits a pull request's branch, then its merge (or squash) commit to main.
    fn merge(&mut self, index: usize, at: i64) -> Result<()> {
        let branch_head = self.branch(index)?;
        let before = self.head_at(at).map(str::to_string);
        let merge_sha = sha(self.rng);
        let plan = &self.plans[index];
        let (author, hotfix, number) = (plan.author, plan.hotfix, plan.number);
        let (parents, message) = if plan.squash {
            (
                before.iter().cloned().collect(),
                format!("{} (#{number})", plan.title),
            )
        } else {
            let mut parents: Vec<String> = before.iter().cloned().collect();
            parents.push(branch_head);
            (
                parents,
                format!("Merge pull request #{number} from {ORG}/pr-{number}"),
            )
        };
        self.commit(&merge_sha, parents, author, at, &message)?;
        self.main.push((at, merge_sha.clone()));
        self.push(
            "refs/heads/main",
            before.as_deref(),
            &merge_sha,
            vec![merge_sha.clone()],
            at,
            author,
        )?;
        self.ci_run("ci", &merge_sha, "main", "push", at + MINUTE)?;
        self.pull_request_row(index, Some(&merge_sha))?;
        if matches!(self.team.profile.cadence, Cadence::EveryMerge) || hotfix {
            let delay = self.rng.gen_range(20..50) * MINUTE;
            self.schedule(at + delay, Event::Deploy { emergency: hotfix });
        }
        Ok(())
    }

    /// The branch's commits, pushes, CI runs, reviews and the work activity
    /// around them. Returns the branch head.
    fn branch(&mut self, index: usize) -> Result<String> {
        let plan = &self.plans[index];
        let (author, number, created_at) = (plan.author, plan.number, plan.created_at);
        let commit_times = plan.commit_times.clone();
        let reviews = plan.reviews.clone();
        let decided_at = plan.closed_at.unwrap_or(self.org.end);
        let title = plan.title.clone();
        let item = format!("{}#{number}", self.repo);
        let branch_ref = format!("refs/heads/pr-{number}");
        let mut parent = self.head_at(plan.first_commit_at).map(str::to_string);
        let mut before: Option<String> = None;
        for (i, &at) in commit_times.iter().enumerate() {
            if at >= self.org.end {
                break;
            }
            let sha = sha(self.rng);
            let message = if i == 0 {
                title.clone()
            } else {
                ["Address review", "Fix tests", "Tidy up", "Handle edge case"][i % 4].to_string()
            };
            self.commit(&sha, parent.iter().cloned().collect(), author, at, &message)?;
            self.activity(author, at, "commit", &item)?;
            let pushed_at = at + self.rng.gen_range(1..20) * MINUTE;
            self.push(
                &branch_ref,
                before.as_deref(),
                &sha,
                vec![sha.clone()],
                pushed_at,
                author,
            )?;
            self.ci_run(
                "ci",
                &sha,
                &format!("pr-{number}"),
                "pull_request",
                pushed_at + MINUTE / 2,
            )?;
            parent = Some(sha.clone());
            before = Some(sha);
        }
        if created_at < self.org.end {
            self.activity(author, created_at, "pr", &item)?;
        }
        for (reviewer, state, at) in reviews {
            if at >= self.org.end {
                continue;
            }
            self.out.push(
                &schema::REVIEWS,
                vec![
                    Value::text(format!("demo:review:{}:{number}:{state}:{at}", self.repo)),
                    Value::text(&self.repo),
                    Value::Integer(number),
                    Value::text(&self.org.developers[reviewer]),
                    Value::text(state),
                    Value::Timestamp(at),
                ],
            )?;
            self.activity(reviewer, at, "review", &item)?;
            if self.rng.gen::<f64>() < 0.6 {
                let reply = at + self.rng.gen_range(5..90) * MINUTE;
                if reply < decided_at.min(self.org.end) {
                    self.activity(author, reply, "comment", &item)?;
                }
            }
        }
        Ok(parent.unwrap_or_default())
    }

    fn pull_request_row(&mut self, index: usize, merge_sha: Option<&str>) -> Result<()> {
        let plan = &self.plans[index];
        if plan.created_at >= self.org.end {
            return Ok(());
        }
        let visible = |at: i64| (at < self.org.end).then_some(at);
        let first_review = plan.reviews.first().and_then(|r| visible(r.2));
        let approved = plan
            .reviews
            .iter()
            .find(|r| r.1 == "approved")
            .and_then(|r| visible(r.2));
        let labels = if plan.hotfix {
            vec!["hotfix".to_string()]
        } else {
            vec![]
        };
        let row = vec![
            Value::text(format!("demo:pull_request:{}:{}", self.repo, plan.number)),
            Value::text(&self.repo),
            Value::Integer(plan.number),
            Value::text(&self.org.developers[plan.author]),
            Value::Timestamp(plan.created_at),
            Value::Timestamp(plan.first_commit_at),
            Value::opt_timestamp(first_review),
            Value::opt_timestamp(approved),
            Value::opt_timestamp(plan.merged_at.and_then(visible)),
            Value::opt_timestamp(plan.closed_at.and_then(visible)),
            Value::opt_text(merge_sha),
            Value::text("main"),
            Value::Integer(plan.additions),
            Value::Integer(plan.deletions),
            Value::Integer(plan.commit_times.len() as i64),
            Value::TextList(labels),
        ];
        self.out.push(&schema::PULL_REQUESTS, row)
    }

    fn commit(
        &mut self,
        sha: &str,
        parents: Vec<String>,
        author: usize,
        at: i64,
        message: &str,
    ) -> Result<()> {
        self.out.push(
            &schema::COMMITS,
            vec![
                Value::text(format!("demo:commit:{}:{sha}", self.repo)),
                Value::text(&self.repo),
                Value::text(sha),
                Value::TextList(parents),
                Value::text(&self.org.developers[author]),
                Value::Timestamp(at),
                Value::Timestamp(at),
                Value::text(message),
            ],
        )
    }

    fn push(
        &mut self,
        reference: &str,
        before: Option<&str>,
        after: &str,
        commits: Vec<String>,
        at: i64,
        actor: usize,
    ) -> Result<()> {
        if at >= self.org.end {
            return Ok(());
        }
        self.pushes += 1;
        self.out.push(
            &schema::PUSHES,
            vec![
                Value::text(format!("demo:push:{}:{}", self.repo, self.pushes)),
                Value::text(&self.repo),
                Value::text(reference),
                Value::text(before.unwrap_or("0000000000000000000000000000000000000000")),
                Value::text(after),
                Value::TextList(commits),
                Value::Timestamp(at),
                Value::text(&self.org.developers[actor]),
            ],
        )
    }

    fn activity(&mut self, developer: usize, at: i64, kind: &str, item: &str) -> Result<()> {
        activity(
            self.out,
            &self.org.developers[developer],
            at,
            kind,
            item,
            &self.repo,
        )
    }

    /// One CI run: a flaky first attempt fails and its retry passes.
    fn ci_run(
        &mut self,
        pipeline: &str,
        sha: &str,
        reference: &str,
        trigger: &str,
        queued_at: i64,
    ) -> Result<()> {
        if queued_at >= self.org.end {
            return Ok(());
        }
        self.ci_runs += 1;
        let run_id = format!("{}", (self.service as u64 + 1) * 100_000_000 + self.ci_runs);
        let profile = self.team.profile;
        let flaky = self.rng.gen::<f64>() < profile.flaky_rate;
        let broken = !flaky && self.rng.gen::<f64>() < 0.04;
        let mut queued = queued_at;
        for attempt in 1..=(if flaky { 2 } else { 1 }) {
            let wait = hours(exponential(self.rng, 1.5 / 60.0)) + 5_000_000;
            let duration = hours(lognormal(self.rng, profile.ci_minutes / 60.0, 0.35));
            let started = queued + wait;
            let finished = started + duration;
            let conclusion = if (flaky && attempt == 1) || broken {
                "failure"
            } else {
                "success"
            };
            let done = finished < self.org.end;
            self.out.push(
                &schema::CI_RUNS,
                vec![
                    Value::text(format!("demo:ci_run:{run_id}:{attempt}")),
                    Value::text(&self.repo),
                    Value::text(pipeline),
                    Value::text(&run_id),
                    Value::Integer(attempt),
                    Value::text(sha),
                    Value::text(reference),
                    Value::text(trigger),
                    Value::Timestamp(queued),
                    Value::opt_timestamp((started < self.org.end).then_some(started)),
                    Value::opt_timestamp(done.then_some(finished)),
                    Value::opt_text(done.then_some(conclusion)),
                    Value::text(if self.rng.gen::<f64>() < 0.9 {
                        "Linux"
                    } else {
                        "macOS"
                    }),
                    Value::Float(((duration as f64) / MINUTE as f64).ceil()),
                ],
            )?;
            self.ci_jobs(&run_id, attempt, started, duration, conclusion)?;
            queued = finished + self.rng.gen_range(2..10) * MINUTE;
            if queued >= self.org.end {
                break;
            }
        }
        Ok(())
    }

    /// A run's jobs: build (the first 40%), then test. Derived from the run
    /// without drawing random numbers, so the rest of the demo stays as it is.
    fn ci_jobs(
        &mut self,
        run_id: &str,
        attempt: i64,
        started: i64,
        duration: i64,
        conclusion: &str,
    ) -> Result<()> {
        let build_end = started + duration * 2 / 5;
        for (k, name, from, to) in [
            (0, "build", started, build_end),
            (1, "test", build_end, started + duration),
        ] {
            if from >= self.org.end {
                break;
            }
            let done = to < self.org.end;
            let status = if done { "completed" } else { "in_progress" };
            // A failed run fails in its test job.
            let outcome = if k == 0 { "success" } else { conclusion };
            self.out.push(
                &schema::CI_JOBS,
                vec![
                    Value::text(format!("demo:ci_job:{run_id}:{attempt}:{k}:{status}")),
                    Value::text(&self.repo),
                    Value::text(run_id),
                    Value::Integer(attempt),
                    Value::text(format!("{run_id}{attempt}{k}")),
                    Value::text(name),
                    Value::text(status),
                    Value::Timestamp(from),
                    Value::Timestamp(from),
                    Value::opt_timestamp(done.then_some(to)),
                    Value::opt_text(done.then_some(outcome)),
                    Value::text(format!("runner-{}", self.service % 7 + 1)),
                    Value::TextList(vec!["ubuntu-latest".into()]),
                ],
            )?;
        }
        Ok(())
    }

    fn deployment_row(
        &mut self,
        environment: &str,
        sha: &str,
        status: &str,
        started: i64,
        finished: i64,
    ) -> Result<String> {
        self.deployments += 1;
        let id = format!("{}-{}", self.service_name(), self.deployments);
        self.out.push(
            &schema::DEPLOYMENTS,
            vec![
                Value::text(format!("demo:deployment:{id}")),
                Value::text(self.service_name().to_string()),
                Value::text(environment),
                Value::text(sha),
                Value::text(&id),
                Value::text(status),
                Value::Timestamp(started),
                Value::opt_timestamp((finished < self.org.end).then_some(finished)),
                Value::text("demo"),
            ],
        )?;
        Ok(id)
    }

    /// A deployment of main's head: staging first, sometimes a failed
    /// attempt, then production; a redeploy when nothing changed.
    fn deploy(&mut self, at: i64, emergency: bool) -> Result<()> {
        let Some(sha) = self.head_at(at).map(str::to_string) else {
            return Ok(());
        };
        if self.production.last() == Some(&sha) {
            // Nothing new; now and then the same sha goes out again (a restart).
            if !emergency && self.rng.gen::<f64>() < 0.03 {
                self.production_deployment(at, &sha, true)?;
            }
            return Ok(());
        }
        let staging_at = at - self.rng.gen_range(30..60) * MINUTE;
        self.deployment_row(
            "staging",
            &sha,
            "success",
            staging_at,
            staging_at + 8 * MINUTE,
        )?;
        let mut start = at;
        if self.rng.gen::<f64>() < 0.06 {
            self.deployment_row("production", &sha, "failure", start, start + 4 * MINUTE)?;
            start += 20 * MINUTE;
        }
        let (id, finished) = self.production_deployment(start, &sha, false)?;
        // Big batches fail more often.
        if self.rng.gen::<f64>() < self.team.profile.change_failure {
            self.fail(&id, &sha, finished)?;
        }
        Ok(())
    }

    fn production_deployment(
        &mut self,
        at: i64,
        sha: &str,
        _redeploy: bool,
    ) -> Result<(String, i64)> {
        let finished = at + self.rng.gen_range(4..15) * MINUTE;
        let id = self.deployment_row("production", sha, "success", at, finished)?;
        self.production.push(sha.to_string());
        // Every fifth production deployment is also tagged as a release.
        let n = self.production.len();
        if n % 5 == 1 && at < self.org.end {
            self.out.push(
                &schema::RELEASES,
                vec![
                    Value::text(format!("demo:release:{id}")),
                    Value::text(&self.repo),
                    Value::text(&id),
                    Value::text(format!("v1.{}.0", n / 5)),
                    Value::text(sha),
                    Value::text("release"),
                    Value::Timestamp(at),
                    Value::Timestamp(at),
                ],
            )?;
        }
        Ok((id, finished))
    }

    /// A failed deployment: a rollback, or incidents (sometimes a burst)
    /// fixed by a hotfix pull request.
    fn fail(&mut self, deployment_id: &str, sha: &str, finished: i64) -> Result<()> {
        let profile = self.team.profile;
        let previous = self
            .production
            .len()
            .checked_sub(2)
            .map(|i| self.production[i].clone());
        if let Some(previous) = previous.filter(|_| self.rng.gen::<f64>() < 0.35) {
            let rollback_at = finished + self.rng.gen_range(15..120) * MINUTE;
            if self.rng.gen::<f64>() < 0.5 {
                let opened = finished + self.rng.gen_range(3..15) * MINUTE;
                self.incident(
                    opened,
                    Some(rollback_at + 10 * MINUTE),
                    Some(deployment_id),
                    None,
                    "sev2",
                )?;
            }
            self.schedule(rollback_at, Event::Rollback(previous));
            self.hotfix(rollback_at + HOUR)?;
            return Ok(());
        }
        let opened = finished + hours(exponential(self.rng, 1.5)) + MINUTE;
        let recovery = hours(lognormal(self.rng, profile.recovery_hours, 0.6)) + 10 * MINUTE;
        let burst = if self.rng.gen::<f64>() < 0.3 {
            self.rng.gen_range(2..=3)
        } else {
            1
        };
        let link = self.rng.gen::<f64>();
        for k in 0..burst {
            let at = opened + k * self.rng.gen_range(5..40) * MINUTE;
            let resolved = opened + recovery - self.rng.gen_range(0..10) * MINUTE;
            let (by_id, by_sha) = match link {
                l if l < 0.55 => (Some(deployment_id), None),
                l if l < 0.70 => (None, Some(sha)),
                _ => (None, None),
            };
            self.incident(
                at,
                Some(resolved.max(at + MINUTE)),
                by_id,
                by_sha,
                if k == 0 { "sev2" } else { "sev3" },
            )?;
        }
        self.hotfix(opened + 10 * MINUTE)
    }

    fn hotfix(&mut self, first_commit_at: i64) -> Result<()> {
        if first_commit_at >= self.org.end {
            return Ok(());
        }
        let author = self.team.members[self.rng.gen_range(0..self.team.members.len())];
        let plan = plan_one(
            self.org,
            self.rng,
            self.team,
            author,
            first_commit_at,
            self.team.profile,
            true,
        );
        self.add_pull_request(plan)
    }

    fn incident(
        &mut self,
        opened: i64,
        resolved: Option<i64>,
        deployment_id: Option<&str>,
        sha: Option<&str>,
        severity: &str,
    ) -> Result<()> {
        if opened >= self.org.end {
            return Ok(());
        }
        self.incidents += 1;
        let id = format!("INC-{}-{}", self.service + 1, self.incidents);
        let acknowledged = opened + self.rng.gen_range(1..20) * MINUTE;
        let visible = |at: i64| (at < self.org.end).then_some(at);
        self.out.push(
            &schema::INCIDENTS,
            vec![
                Value::text(format!("demo:incident:{id}")),
                Value::text(self.service_name().to_string()),
                Value::text(&id),
                Value::text(severity),
                Value::Timestamp(opened),
                Value::opt_timestamp(visible(acknowledged)),
                Value::opt_timestamp(resolved.and_then(visible)),
                Value::opt_text(deployment_id),
                Value::opt_text(sha),
            ],
        )
    }

    /// Incidents that no deployment caused (an outage of a dependency): they
    /// carry no link.
    fn random_incidents(&mut self) -> Result<()> {
        let mut at = self.org.start + hours(exponential(self.rng, 24.0 * 75.0));
        while at < self.org.end {
            let resolved = at + hours(lognormal(self.rng, 2.0, 0.8));
            self.incident(at, Some(resolved), None, None, "sev3")?;
            at += hours(exponential(self.rng, 24.0 * 75.0));
        }
        Ok(())
    }
}

fn activity(
    out: &mut Output,
    developer: &str,
    at: i64,
    kind: &str,
    item: &str,
    repo: &str,
) -> Result<()> {
    out.activity_sequence += 1;
    let sequence = out.activity_sequence;
    out.push(
        &schema::WORK_ACTIVITY,
        vec![
            Value::text(format!("demo:activity:{sequence}")),
            Value::text(developer),
            Value::Timestamp(at),
            Value::text(kind),
            Value::text(item),
            Value::text(repo),
        ],
    )
}

/// Daily FOCUS-style cost rows for a service's cloud resources, growing over the year.
fn costs(org: &Org, service: usize, rng: &mut ChaCha8Rng, out: &mut Output) -> Result<()> {
    let (name, owner) = &org.services[service];
    let team = &org.teams[*owner].name;
    let resources = [
        (
            "Amazon Elastic Compute Cloud",
            "Compute",
            "ec2",
            lognormal(rng, 40.0, 0.5),
        ),
        (
            "Amazon Relational Database Service",
            "Databases",
            "rds",
            lognormal(rng, 25.0, 0.5),
        ),
        (
            "Amazon Simple Queue Service",
            "Integration",
            "sqs",
            lognormal(rng, 1.5, 0.7),
        ),
    ];
    let total_days = (org.end_day - org.start_day).num_days().max(1) as f64;
    for (i, day) in days(org.start_day, org.end_day).enumerate() {
        let growth = 1.0 + 0.3 * i as f64 / total_days;
        let weekday = if is_weekend(day) { 0.8 } else { 1.0 };
        let start = day_start(day);
        for (service_name, _category, kind, base) in &resources {
            let billed = base * growth * weekday * (1.0 + 0.1 * normal(rng)).max(0.5);
            // Compute runs under a savings plan.
            let effective = if *kind == "ec2" {
                billed * 0.72
            } else {
                billed
            };
            let money = |v: f64| Value::Money((v * 1e10).round() as i128);
            out.push(
                &schema::COSTS,
                vec![
                    Value::text(format!("demo:cost:{name}:{kind}:{start}")),
                    Value::Timestamp(start),
                    Value::Timestamp(start + DAY),
                    money(billed),
                    money(effective),
                    Value::text("USD"),
                    Value::text("AWS"),
                    Value::text(*service_name),
                    Value::text(format!("arn:aws:{kind}:eu-west-1:123456789012:{name}")),
                    Value::text(format!("{{\"service\":\"{name}\",\"team\":\"{team}\"}}")),
                    Value::text(name),
                    Value::text(team),
                ],
            )?;
        }
    }
    Ok(())
}

const PLATFORM_FEATURES: [(&str, &str); 8] = [
    ("portal", "catalog-search"),
    ("portal", "docs"),
    ("portal", "scorecards"),
    ("cli", "deploy"),
    ("cli", "logs"),
    ("template", "scaffold-service"),
    ("api", "create-environment"),
    ("api", "rotate-secret"),
];

/// Issue work (another source of context switches) and platform usage, whose
/// adoption rises over the year in adopting teams.
fn issue_work_and_platform_usage(
    org: &Org,
    t: usize,
    rng: &mut ChaCha8Rng,
    out: &mut Output,
) -> Result<()> {
    let team = &org.teams[t];
    let total_days = (org.end_day - org.start_day).num_days().max(1) as f64;
    let mut issue_numbers = vec![10_000i64; team.services.len()];
    for (i, day) in days(org.start_day, org.end_day).enumerate() {
        if is_weekend(day) {
            continue;
        }
        let progress = i as f64 / total_days;
        let adoption = if team.adopting {
            0.05 + 0.55 * progress
        } else {
            0.12
        };
        for &member in &team.members {
            let developer = &org.developers[member];
            if rng.gen::<f64>() < 0.3 {
                let k = rng.gen_range(0..team.services.len());
                if rng.gen::<f64>() < 0.3 {
                    issue_numbers[k] += 1;
                }
                let repo = org.repo(team.services[k]);
                let item = format!("{repo}#{}", issue_numbers[k]);
                let at = local_time(team.zone, day, working_hour(rng));
                activity(out, developer, at, "issue", &item, &repo)?;
            }
            if rng.gen::<f64>() < adoption {
                let (tool, feature) = PLATFORM_FEATURES[rng.gen_range(0..PLATFORM_FEATURES.len())];
                let at = local_time(team.zone, day, working_hour(rng));
                let roll = rng.gen::<f64>();
                let outcome = if roll < 0.9 {
                    "success"
                } else if roll < 0.97 {
                    "failure"
                } else {
                    "abandoned"
                };
                out.push(
                    &schema::PLATFORM_USAGE,
                    vec![
                        Value::text(format!("demo:platform_usage:{developer}:{at}")),
                        Value::text(developer),
                        Value::text(&team.name),
                        Value::text(tool),
                        Value::text(feature),
                        Value::Timestamp(at),
                        Value::text(outcome),
                    ],
                )?;
            }
        }
    }
    Ok(())
}

/// Two quarterly survey waves, the latest in the last full quarter of the
/// history. Answers lean on the team's profile; adopting teams improve.
fn survey_waves(org: &Org, rng: &mut ChaCha8Rng, out: &mut Output) -> Result<()> {
    let quarter_start =
        |d: NaiveDate| NaiveDate::from_ymd_opt(d.year(), (d.month0() / 3) * 3 + 1, 1);
    let Some(last) = org
        .end_day
        .checked_sub_days(chrono::Days::new(60))
        .and_then(quarter_start)
    else {
        return Ok(());
    };
    let Some(previous) = last.checked_sub_months(chrono::Months::new(3)) else {
        return Ok(());
    };
    for (wave, opens) in [previous, last].into_iter().enumerate() {
        let opens = opens + Duration::days(30);
        if opens < org.start_day {
            continue;
        }
        let survey_id = format!("devex-{}-q{}", opens.year(), opens.month0() / 3 + 1);
        for team in &org.teams {
            let base = match team.profile.level {
                "elite" => 4.1,
                "high" => 3.7,
                "medium" => 3.2,
                _ => 2.7,
            } + if team.adopting && wave == 1 {
                0.35
            } else {
                0.0
            };
            for &member in &team.members {
                if rng.gen::<f64>() >= 0.72 {
                    continue;
                }
                let respondent = format!(
                    "r_{}",
                    &hex::encode(Sha256::digest(
                        format!("survey-salt/{}", org.developers[member]).as_bytes()
                    ))[..16]
                );
                let response_id = format!("{survey_id}-{}", &respondent[2..10]);
                let submitted = local_time(
                    team.zone,
                    opens + Duration::days(rng.gen_range(0..14)),
                    working_hour(rng),
                );
                if submitted >= org.end {
                    continue;
                }
                let mut answer = |question: &str, numeric: Option<f64>, text: Option<&str>| {
                    out.push(
                        &schema::SURVEY_RESPONSES,
                        vec![
                            Value::text(format!("demo:survey:{response_id}:{question}")),
                            Value::text(&survey_id),
                            Value::text(&response_id),
                            Value::text(&respondent),
                            Value::text(&team.name),
                            Value::Timestamp(submitted),
                            Value::text(question),
                            numeric.map_or(Value::Null, Value::Float),
                            Value::opt_text(text),
                        ],
                    )
                };
                for question in SURVEY_LIKERT_QUESTIONS {
                    let value = (base + 0.9 * normal(rng)).round().clamp(1.0, 5.0);
                    answer(question, Some(value), None)?;
                }
                let enps = ((base - 1.0) * 2.5 + 1.5 * normal(rng))
                    .round()
                    .clamp(0.0, 10.0);
                answer("enps", Some(enps), None)?;
                if rng.gen::<f64>() < 0.25 {
                    let comment = [
                        "CI is too slow on Fridays",
                        "Docs for the deploy tool are out of date",
                        "Too many meetings break my focus",
                        "On-call pages at night are wearing me down",
                        "The new templates saved me a day",
                    ][rng.gen_range(0..5)];
                    answer("comments", None, Some(comment))?;
                }
            }
        }
    }
    Ok(())
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
        assert_eq!(org.developers.len(), 300);
    }
}
