//! A second, independent check of the DORA numbers: a generated scenario of
//! several hundred deployments (redeploys, rollbacks, failed attempts, staging,
//! unknown shas, merges, squash merges, linked and unlinked incidents) is
//! stored in a lake, reported through the SQL path, and recomputed here with
//! plain Rust iteration over the same rows. The commit walk here is the naive
//! one (every deployment's full ancestry minus everything deployed before),
//! not the derive stage's incremental walk.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use analytics::dora::{self, DeploymentClass, DoraRequest, DoraSettings, FailureCause, GroupBy};
use analytics::LakeQueries;
use chrono::{NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use ingest::lake::Lake;
use ingest::rows::{TableBuilder, Value};
use ingest::schema::{COMMITS, DEPLOYMENTS, INCIDENTS, PULL_REQUESTS, PUSHES};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const HOUR: i64 = 3_600_000_000;
const MINUTE: i64 = 60_000_000;

#[derive(Clone)]
struct Commit {
    sha: String,
    parents: Option<Vec<String>>,
    authored_at: i64,
    message: String,
}

#[derive(Clone)]
struct PullRequest {
    number: i64,
    merge_sha: String,
    first_commit_at: Option<i64>,
    merged: bool,
    labels: Vec<String>,
}

#[derive(Clone)]
struct Push {
    before: String,
    after: String,
    shas: Vec<String>,
    at: i64,
}

#[derive(Clone)]
struct Deployment {
    service: String,
    environment: String,
    sha: String,
    id: String,
    success: bool,
    started_at: i64,
    finished_at: i64,
}

#[derive(Clone)]
struct Incident {
    service: String,
    id: String,
    opened_at: i64,
    resolved_at: Option<i64>,
    deployment_id: Option<String>,
    sha: Option<String>,
}

#[derive(Default)]
pub(crate) struct Scenario {
    commits: Vec<Commit>,
    pull_requests: Vec<PullRequest>,
    pushes: Vec<Push>,
    deployments: Vec<Deployment>,
    incidents: Vec<Incident>,
}

fn at(y: i32, m: u32, d: u32) -> i64 {
    Utc.with_ymd_and_hms(y, m, d, 0, 0, 0)
        .unwrap()
        .timestamp_micros()
}

/// Six services, each with its own history and deployment stream.
pub(crate) fn generate(seed: u64) -> Scenario {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut s = Scenario::default();
    let mut pr_number = 0;
    for service_index in 0..6 {
        let service = format!("svc{service_index}");
        let mut clock = at(2024, 1, 1) + rng.gen_range(0..48) * HOUR;
        let mut head = format!("{service}-root");
        s.commits.push(Commit {
            sha: head.clone(),
            parents: Some(vec![]),
            authored_at: clock - 1000 * HOUR,
            message: "root".into(),
        });
        let mut deployed: Vec<String> = Vec::new();
        let mut running: Option<String> = None;
        let mut counter = 0;
        let mut next_sha = |kind: &str| {
            counter += 1;
            format!("{service}-{kind}{counter}")
        };
        for step in 0..110 {
            // Some work lands on main.
            for _ in 0..rng.gen_range(0..4) {
                let written = clock - rng.gen_range(1..200) * HOUR;
                match rng.gen_range(0..10) {
                    // A merge of a two-commit branch through a pull request.
                    0 | 1 => {
                        let b1 = next_sha("b");
                        let b2 = next_sha("b");
                        let merge = next_sha("m");
                        s.commits.push(Commit {
                            sha: b1.clone(),
                            parents: Some(vec![head.clone()]),
                            authored_at: written,
                            message: "branch work".into(),
                        });
                        s.commits.push(Commit {
                            sha: b2.clone(),
                            parents: Some(vec![b1.clone()]),
                            authored_at: written + HOUR,
                            message: "more branch work".into(),
                        });
                        s.commits.push(Commit {
                            sha: merge.clone(),
                            parents: Some(vec![head.clone(), b2]),
                            authored_at: written + 2 * HOUR,
                            message: "Merge pull request".into(),
                        });
                        pr_number += 1;
                        s.pull_requests.push(PullRequest {
                            number: pr_number,
                            merge_sha: merge.clone(),
                            first_commit_at: Some(written),
                            merged: true,
                            labels: vec![],
                        });
                        head = merge;
                    }
                    // A squash merge: the branch never reaches main.
                    2 | 3 => {
                        let squash = next_sha("s");
                        s.commits.push(Commit {
                            sha: squash.clone(),
                            parents: Some(vec![head.clone()]),
                            authored_at: written + 3 * HOUR,
                            message: "Squashed feature".into(),
                        });
                        pr_number += 1;
                        let label = if rng.gen_bool(0.15) {
                            vec!["Hotfix".to_string()]
                        } else {
                            vec!["feature".to_string()]
                        };
                        s.pull_requests.push(PullRequest {
                            number: pr_number,
                            merge_sha: squash.clone(),
                            first_commit_at: Some(written - rng.gen_range(0..100) * HOUR),
                            merged: true,
                            labels: label,
                        });
                        head = squash;
                    }
                    // A pushed commit whose parents only the push knows.
                    4 => {
                        let sha = next_sha("p");
                        s.commits.push(Commit {
                            sha: sha.clone(),
                            parents: None,
                            authored_at: written,
                            message: "pushed".into(),
                        });
                        s.pushes.push(Push {
                            before: head.clone(),
                            after: sha.clone(),
                            shas: vec![sha.clone()],
                            at: clock,
                        });
                        head = sha;
                    }
                    // A closed, unmerged pull request with a test-merge sha.
                    5 => {
                        let sha = next_sha("c");
                        s.commits.push(Commit {
                            sha: sha.clone(),
                            parents: Some(vec![head.clone()]),
                            authored_at: written,
                            message: "direct".into(),
                        });
                        pr_number += 1;
                        s.pull_requests.push(PullRequest {
                            number: pr_number,
                            merge_sha: sha.clone(),
                            first_commit_at: Some(written - 500 * HOUR),
                            merged: false,
                            labels: vec!["hotfix".into()],
                        });
                        head = sha;
                    }
                    _ => {
                        let sha = next_sha("c");
                        let message = match rng.gen_range(0..12) {
                            0 => "Revert \"something\"",
                            1 => "hotfix: quick one",
                            _ => "ordinary change",
                        };
                        s.commits.push(Commit {
                            sha: sha.clone(),
                            parents: Some(vec![head.clone()]),
                            authored_at: written,
                            message: message.into(),
                        });
                        head = sha;
                    }
                }
            }
            clock += rng.gen_range(2..40) * HOUR + rng.gen_range(0..60) * MINUTE;
            let id = format!("{service}-d{step}");
            let duration = rng.gen_range(2..30) * MINUTE;
            let (environment, sha, success) = match rng.gen_range(0..20) {
                0 | 1 => ("staging", head.clone(), true),
                2 => ("production", head.clone(), false),
                3 | 4 if running.is_some() => {
                    ("production", running.clone().unwrap_or_default(), true)
                }
                5 | 6 if deployed.len() > 1 => {
                    let back = deployed[rng.gen_range(0..deployed.len())].clone();
                    ("PROD", back, true)
                }
                7 => ("production", format!("{service}-unknown{step}"), true),
                _ => ("production", head.clone(), true),
            };
            if success && environment != "staging" {
                running = Some(sha.clone());
                deployed.push(sha.clone());
            }
            s.deployments.push(Deployment {
                service: service.clone(),
                environment: environment.into(),
                sha: sha.clone(),
                id: id.clone(),
                success,
                started_at: clock,
                finished_at: clock + duration,
            });
            // Incidents of several kinds.
            if rng.gen_bool(0.3) {
                let opened_at = clock + duration + rng.gen_range(-60..600) * MINUTE;
                let resolved_at = rng
                    .gen_bool(0.85)
                    .then(|| opened_at + rng.gen_range(5..3000) * MINUTE);
                let (deployment_id, linked_sha) = match rng.gen_range(0..5) {
                    0 => (Some(id.clone()), None),
                    1 => (None, Some(sha.clone())),
                    2 => (
                        Some(format!("{service}-d{}", rng.gen_range(0..=step))),
                        None,
                    ),
                    _ => (None, None),
                };
                s.incidents.push(Incident {
                    service: service.clone(),
                    id: format!("{service}-i{step}"),
                    opened_at,
                    resolved_at,
                    deployment_id,
                    sha: linked_sha,
                });
            }
            clock += duration;
        }
    }
    s
}

pub(crate) async fn store(s: &Scenario, lake: &Lake) {
    let mut commits = TableBuilder::new(&COMMITS);
    for (i, c) in s.commits.iter().enumerate() {
        commits
            .push(vec![
                Value::text(format!("c{i}")),
                Value::text("acme/all"),
                Value::text(&c.sha),
                c.parents
                    .clone()
                    .map(Value::TextList)
                    .unwrap_or(Value::Null),
                Value::text("dev_x"),
                Value::Timestamp(c.authored_at),
                Value::Null,
                Value::text(&c.message),
                Value::Null,
                Value::Null,
            ])
            .unwrap();
    }
    lake.append(&COMMITS, &commits.finish().unwrap())
        .await
        .unwrap();
    let mut prs = TableBuilder::new(&PULL_REQUESTS);
    for p in &s.pull_requests {
        prs.push(vec![
            Value::text(format!("pr{}", p.number)),
            Value::text("acme/all"),
            Value::Integer(p.number),
            Value::text("dev_x"),
            Value::Timestamp(at(2024, 1, 1)),
            Value::opt_timestamp(p.first_commit_at),
            Value::Null,
            Value::Null,
            Value::opt_timestamp(p.merged.then(|| at(2024, 1, 2))),
            Value::Timestamp(at(2024, 1, 2)),
            Value::text(&p.merge_sha),
            Value::text("main"),
            Value::Null,
            Value::Null,
            Value::Null,
            Value::TextList(p.labels.clone()),
            Value::Null,
            Value::Null,
        ])
        .unwrap();
    }
    lake.append(&PULL_REQUESTS, &prs.finish().unwrap())
        .await
        .unwrap();
    let mut pushes = TableBuilder::new(&PUSHES);
    for (i, p) in s.pushes.iter().enumerate() {
        pushes
            .push(vec![
                Value::text(format!("push{i}")),
                Value::text("acme/all"),
                Value::text("refs/heads/main"),
                Value::text(&p.before),
                Value::text(&p.after),
                Value::TextList(p.shas.clone()),
                Value::Timestamp(p.at),
                Value::Null,
            ])
            .unwrap();
    }
    lake.append(&PUSHES, &pushes.finish().unwrap())
        .await
        .unwrap();
    let mut deployments = TableBuilder::new(&DEPLOYMENTS);
    for d in &s.deployments {
        deployments
            .push(vec![
                Value::text(&d.id),
                Value::text(&d.service),
                Value::text(&d.environment),
                Value::text(&d.sha),
                Value::text(&d.id),
                Value::text(if d.success { "success" } else { "failure" }),
                Value::Timestamp(d.started_at),
                Value::Timestamp(d.finished_at),
                Value::text("test"),
            ])
            .unwrap();
    }
    lake.append(&DEPLOYMENTS, &deployments.finish().unwrap())
        .await
        .unwrap();
    let mut incidents = TableBuilder::new(&INCIDENTS);
    for i in &s.incidents {
        incidents
            .push(vec![
                Value::text(&i.id),
                Value::text(&i.service),
                Value::text(&i.id),
                Value::Null,
                Value::Timestamp(i.opened_at),
                Value::Null,
                Value::opt_timestamp(i.resolved_at),
                Value::opt_text(i.deployment_id.clone()),
                Value::opt_text(i.sha.clone()),
            ])
            .unwrap();
    }
    lake.append(&INCIDENTS, &incidents.finish().unwrap())
        .await
        .unwrap();
}

/// What the plain-Rust path computes for one production deployment.
#[derive(Debug, Clone, PartialEq)]
struct Expected {
    class: DeploymentClass,
    deployed_at: i64,
    lead_times: Vec<f64>,
    failed: bool,
    recovery_hours: Option<f64>,
    rework: bool,
}

fn ancestors(sha: &str, parents: &HashMap<String, Vec<String>>) -> HashSet<String> {
    let mut seen = HashSet::new();
    let mut queue = VecDeque::from([sha.to_string()]);
    while let Some(s) = queue.pop_front() {
        if seen.insert(s.clone()) {
            for p in parents.get(&s).into_iter().flatten() {
                queue.push_back(p.clone());
            }
        }
    }
    seen
}

/// Every successful production deployment, by (service, id), computed by
/// plain iteration.
fn expected(s: &Scenario) -> BTreeMap<(String, String), Expected> {
    let is_prod = |e: &str| e.eq_ignore_ascii_case("prod") || e.eq_ignore_ascii_case("production");
    let mut parents: HashMap<String, Vec<String>> = HashMap::new();
    let mut commit_by_sha: HashMap<String, &Commit> = HashMap::new();
    for c in &s.commits {
        if let Some(p) = &c.parents {
            parents.insert(c.sha.clone(), p.clone());
        }
        commit_by_sha.insert(c.sha.clone(), c);
    }
    for p in &s.pushes {
        parents
            .entry(p.after.clone())
            .or_insert_with(|| vec![p.before.clone()]);
    }
    let mut out = BTreeMap::new();
    let mut services: Vec<&str> = s.deployments.iter().map(|d| d.service.as_str()).collect();
    services.sort();
    services.dedup();
    for service in services {
        let mut prod: Vec<&Deployment> = s
            .deployments
            .iter()
            .filter(|d| d.service == service && d.success && is_prod(&d.environment))
            .collect();
        prod.sort_by(|a, b| (a.started_at, &a.id).cmp(&(b.started_at, &b.id)));
        let mut classes = Vec::new();
        let mut running: Option<&str> = None;
        let mut ever: HashSet<&str> = HashSet::new();
        let mut setter: Option<usize> = None;
        let mut rolled_back_at: HashMap<usize, i64> = HashMap::new();
        for (i, d) in prod.iter().enumerate() {
            let class = if i == 0 {
                DeploymentClass::Baseline
            } else if running == Some(d.sha.as_str()) {
                DeploymentClass::Redeploy
            } else if ever.contains(d.sha.as_str()) {
                DeploymentClass::Rollback
            } else {
                DeploymentClass::Counted
            };
            if class == DeploymentClass::Rollback {
                if let Some(j) = setter {
                    if matches!(
                        classes[j],
                        DeploymentClass::Baseline | DeploymentClass::Counted
                    ) {
                        rolled_back_at.insert(j, d.finished_at);
                    }
                }
            }
            if class != DeploymentClass::Redeploy {
                setter = Some(i);
            }
            classes.push(class);
            running = Some(d.sha.as_str());
            ever.insert(d.sha.as_str());
        }
        let counted = |i: usize| {
            matches!(
                classes[i],
                DeploymentClass::Baseline | DeploymentClass::Counted
            )
        };
        // Incidents: a link beats time.
        let mut incidents_of: HashMap<usize, Vec<&Incident>> = HashMap::new();
        for incident in s.incidents.iter().filter(|i| i.service == service) {
            let counted_with_sha =
                |sha: &str| (0..prod.len()).find(|&i| counted(i) && prod[i].sha == sha);
            let by_id = incident
                .deployment_id
                .as_ref()
                .and_then(|id| prod.iter().find(|d| &d.id == id))
                .and_then(|d| counted_with_sha(&d.sha));
            let by_sha = incident.sha.as_deref().and_then(counted_with_sha);
            let by_time = (0..prod.len()).find(|&i| {
                counted(i)
                    && prod[i].finished_at <= incident.opened_at
                    && prod
                        .get(i + 1)
                        .is_none_or(|next| incident.opened_at < next.started_at)
            });
            if let Some(i) = by_id.or(by_sha).or(by_time) {
                incidents_of.entry(i).or_default().push(incident);
            }
        }
        let pr_by_merge: HashMap<&str, &PullRequest> = s
            .pull_requests
            .iter()
            .filter(|p| p.merged)
            .map(|p| (p.merge_sha.as_str(), p))
            .collect();
        let mut deployed_before: HashSet<String> = HashSet::new();
        for (i, d) in prod.iter().enumerate() {
            let reach = ancestors(&d.sha, &parents);
            let mut lead_times = Vec::new();
            let mut rework = false;
            if i > 0 {
                for sha in reach.difference(&deployed_before) {
                    let Some(commit) = commit_by_sha.get(sha) else {
                        continue;
                    };
                    let pr = pr_by_merge.get(sha.as_str());
                    let start = pr
                        .and_then(|p| p.first_commit_at)
                        .unwrap_or(commit.authored_at);
                    lead_times.push((d.finished_at - start) as f64 / HOUR as f64);
                    let message = commit.message.to_lowercase();
                    rework |= message.starts_with("revert")
                        || message.starts_with("hotfix")
                        || pr.is_some_and(|p| {
                            p.labels.iter().any(|l| l.eq_ignore_ascii_case("hotfix"))
                        });
                }
            }
            deployed_before.extend(reach);
            lead_times.sort_by(f64::total_cmp);
            let incidents = incidents_of.get(&i).cloned().unwrap_or_default();
            let failed = counted(i) && (!incidents.is_empty() || rolled_back_at.contains_key(&i));
            let resolved = (!incidents.is_empty()
                && incidents.iter().all(|x| x.resolved_at.is_some()))
            .then(|| incidents.iter().filter_map(|x| x.resolved_at).max())
            .flatten();
            let recovered = match (resolved, rolled_back_at.get(&i).copied()) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let recovery_hours = failed
                .then(|| recovered.map(|r| ((r - d.finished_at).max(0)) as f64 / HOUR as f64))
                .flatten();
            out.insert(
                (service.to_string(), d.id.clone()),
                Expected {
                    class: classes[i],
                    deployed_at: d.finished_at,
                    lead_times,
                    failed,
                    recovery_hours: if counted(i) { recovery_hours } else { None },
                    rework: counted(i) && rework,
                },
            );
        }
    }
    out
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    Some(sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo]))
}

