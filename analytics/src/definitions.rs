//! The definitions behind every number: the header of each metric SQL file
//! (its rule and its source), for the portal's definitions page and for
//! anyone who asks what "counted", "redeploy" or "rework" mean. The SQL
//! files are the single source; nothing here restates them.

/// One SQL file's definition.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Definition {
    /// The area it belongs to (DORA, DevEx and SPACE, ...).
    pub area: &'static str,
    /// The file's stem, e.g. `change_lead_times`: also the portal anchor.
    pub name: &'static str,
    /// The header's first sentence.
    pub summary: String,
    /// The whole header, comment markers removed.
    pub text: String,
}

/// Every metric SQL file: (area, name, text).
const FILES: &[(&str, &str, &str)] = &[
    (
        "AI assistants",
        "ai_cohorts",
        include_str!("ai/ai_cohorts.sql"),
    ),
    (
        "AI assistants",
        "ai_cost_rows",
        include_str!("ai/ai_cost_rows.sql"),
    ),
    (
        "AI assistants",
        "ai_headcount",
        include_str!("ai/ai_headcount.sql"),
    ),
    (
        "AI assistants",
        "ai_pull_requests",
        include_str!("ai/ai_pull_requests.sql"),
    ),
    (
        "AI assistants",
        "ai_rollout_deployments",
        include_str!("ai/ai_rollout_deployments.sql"),
    ),
    ("AI assistants", "ai_seats", include_str!("ai/ai_seats.sql")),
    (
        "AI assistants",
        "ai_usage_days",
        include_str!("ai/ai_usage_days.sql"),
    ),
    (
        "AI assistants",
        "ai_usage_teams",
        include_str!("ai/ai_usage_teams.sql"),
    ),
    (
        "AI assistants",
        "ai_usage_people",
        include_str!("ai/ai_usage_people.sql"),
    ),
    (
        "AI assistants",
        "ai_utilization",
        include_str!("ai/ai_utilization.sql"),
    ),
    (
        "DORA",
        "change_lead_times",
        include_str!("dora/change_lead_times.sql"),
    ),
    (
        "DORA",
        "deployment_outcomes",
        include_str!("dora/deployment_outcomes.sql"),
    ),
    (
        "DORA",
        "dora_summary",
        include_str!("dora/dora_summary.sql"),
    ),
    (
        "DORA",
        "incident_attribution",
        include_str!("dora/incident_attribution.sql"),
    ),
    (
        "DORA",
        "lead_time_summary",
        include_str!("dora/lead_time_summary.sql"),
    ),
    (
        "DORA",
        "production_deployments",
        include_str!("dora/production_deployments.sql"),
    ),
    (
        "DevEx and SPACE",
        "ci_attempts",
        include_str!("devex/ci_attempts.sql"),
    ),
    (
        "DevEx and SPACE",
        "ci_flaky",
        include_str!("devex/ci_flaky.sql"),
    ),
    (
        "DevEx and SPACE",
        "ci_flaky_summary",
        include_str!("devex/ci_flaky_summary.sql"),
    ),
    (
        "DevEx and SPACE",
        "ci_summary",
        include_str!("devex/ci_summary.sql"),
    ),
    (
        "DevEx and SPACE",
        "commit_scopes",
        include_str!("devex/commit_scopes.sql"),
    ),
    (
        "DevEx and SPACE",
        "developer_days",
        include_str!("devex/developer_days.sql"),
    ),
    (
        "DevEx and SPACE",
        "people_summary",
        include_str!("devex/people_summary.sql"),
    ),
    (
        "DevEx and SPACE",
        "pull_request_handoffs",
        include_str!("devex/pull_request_handoffs.sql"),
    ),
    (
        "DevEx and SPACE",
        "pull_request_lifetimes",
        include_str!("devex/pull_request_lifetimes.sql"),
    ),
    (
        "DevEx and SPACE",
        "pull_request_phases",
        include_str!("devex/pull_request_phases.sql"),
    ),
    (
        "DevEx and SPACE",
        "pull_request_scopes",
        include_str!("devex/pull_request_scopes.sql"),
    ),
    (
        "DevEx and SPACE",
        "pull_request_summary",
        include_str!("devex/pull_request_summary.sql"),
    ),
    (
        "DevEx and SPACE",
        "repository_teams",
        include_str!("devex/repository_teams.sql"),
    ),
    (
        "DevEx and SPACE",
        "space_people",
        include_str!("devex/space_people.sql"),
    ),
    (
        "DevEx and SPACE",
        "space_reviews",
        include_str!("devex/space_reviews.sql"),
    ),
    (
        "DevEx and SPACE",
        "team_members_in_window",
        include_str!("devex/team_members_in_window.sql"),
    ),
    (
        "Platform adoption",
        "active_users",
        include_str!("adoption/active_users.sql"),
    ),
    (
        "Platform adoption",
        "funnel_events",
        include_str!("adoption/funnel_events.sql"),
    ),
    (
        "Platform adoption",
        "golden_paths",
        include_str!("adoption/golden_paths.sql"),
    ),
    (
        "Platform adoption",
        "headcount",
        include_str!("adoption/headcount.sql"),
    ),
    (
        "Platform adoption",
        "retention",
        include_str!("adoption/retention.sql"),
    ),
    (
        "Platform adoption",
        "team_users",
        include_str!("adoption/team_users.sql"),
    ),
    (
        "Platform adoption",
        "weekly_users",
        include_str!("adoption/weekly_users.sql"),
    ),
    (
        "Onboarding",
        "new_developer_milestones",
        include_str!("onboarding/new_developer_milestones.sql"),
    ),
    ("Cost", "ci_cost", include_str!("cost/ci_cost.sql")),
    ("Cost", "cost_lines", include_str!("cost/cost_lines.sql")),
];

/// The definitions, by area, in the order the portal shows them.
pub fn definitions() -> Vec<Definition> {
    FILES
        .iter()
        .map(|(area, name, sql)| {
            let text: Vec<&str> = sql
                .lines()
                .take_while(|line| line.starts_with("--"))
                .map(|line| {
                    line.trim_start_matches("--")
                        .strip_prefix(' ')
                        .unwrap_or("")
                })
                .collect();
            let text = text.join("\n").trim().to_string();
            let first = text
                .strip_prefix(&format!("{name}:"))
                .unwrap_or(&text)
                .trim_start();
            // The first sentence, across the header's line breaks.
            let summary = first.split("\n\n").next().unwrap_or("").replace('\n', " ");
            let summary = match summary.find(". ") {
                Some(end) => summary[..=end].to_string(),
                None => summary,
            };
            Definition {
                area,
                name,
                summary,
                text,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_sql_file_is_defined_with_its_header() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut on_disk: Vec<String> = std::fs::read_dir(&root)
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.path().is_dir())
            .flat_map(|dir| std::fs::read_dir(dir.path()).unwrap())
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().to_string())
            .collect();
        on_disk.sort();
        let mut listed: Vec<String> = FILES.iter().map(|(_, n, _)| n.to_string()).collect();
        listed.sort();
        assert_eq!(listed, on_disk, "a new SQL file needs its line in FILES");
        for definition in definitions() {
            assert!(!definition.summary.is_empty(), "{}", definition.name);
            assert!(!definition.text.contains("--"), "{}", definition.name);
        }
        let lead = definitions()
            .into_iter()
            .find(|d| d.name == "change_lead_times")
            .unwrap();
        assert_eq!(
            lead.summary,
            "every change of a counted deployment and its lead time."
        );
        assert!(lead.text.contains("squash and rebase merges"));
    }
}
