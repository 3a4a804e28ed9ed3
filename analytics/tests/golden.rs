//! Runs the sqllogictest files in `tests/golden/` against a fresh lake each.
//!
//! Statements load rows through the real lake writer:
//! `INSERT INTO <canonical table> (columns...) VALUES (...)` (a missing
//! `event_id` is made up). Queries are SQL over the lake, or one of the report
//! commands, which call the same library functions as the CLI and the API:
//!
//! ```text
//! REPORT dora from=2024-01-01 to=2024-02-01 [tz=..] [group_by=service|team|none]
//!        [service=..] [team=..] [production_pattern=..] [levels_year=..]
//!        [min_deployments=..]
//! SERIES dora granularity=week|month from=.. to=.. [...]
//! TREND dora from=.. to=.. [...]    (against the equal window before)
//! DEPLOYMENTS dora from=.. to=.. [...]
//! CHANGES dora from=.. to=.. [...]
//! REPORT ai from=.. to=.. [part=..] [...]   (see golden/ai_command.rs)
//! ```
//!
//! Numbers print with 4 decimals, missing values as NULL; a series period
//! the window cuts, or still running, has `(partial)` after its key.

mod ai_command;

use std::collections::HashMap;
use std::sync::Arc;

use analytics::devex::{self, DevexRequest, DevexSettings};
use analytics::dora::{self, DoraMetrics, DoraRequest, DoraSettings, FailureCause, Granularity};
use analytics::LakeQueries;
use arrow::array::{Array, RecordBatch, StringArray};
use arrow::compute::cast;
use arrow::datatypes::{DataType, Field, Schema};
use arrow::util::display::ArrayFormatter;
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use ingest::lake::Lake;
use sqllogictest::{DBOutput, DefaultColumnType};

#[derive(Debug)]
struct GoldenError(String);

impl std::fmt::Display for GoldenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for GoldenError {}

fn err(e: impl std::fmt::Display) -> GoldenError {
    GoldenError(e.to_string())
}

struct GoldenLake {
    _dir: tempfile::TempDir,
    lake: Arc<Lake>,
    inserted: usize,
}

impl GoldenLake {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
        GoldenLake {
            _dir: dir,
            lake,
            inserted: 0,
        }
    }

    /// Parses an INSERT with DataFusion into a scratch table of the canonical
    /// schema, then appends the rows through the lake writer.
    async fn insert(&mut self, sql: &str) -> Result<u64, GoldenError> {
        let table_name = sql
            .split_whitespace()
            .nth(2)
            .ok_or_else(|| err("INSERT INTO needs a table"))?;
        let spec = ingest::schema::table(table_name).map_err(err)?;
        let canonical = spec.schema();
        let loose = Arc::new(Schema::new(
            canonical
                .fields()
                .iter()
                .map(|f| Field::new(f.name(), f.data_type().clone(), true))
                .collect::<Vec<_>>(),
        ));
        let scratch = SessionContext::new();
        let table = MemTable::try_new(loose.clone(), vec![vec![]]).map_err(err)?;
        scratch
            .register_table(table_name, Arc::new(table))
            .map_err(err)?;
        scratch
            .sql(sql)
            .await
            .map_err(err)?
            .collect()
            .await
            .map_err(err)?;
        let batches = scratch
            .table(table_name)
            .await
            .map_err(err)?
            .collect()
            .await
            .map_err(err)?;
        let mut rows = 0;
        for batch in batches {
            let mut columns = batch.columns().to_vec();
            // Made-up event ids for rows that give none.
            let ids = columns[0].as_any().downcast_ref::<StringArray>().cloned();
            if let Some(ids) = ids {
                let filled: StringArray = (0..ids.len())
                    .map(|i| {
                        Some(if ids.is_null(i) {
                            self.inserted += 1;
                            format!("golden:{table_name}:{}", self.inserted)
                        } else {
                            ids.value(i).to_string()
                        })
                    })
                    .collect();
                columns[0] = Arc::new(filled);
            }
            let batch = RecordBatch::try_new(canonical.clone(), columns).map_err(|e| {
                err(format!(
                    "{table_name}: a required column is missing or null: {e}"
                ))
            })?;
            rows += batch.num_rows();
            self.lake.append(spec, &batch).await.map_err(err)?;
        }
        Ok(rows as u64)
    }
}

