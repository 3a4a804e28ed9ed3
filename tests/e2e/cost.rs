//! FOCUS billing exports into the lake: the published sample imports to the
//! cent and once; a file with two billing currencies is refused, naming the
//! line and column, and converted with rates.

use crate::support::*;

fn sample() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/fixtures/payloads/focus-sample-data/focus_sample.csv")
}

#[test]
fn the_focus_sample_imports_to_the_cent_and_once() {
    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    let file = sample();
    let file_arg = file.to_str().unwrap();
    let first = run(&["import", "focus", file_arg, "--lake", lake_arg]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(
        stdout(&first).contains("1000 rows read (0 converted to USD), 1000 stored"),
        "{}",
        stdout(&first)
    );
    let again = run(&["import", "focus", file_arg, "--lake", lake_arg]);
    assert!(
        stdout(&again).contains("0 stored, 1000 already in the lake"),
        "{}",
        stdout(&again)
    );
    // The sums of the file's 1,000 rows, computed with exact decimals
    // (Python's decimal module): BilledCost 20.52022672899, EffectiveCost
    // (BilledCost where NULL) 14.97651418586. Rows keep 10 decimals.
    let totals = query_json(
        lake.path(),
        "SELECT count(*) AS n, CAST(sum(billed_cost) AS VARCHAR) AS billed, \
         CAST(sum(coalesce(effective_cost, billed_cost)) AS VARCHAR) AS effective, \
         count(tags) AS tagged, count(DISTINCT provider_name) AS providers, \
         sum(CASE WHEN charge_category = 'Credit' THEN 1 ELSE 0 END) AS credits FROM costs",
    );
    assert_eq!(
        totals,
        serde_json::json!([{"n": 1000, "billed": "20.5202267289", "effective": "14.9765141858", "tagged": 711, "providers": 3, "credits": 1}])
    );
    // Tags are JSON objects with sorted keys; NULL is null, not the text.
    let tags = query_json(
        lake.path(),
        "SELECT tags FROM costs WHERE tags LIKE '%BrightLensMatrix%' AND tags LIKE '%ViennaAI%' LIMIT 1",
    );
    assert_eq!(
        tags[0]["tags"],
        r#"{"application":"BrightLensMatrix","business_unit":"ViennaAI","environment":"dev"}"#
    );
    assert_eq!(
        query_json(
            lake.path(),
            "SELECT count(*) AS n FROM costs WHERE resource_name = 'NULL' OR tags = 'NULL'"
        )[0]["n"],
        0
    );
    // The report reconciles on the published bill too: no catalog, so all
    // of it is unattributed, and it is the plain sum of the measure.
    let report = run_json(&[
        "report",
        "cost",
        "--lake",
        lake_arg,
        "--from",
        "2024-09-01",
        "--to",
        "2024-10-01",
        "--group-by",
        "provider",
    ]);
    assert_eq!(report["total"], "14.9765141858");
    assert_eq!(report["unattributed"], "14.9765141858");
    let by_provider: rust_decimal::Decimal = report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| decimal(&g["cost"]))
        .sum();
    assert_eq!(by_provider, decimal(&report["total"]));
    assert_eq!(
        report["groups"].as_array().unwrap().len(),
        3,
        "AWS, Microsoft, Oracle"
    );
}

