//! The AI assistant gauges: AI-active developers per team and tool, and
//! per team the share of developers AI-active and of merged pull requests
//! AI-assisted. Teams, tools and the organisation the AI report hides
//! (below the minimum group size, or revealing one by difference) publish
//! nothing; there is never a person.

use analytics::ai::{self, AiMeasures, AiRequest};
use analytics::LakeQueries;
use chrono::NaiveDate;

use super::{labels, Builder};
use crate::config::Config;
use crate::error::Result;

fn team_gauges(builder: &mut Builder, team: &str, m: &AiMeasures) {
    builder.push(
        "devex_ai_active_users",
        "Developers an AI assistant reported active in the window, per team (team=\"all\": the organisation) and tool (tool=\"all\": any)",
        labels(&[("team", team), ("tool", "all")]),
        m.ai_active_users.map(|u| u as f64),
    );
    builder.push(
        "devex_ai_active_share",
        "Share of the team's developers AI-active in the window",
        labels(&[("team", team)]),
        m.ai_active_share,
    );
    builder.push(
        "devex_ai_assisted_pr_share",
        "Share of the pull requests merged in the window that were AI-assisted (label, co-author trailer, agent author, or a tool named on the merge commit)",
        labels(&[("team", team)]),
        m.ai_assisted_pr_share,
    );
}

pub(super) async fn ai_gauges(
    builder: &mut Builder,
    queries: &LakeQueries,
    config: &Config,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<()> {
    let (from_text, to_text) = (from.to_string(), to.to_string());
    let mut request = AiRequest::parse(
        Some(&from_text),
        Some(&to_text),
        None,
        None,
        Some("team"),
        config.ai.clone(),
        config.devex.clone(),
        config.dora.clone(),
    )?;
    request.cost = config.cost.clone();
    let report = ai::report(queries, &request).await?;
    team_gauges(builder, "all", &report.overall);
    for group in &report.groups {
        let team = group.key.label();
        team_gauges(builder, team, &group.measures);
        for tool in &group.uses {
            builder.push(
                "devex_ai_active_users",
                "Developers an AI assistant reported active in the window, per team (team=\"all\": the organisation) and tool (tool=\"all\": any)",
                labels(&[("team", team), ("tool", &tool.name)]),
                tool.active_users.map(|u| u as f64),
            );
        }
    }
    Ok(())
}
