//! A long non-ASCII team name through every `format=table` endpoint: text
//! tables cut names by characters, never inside one (cutting
//! `Zahlungsverkehr-Überweisungen-Österreich-Ñandú` by bytes panics).

use std::io::Write;
use std::path::Path;

use crate::serve::Server;
use crate::support::*;

const TEAM: &str = "Zahlungsverkehr-Überweisungen-Österreich-Ñandú";
const REPO: &str = "acme/ueberweisung";

fn write_lines(dir: &Path, name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = dir.join(name);
    let mut file = std::fs::File::create(&path).unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    path
}

fn imported(lake: &Path, table: &str, file: &Path) {
    let output = import(table, file, lake);
    assert!(output.status.success(), "{table}: {}", stderr(&output));
}

/// One team of six developers with a service, pull requests, reviews, CI
/// runs, deployments and two survey waves, in September and October 2026.
fn lake_of_one_team(dir: &Path) -> tempfile::TempDir {
    let lake = tempfile::tempdir().unwrap();
    let developer = |i: usize| format!("dev{}@example.com", i % 6);
    let at = |day: usize, hour: usize| format!("2026-09-{:02}T{:02}:00:00Z", day, hour);
    let at = |i: usize, hour: usize| {
        // Two PRs a week from 2 September to 28 October.
        let day = 2 + 4 * i;
        if day <= 30 {
            at(day, hour)
        } else {
            format!("2026-10-{:02}T{:02}:00:00Z", day - 30, hour)
        }
    };
    let files = [
        (
            "teams",
            vec![format!(r#"{{"team":"{TEAM}"}}"#)],
        ),
        (
            "services",
            vec![format!(
                r#"{{"service":"ueberweisung","owner_team":"{TEAM}","repos":["{REPO}"]}}"#
            )],
        ),
        (
            "team_members",
            (0..6)
                .map(|i| {
                    format!(
                        r#"{{"developer":"{}","team":"{TEAM}","valid_from":"2026-01-01T00:00:00Z"}}"#,
                        developer(i)
                    )
                })
                .collect(),
        ),
        (
            "pull_requests",
            (0..14)
                .map(|i| {
                    format!(
                        r#"{{"repo":"{REPO}","number":{n},"author":"{}","created_at":"{}","merged_at":"{}","closed_at":"{}","merge_sha":"{:040x}","base_ref":"main"}}"#,
                        developer(i),
                        at(i, 9),
                        at(i, 15 + i % 3),
                        at(i, 15 + i % 3),
                        i + 1,
                        n = i + 1
                    )
                })
                .collect(),
        ),
        (
            "reviews",
            (0..14)
                .map(|i| {
                    format!(
                        r#"{{"repo":"{REPO}","pr_number":{},"reviewer":"{}","state":"approved","submitted_at":"{}"}}"#,
                        i + 1,
                        developer(i + 1),
                        at(i, 12)
                    )
                })
                .collect(),
        ),
        (
            "ci_runs",
            (0..14)
                .map(|i| {
                    format!(
                        r#"{{"repo":"{REPO}","pipeline":"build","run_id":"{}","attempt":1,"sha":"{:040x}","queued_at":"{}","started_at":"{}","finished_at":"{}","conclusion":"{}"}}"#,
                        i + 1,
                        i + 1,
                        at(i, 10),
                        at(i, 10),
                        at(i, 11),
                        if i % 5 == 0 { "failure" } else { "success" }
                    )
                })
                .collect(),
        ),
        (
            "deployments",
            (0..14)
                .map(|i| {
                    format!(
                        r#"{{"service":"ueberweisung","environment":"production","sha":"{:040x}","deployment_id":"d{}","status":"{}","started_at":"{}","finished_at":"{}","source":"import"}}"#,
                        i + 1,
                        i + 1,
                        if i % 4 == 3 { "failure" } else { "success" },
                        at(i, 16 + i % 3),
                        at(i, 17 + i % 3)
                    )
                })
                .collect(),
        ),
    ];
    for (table, lines) in files {
        imported(
            lake.path(),
            table,
            &write_lines(dir, &format!("{table}.jsonl"), &lines),
        );
    }
    // Two survey waves of six respondents each, in the Google Forms shape.
    for (wave, month) in [("wave-1", "09"), ("wave-2", "10")] {
        let mut lines = vec![
            "Timestamp,Email Address,Team,I am satisfied with how fast our CI gives me results.,I can validate a local change quickly.,How likely are you to recommend working in this engineering organisation to a friend?,What one thing would most improve your developer experience?".to_string(),
        ];
        for i in 0..6 {
            lines.push(format!(
                "2026/{month}/1{i} 10:00:00 AM UTC+1,{},{TEAM},{},Agree,{},",
                developer(i),
                2 + i % 4,
                5 + i
            ));
        }
        let file = write_lines(dir, &format!("{wave}.csv"), &lines);
        let output = run(&[
            "import",
            "survey",
            file.to_str().unwrap(),
            "--lake",
            lake.path().to_str().unwrap(),
            "--survey",
            wave,
        ]);
        assert!(output.status.success(), "{wave}: {}", stderr(&output));
    }
    lake
}

#[tokio::test]
async fn a_long_non_ascii_team_name_survives_every_table_endpoint() {
    let dir = tempfile::tempdir().unwrap();
    let lake = lake_of_one_team(dir.path());
    let server = Server::start(lake.path(), false);
    let window = "from=2026-09-01&to=2026-10-31";
    let periods = "a_from=2026-09-01&a_to=2026-09-30&b_from=2026-10-01&b_to=2026-10-31";
    let endpoints = [
        format!("/api/v1/dora?{window}&group_by=team&format=table"),
        format!("/api/v1/dora?{window}&team={TEAM}&format=table"),
        format!("/api/v1/dora/series?{window}&group_by=team&granularity=week&format=table"),
        format!("/api/v1/dora/deployments?{window}&team={TEAM}&format=table"),
        format!("/api/v1/devex?{window}&group_by=team&format=table"),
        format!("/api/v1/devex?{window}&team={TEAM}&format=table"),
        format!("/api/v1/space?{window}&format=table"),
        format!("/api/v1/compare?metric=pr_cycle_time&team={TEAM}&{periods}&format=table"),
        "/api/v1/surveys/wave-1/results?group_by=team&format=table".to_string(),
        format!("/api/v1/surveys/wave-1/results?team={TEAM}&format=table"),
        format!("/api/v1/surveys/compare?a=wave-1&b=wave-2&team={TEAM}&format=table"),
    ];
    for endpoint in &endpoints {
        let (status, body) = server.get(endpoint).await;
        assert_eq!(status, 200, "{endpoint}: {body}");
        assert!(!body.trim().is_empty(), "{endpoint}: empty");
    }
    // Where a table names the team, it is whole or cut at a character.
    let (_, dora) = server.get(&endpoints[0]).await;
    assert!(dora.contains("Zahlungsverkehr-Überweisungen"), "{dora}");
    let (_, devex) = server.get(&endpoints[4]).await;
    assert!(devex.contains("Zahlungsverkehr-Überweisungen"), "{devex}");
    let (_, survey) = server.get(&endpoints[8]).await;
    assert!(survey.contains("Zahlungsverkehr-Überweisungen"), "{survey}");
    // The server is still up: no request panicked a worker.
    let (status, _) = server.get("/healthz").await;
    assert_eq!(status, 200);
}