#[test]
fn two_billing_currencies_are_refused_then_converted_with_rates() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let bill = dir.path().join("bill.csv");
    std::fs::write(
        &bill,
        "BilledCost,EffectiveCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd,ServiceName,x_Discount\n\
         10.00,8.00,USD,2024-09-01T00:00:00Z,2024-09-02T00:00:00Z,Compute,1\n\
         20.00,NULL,EUR,2024-09-01T00:00:00Z,2024-09-02T00:00:00Z,Storage,2\n\
         -5.00,-5.00,EUR,2024-10-01T00:00:00Z,2024-10-02T00:00:00Z,Storage,3\n",
    )
    .unwrap();
    let refused = run(&[
        "import",
        "focus",
        bill.to_str().unwrap(),
        "--lake",
        lake_arg,
    ]);
    assert_eq!(refused.status.code(), Some(1));
    let message = stderr(&refused);
    assert!(
        message.contains("line 3, column BillingCurrency: `EUR`, but line 2 is `USD`")
            && message.contains("--rates"),
        "{message}"
    );
    // Nothing of a refused file is stored.
    assert!(
        !lake.join("costs").exists()
            || query_json(&lake, "SELECT count(*) AS n FROM costs")[0]["n"] == 0
    );
    let rates = dir.path().join("rates.csv");
    std::fs::write(&rates, "currency,month,rate\nEUR,2024-09,1.1\n").unwrap();
    let missing = run(&[
        "import",
        "focus",
        bill.to_str().unwrap(),
        "--rates",
        rates.to_str().unwrap(),
        "--lake",
        lake_arg,
    ]);
    assert!(
        stderr(&missing)
            .contains("line 4, column BillingCurrency: no rate from EUR to USD for 2024-10"),
        "{}",
        stderr(&missing)
    );
    std::fs::write(
        &rates,
        "currency,month,rate\nEUR,2024-09,1.1\nEUR,2024-10,1.08\n",
    )
    .unwrap();
    let converted = run(&[
        "import",
        "focus",
        bill.to_str().unwrap(),
        "--rates",
        rates.to_str().unwrap(),
        "--lake",
        lake_arg,
    ]);
    assert!(converted.status.success(), "{}", stderr(&converted));
    assert!(
        stdout(&converted).contains("3 rows read (2 converted to USD), 3 stored"),
        "{}",
        stdout(&converted)
    );
    // 20.00 EUR * 1.1 = 22.00 USD; the credit -5.00 EUR * 1.08 = -5.40 USD.
    let rows = query_json(
        &lake,
        "SELECT CAST(billed_cost AS VARCHAR) AS billed, CAST(effective_cost AS VARCHAR) AS effective, \
         billing_currency AS currency, source_currency AS source, CAST(exchange_rate AS VARCHAR) AS rate \
         FROM costs ORDER BY charge_period_start, billed_cost",
    );
    assert_eq!(
        rows,
        serde_json::json!([
            {"billed": "10.0000000000", "effective": "8.0000000000", "currency": "USD", "source": null, "rate": null},
            {"billed": "22.0000000000", "effective": null, "currency": "USD", "source": "EUR", "rate": "1.1000000000"},
            {"billed": "-5.4000000000", "effective": "-5.4000000000", "currency": "USD", "source": "EUR", "rate": "1.0800000000"}
        ])
    );
    // A bad amount names its line and column.
    std::fs::write(
        &bill,
        "BilledCost,BillingCurrency,ChargePeriodStart,ChargePeriodEnd\n1.00,USD,2024-09-01T00:00:00Z,2024-09-02T00:00:00Z\nabc,USD,2024-09-01T00:00:00Z,2024-09-02T00:00:00Z\n",
    )
    .unwrap();
    let bad = run(&[
        "import",
        "focus",
        bill.to_str().unwrap(),
        "--lake",
        lake_arg,
    ]);
    assert!(
        stderr(&bad).contains("line 3, column BilledCost: `abc` is not a decimal number"),
        "{}",
        stderr(&bad)
    );
}

fn decimal(value: &serde_json::Value) -> rust_decimal::Decimal {
    value.as_str().unwrap().parse().unwrap()
}

