//! `devex report devex|space|compare` and `/api/v1/devex`, `/space`,
//! `/compare` on the demo organisation: every team has values, and the
//! differences the generator built between teams show.

use serde_json::Value;

use crate::serve::Server;
use crate::support::*;

const WINDOW: [&str; 4] = ["--from", "2026-08-01", "--to", "2026-11-01"];

fn report(kind: &str) -> Value {
    let lake = demo_lake().to_str().unwrap();
    let mut args = vec!["report", kind, "--lake", lake, "--format", "json"];
    args.extend(WINDOW);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_str(&stdout(&output)).unwrap()
}

fn team<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["team"] == name)
        .unwrap_or_else(|| panic!("no {name}"))
}

#[test]
fn every_team_has_values_and_elite_teams_have_faster_loops() {
    let report = report("devex");
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 8);
    for group in groups {
        for field in [
            "ci_duration_median_minutes",
            "ci_duration_p90_minutes",
            "ci_queue_median_minutes",
            "flaky_rate",
            "pr_coding_median_hours",
            "pr_pickup_median_hours",
            "pr_review_median_hours",
            "pr_deploy_median_hours",
            "pr_cycle_time_median_hours",
            "unreviewed_merge_share",
            "context_switches_median",
            "focus_day_share",
        ] {
            assert!(
                group[field].is_number(),
                "{field} of {}: {}",
                group["team"],
                group[field]
            );
        }
        for n in ["ci_runs", "merged_prs", "developer_days", "developers"] {
            assert!(group[n].as_u64().unwrap() > 0, "{n} of {}", group["team"]);
        }
    }
    // The generator's profiles: elite (checkout) against low (growth).
    let (elite, low) = (team(&report, "checkout"), team(&report, "growth"));
    let value = |g: &Value, f: &str| g[f].as_f64().unwrap();
    for field in [
        "ci_duration_median_minutes",
        "flaky_rate",
        "pr_pickup_median_hours",
        "pr_review_median_hours",
        "pr_deploy_median_hours",
        "pr_cycle_time_median_hours",
        "unreviewed_merge_share",
    ] {
        assert!(value(elite, field) < value(low, field), "{field}");
    }
    assert!(value(elite, "focus_day_share") > value(low, "focus_day_share"));
}

#[test]
fn space_has_every_team_and_never_a_person() {
    let report = report("space");
    let text = report.to_string();
    // Pseudonymous ids never leave in a report.
    assert!(!text.contains("dev_"), "a developer id leaked: {text}");
    let groups = report["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 8);
    for group in groups {
        assert!(group["merged_prs_per_developer_week"].as_f64().unwrap() > 0.0);
        let participation = group["review_participation"].as_f64().unwrap();
        assert!((0.0..=1.0).contains(&participation));
        let gini = group["reviewer_gini"].as_f64().unwrap();
        assert!((0.0..1.0).contains(&gini));
    }
}

#[tokio::test]
async fn http_answers_as_the_cli_does_and_compares_periods() {
    let cli = report("devex");
    let server = Server::start(demo_lake(), false);
    let http = server
        .get_json("/api/v1/devex?from=2026-08-01&to=2026-11-01")
        .await;
    assert_eq!(http, cli);
    // A service filter narrows repository measures to its repositories.
    let service = server
        .get_json("/api/v1/devex?from=2026-08-01&to=2026-11-01&service=checkout-api")
        .await;
    let groups = service["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 1, "{service}");
    let whole_team = http["groups"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["team"] == "checkout")
        .unwrap();
    let runs = groups[0]["ci_runs"].as_u64().unwrap();
    assert!(runs > 0 && runs < whole_team["ci_runs"].as_u64().unwrap());
    assert!(groups[0]["people_measures_hidden"].is_string());
    let (status, body) = server
        .get("/api/v1/devex?from=2026-08-01&to=2026-11-01&service=nope")
        .await;
    assert_eq!(status, 404, "{body}");
    let space = server
        .get_json("/api/v1/space?from=2026-08-01&to=2026-11-01&team=checkout")
        .await;
    assert_eq!(space["groups"].as_array().unwrap().len(), 1);

    // Two quarters of one team: a real comparison with its numbers.
    let comparison = server
        .get_json(
            "/api/v1/compare?metric=pr_cycle_time&team=growth\
             &a_from=2026-05-01&a_to=2026-08-01&b_from=2026-08-01&b_to=2026-11-01",
        )
        .await;
    assert!(comparison["a"]["n"].as_u64().unwrap() > 100, "{comparison}");
    assert!(comparison["p_value"].as_f64().is_some());
    let interval = comparison["difference_interval"].as_array().unwrap();
    let difference = comparison["difference"].as_f64().unwrap();
    assert!(interval[0].as_f64().unwrap() <= difference);
    assert!(difference <= interval[1].as_f64().unwrap());
    // A period against itself: no difference, and the test says so.
    let same = server
        .get_json("/api/v1/compare?metric=lead_time&team=checkout&a_from=2026-08-01&a_to=2026-11-01&b_from=2026-08-01&b_to=2026-11-01")
        .await;
    assert_eq!(same["difference"].as_f64(), Some(0.0), "{same}");
    assert_eq!(same["significant"], false);
    assert!(same["verdict"]
        .as_str()
        .unwrap()
        .starts_with("no significant change"));
    let (status, body) = server
        .get("/api/v1/compare?metric=speed&a_from=2026-08-01&a_to=2026-11-01&b_from=2026-08-01&b_to=2026-11-01")
        .await;
    assert_eq!(status, 400);
    assert!(body.contains("pr_cycle_time"), "{body}");
    assert!(server.terminate().success());
}
