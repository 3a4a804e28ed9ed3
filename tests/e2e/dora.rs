//! `devex report dora` and `/api/v1/dora...` on the demo organisation: every
//! team and service is reported, the levels differ between teams the way the
//! generator built them, and the CLI and the HTTP API give the same answer.

use serde_json::Value;

use crate::serve::Server;
use crate::support::*;

const WINDOW: [&str; 4] = ["--from", "2025-11-01", "--to", "2026-11-01"];

fn report_json(extra: &[&str]) -> Value {
    let lake = demo_lake().to_str().unwrap();
    let mut args = vec!["report", "dora", "--lake", lake, "--format", "json"];
    args.extend(WINDOW);
    args.extend(extra);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

const FIELDS: [&str; 12] = [
    "deployments",
    "deployments_per_week",
    "deployment_days_share",
    "changes",
    "lead_time_median_hours",
    "lead_time_p90_hours",
    "failed_deployments",
    "unrecovered",
    "change_failure_rate",
    "recovery_time_median_hours",
    "recovery_time_p90_hours",
    "rework_rate",
];

#[test]
fn every_team_is_reported_and_levels_follow_the_generator() {
    let report = report_json(&["--group-by", "team"]);
    for key in ["from", "to", "tz", "groups", "overall"] {
        assert!(report.get(key).is_some(), "missing {key}");
    }
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 8, "{groups:?}");
    for group in groups {
        assert!(group["team"].is_string());
        for field in FIELDS {
            assert!(group.get(field).is_some(), "{field} missing in {group}");
        }
        assert!(group["levels"].is_object());
    }
    let level = |team: &str| {
        let group = groups.iter().find(|g| g["team"] == team).unwrap();
        (
            group["levels"]["deployment_frequency"]
                .as_str()
                .unwrap()
                .to_string(),
            group["levels"]["lead_time_for_changes"]
                .as_str()
                .unwrap()
                .to_string(),
        )
    };
    // The demo's profiles: checkout and data elite, payments and platform
    // high, search and mobile medium, identity and growth low.
    for (team, expected) in [
        ("checkout", "elite"),
        ("data", "elite"),
        ("payments", "high"),
        ("platform", "high"),
        ("search", "medium"),
        ("mobile", "medium"),
        ("identity", "low"),
        ("growth", "low"),
    ] {
        let (frequency, lead_time) = level(team);
        assert_eq!(frequency, expected, "{team} deployment frequency");
        assert_eq!(lead_time, expected, "{team} lead time");
    }
    // Elite teams fail less often and recover faster than low ones.
    let metric = |team: &str, field: &str| {
        groups.iter().find(|g| g["team"] == team).unwrap()[field]
            .as_f64()
            .unwrap()
    };
    assert!(metric("checkout", "change_failure_rate") < metric("growth", "change_failure_rate"));
    assert!(
        metric("checkout", "recovery_time_median_hours")
            < metric("growth", "recovery_time_median_hours")
    );
}

#[test]
fn every_service_is_reported_and_adds_up_to_overall() {
    let report = report_json(&[]);
    // The per-deployment tables are queryable by name and give the same count.
    let rows = query_json(
        demo_lake(),
        "SELECT count(*) AS n FROM deployment_outcomes \
         WHERE deployed_at >= TIMESTAMP '2025-11-01T00:00:00Z' AND deployed_at < TIMESTAMP '2026-11-01T00:00:00Z'",
    );
    assert_eq!(rows[0]["n"], report["overall"]["deployments"]);
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 40);
    let sum = |field: &str| {
        groups
            .iter()
            .map(|g| g[field].as_u64().unwrap())
            .sum::<u64>()
    };
    for field in [
        "deployments",
        "changes",
        "failed_deployments",
        "unrecovered",
    ] {
        assert_eq!(
            sum(field),
            report["overall"][field].as_u64().unwrap(),
            "{field}"
        );
    }
}