fn number(value: Option<f64>) -> String {
    match value {
        Some(v) => format!("{v:.4}"),
        None => "NULL".into(),
    }
}

fn metric_row(key: &str, m: &DoraMetrics) -> Vec<String> {
    let level = |l: Option<dora::Level>| {
        l.map(|l| {
            serde_json::to_value(l)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .unwrap_or_else(|| "NULL".into())
    };
    vec![
        key.to_string(),
        m.deployments.to_string(),
        number(Some(m.deployments_per_week)),
        number(Some(m.deployment_days_share)),
        m.changes.to_string(),
        number(m.lead_time_median_hours),
        number(m.lead_time_p90_hours),
        m.failed_deployments.to_string(),
        m.unrecovered.to_string(),
        number(m.change_failure_rate),
        number(m.recovery_time_median_hours),
        number(m.recovery_time_p90_hours),
        number(m.rework_rate),
        format!(
            "{}/{}/{}/{}",
            level(m.levels.deployment_frequency),
            level(m.levels.lead_time_for_changes),
            level(m.levels.change_failure_rate),
            level(m.levels.failed_deployment_recovery_time)
        ),
    ]
}

fn parse_request(args: &HashMap<String, String>) -> Result<DoraRequest, GoldenError> {
    let mut settings = DoraSettings::default();
    if let Some(p) = args.get("production_pattern") {
        settings.production_pattern = p.clone();
    }
    if let Some(y) = args.get("levels_year") {
        settings.levels_year = y.parse().map_err(err)?;
    }
    if let Some(n) = args.get("min_deployments") {
        settings.min_deployments_for_level = n.parse().map_err(err)?;
    }
    DoraRequest::parse(
        args.get("from").map(String::as_str).unwrap_or(""),
        args.get("to").map(String::as_str).unwrap_or(""),
        args.get("tz").map(String::as_str),
        args.get("service").cloned(),
        args.get("team").cloned(),
        args.get("group_by").map(String::as_str),
        settings,
    )
    .map_err(err)
}

fn rows(rows: Vec<Vec<String>>) -> DBOutput<DefaultColumnType> {
    let width = rows.first().map(Vec::len).unwrap_or(0);
    DBOutput::Rows {
        types: vec![DefaultColumnType::Any; width],
        rows,
    }
}

async fn report_command(
    queries: &LakeQueries,
    command: &str,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    let request = parse_request(args)?;
    match command {
        "REPORT" => {
            let report = dora::report(queries, &request).await.map_err(err)?;
            let mut out: Vec<Vec<String>> = report
                .groups
                .iter()
                .map(|g| metric_row(g.key.label().unwrap_or("NULL"), &g.metrics))
                .collect();
            out.push(metric_row("overall", &report.overall));
            Ok(rows(out))
        }
        "TREND" => {
            let trend = dora::trend::trend(queries, &request).await.map_err(err)?;
            let mut out = Vec::new();
            for group in trend.groups.iter().chain([&trend.overall]) {
                let key = group.team.clone().unwrap_or_else(|| "overall".into());
                for (name, change) in [
                    ("deployments_per_week", &group.deployments_per_week),
                    ("lead_time_median_hours", &group.lead_time_median_hours),
                    ("change_failure_rate", &group.change_failure_rate),
                ] {
                    out.push(vec![
                        key.clone(),
                        name.to_string(),
                        number(change.previous),
                        number(change.current),
                        change.previous_n.to_string(),
                        change.current_n.to_string(),
                        number(change.p_value),
                        change.significant.to_string(),
                        change
                            .better
                            .map_or_else(|| "NULL".into(), |b| b.to_string()),
                    ]);
                }
            }
            Ok(rows(out))
        }
        "SERIES" => {
            let granularity: Granularity = args
                .get("granularity")
                .map(String::as_str)
                .unwrap_or("week")
                .parse()
                .map_err(err)?;
            let series = dora::series(queries, &request, granularity)
                .await
                .map_err(err)?;
            Ok(rows(
                series
                    .points
                    .iter()
                    .map(|p| {
                        let key = match &p.key {
                            Some(k) => {
                                format!("{}:{}", p.period_start, k.label().unwrap_or("NULL"))
                            }
                            None => format!("{}..{}", p.period_start, p.period_end),
                        };
                        // A period the window cuts (or still running) says so.
                        let key = if p.partial {
                            format!("{key}(partial)")
                        } else {
                            key
                        };
                        metric_row(&key, &p.metrics)
                    })
                    .collect(),
            ))
        }
        "DEPLOYMENTS" => {
            let report = dora::deployments(queries, &request).await.map_err(err)?;
            Ok(rows(
                report
                    .deployments
                    .iter()
                    .map(|d| {
                        let causes: Vec<String> = d
                            .failure_causes
                            .iter()
                            .map(|c| match c {
                                FailureCause::Incident {
                                    incident_id,
                                    attribution,
                                    ..
                                } => format!("{incident_id}:{attribution}"),
                                FailureCause::Rollback { deployment_id, .. } => {
                                    format!("rollback:{deployment_id}")
                                }
                            })
                            .collect();
                        vec![
                            d.service.clone(),
                            d.deployment_id.clone(),
                            serde_json::to_value(d.class)
                                .unwrap()
                                .as_str()
                                .unwrap()
                                .to_string(),
                            d.rolls_back.clone().unwrap_or_else(|| "-".into()),
                            d.changes.len().to_string(),
                            d.failed.to_string(),
                            if causes.is_empty() {
                                "-".into()
                            } else {
                                causes.join(",")
                            },
                            number(d.recovery_hours),
                            d.unrecovered.to_string(),
                            d.rework.to_string(),
                        ]
                    })
                    .collect(),
            ))
        }
        "CHANGES" => {
            let report = dora::deployments(queries, &request).await.map_err(err)?;
            let mut out = Vec::new();
            for d in &report.deployments {
                for c in &d.changes {
                    out.push(vec![
                        d.deployment_id.clone(),
                        c.sha.clone(),
                        c.started_from.clone(),
                        number(Some(c.lead_time_hours)),
                        c.rework.to_string(),
                    ]);
                }
            }
            Ok(rows(out))
        }
        other => Err(err(format!("unknown command {other}"))),
    }
}

/// `REPORT adoption from=.. to=.. [tz=..] [group_by=tool|feature|team]
/// [min_group_size=..]`: a row per group, then `overall` (key,
/// active_users, dau_mean, wau_mean, stickiness, events, developers,
/// adoption, hidden). With `outcomes=true`: per group the success, failure
/// and abandoned shares. With `funnel=tool:feature,..` [step_days=..]: that
/// funnel's steps. With `cohorts=true`: the retention cohorts. With
/// `weekly=true`: week, tool, distinct users. With
/// `golden_paths=true` [platform_pipelines=..]: per team and overall,
/// services created, from a template, share, production deployments, on
/// the platform pipeline, share.
async fn adoption_command(
    queries: &LakeQueries,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    use analytics::adoption::{self, AdoptionMetrics, AdoptionRequest, AdoptionSettings};
    let mut settings = DevexSettings::default();
    if let Some(size) = args.get("min_group_size") {
        settings.min_group_size = size.parse().map_err(err)?;
    }
    let mut adoption_settings = AdoptionSettings::default();
    if let Some(funnel) = args.get("funnel") {
        adoption_settings.funnels = [(
            "f".to_string(),
            funnel.split(',').map(str::to_string).collect(),
        )]
        .into_iter()
        .collect();
    }
    if let Some(days) = args.get("step_days") {
        adoption_settings.step_days = days.parse().map_err(err)?;
    }
    let mut request = AdoptionRequest::parse(
        args.get("from").map(String::as_str),
        args.get("to").map(String::as_str),
        args.get("tz").map(String::as_str),
        args.get("group_by").map(String::as_str),
        settings,
        adoption_settings,
    )
    .map_err(err)?;
    request.extras.funnels = args.contains_key("funnel");
    request.extras.cohorts = args.get("cohorts").is_some_and(|v| v == "true");
    request.extras.golden_paths = args.get("golden_paths").is_some_and(|v| v == "true");
    if let Some(pattern) = args.get("platform_pipelines") {
        request.adoption.platform_pipelines = pattern.clone();
    }
    if args.contains_key("weekly") {
        let weeks = adoption::weekly_users(queries, &request)
            .await
            .map_err(err)?;
        let out = weeks
            .into_iter()
            .map(|w| vec![w.week.to_string(), w.tool, w.users.to_string()])
            .collect();
        return Ok(rows(out));
    }
    let report = adoption::report(queries, &request).await.map_err(err)?;
    // Funnels: a row per step (step, users, share, median days from the
    // previous step, hidden); cohorts: a row per cohort (cohort, users,
    // then the share active in each month since).
    if let Some(funnels) = &report.funnels {
        let mut out = Vec::new();
        for funnel in funnels {
            for step in &funnel.steps {
                out.push(vec![
                    step.step.clone(),
                    count(step.users),
                    number(step.share),
                    number(step.median_days_from_previous),
                    if funnel.hidden_reason.is_some() {
                        "hidden"
                    } else {
                        "-"
                    }
                    .to_string(),
                ]);
            }
        }
        return Ok(rows(out));
    }
    if args.contains_key("outcomes") {
        let out = report
            .groups
            .iter()
            .map(|g| {
                vec![
                    g.key.label().unwrap_or("NULL").to_string(),
                    number(g.metrics.success_share),
                    number(g.metrics.failure_share),
                    number(g.metrics.abandoned_share),
                ]
            })
            .collect();
        return Ok(rows(out));
    }
    if let Some(paths) = &report.golden_paths {
        let row = |key: String, s: &analytics::adoption::GoldenPathShares| {
            vec![
                key,
                s.services_created.to_string(),
                s.services_from_template.to_string(),
                number(s.template_share),
                s.production_deployments.to_string(),
                s.platform_pipeline_deployments.to_string(),
                number(s.pipeline_share),
            ]
        };
        let mut out: Vec<Vec<String>> = paths
            .teams
            .iter()
            .map(|t| row(t.team.clone().unwrap_or_else(|| "NULL".into()), &t.shares))
            .collect();
        out.push(row("overall".into(), &paths.overall));
        return Ok(rows(out));
    }
    if let Some(cohorts) = &report.cohorts {
        let out = cohorts
            .iter()
            .map(|c| {
                let mut row = vec![c.cohort.clone(), count(c.users)];
                row.push(if c.retention.is_empty() {
                    "hidden".to_string()
                } else {
                    c.retention
                        .iter()
                        .map(|r| format!("{r:.4}"))
                        .collect::<Vec<_>>()
                        .join(" ")
                });
                row
            })
            .collect();
        return Ok(rows(out));
    }

    let row = |key: String, m: &AdoptionMetrics| {
        vec![
            key,
            count(m.active_users),
            number(m.dau_mean),
            number(m.wau_mean),
            number(m.stickiness),
            count(m.events),
            count(m.developers),
            number(m.adoption),
            if m.hidden_reason.is_some() {
                "hidden"
            } else {
                "-"
            }
            .to_string(),
        ]
    };
    let mut out: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| row(g.key.label().unwrap_or("NULL").to_string(), &g.metrics))
        .collect();
    out.push(row("overall".into(), &report.overall));
    Ok(rows(out))
}

/// `REPORT onboarding from=.. to=.. [tz=..] [group_by=team|cohort]
/// [min_group_size=..]`: a row per group, then `overall` (key,
/// new_developers, then median, n and not_yet_reached of the first merged
/// pull request, the first production change and the tenth merged pull
/// request, hidden).
async fn onboarding_command(
    queries: &LakeQueries,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    use analytics::onboarding::{self, OnboardingMetrics, OnboardingRequest};
    let mut settings = DevexSettings::default();
    if let Some(size) = args.get("min_group_size") {
        settings.min_group_size = size.parse().map_err(err)?;
    }
    let request = OnboardingRequest::parse(
        args.get("from").map(String::as_str),
        args.get("to").map(String::as_str),
        args.get("tz").map(String::as_str),
        args.get("group_by").map(String::as_str),
        settings,
        DoraSettings::default(),
    )
    .map_err(err)?;
    let report = onboarding::report(queries, &request).await.map_err(err)?;
    let row = |key: String, m: &OnboardingMetrics| {
        let mut row = vec![key, count(m.new_developers)];
        for i in 0..onboarding::MILESTONES.len() {
            let summary = m.milestones.map(|s| s[i]);
            row.push(number(summary.and_then(|s| s.median)));
            row.push(count(summary.map(|s| s.n)));
            row.push(count(summary.map(|s| s.not_yet_reached)));
        }
        row.push(
            if m.hidden_reason.is_some() {
                "hidden"
            } else {
                "-"
            }
            .to_string(),
        );
        row
    };
    let mut out: Vec<Vec<String>> = report
        .groups
        .iter()
        .map(|g| row(g.key.label().to_string(), &g.metrics))
        .collect();
    out.push(row("overall".into(), &report.overall));
    Ok(rows(out))
}

/// `REPORT cost from=.. to=.. [measure=..] [group_by=..] [split=even]`:
/// a `total` row (total, attributed, shared, unattributed), a row per group
/// (key, direct, shared, unattributed, cost, rule counts), then `untagged`
/// rows (resource, provider service, cost).
async fn cost_command(
    queries: &LakeQueries,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    use analytics::cost::{self, CostRequest, CostSettings, SplitRule};
    let mut settings = CostSettings::default();
    if args.get("split").map(String::as_str) == Some("even") {
        settings.shared.split = SplitRule::Even;
    }
    for (key, value) in args {
        if let Some(team) = key.strip_prefix("budget.") {
            settings
                .budgets
                .insert(team.to_string(), cost::Amount::Text(value.clone()));
        }
        if let Some(os) = key.strip_prefix("ci.") {
            settings
                .ci
                .per_minute
                .insert(os.to_string(), cost::Amount::Text(value.clone()));
        }
    }
    let request = CostRequest::parse(
        args.get("from").map(String::as_str),
        args.get("to").map(String::as_str),
        args.get("measure").map(String::as_str),
        args.get("group_by").map(String::as_str),
        settings,
    )
    .map_err(err)?;
    let report = if args.contains_key("units") {
        cost::report_with_unit_costs(
            queries,
            &request,
            &DoraSettings::default(),
            &DevexSettings::default(),
        )
        .await
    } else {
        cost::report(queries, &request).await
    }
    .map_err(err)?;
    let mut out = vec![vec![
        "total".to_string(),
        report.total.to_string(),
        report.attributed.to_string(),
        report.shared.to_string(),
        report.unattributed.to_string(),
        "-".to_string(),
    ]];
    for group in &report.groups {
        let mut counts: Vec<String> = group
            .rule_counts
            .iter()
            .map(|(rule, n)| format!("{rule}={n}"))
            .collect();
        if let Some(change) = group.change {
            counts.push(format!("change={change}"));
        }
        out.push(vec![
            group.key.label().unwrap_or("NULL").to_string(),
            group.direct.to_string(),
            group.shared.to_string(),
            group.unattributed.to_string(),
            group.cost.to_string(),
            counts.join(","),
        ]);
    }
    for budget in &report.budgets {
        out.push(vec![
            "budget".to_string(),
            budget.team.clone(),
            budget.budget.to_string(),
            budget.spent.to_string(),
            budget.forecast.to_string(),
            format!("{:.4}", budget.forecast_share.unwrap_or(f64::NAN)),
        ]);
    }
    let money = |m: Option<cost::Money>| m.map_or_else(|| "NULL".to_string(), |m| m.to_string());
    for unit in &report.unit_costs {
        out.push(vec![
            "unit".to_string(),
            unit.team.clone(),
            format!("{}/{}", unit.cost, unit.production_deployments),
            money(unit.cost_per_deployment),
            unit.merged_pull_requests.to_string(),
            money(unit.cost_per_merged_pull_request),
        ]);
    }
    for ci in &report.ci {
        out.push(vec![
            "ci".to_string(),
            ci.team.clone().unwrap_or_else(|| "NULL".into()),
            ci.runs.to_string(),
            ci.minutes.to_string(),
            ci.cost.to_string(),
            ci.unpriced_minutes.to_string(),
        ]);
    }
    for other in &report.other_currencies {
        out.push(vec![
            "currency".to_string(),
            other.currency.clone(),
            other.total.to_string(),
            other.rows.to_string(),
            "-".to_string(),
            "-".to_string(),
        ]);
    }
    for resource in &report.unattributed_top {
        out.push(vec![
            "untagged".to_string(),
            resource
                .resource_id
                .clone()
                .unwrap_or_else(|| "NULL".into()),
            resource
                .service_name
                .clone()
                .unwrap_or_else(|| "NULL".into()),
            resource.cost.to_string(),
            "-".to_string(),
            "-".to_string(),
        ]);
    }
    Ok(rows(out))
}

fn devex_request(args: &HashMap<String, String>) -> Result<DevexRequest, GoldenError> {
    let mut settings = DevexSettings::default();
    if let Some(size) = args.get("min_group_size") {
        settings.min_group_size = size.parse().map_err(err)?;
    }
    if let Some(exclude) = args.get("exclude_weekends") {
        settings.exclude_weekends = exclude.parse().map_err(err)?;
    }
    let mut request = DevexRequest::parse(
        args.get("from").map(String::as_str).unwrap_or(""),
        args.get("to").map(String::as_str).unwrap_or(""),
        args.get("tz").map(String::as_str),
        args.get("team").cloned(),
        args.get("repo").cloned(),
        args.get("group_by").map(String::as_str),
        settings,
        DoraSettings::default(),
    )
    .map_err(err)?;
    request.service = args.get("service").cloned();
    Ok(request)
}

fn count(value: Option<u64>) -> String {
    value.map_or_else(|| "NULL".into(), |v| v.to_string())
}

/// key, ci_runs, ci duration median and p90, queue median, ci_shas, flaky
/// rate, merged_prs, coding, pickup, review medians, deployed_prs, deploy
/// median, cycle median and p90, unreviewed share, handoffs median,
/// developers, developer_days, context switches median and p90, repos
/// median, high-switch share, focus share, wip median, hidden.
async fn devex_command(
    queries: &LakeQueries,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    let report = devex::report(queries, &devex_request(args)?)
        .await
        .map_err(err)?;
    Ok(rows(
        report
            .groups
            .iter()
            .map(|g| {
                let m = &g.metrics;
                vec![
                    g.key.label().unwrap_or("NULL").to_string(),
                    m.ci_runs.to_string(),
                    number(m.ci_duration_median_minutes),
                    number(m.ci_duration_p90_minutes),
                    number(m.ci_queue_median_minutes),
                    m.ci_shas.to_string(),
                    number(m.flaky_rate),
                    m.merged_prs.to_string(),
                    number(m.pr_coding_median_hours),
                    number(m.pr_pickup_median_hours),
                    number(m.pr_review_median_hours),
                    m.deployed_prs.to_string(),
                    number(m.pr_deploy_median_hours),
                    number(m.pr_cycle_time_median_hours),
                    number(m.pr_cycle_time_p90_hours),
                    number(m.unreviewed_merge_share),
                    number(m.handoffs_median),
                    count(m.developers),
                    count(m.developer_days),
                    number(m.context_switches_median),
                    number(m.context_switches_p90),
                    number(m.repos_touched_median),
                    number(m.high_context_switch_day_share),
                    number(m.focus_day_share),
                    number(m.wip_median),
                    if m.people_measures_hidden.is_some() {
                        "hidden".into()
                    } else {
                        "-".into()
                    },
                ]
            })
            .collect(),
    ))
}

/// team, developers, merged_prs, per developer-week, reviewing developers,
/// participation, reviews, reviewers, gini, cross-team share, hidden.
async fn space_command(
    queries: &LakeQueries,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    let report = devex::space(queries, &devex_request(args)?)
        .await
        .map_err(err)?;
    Ok(rows(
        report
            .groups
            .iter()
            .map(|g| {
                let m = &g.metrics;
                vec![
                    g.team.clone().unwrap_or_else(|| "NULL".into()),
                    m.developers.to_string(),
                    count(m.merged_prs),
                    number(m.merged_prs_per_developer_week),
                    count(m.reviewing_developers),
                    number(m.review_participation),
                    m.reviews.to_string(),
                    m.reviewers.to_string(),
                    number(m.reviewer_gini),
                    number(m.cross_team_review_share),
                    if m.people_measures_hidden.is_some() {
                        "hidden".into()
                    } else {
                        "-".into()
                    },
                ]
            })
            .collect(),
    ))
}

/// n and median of each period, difference, p-value, significant, verdict.
async fn compare_command(
    queries: &LakeQueries,
    metric: &str,
    args: &HashMap<String, String>,
) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
    let date = |name: &str| {
        chrono::NaiveDate::parse_from_str(
            args.get(name).map(String::as_str).unwrap_or(""),
            "%Y-%m-%d",
        )
        .map_err(|e| err(format!("{name}: {e}")))
    };
    let comparison = devex::compare(
        queries,
        metric.parse().map_err(err)?,
        args.get("team").cloned(),
        chrono_tz::Tz::UTC,
        (date("a_from")?, date("a_to")?),
        (date("b_from")?, date("b_to")?),
        DevexSettings::default(),
        DoraSettings::default(),
    )
    .await
    .map_err(err)?;
    Ok(rows(vec![vec![
        comparison.a.n.to_string(),
        number(comparison.a.median),
        comparison.b.n.to_string(),
        number(comparison.b.median),
        number(comparison.difference),
        number(comparison.p_value),
        comparison.significant.to_string(),
        comparison.verdict,
    ]]))
}

