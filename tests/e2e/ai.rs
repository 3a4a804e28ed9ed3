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
