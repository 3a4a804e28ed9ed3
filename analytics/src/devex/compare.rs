//! Two periods compared: medians, the difference with its interval, the
//! Mann-Whitney p and a verdict.

use super::*;

/// A measure two periods can be compared on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
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
    pub(super) fn source(
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

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct PeriodSample {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub n: u64,
    pub median: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
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
        service: None,
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
        let result = queries.metric_sql_on(&context, &sql, false).await?;
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
