//! Planning each team's pull requests before their repositories' history
//! is simulated: authors, commits, reviews, merges, squashes and hotfixes.

use super::*;

/// A pull request as planned before its repository's history is simulated.
pub(super) struct PullRequestPlan {
    pub(super) author: usize,
    pub(super) first_commit_at: i64,
    pub(super) commit_times: Vec<i64>,
    pub(super) created_at: i64,
    /// (reviewer, state, submitted_at)
    pub(super) reviews: Vec<(usize, &'static str, i64)>,
    pub(super) merged_at: Option<i64>,
    pub(super) closed_at: Option<i64>,
    pub(super) squash: bool,
    pub(super) hotfix: bool,
    /// Assigned when the repository receives the plan.
    pub(super) number: i64,
    /// Which of its repository's services it changes (0 but in a monorepo).
    pub(super) part: usize,
    pub(super) title: String,
    pub(super) additions: i64,
    pub(super) deletions: i64,
    /// The AI assistant that helped, when one did.
    pub(super) ai_tool: Option<&'static str>,
    /// Reverted on main this long (microseconds) after its merge.
    pub(super) reverted_after: Option<i64>,
}

/// A team's pull requests; `ai` says which its assistants helped with, by
/// draws from `ai_rng` (its own stream, so the rest of the history does
/// not move when the AI plan changes).
pub(super) fn plan_pull_requests(
    org: &Org,
    team: &Team,
    rng: &mut ChaCha8Rng,
    ai: &ai::TeamAi,
    ai_rng: &mut ChaCha8Rng,
    planned: &mut dyn FnMut(usize, PullRequestPlan),
) {
    let profile = team.profile;
    for day in days(org.start_day, org.end_day) {
        let weekend = is_weekend(day);
        for &author in &team.members {
            let mut rate = if weekend {
                profile.pr_rate * 0.03
            } else {
                profile.pr_rate
            };
            let morning = local_time(team.zone, day, 9.0);
            if !org.joined(author, morning) {
                continue;
            }
            if org.new_hire(author) {
                rate *= onboarding_ramp(team, (morning - org.starts[author]) / DAY);
            }
            if rng.gen::<f64>() >= rate {
                continue;
            }
            // Mostly the team's own services; sometimes another team's.
            let service = if rng.gen::<f64>() < 0.05 {
                rng.gen_range(0..org.services.len())
            } else {
                team.services[rng.gen_range(0..team.services.len())]
            };
            let owner = &org.teams[org.services[service].1];
            let first_commit_at = local_time(team.zone, day, working_hour(rng));
            let assist = ai.assist(org, author, day, ai_rng);
            let speed = if assist.is_some() {
                ai::AI_CODING_FACTOR
            } else {
                1.0
            };
            let mut plan = plan_one(
                org,
                rng,
                owner,
                author,
                first_commit_at,
                profile,
                false,
                speed,
            );
            let revert_chance = match assist {
                Some((_, Some(ai::Effect::FasterWithReverts))) => ai::AI_REVERT_CHANCE,
                _ => ai::REVERT_CHANCE,
            };
            let (reverted, delay) = (ai_rng.gen::<f64>() < revert_chance, ai_rng.gen_range(1..10));
            plan.ai_tool = assist.map(|(tool, _)| tool);
            plan.reverted_after = reverted.then_some(delay * DAY);
            planned(service, plan);
        }
    }
}

/// A new hire's share of the full pull request rate, `days` after their
/// start: nothing while waiting for access and setup, then rising to 1. A
/// team on the platform's golden path waits less and ramps up faster.
fn onboarding_ramp(team: &Team, days: i64) -> f64 {
    let (wait, first, ramp) = if team.adopting {
        (2, 0.5, 15.0)
    } else {
        (12, 0.1, 40.0)
    };
    if days < wait {
        return 0.0;
    }
    (first + (1.0 - first) * (days - wait) as f64 / ramp).min(1.0)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn plan_one(
    org: &Org,
    rng: &mut ChaCha8Rng,
    owner: &Team,
    author: usize,
    first_commit_at: i64,
    profile: &Profile,
    hotfix: bool,
    coding_speed: f64,
) -> PullRequestPlan {
    let scale = if hotfix { 0.1 } else { 1.0 };
    // Regular work happens in working hours; hotfixes happen when they must.
    let work = |at: i64| {
        if hotfix {
            at
        } else {
            working_time(owner.zone, at)
        }
    };
    let commits = if hotfix { 1 } else { rng.gen_range(1..=6) };
    let coding = hours(exponential(
        rng,
        profile.coding_hours * scale * coding_speed,
    ));
    let mut commit_times: Vec<i64> = (0..commits)
        .map(|i| work(first_commit_at + coding * i / commits.max(1)))
        .collect();
    commit_times.sort_unstable();
    let created_at = work(
        commit_times.last().copied().unwrap_or(first_commit_at) + rng.gen_range(2..30) * MINUTE,
    );
    let mut reviews = Vec::new();
    let mut at = created_at;
    let reviewers: Vec<usize> = owner
        .members
        .iter()
        .copied()
        .filter(|&m| m != author && org.joined(m, created_at))
        .collect();
    let unreviewed = rng.gen::<f64>() < profile.merged_without_review;
    if !unreviewed && !reviewers.is_empty() {
        let reviewer = reviewers[rng.gen_range(0..reviewers.len())];
        at = work(at + hours(exponential(rng, profile.pickup_hours * scale)) + MINUTE);
        let roll = rng.gen::<f64>();
        if roll < 0.25 && !hotfix {
            reviews.push((reviewer, "changes_requested", at));
            let fix = work(at + hours(exponential(rng, profile.review_hours / 2.0)));
            commit_times.push(fix);
            at = work(fix + hours(exponential(rng, profile.review_hours / 2.0)) + MINUTE);
            reviews.push((reviewer, "approved", at));
        } else if roll < 0.35 && !hotfix {
            reviews.push((reviewer, "commented", at));
            at = work(at + hours(exponential(rng, profile.review_hours / 2.0)) + MINUTE);
            reviews.push((reviewer, "approved", at));
        } else {
            reviews.push((reviewer, "approved", at));
        }
    }
    let decided_at =
        work(at + hours(exponential(rng, profile.review_hours * scale / 3.0)) + MINUTE);
    let (merged_at, closed_at) = if decided_at >= org.end {
        (None, None) // still open at the end of the history
    } else if !hotfix && rng.gen::<f64>() < 0.08 {
        (None, Some(decided_at))
    } else {
        (Some(decided_at), Some(decided_at))
    };
    let title = if hotfix {
        format!(
            "hotfix: {}",
            [
                "restore timeout",
                "fix null handling",
                "revert cache change",
                "guard empty payload"
            ][rng.gen_range(0..4)]
        )
    } else {
        format!(
            "{} {}",
            ["Add", "Fix", "Refactor", "Improve", "Remove"][rng.gen_range(0..5)],
            [
                "retry logic",
                "pagination",
                "metrics",
                "validation",
                "caching",
                "logging",
                "error handling"
            ][rng.gen_range(0..7)]
        )
    };
    PullRequestPlan {
        author,
        first_commit_at,
        commit_times,
        created_at,
        reviews,
        merged_at,
        closed_at,
        squash: rng.gen::<f64>() < 0.6,
        hotfix,
        number: 0,
        part: 0,
        title,
        additions: lognormal(rng, 60.0, 1.2).round() as i64 + 1,
        deletions: lognormal(rng, 20.0, 1.2).round() as i64,
        ai_tool: None,
        reverted_after: None,
    }
}
