//! AI assistants end to end: the Copilot usage-metrics pull against a fake
//! of GitHub's report endpoints and its signed report files.

use crate::support::*;

/// GitHub's documented user record, moved to `day` and to `login`.
fn record(day: chrono::NaiveDate, login: &str, suggestions: i64) -> String {
    let text = std::fs::read_to_string(fixture("payloads/github-docs-copilot/users-1-day.ndjson"))
        .unwrap();
    let mut record: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    record["day"] = day.to_string().into();
    record["user_login"] = login.into();
    // Completions, all in Python.
    record["totals_by_feature"][0]["code_generation_activity_count"] = suggestions.into();
    record["totals_by_language_feature"][0]["code_generation_activity_count"] = suggestions.into();
    record.to_string()
}

/// Serves `day`'s report: an index answering with a signed link, and the
/// file behind it.
async fn publish(server: &wiremock::MockServer, day: chrono::NaiveDate, lines: &[String]) {
    use wiremock::matchers::{method, path, query_param};
    use wiremock::{Mock, ResponseTemplate};
    let file = format!("/reports/{day}.ndjson");
    let index = serde_json::json!({
        "download_links": [format!("{}{file}?sv=2025&sig=SIGNATURE-SECRET", server.uri())],
        "report_day": day.to_string(),
    });
    Mock::given(method("GET"))
        .and(path("/orgs/acme/copilot/metrics/reports/users-1-day"))
        .and(query_param("day", day.to_string()))
        .respond_with(ResponseTemplate::new(200).set_body_json(index))
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(file))
        .respond_with(ResponseTemplate::new(200).set_body_string(lines.join("\n") + "\n"))
        .mount(server)
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copilot_usage_is_pulled_per_day_and_a_day_read_again_adds_nothing() {
    let server = wiremock::MockServer::start().await;
    let today = chrono::Utc::now().date_naive();
    let day = |back: i64| today - chrono::Duration::days(back);
    publish(
        &server,
        day(3),
        &[record(day(3), "ana", 1), record(day(3), "bo", 4)],
    )
    .await;
    publish(&server, day(2), &[record(day(2), "ana", 2)]).await;
    // Yesterday is not published yet: wiremock answers 404.
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let lake_arg = lake.to_str().unwrap().to_string();
    let url = server.uri();
    let since = day(3).to_string();
    let pull = {
        let (url, lake_arg, since) = (url.clone(), lake_arg.clone(), since.clone());
        move || {
            devex()
                .env("COPILOT_TOKEN", "copilot-token-secret")
                .args([
                    "ingest",
                    "copilot",
                    "--org",
                    "acme",
                    "--base-url",
                    &url,
                    "--since",
                    &since,
                    "--json",
                    "--lake",
                    &lake_arg,
                ])
                .output()
                .unwrap()
        }
    };
    let first = tokio::task::spawn_blocking(pull.clone()).await.unwrap();
    assert!(first.status.success(), "{}", stderr(&first));
    let stored = |output: &std::process::Output| {
        let report: serde_json::Value = serde_json::from_str(&stdout(output)).unwrap();
        assert_eq!(report["resources"][0]["scope"], "orgs/acme", "{report}");
        report["resources"][0]["stored"].as_u64().unwrap()
    };
    // Per record: an IDE row (Python) and a CLI row.
    assert_eq!(stored(&first), 6);
    let second = tokio::task::spawn_blocking(pull.clone()).await.unwrap();
    assert!(second.status.success(), "{}", stderr(&second));
    assert_eq!(stored(&second), 0, "the same days again add nothing");
    for output in [&first, &second] {
        let all = format!("{}{}", stdout(output), stderr(output));
        assert!(!all.contains("SECRET") && !all.contains("secret"), "{all}");
    }

    // Yesterday is published, and GitHub completed the day before.
    server.reset().await;
    publish(
        &server,
        day(3),
        &[record(day(3), "ana", 1), record(day(3), "bo", 4)],
    )
    .await;
    publish(&server, day(2), &[record(day(2), "ana", 5)]).await;
    publish(&server, day(1), &[record(day(1), "bo", 3)]).await;
    let third = tokio::task::spawn_blocking(pull).await.unwrap();
    assert!(third.status.success(), "{}", stderr(&third));
    assert_eq!(
        stored(&third),
        3,
        "yesterday's two rows and the changed IDE row"
    );

    // The newest report of each day and surface counts: ana's day 2 has 5
    // suggestions now, not 2 + 5; no login is stored.
    let rows = query_json(
        &lake,
        "SELECT day, sum(suggestions) AS suggestions, count(DISTINCT \"user\") AS users \
         FROM (SELECT *, row_number() OVER (PARTITION BY \"user\", tool, day, surface, editor, language \
                                           ORDER BY reported_at DESC) AS newest FROM ai_usage) \
         WHERE newest = 1 AND surface = 'ide' GROUP BY day ORDER BY day",
    );
    let rows = rows.as_array().unwrap();
    let suggestions: Vec<i64> = rows
        .iter()
        .map(|r| r["suggestions"].as_i64().unwrap())
        .collect();
    assert_eq!(suggestions, [5, 5, 3], "{rows:?}");
    let users = query_json(&lake, "SELECT DISTINCT \"user\" AS u FROM ai_usage");
    assert!(users
        .as_array()
        .unwrap()
        .iter()
        .all(|u| u["u"].as_str().unwrap().starts_with("dev_")));
}

