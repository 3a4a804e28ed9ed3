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