#[async_trait::async_trait]
impl sqllogictest::AsyncDB for GoldenLake {
    type Error = GoldenError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, GoldenError> {
        let sql = sql.trim();
        let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
        if first == "INSERT" {
            return Ok(DBOutput::StatementComplete(self.insert(sql).await?));
        }
        let queries = LakeQueries::open(self.lake.clone()).await.map_err(err)?;
        if matches!(
            first.as_str(),
            "REPORT" | "SERIES" | "TREND" | "DEPLOYMENTS" | "CHANGES" | "COMPARE"
        ) {
            let mut words = sql.split_whitespace();
            let command = words.next().unwrap_or("").to_uppercase();
            let metric = words.next().unwrap_or("").to_string();
            let args: HashMap<String, String> = words
                .filter_map(|w| {
                    w.split_once('=')
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                })
                .collect();
            return match (command.as_str(), metric.as_str()) {
                ("REPORT", "devex") => devex_command(&queries, &args).await,
                ("REPORT", "ai") => ai_command::ai_command(&queries, &args).await,
                ("REPORT", "cost") => cost_command(&queries, &args).await,
                ("REPORT", "adoption") => adoption_command(&queries, &args).await,
                ("REPORT", "onboarding") => onboarding_command(&queries, &args).await,
                ("REPORT", "space") => space_command(&queries, &args).await,
                ("COMPARE", metric) => compare_command(&queries, metric, &args).await,
                (_, "dora") => report_command(&queries, &command, &args).await,
                _ => Err(err(format!("{command}: unknown metric `{metric}`"))),
            };
        }
        let result = queries.read_only_sql(sql).await.map_err(err)?;
        let mut out = Vec::new();
        for batch in &result.batches {
            let columns: Vec<_> = batch
                .columns()
                .iter()
                .map(|c| match c.data_type() {
                    DataType::Float32 | DataType::Float64 => cast(c, &DataType::Float64).unwrap(),
                    _ => c.clone(),
                })
                .collect();
            for row in 0..batch.num_rows() {
                out.push(
                    columns
                        .iter()
                        .map(|c| {
                            if c.is_null(row) {
                                "NULL".to_string()
                            } else if let DataType::Float64 = c.data_type() {
                                number(Some(
                                    c.as_any()
                                        .downcast_ref::<arrow::array::Float64Array>()
                                        .unwrap()
                                        .value(row),
                                ))
                            } else {
                                ArrayFormatter::try_new(c.as_ref(), &Default::default())
                                    .unwrap()
                                    .value(row)
                                    .to_string()
                            }
                        })
                        .collect(),
                );
            }
        }
        Ok(DBOutput::Rows {
            types: vec![DefaultColumnType::Any; result.schema.fields().len()],
            rows: out,
        })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "devex"
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn golden_files() {
    let folder = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "slt"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no .slt files in {}", folder.display());
    let mut failures = Vec::new();
    for file in &files {
        let mut runner = sqllogictest::Runner::new(|| async { Ok(GoldenLake::new()) });
        if let Err(e) = runner.run_file_async(file).await {
            failures.push(format!("{}:\n{}", file.display(), e.display(true)));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
