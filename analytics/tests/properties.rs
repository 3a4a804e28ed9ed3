//! Properties of the metrics over generated inputs: change failure rate and
//! rework rate in [0, 1], lead times and recovery times never negative (and
//! p90 never below the median), on DORA scenarios from many seeds; and cost
//! that always reconciles: attributed + shared + unattributed = total, to
//! the cent, whatever the tags.

use std::sync::Arc;

use analytics::dora::{self, DoraMetrics, DoraRequest, DoraSettings, GroupBy};
use analytics::LakeQueries;
use chrono::NaiveDate;
use ingest::lake::Lake;
use proptest::prelude::*;

fn check(m: &DoraMetrics, what: &str) -> Result<(), TestCaseError> {
    let unit = |v: Option<f64>| v.is_none_or(|v| (0.0..=1.0).contains(&v));
    prop_assert!(
        unit(m.change_failure_rate),
        "{what}: CFR {:?}",
        m.change_failure_rate
    );
    prop_assert!(unit(m.rework_rate), "{what}: rework {:?}", m.rework_rate);
    prop_assert!(m.failed_deployments <= m.deployments, "{what}");
    for (median, p90, name) in [
        (m.lead_time_median_hours, m.lead_time_p90_hours, "lead time"),
        (
            m.recovery_time_median_hours,
            m.recovery_time_p90_hours,
            "recovery",
        ),
    ] {
        prop_assert!(
            median.is_none_or(|v| v >= 0.0),
            "{what}: {name} median {median:?}"
        );
        prop_assert!(p90.is_none_or(|v| v >= 0.0), "{what}: {name} p90 {p90:?}");
        if let (Some(median), Some(p90)) = (median, p90) {
            prop_assert!(p90 >= median, "{what}: {name} p90 {p90} < median {median}");
        }
    }
    Ok(())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    #[test]
    fn dora_rates_are_rates_and_durations_are_not_negative(seed in any::<u64>()) {
        runtime().block_on(async {
            let scenario = crate::independent::generate(seed);
            let dir = tempfile::tempdir().unwrap();
            let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
            crate::independent::store(&scenario, &lake).await;
            let queries = LakeQueries::open(lake).await.unwrap();
            let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
            let request = DoraRequest {
                from: day(2023, 12, 1),
                to: day(2024, 12, 1),
                tz: chrono_tz::UTC,
                service: None,
                team: None,
                group_by: GroupBy::Service,
                settings: DoraSettings::default(),
            };
            let report = dora::report(&queries, &request).await.unwrap();
            prop_assert!(report.overall.deployments > 100, "seed {seed}: {}", report.overall.deployments);
            prop_assert!(report.overall.failed_deployments > 0, "seed {seed}");
            for group in &report.groups {
                check(&group.metrics, &format!("seed {seed}, {:?}", group.key))?;
            }
            check(&report.overall, &format!("seed {seed}, overall"))?;
            // Every change's own lead time, too.
            dora::expose(&queries, &request.settings).await.unwrap();
            let lowest = queries
                .read_only_sql("SELECT min(lead_time_hours) AS low FROM change_lead_times")
                .await
                .unwrap();
            let low = analytics::columns::Columns::new(&lowest.batches).float("low").unwrap()[0];
            prop_assert!(low.is_none_or(|v| v >= 0.0), "seed {seed}: a change's lead time {low:?}");
            Ok(())
        })?;
    }
}

/// One cost row: a day of March 2026, an amount in units of 10^-10 (the
/// lake's scale, finer than cents) and a tag set picked by `kind`.
fn cost_row(n: usize, day: u32, amount: i64, kind: u8) -> Vec<ingest::rows::Value> {
    use ingest::rows::Value;
    let start = chrono::NaiveDate::from_ymd_opt(2026, 3, day)
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp_micros();
    let tags = match kind % 6 {
        0 => Some(r#"{"service":"api"}"#),
        1 => Some(r#"{"service":"web"}"#),
        2 => Some(r#"{"team":"beta"}"#),
        3 => Some(r#"{"namespace":"web-ns"}"#),
        4 => Some(r#"{"shared":"true"}"#),
        _ => None,
    };
    vec![
        Value::text(format!("cost-{n}")),
        Value::Timestamp(start),
        Value::Timestamp(start + 86_400_000_000),
        Value::Money(i128::from(amount)),
        Value::Null,
        Value::Null,
        Value::text("USD"),
        Value::text("Usage"),
        Value::text("AWS"),
        Value::text("Amazon EC2"),
        Value::text(format!("i-{n}")),
        Value::Null,
        Value::Null,
        tags.map_or(Value::Null, Value::text),
        Value::Null,
        Value::Null,
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn cost_always_reconciles_to_the_cent(
        rows in prop::collection::vec((1u32..29, 0i64..5_000_000_000_000, any::<u8>()), 1..60),
        even in any::<bool>(),
    ) {
        use analytics::cost::{self, CostGroupBy, CostRequest, CostSettings, SplitRule};
        use ingest::rows::{TableBuilder, Value};
        use ingest::schema::{COSTS, SERVICES};
        runtime().block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let lake = Arc::new(Lake::create_or_open(dir.path()).unwrap());
            let mut services = TableBuilder::new(&SERVICES);
            for (name, team, annotations) in [
                ("api", "alpha", None),
                ("web", "beta", Some(r#"{"backstage.io/kubernetes-namespace":"web-ns"}"#)),
            ] {
                services
                    .push(vec![
                        Value::text(format!("svc-{name}")),
                        Value::text(name),
                        Value::text(team),
                        Value::Null,
                        Value::Null,
                        Value::Null,
                        annotations.map_or(Value::Null, Value::text),
                        Value::Null,
                        Value::Null,
                    ])
                    .unwrap();
            }
            lake.append(&SERVICES, &services.finish().unwrap()).await.unwrap();
            let mut costs = TableBuilder::new(&COSTS);
            for (n, (day, amount, kind)) in rows.iter().enumerate() {
                costs.push(cost_row(n, *day, *amount, *kind)).unwrap();
            }
            lake.append(&COSTS, &costs.finish().unwrap()).await.unwrap();
            let queries = LakeQueries::open(lake).await.unwrap();
            let mut settings = CostSettings::default();
            if even {
                settings.shared.split = SplitRule::Even;
            }
            for group_by in [CostGroupBy::Team, CostGroupBy::Service] {
                let request = CostRequest::parse(
                    Some("2026-03-01"),
                    Some("2026-04-01"),
                    Some("billed"),
                    Some(group_by.name()),
                    settings.clone(),
                )
                .unwrap();
                let report = cost::report(&queries, &request).await.unwrap();
                prop_assert_eq!(
                    report.attributed.0 + report.shared.0 + report.unattributed.0,
                    report.total.0,
                    "{:?}: attributed + shared + unattributed", group_by
                );
                // Teams carry their shares of shared cost; services do not
                // (shared cost is nobody's service), so it stands apart.
                let groups: i128 = report.groups.iter().map(|g| g.cost.0).sum();
                let apart = match group_by {
                    CostGroupBy::Service => report.shared.0,
                    _ => 0,
                };
                prop_assert_eq!(
                    groups + apart + report.unattributed.0,
                    report.total.0,
                    "{:?}: the groups and the rest", group_by
                );
                // The total is every row's amount, exactly.
                let sum: i128 = rows.iter().map(|(_, a, _)| i128::from(*a)).sum();
                prop_assert_eq!(report.total.0, sum);
            }
            Ok(())
        })?;
    }
}