#[test]
fn the_drill_down_explains_the_numbers() {
    let lake = demo_lake().to_str().unwrap();
    let report = report_json(&["--service", "growth-api"]);
    let service = &report["groups"][0];
    let mut args = vec![
        "report",
        "dora",
        "--lake",
        lake,
        "--format",
        "json",
        "--deployments",
    ];
    args.extend(WINDOW);
    args.extend(["--service", "growth-api"]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let drill: Value = serde_json::from_str(&stdout(&output)).unwrap();
    let rows = drill["deployments"].as_array().unwrap();
    let counted: Vec<&Value> = rows
        .iter()
        .filter(|d| d["class"] == "counted" || d["class"] == "baseline")
        .collect();
    assert_eq!(
        counted.len() as u64,
        service["deployments"].as_u64().unwrap()
    );
    let changes: usize = counted
        .iter()
        .map(|d| d["changes"].as_array().unwrap().len())
        .sum();
    assert_eq!(changes as u64, service["changes"].as_u64().unwrap());
    let failed = counted.iter().filter(|d| d["failed"] == true).count();
    assert_eq!(
        failed as u64,
        service["failed_deployments"].as_u64().unwrap()
    );
    for d in counted.iter().filter(|d| d["failed"] == true) {
        assert!(!d["failure_causes"].as_array().unwrap().is_empty(), "{d}");
    }
    // The demo rolls back some failures: a rollback names the deployment it
    // replaced, which shows as failed with the rollback as its cause.
    let mut args = vec![
        "report",
        "dora",
        "--lake",
        lake,
        "--format",
        "json",
        "--deployments",
    ];
    args.extend(WINDOW);
    let everything: Value = serde_json::from_str(&stdout(&run(&args))).unwrap();
    let all = everything["deployments"].as_array().unwrap();
    let rollbacks: Vec<&Value> = all.iter().filter(|d| d["class"] == "rollback").collect();
    assert!(!rollbacks.is_empty(), "the demo rolls back within a year");
    for rollback in rollbacks {
        let Some(target) = rollback["rolls_back"].as_str() else {
            continue;
        };
        let replaced = all
            .iter()
            .find(|d| d["deployment_id"] == target && d["service"] == rollback["service"])
            .unwrap_or_else(|| panic!("{target} not listed"));
        assert_eq!(replaced["failed"], true, "{replaced}");
        assert!(replaced["failure_causes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["kind"] == "rollback" && c["deployment_id"] == rollback["deployment_id"]));
    }

    // The table and CSV forms exist for the same rows.
    let mut args = vec![
        "report",
        "dora",
        "--lake",
        lake,
        "--format",
        "csv",
        "--deployments",
    ];
    args.extend(WINDOW);
    args.extend(["--service", "growth-api"]);
    let csv = stdout(&run(&args));
    assert!(
        csv.starts_with("service,deployment_id,deployed_at,class,"),
        "{csv}"
    );
    assert_eq!(csv.lines().count(), rows.len() + 1);
}

#[tokio::test]
async fn http_answers_as_the_cli_does() {
    let cli = report_json(&["--group-by", "team", "--tz", "Europe/Berlin"]);
    let server = Server::start(demo_lake(), false);
    let http = server
        .get_json("/api/v1/dora?from=2025-11-01&to=2026-11-01&group_by=team&tz=Europe/Berlin")
        .await;
    assert_eq!(http, cli);

    let series = server
        .get_json(
            "/api/v1/dora/series?from=2025-11-01&to=2026-11-01&granularity=month&group_by=none",
        )
        .await;
    let points = series["points"].as_array().unwrap();
    assert_eq!(points.len(), 12);
    let total: u64 = points
        .iter()
        .map(|p| p["deployments"].as_u64().unwrap())
        .sum();
    let overall = server
        .get_json("/api/v1/dora?from=2025-11-01&to=2026-11-01&group_by=none")
        .await;
    assert_eq!(total, overall["overall"]["deployments"].as_u64().unwrap());

    let drill = server
        .get_json("/api/v1/dora/deployments?from=2026-10-01&to=2026-11-01&service=checkout-api")
        .await;
    assert!(!drill["deployments"].as_array().unwrap().is_empty());

    // Platform adoption: the API answers as the CLI does, every demo team
    // has its developers, and a bad grouping says what to give.
    let adoption = server
        .get_json("/api/v1/adoption?from=2026-08-01&to=2026-11-01&tz=Europe/Berlin&group_by=team")
        .await;
    let cli = run_json(&[
        "report",
        "adoption",
        "--lake",
        demo_lake().to_str().unwrap(),
        "--from",
        "2026-08-01",
        "--to",
        "2026-11-01",
        "--tz",
        "Europe/Berlin",
        "--group-by",
        "team",
    ]);
    assert_eq!(adoption, cli);
    let teams = adoption["groups"].as_array().unwrap();
    assert_eq!(teams.len(), 8, "{adoption}");
    assert!(teams.iter().all(|t| t["developers"].as_u64().unwrap() >= 5));
    assert!(adoption["overall"]["active_users"].as_u64().unwrap() > 0);
    let (status, body) = server.get("/api/v1/adoption?group_by=person").await;
    assert_eq!(status, 400);
    assert!(body.contains("not one of tool, feature, team"), "{body}");

    let (status, body) = server
        .get("/api/v1/dora?from=2026-13-01&to=2026-11-01")
        .await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("YYYY-MM-DD"));
    // A bad value names its parameter; an unknown name is not found, with
    // the closest known names.
    let (status, body) = server.get("/api/v1/dora?from=yesterday").await;
    assert_eq!(status, 400, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "invalid_parameter");
    assert_eq!(body["error"]["parameter"], "from");
    let (status, body) = server.get("/api/v1/dora?team=nobody").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server.get("/api/v1/devex?team=checkou").await;
    assert_eq!(status, 404, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["error"]["code"], "unknown_team");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("checkout"),
        "{body}"
    );
    for path in [
        "/api/v1/space?team=nosuch",
        "/api/v1/devex?repo=acme/nosuch",
    ] {
        let (status, body) = server.get(path).await;
        assert_eq!(status, 404, "{path}: {body}");
    }
    let (status, body) = server.get("/api/v1/dora?form=2026-01-01").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("form"), "{body}");
    let (status, csv) = server
        .get("/api/v1/dora?from=2026-10-01&to=2026-11-01&format=csv&group_by=team")
        .await;
    assert_eq!(status, 200);
    let json = server
        .get_json("/api/v1/dora?from=2026-10-01&to=2026-11-01&group_by=team")
        .await;
    // A header, a row per team with deployments, and overall.
    assert_eq!(
        csv.lines().count(),
        json["groups"].as_array().unwrap().len() + 2,
        "{csv}"
    );
    // Backstage: one call per entity, keyed by its entity ref.
    let component = server
        .get_json("/api/v1/entities/component/default/checkout-api/scorecard?from=2025-11-01&to=2026-11-01")
        .await;
    assert_eq!(component["entity_ref"], "component:default/checkout-api");
    let service = server
        .get_json("/api/v1/dora?from=2025-11-01&to=2026-11-01&service=checkout-api&group_by=none")
        .await;
    assert_eq!(component["dora"], service["overall"]);
    let group = server
        .get_json("/api/v1/entities/Group/default/checkout/scorecard?from=2025-11-01&to=2026-11-01")
        .await;
    assert_eq!(group["dora"]["levels"]["deployment_frequency"], "elite");
    assert!(group["devex"]["ci_duration_median_minutes"].is_number());
    // And their cost in the last full month (October), as the cost report
    // gives it, with the team's cost per deployment.
    let october = server
        .get_json("/api/v1/cost?from=2026-10-01&to=2026-11-01&group_by=team")
        .await;
    let checkout = october["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["team"] == "checkout")
        .unwrap();
    assert_eq!(group["cost"]["month"], "2026-10");
    assert_eq!(group["cost"]["cost"], checkout["cost"]);
    let unit = october["unit_costs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["team"] == "checkout")
        .unwrap();
    assert_eq!(
        group["cost"]["unit"]["cost_per_deployment"],
        unit["cost_per_deployment"]
    );
    assert!(unit["production_deployments"].as_u64().unwrap() > 0);
    assert!(
        component["cost"]["direct"]
            .as_str()
            .unwrap()
            .parse::<f64>()
            .unwrap()
            > 0.0
    );
    assert!(component["cost"].get("unit").is_none());
    let (status, _) = server
        .get("/api/v1/entities/component/default/nope/scorecard")
        .await;
    assert_eq!(status, 404);
    let openapi = server.get_json("/api/v1/openapi.json").await;
    assert_eq!(openapi["openapi"], "3.1.0");
    assert!(server.terminate().success());
}

#[test]
fn a_bad_time_zone_says_what_to_give() {
    let lake = demo_lake().to_str().unwrap();
    let output = run(&["report", "dora", "--lake", lake, "--tz", "Mars/Base"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("IANA time zone"),
        "{}",
        stderr(&output)
    );
}

/// The per-deployment tables a report computes are kept in the lake, so the
/// next (cold) process reads them instead of recomputing; what it reads back
/// answers exactly as what was computed, and a kept file that does not read
/// back is computed again.
#[test]
fn kept_tables_answer_as_computed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap();
    let demo = run(&[
        "demo",
        "--lake",
        lake_arg,
        "--scale",
        "0.05",
        "--months",
        "3",
        "--end",
        "2026-11-01",
    ]);
    assert!(demo.status.success(), "{}", stderr(&demo));
    let report = || {
        let output = run(&[
            "report",
            "dora",
            "--lake",
            lake_arg,
            "--format",
            "json",
            "--from",
            "2026-08-01",
            "--to",
            "2026-11-01",
            "--group-by",
            "service",
        ]);
        assert!(output.status.success(), "{}", stderr(&output));
        stdout(&output)
    };
    let computed = report();
    // Each table kept as a folder of month parts, beside the manifest.
    let kept: Vec<std::path::PathBuf> = std::fs::read_dir(lake.join("_derived/materialized"))
        .unwrap()
        .flat_map(|folder| std::fs::read_dir(folder.unwrap().path()).unwrap())
        .map(|entry| entry.unwrap().path())
        .collect();
    let names: std::collections::BTreeSet<String> = kept
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for table in [
        "production_deployments",
        "incident_attribution",
        "change_lead_times",
        "deployment_outcomes",
        "manifest.json",
    ] {
        assert!(names.contains(table), "{names:?}");
    }
    assert_eq!(report(), computed, "read back from the kept tables");
    let outcomes = kept
        .iter()
        .find(|p| p.ends_with("deployment_outcomes"))
        .unwrap()
        .join("2026-09.parquet");
    assert!(outcomes.exists(), "{outcomes:?}");
    std::fs::write(outcomes, b"not parquet").unwrap();
    assert_eq!(report(), computed, "computed again past a broken kept file");

    // Rows imported with --no-derive leave the derived tables as they were;
    // `devex derive` brings them up to date, and the report counts the rows.
    let folders = || {
        std::fs::read_dir(lake.join("_derived/materialized"))
            .unwrap()
            .count()
    };
    let before = folders();
    let service = query_json(&lake, "SELECT min(service) AS s FROM services")[0]["s"]
        .as_str()
        .unwrap()
        .to_string();
    let file = dir.path().join("late.jsonl");
    std::fs::write(
        &file,
        format!(
            r#"{{"service":"{service}","environment":"production","sha":"0123456789abcdef0123456789abcdef01234567","deployment_id":"late-1","status":"success","started_at":"2026-10-30T10:00:00Z","finished_at":"2026-10-30T10:05:00Z","source":"import"}}"#
        ),
    )
    .unwrap();
    let imported = run(&[
        "import",
        "deployments",
        file.to_str().unwrap(),
        "--lake",
        lake_arg,
        "--no-derive",
    ]);
    assert!(imported.status.success(), "{}", stderr(&imported));
    assert_eq!(folders(), before, "nothing derived yet");
    let derived = run(&["derive", "--lake", lake_arg]);
    assert!(derived.status.success(), "{}", stderr(&derived));
    assert!(stdout(&derived).contains("derived tables are up to date"));
    assert!(folders() > before, "new derived tables for the new content");
    let deployments = |json: &str, service: &str| -> i64 {
        let report: serde_json::Value = serde_json::from_str(json).unwrap();
        report["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["service"] == service)
            .map_or(0, |g| g["deployments"].as_i64().unwrap())
    };
    assert_eq!(
        deployments(&report(), &service),
        deployments(&computed, &service) + 1
    );
}
