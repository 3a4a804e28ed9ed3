//! Surveys through the real binary and server: the shipped template, an
//! import of a Google Forms export, and the demo's two waves, which show a
//! change in the teams the generator made improve and not in the others.

use serde_json::Value;

use crate::serve::Server;
use crate::support::*;

fn survey_fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../surveys/tests/fixtures")
        .join(name)
}

#[test]
fn the_template_prints_and_an_export_imports() {
    let output = run(&["survey", "template"]);
    assert!(output.status.success());
    let template: toml::Value = toml::from_str(&stdout(&output)).unwrap();
    assert_eq!(template["id"].as_str(), Some("devex-quarterly"));

    let lake = tempfile::tempdir().unwrap();
    let lake_arg = lake.path().to_str().unwrap();
    let file = survey_fixture("google-forms.csv");
    let args = [
        "import",
        "survey",
        file.to_str().unwrap(),
        "--lake",
        lake_arg,
    ];
    let output = run(&args);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("--survey is required"),
        "{}",
        stderr(&output)
    );
    let output = run(&[&args[..], &["--survey", "wave-1"]].concat());
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .contains("(Google Forms export) into survey wave-1: 3 responses, 11 answers"),
        "{}",
        stdout(&output)
    );
    let rows = query_json(lake.path(), "SELECT count(*) AS n FROM survey_responses");
    assert_eq!(rows[0]["n"], 11);

    let bad = survey_fixture("google-forms-bad.csv");
    let output = run(&[
        "import",
        "survey",
        bad.to_str().unwrap(),
        "--lake",
        lake_arg,
        "--survey",
        "wave-1",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("google-forms-bad.csv:3: Timestamp"),
        "{}",
        stderr(&output)
    );
    // Three respondents cannot be shown at the default threshold.
    let output = run(&[
        "report", "survey", "--lake", lake_arg, "--survey", "wave-1", "--format", "json",
    ]);
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    assert!(report["groups"].as_array().unwrap().is_empty());
    assert_eq!(report["hidden"][0]["reason"], "fewer than 5 respondents");
}

fn changes(team: &str) -> Vec<(String, f64, bool)> {
    let lake = demo_lake().to_str().unwrap();
    let output = run(&[
        "report",
        "survey",
        "--lake",
        lake,
        "--survey",
        "devex-2026-q3",
        "--compare",
        "devex-2026-q2",
        "--team",
        team,
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let report: Value = serde_json::from_str(&stdout(&output)).unwrap();
    report["groups"][0]["dimensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["measure"].as_str().unwrap().to_string(),
                d["difference"].as_f64().unwrap(),
                d["significant"].as_bool().unwrap(),
            )
        })
        .collect()
}

#[test]
fn the_demo_waves_change_in_adopting_teams_only() {
    // The generator lifts the answers of teams adopting the platform.
    for team in [
        "checkout", "mobile", "platform", "growth", "identity", "payments",
    ] {
        let improved = changes(team)
            .iter()
            .filter(|(_, difference, significant)| *significant && *difference > 0.0)
            .count();
        assert!(improved >= 2, "{team}: {:?}", changes(team));
    }
    for team in ["search", "data"] {
        let improved: Vec<_> = changes(team)
            .into_iter()
            .filter(|(_, difference, significant)| *significant && *difference > 0.0)
            .collect();
        assert!(improved.is_empty(), "{team}: {improved:?}");
    }
}

#[tokio::test]
async fn http_lists_waves_and_shows_results_within_the_rules() {
    let server = Server::start(demo_lake(), false);
    let waves = server.get_json("/api/v1/surveys").await;
    let ids: Vec<&str> = waves["surveys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["survey_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["devex-2026-q2", "devex-2026-q3"]);
    let results = server
        .get_json("/api/v1/surveys/devex-2026-q3/results?team=product&group_by=team")
        .await;
    let groups = results["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 5, "{results}");
    for group in groups {
        assert!(group["respondents"].as_u64().unwrap() >= 5);
        assert!(group["response_rate"].as_f64().unwrap() <= 1.0);
        assert_eq!(group["dimensions"].as_array().unwrap().len(), 5);
        // Comments never carry who or when.
        for comment in group["comments"].as_array().unwrap() {
            assert!(comment.is_string());
        }
    }
    let text = results.to_string();
    assert!(
        !text.contains("r_") && !text.contains("dev_"),
        "an id leaked"
    );
    let compare = server
        .get_json("/api/v1/surveys/compare?a=devex-2026-q2&b=devex-2026-q3&team=search")
        .await;
    assert_eq!(compare["groups"][0]["group"], "search");
    // Perceived against measured: every team, both sides.
    let joined = server
        .get_json("/api/v1/surveys/devex-2026-q3/perceived-vs-measured")
        .await;
    let teams = joined["teams"].as_array().unwrap();
    assert_eq!(teams.len(), 8, "{joined}");
    for team in teams {
        assert_eq!(team["perceived"].as_object().unwrap().len(), 5);
        assert!(team["measured"]["pr_cycle_time_median_hours"].is_number());
    }
    let (status, body) = server.get("/api/v1/surveys/nope/results").await;
    assert_eq!(status, 404, "{body}");
    let (status, body) = server
        .get("/api/v1/surveys/devex-2026-q3/results?team=nope")
        .await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("checkout"), "{body}");
    assert!(server.terminate().success());
}
