//! The demo generator is reproducible: the same seed and end date give the
//! same lake, file for file and byte for byte.

use crate::support::*;

fn demo(seed: &str) -> tempfile::TempDir {
    let lake = tempfile::tempdir().unwrap();
    let output = demo_into(lake.path(), seed);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("rows stored"),
        "{}",
        stdout(&output)
    );
    lake
}

fn demo_into(lake: &std::path::Path, seed: &str) -> std::process::Output {
    run(&[
        "demo",
        "--lake",
        lake.to_str().unwrap(),
        "--seed",
        seed,
        "--scale",
        "0.25",
        "--months",
        "4",
        "--end",
        "2026-06-01",
    ])
}

fn contents(lake: &tempfile::TempDir) -> Vec<(String, Vec<u8>)> {
    snapshot(lake.path())
        .into_iter()
        // Materialized tables are caches of parallel queries: the same rows,
        // not always in the same order (the report tests check their numbers).
        .filter(|(p, _)| !p.starts_with("_devex") && !p.starts_with("_derived/materialized"))
        .collect()
}

#[test]
fn same_seed_same_lake_other_seed_other_lake() {
    let a = demo("11");
    let b = demo("11");
    let c = demo("12");
    let (a, b, c) = (contents(&a), contents(&b), contents(&c));
    assert!(
        a.len() >= 14,
        "expected files for every table, got {}",
        a.len()
    );
    assert_eq!(a, b);
    assert_ne!(a, c);
}

#[test]
fn running_the_demo_twice_adds_nothing() {
    let lake = demo("5");
    let before = contents(&lake);
    let output = demo_into(lake.path(), "5");
    assert!(output.status.success());
    assert!(
        stdout(&output).contains(": 0 rows stored"),
        "{}",
        stdout(&output)
    );
    assert_eq!(contents(&lake), before);
}

#[test]
fn the_demo_speaks_for_its_tools() {
    // The engineering group's code is on GitLab, the product group's on
    // GitHub; every incident comes from PagerDuty.
    let lake = demo_lake();
    let rows = query_json(
        lake,
        "SELECT s.owner_team AS team, min(d.source) AS source, count(DISTINCT d.source) AS sources \
         FROM deployments d JOIN services s USING (service) GROUP BY s.owner_team ORDER BY team",
    );
    let by_team: Vec<(String, String, i64)> = rows
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["team"].as_str().unwrap().to_string(),
                r["source"].as_str().unwrap().to_string(),
                r["sources"].as_i64().unwrap(),
            )
        })
        .collect();
    assert!(by_team.iter().all(|(_, _, n)| *n == 1), "{by_team:?}");
    let forges: std::collections::BTreeSet<&str> =
        by_team.iter().map(|(_, s, _)| s.as_str()).collect();
    assert_eq!(forges, ["github", "gitlab"].into());
    let incidents = query_json(
        lake,
        "SELECT count(*) AS n, count(CASE WHEN event_id LIKE 'pagerduty:%' THEN 1 END) AS pagerduty FROM incidents",
    );
    assert!(incidents[0]["n"].as_i64().unwrap() > 0);
    assert_eq!(incidents[0]["n"], incidents[0]["pagerduty"]);
}

#[test]
fn the_demo_monorepo_measures_each_service_apart() {
    // Three services share acme/checkout-monorepo, each owning its folder:
    // every change a deployment counts touches that service's folder, and
    // each service gets its own pull requests.
    let lake = demo_lake();
    let scoped = query_json(
        lake,
        "SELECT service, array_to_string(paths, ',') AS paths FROM services \
         WHERE array_has(repos, 'acme/checkout-monorepo') ORDER BY service",
    );
    assert_eq!(
        scoped,
        serde_json::json!([
            {"service": "checkout-api", "paths": "services/api/**"},
            {"service": "checkout-web", "paths": "services/web/**"},
            {"service": "checkout-worker", "paths": "services/worker/**"}
        ])
    );
    let output = run(&["derive", "--lake", lake.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let changes = query_json(
        lake,
        "SELECT c.service, count(*) AS changes, \
         count(CASE WHEN array_to_string(m.files, ',') LIKE concat('services/', substr(c.service, 10), '/%') THEN 1 END) AS own \
         FROM deployment_changes c JOIN commits m ON m.sha = c.sha \
         WHERE c.service LIKE 'checkout-%' AND m.repo = 'acme/checkout-monorepo' GROUP BY c.service ORDER BY c.service",
    );
    let changes = changes.as_array().unwrap();
    assert_eq!(changes.len(), 3, "{changes:?}");
    for row in changes {
        assert!(row["changes"].as_i64().unwrap() > 50, "{row}");
        assert_eq!(row["changes"], row["own"], "{row}");
    }
    let merged = |service: &str| -> u64 {
        let report = run_json(&[
            "report",
            "devex",
            "--lake",
            lake.to_str().unwrap(),
            "--service",
            service,
            "--group-by",
            "repo",
            "--from",
            "2026-08-01",
            "--to",
            "2026-11-01",
        ]);
        report["groups"][0]["merged_prs"].as_u64().unwrap()
    };
    let (api, web, worker) = (
        merged("checkout-api"),
        merged("checkout-web"),
        merged("checkout-worker"),
    );
    let all = query_json(
        lake,
        "SELECT count(DISTINCT number) AS n FROM pull_requests WHERE repo = 'acme/checkout-monorepo' \
         AND merged_at >= '2026-08-01T00:00:00Z' AND merged_at < '2026-11-01T00:00:00Z'",
    )[0]["n"]
        .as_u64()
        .unwrap();
    assert!(api > 0 && web > 0 && worker > 0);
    assert_eq!(
        api + web + worker,
        all,
        "each merged pull request belongs to one service"
    );
}