#[test]
fn copilot_without_an_organisation_or_enterprise_says_which_flag_to_give() {
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    let output = run(&[
        "ingest",
        "copilot",
        "--base-url",
        "http://127.0.0.1:9",
        "--lake",
        lake.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(
        stderr(&output).contains("--org ORG or --enterprise SLUG"),
        "{}",
        stderr(&output)
    );
}

fn metric<'a>(groups: &'a serde_json::Value, team: &str, metric: &str) -> &'a serde_json::Value {
    groups
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["team"] == team)
        .unwrap_or_else(|| panic!("no group {team}"))["metrics"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["metric"] == metric)
        .unwrap_or_else(|| panic!("no {metric} for {team}"))
}

fn interval(value: &serde_json::Value) -> (f64, f64) {
    let pair = value["interval"].as_array().unwrap();
    (pair[0].as_f64().unwrap(), pair[1].as_f64().unwrap())
}

fn effect<'a>(rollout: &'a serde_json::Value, team: &str, metric: &str) -> &'a serde_json::Value {
    rollout
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["team"] == team)
        .unwrap_or_else(|| panic!("no rollout for {team}"))["effects"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["metric"] == metric)
        .unwrap()
}

/// The demo's staggered rollout has two effects built in: identity's
/// AI-assisted pull requests are written faster at no cost in quality;
/// payments' are faster too, but reverted within days with chance 0.25
/// against 0.03. The report finds both, within its intervals, and
/// estimates each rollout against the teams not yet rolled out.
#[test]
fn the_demo_rollouts_effects_are_recovered() {
    let lake = demo_lake().to_str().unwrap();
    let output = run(&[
        "report",
        "ai",
        "--lake",
        lake,
        "--from",
        "2025-11-01",
        "--to",
        "2026-11-01",
        "--impact",
        "--rollout",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: serde_json::Value = serde_json::from_str(&stdout(&output)).unwrap();
    let impact = &report["impact"];
    for team in ["identity", "payments"] {
        let cycle = metric(impact, team, "cycle_time_hours");
        assert!(
            cycle["difference"].as_f64().unwrap() < 0.0,
            "{team}: {cycle}"
        );
        assert!(interval(cycle).1 < 0.0, "{team} is faster: {cycle}");
        assert!(cycle["ai"]["n"].as_u64().unwrap() > 100, "{cycle}");
        assert_eq!(cycle["significant"], true);
    }
    // No quality cost: identity's rework rate is not higher.
    let rework = metric(impact, "identity", "rework_rate");
    assert!(interval(rework).0 <= 0.0, "{rework}");
    // Reverts rise by the built-in 0.25 - 0.03.
    let rework = metric(impact, "payments", "rework_rate");
    let (low, high) = interval(rework);
    assert!(low > 0.0 && low <= 0.22 && 0.22 <= high, "{rework}");
    // Rollout: identity's cycle time falls against the teams still without
    // AI; payments' rework rate rises.
    let cycle = effect(&report["rollout"], "identity", "cycle_time_hours");
    assert!(
        cycle["estimate"].as_f64().unwrap() < 0.0 && interval(cycle).1 < 0.0,
        "{cycle}"
    );
    let rework = effect(&report["rollout"], "payments", "rework_rate");
    assert!(interval(rework).0 > 0.0, "{rework}");
    // Teams are the unit; no group is a person.
    assert!(!stdout(&output).contains("\"author\""));
    assert!(report["caveats"].as_array().unwrap().len() >= 3);
    for group in report["groups"].as_array().unwrap() {
        assert!(group["team"].is_string(), "{group}");
    }
}
