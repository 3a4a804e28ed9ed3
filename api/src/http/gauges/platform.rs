//! The platform gauges: active users per tool and feature, stickiness per
//! tool, golden-path shares per team, and onboarding medians per team.

use analytics::adoption::{self, AdoptionMetrics, AdoptionRequest};
use analytics::onboarding::{self, OnboardingRequest, MILESTONES};
use analytics::LakeQueries;
use chrono::{Days, NaiveDate};

use super::{labels, Builder};
use crate::config::Config;
use crate::error::Result;

const ACTIVE_USERS_HELP: &str = "Platform users in the window: period=\"day\" the mean of daily distinct users, \"week\" the mean of weekly ones, \"window\" all distinct users; feature=\"all\" for the whole tool";

fn active_users(builder: &mut Builder, tool: &str, feature: &str, m: &AdoptionMetrics) {
    for (period, value) in [
        ("day", m.dau_mean),
        ("week", m.wau_mean),
        ("window", m.active_users.map(|u| u as f64)),
    ] {
        builder.push(
            "devex_platform_active_users",
            ACTIVE_USERS_HELP,
            labels(&[("tool", tool), ("feature", feature), ("period", period)]),
            value,
        );
    }
}

/// The gauges for the window `[from, to)`; onboarding covers the starts of
/// the 365 days before `to`, as the onboarding report does by default.
pub(super) async fn platform_gauges(
    builder: &mut Builder,
    queries: &LakeQueries,
    config: &Config,
    from: NaiveDate,
    to: NaiveDate,
) -> Result<()> {
    let (from_text, to_text) = (from.to_string(), to.to_string());
    let mut request = AdoptionRequest::parse(
        Some(&from_text),
        Some(&to_text),
        None,
        Some("tool"),
        config.devex.clone(),
        config.adoption.clone(),
    )?;
    request.dora = config.dora.clone();
    request.extras.golden_paths = true;
    let report = adoption::report(queries, &request).await?;
    for group in &report.groups {
        let tool = group.key.label().unwrap_or("");
        active_users(builder, tool, "all", &group.metrics);
        builder.push(
            "devex_platform_stickiness",
            "Mean daily users / users in the window, per tool",
            labels(&[("tool", tool)]),
            group.metrics.stickiness,
        );
    }
    for ((tool, feature), metrics) in adoption::by_tool_and_feature(queries, &request).await? {
        active_users(builder, &tool, &feature, &metrics);
    }
    if let Some(paths) = &report.golden_paths {
        let teams = paths
            .teams
            .iter()
            .map(|t| (t.team.as_deref().unwrap_or(""), &t.shares))
            .chain([("all", &paths.overall)]);
        for (team, shares) in teams {
            for (kind, share) in [
                ("template", shares.template_share),
                ("pipeline", shares.pipeline_share),
            ] {
                builder.push(
                    "devex_golden_path_share",
                    "Share on the golden path: kind=\"template\" new services created from a template, \"pipeline\" production deployments built by the platform's pipeline",
                    labels(&[("team", team), ("kind", kind)]),
                    share,
                );
            }
        }
    }
    let year_ago = to.checked_sub_days(Days::new(365)).unwrap_or(from);
    let onboarding = onboarding::report(
        queries,
        &OnboardingRequest::parse(
            Some(&year_ago.to_string()),
            Some(&to_text),
            None,
            Some("team"),
            config.devex.clone(),
            config.dora.clone(),
        )?,
    )
    .await?;
    let groups = onboarding
        .groups
        .iter()
        .map(|g| (g.key.label(), &g.metrics))
        .chain([("all", &onboarding.overall)]);
    for (team, metrics) in groups {
        // Hidden groups have no milestones: they publish nothing.
        let Some(milestones) = metrics.milestones else {
            continue;
        };
        for (milestone, summary) in MILESTONES.iter().zip(milestones) {
            builder.push(
                "devex_onboarding_seconds",
                "Median time from a new developer's start to the milestone, for those who started in the last 365 days (teams below the minimum group size left out)",
                labels(&[
                    ("team", team),
                    ("milestone", milestone.trim_end_matches("_days")),
                    ("percentile", "50"),
                ]),
                summary.median.map(|days| days * 86_400.0),
            );
        }
    }
    Ok(())
}