#[test]
fn the_demo_bill_reconciles_exactly_every_month() {
    // attributed + shared + unattributed = total, and each month's cost is
    // the plain sum of the measure over its rows, to the last digit.
    let lake = demo_lake();
    let lake_arg = lake.to_str().unwrap();
    let report = |group_by: &str, measure: &str| -> serde_json::Value {
        run_json(&[
            "report",
            "cost",
            "--lake",
            lake_arg,
            "--from",
            "2025-11-01",
            "--to",
            "2026-11-01",
            "--group-by",
            group_by,
            "--measure",
            measure,
        ])
    };
    for (measure, sql) in [
        ("effective", "coalesce(effective_cost, billed_cost)"),
        ("billed", "billed_cost"),
    ] {
        let months = report("month", measure);
        let total = decimal(&months["total"]);
        assert_eq!(
            decimal(&months["attributed"])
                + decimal(&months["shared"])
                + decimal(&months["unattributed"]),
            total
        );
        let plain = query_json(
            lake,
            &format!(
                "SELECT to_char(charge_period_start, '%Y-%m') AS month, CAST(sum({sql}) AS VARCHAR) AS amount \
                 FROM costs WHERE billing_currency = 'USD' AND charge_period_start >= '2025-11-01T00:00:00Z' \
                 AND charge_period_start < '2026-11-01T00:00:00Z' GROUP BY 1 ORDER BY 1"
            ),
        );
        let groups = months["groups"].as_array().unwrap();
        assert_eq!(groups.len(), 12, "{months}");
        for (group, row) in groups.iter().zip(plain.as_array().unwrap()) {
            assert_eq!(group["month"], row["month"]);
            assert_eq!(
                decimal(&group["cost"]),
                decimal(&row["amount"]),
                "{measure} {group}"
            );
        }
        // Per team: the teams' direct and shared cost plus the unattributed
        // remainder is the total again; the remainder is small and shown.
        let teams = report("team", measure);
        let by_team: rust_decimal::Decimal = teams["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| decimal(&g["cost"]))
            .sum();
        assert_eq!(
            by_team + decimal(&teams["unattributed"]),
            decimal(&teams["total"])
        );
        assert_eq!(decimal(&teams["total"]), total);
        let share = decimal(&teams["unattributed"]) / total;
        assert!(
            share > rust_decimal::Decimal::ZERO && share < rust_decimal::Decimal::new(2, 2),
            "{share}"
        );
        assert!(teams["unattributed_top"][0]["resource_id"]
            .as_str()
            .unwrap()
            .contains("natgateway"));
        assert!(
            teams["groups"][0]["rule_counts"]["shared"]
                .as_u64()
                .unwrap()
                > 0
        );
    }
}

/// A fake OpenCost serving the published allocations as two whole days
/// (`step=1d`, `accumulate=false`).
async fn fake_opencost() -> wiremock::MockServer {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let published: serde_json::Value = serde_json::from_slice(
        &std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../tests/fixtures/payloads/opencost-website/allocation-example-output.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let day = |start: &str, end: &str| {
        let mut step = published["data"][0].clone();
        for allocation in step.as_object_mut().unwrap().values_mut() {
            allocation["window"] = serde_json::json!({"start": start, "end": end});
            allocation["start"] = serde_json::json!(start);
            allocation["end"] = serde_json::json!(end);
        }
        step
    };
    let body = serde_json::json!({"code": 200, "status": "success", "data": [
        day("2026-03-01T00:00:00Z", "2026-03-02T00:00:00Z"),
        day("2026-03-02T00:00:00Z", "2026-03-03T00:00:00Z"),
    ]});
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/allocation"))
        .and(query_param("aggregate", "namespace"))
        .and(query_param("step", "1d"))
        .and(query_param("accumulate", "false"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opencost_namespaces_cost_their_services_and_never_twice() {
    let opencost = fake_opencost().await;
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap().to_string();
    // The catalog says prometheus runs in the namespace of that name.
    let services = dir.path().join("services.jsonl");
    std::fs::write(
        &services,
        r#"{"service": "metrics", "owner_team": "observability", "repos": ["acme/metrics"], "annotations": "{\"backstage.io/kubernetes-namespace\":\"prometheus\"}"}"#,
    )
    .unwrap();
    let url = opencost.uri();
    let services_arg = services.to_str().unwrap().to_string();
    let outputs = tokio::task::spawn_blocking(move || {
        let imported = run(&["import", "services", &services_arg, "--lake", &lake_arg]);
        assert!(imported.status.success(), "{}", stderr(&imported));
        let pull = || {
            run(&[
                "ingest", "opencost", "--url", &url, "--window", "7d", "--json", "--lake",
                &lake_arg,
            ])
        };
        (pull(), pull())
    })
    .await
    .unwrap();
    let (first, second) = outputs;
    assert!(first.status.success(), "{}", stderr(&first));
    let stored = |output: &std::process::Output| {
        let report: serde_json::Value = serde_json::from_str(&stdout(output)).unwrap();
        report["resources"][0]["stored"].as_u64().unwrap()
    };
    assert_eq!(stored(&first), 6, "three namespaces, two days");
    assert_eq!(stored(&second), 0, "the same days again add nothing");
    // prometheus's two days go to the metrics service; kube-system and
    // opencost are no one's (published totalCost: kube-system 1.52743).
    let report = run_json(&[
        "report",
        "cost",
        "--lake",
        lake.to_str().unwrap(),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-03",
        "--group-by",
        "service",
    ]);
    assert_eq!(report["groups"][0]["service"], "metrics", "{report}");
    assert_eq!(report["groups"][0]["rule_counts"]["namespace"], 2);
    let top = report["unattributed_top"].as_array().unwrap();
    let kube = top
        .iter()
        .find(|r| r["resource_id"] == "default-cluster/kube-system")
        .unwrap();
    assert_eq!(kube["cost"], "3.05486", "two days of 1.52743");
    assert_eq!(
        decimal(&report["attributed"]) + decimal(&report["unattributed"]),
        decimal(&report["total"])
    );
    // The rows behind it, each with its rule.
    let rows = run_json(&[
        "report",
        "cost",
        "--lake",
        lake.to_str().unwrap(),
        "--from",
        "2026-03-01",
        "--to",
        "2026-03-03",
        "--lines",
        "--rule",
        "namespace",
    ]);
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows
        .iter()
        .all(|r| r["service"] == "metrics" && r["team"] == "observability"));
    let bad = run(&[
        "report",
        "cost",
        "--lake",
        lake.to_str().unwrap(),
        "--lines",
        "--rule",
        "magic",
    ]);
    assert!(
        stderr(&bad).contains("`magic` is not one of service_tag"),
        "{}",
        stderr(&bad)
    );
    // Without a URL, it says where to point it.
    let missing = run(&["ingest", "opencost", "--lake", lake.to_str().unwrap()]);
    assert_eq!(missing.status.code().map(|c| c != 0), Some(true));
    assert!(stderr(&missing).contains("--url"), "{}", stderr(&missing));
}

#[test]
fn a_table_that_is_not_a_whole_export_names_the_missing_column() {
    // The FOCUS specification's scenario tables leave out BillingCurrency.
    let lake = tempfile::tempdir().unwrap();
    let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(
        "../tests/fixtures/payloads/focus-spec-examples/commitment_discount_usage_scenario_1.csv",
    );
    let output = run(&[
        "import",
        "focus",
        file.to_str().unwrap(),
        "--lake",
        lake.path().to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the FOCUS column `BillingCurrency` is missing from the header"),
        "{}",
        stderr(&output)
    );
}