fn close(a: Option<f64>, b: Option<f64>, what: &str) {
    match (a, b) {
        (None, None) => {}
        (Some(a), Some(b)) => assert!(
            (a - b).abs() < 1e-6 * (1.0 + a.abs()),
            "{what}: sql {a} != rust {b}"
        ),
        _ => panic!("{what}: sql {a:?} != rust {b:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sql_path_equals_plain_rust_on_a_generated_scenario() {
    let scenario = generate(7);
    let dir = tempfile::tempdir().unwrap();
    let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
    store(&scenario, &lake).await;
    let queries = LakeQueries::open(lake).await.unwrap();

    let production: usize = scenario
        .deployments
        .iter()
        .filter(|d| d.environment != "staging")
        .count();
    assert!(
        production >= 500,
        "the scenario should have several hundred deployments, has {production}"
    );
    let expected = expected(&scenario);
    let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
    // All of it, then a window that cuts the history in the middle.
    check_window(
        &queries,
        &expected,
        day(2023, 12, 1),
        day(2024, 12, 1),
        true,
    )
    .await;
    check_window(
        &queries,
        &expected,
        day(2024, 2, 1),
        day(2024, 3, 15),
        false,
    )
    .await;
}

async fn check_window(
    queries: &LakeQueries,
    expected: &BTreeMap<(String, String), Expected>,
    from: NaiveDate,
    to: NaiveDate,
    everything: bool,
) {
    let tz: Tz = "America/New_York".parse().unwrap();
    let request = DoraRequest {
        from,
        to,
        tz,
        service: None,
        team: None,
        group_by: GroupBy::Service,
        settings: DoraSettings::default(),
    };
    let window = (
        dora::local_midnight(tz, from).timestamp_micros(),
        dora::local_midnight(tz, to).timestamp_micros(),
    );
    let in_window: BTreeMap<_, _> = expected
        .iter()
        .filter(|(_, e)| e.deployed_at >= window.0 && e.deployed_at < window.1)
        .collect();
    // Row by row: the drill-down.
    let drill = dora::deployments(queries, &request).await.unwrap();
    assert_eq!(drill.deployments.len(), in_window.len());
    let mut classes_seen = HashSet::new();
    for d in &drill.deployments {
        let e = in_window[&(d.service.clone(), d.deployment_id.clone())];
        let what = format!("{} {}", d.service, d.deployment_id);
        assert_eq!(d.class, e.class, "{what}");
        classes_seen.insert(format!("{:?}", d.class));
        let mut lead: Vec<f64> = d.changes.iter().map(|c| c.lead_time_hours).collect();
        lead.sort_by(f64::total_cmp);
        assert_eq!(lead.len(), e.lead_times.len(), "{what}: changes");
        for (a, b) in lead.iter().zip(&e.lead_times) {
            close(Some(*a), Some(*b), &what);
        }
        assert_eq!(
            d.failed, e.failed,
            "{what}: failed ({:?})",
            d.failure_causes
        );
        close(
            d.recovery_hours,
            e.recovery_hours,
            &format!("{what}: recovery"),
        );
        assert_eq!(d.rework, e.rework, "{what}: rework");
    }
    if everything {
        assert!(
            drill.deployments.len() >= 400,
            "{} deployments",
            drill.deployments.len()
        );
        assert_eq!(
            classes_seen.len(),
            4,
            "every class occurs: {classes_seen:?}"
        );
    }
    let causes: HashSet<String> = drill
        .deployments
        .iter()
        .flat_map(|d| d.failure_causes.iter())
        .map(|c| match c {
            FailureCause::Incident { attribution, .. } => attribution.clone(),
            FailureCause::Rollback { .. } => "rollback".into(),
        })
        .collect();
    if everything {
        assert_eq!(causes.len(), 4, "every failure cause occurs: {causes:?}");
    }

    // The aggregates, per service and overall.
    let report = dora::report(queries, &request).await.unwrap();
    let days = (to - from).num_days() as f64;
    let mut groups: BTreeMap<Option<String>, Vec<&Expected>> = BTreeMap::new();
    for ((service, _), e) in &in_window {
        if matches!(
            e.class,
            DeploymentClass::Baseline | DeploymentClass::Counted
        ) {
            groups.entry(Some(service.clone())).or_default().push(e);
            groups.entry(None).or_default().push(e);
        }
    }
    assert_eq!(report.groups.len() + 1, groups.len());
    for (key, rows) in &groups {
        let metrics = match key {
            Some(service) => {
                &report
                    .groups
                    .iter()
                    .find(|g| g.key.label() == Some(service.as_str()))
                    .unwrap()
                    .metrics
            }
            None => &report.overall,
        };
        let what = key.clone().unwrap_or_else(|| "overall".into());
        let n = rows.len() as f64;
        let local_days: HashSet<NaiveDate> = rows
            .iter()
            .map(|e| {
                Utc.timestamp_micros(e.deployed_at)
                    .unwrap()
                    .with_timezone(&tz)
                    .date_naive()
            })
            .collect();
        let mut lead: Vec<f64> = rows.iter().flat_map(|e| e.lead_times.clone()).collect();
        lead.sort_by(f64::total_cmp);
        let failed = rows.iter().filter(|e| e.failed).count();
        let unrecovered = rows
            .iter()
            .filter(|e| e.failed && e.recovery_hours.is_none())
            .count();
        let mut recovery: Vec<f64> = rows.iter().filter_map(|e| e.recovery_hours).collect();
        recovery.sort_by(f64::total_cmp);
        let rework = rows.iter().filter(|e| e.rework).count();
        assert_eq!(metrics.deployments, rows.len() as u64, "{what}");
        close(
            Some(metrics.deployments_per_week),
            Some(n / (days / 7.0)),
            &what,
        );
        close(
            Some(metrics.deployment_days_share),
            Some(local_days.len() as f64 / days),
            &what,
        );
        assert_eq!(metrics.changes, lead.len() as u64, "{what}");
        close(
            metrics.lead_time_median_hours,
            percentile(&lead, 0.5),
            &what,
        );
        close(metrics.lead_time_p90_hours, percentile(&lead, 0.9), &what);
        assert_eq!(metrics.failed_deployments, failed as u64, "{what}");
        assert_eq!(metrics.unrecovered, unrecovered as u64, "{what}");
        close(metrics.change_failure_rate, Some(failed as f64 / n), &what);
        close(
            metrics.recovery_time_median_hours,
            percentile(&recovery, 0.5),
            &what,
        );
        close(
            metrics.recovery_time_p90_hours,
            percentile(&recovery, 0.9),
            &what,
        );
        close(metrics.rework_rate, Some(rework as f64 / n), &what);
        // The median service's rate, over services deployed before the window's end.
        let mut rates: Vec<f64> = expected
            .iter()
            .filter(|((service, _), e)| {
                e.deployed_at < window.1 && key.as_ref().is_none_or(|k| k == service)
            })
            .map(|((service, _), _)| service.clone())
            .collect::<std::collections::BTreeSet<_>>()
            .iter()
            .map(|service| {
                groups.get(&Some(service.clone())).map_or(0, Vec::len) as f64 / (days / 7.0)
            })
            .collect();
        rates.sort_by(f64::total_cmp);
        close(
            metrics.service_deployments_per_week_median,
            percentile(&rates, 0.5),
            &format!("{what}: median service rate"),
        );
    }
}
