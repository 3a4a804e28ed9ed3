//! AI coding assistant use, per developer and working day.
//!
//! Two teams in three roll an assistant out on a day of their own in the
//! history; after it each member is active on a share of working days of
//! their own (some rarely, most often, a few nearly every day), so usage
//! cohorts and the rollout month come out of the data. Before the rollout,
//! and in teams that never roll out, one member in ten tries an assistant
//! now and then. Each developer keeps one tool; the surface is mostly the
//! editor, sometimes chat or an agent.

use super::*;

const TOOLS: &[(&str, f64)] = &[("copilot", 0.7), ("cursor", 0.9), ("claude-code", 1.0)];
const LANGUAGES: &[&str] = &["rust", "typescript", "python", "go", "java"];

pub(super) fn ai_usage(org: &Org, t: usize, rng: &mut ChaCha8Rng, out: &mut Output) -> Result<()> {
    let team = &org.teams[t];
    let total_days = (org.end_day - org.start_day).num_days().max(1);
    let rollout = (t % 3 != 1).then(|| rng.gen_range(total_days / 6..total_days));
    // Per member: a tool, and the share of working days they use it on
    // after the rollout (before it, only the early tryers).
    let members: Vec<(&str, f64, bool)> = team
        .members
        .iter()
        .map(|_| {
            let roll = rng.gen::<f64>();
            let tool = TOOLS
                .iter()
                .find(|(_, upto)| roll < *upto)
                .map_or("copilot", |t| t.0);
            let share = match rng.gen::<f64>() {
                r if r < 0.15 => 0.0,
                r if r < 0.35 => 0.12,
                r if r < 0.85 => 0.4,
                _ => 0.8,
            };
            (tool, share, rng.gen::<f64>() < 0.1)
        })
        .collect();
    for (i, day) in days(org.start_day, org.end_day).enumerate() {
        if is_weekend(day) {
            continue;
        }
        let rolled_out = rollout.is_some_and(|at| i as i64 >= at);
        for (m, &member) in team.members.iter().enumerate() {
            if !org.joined(member, local_time(team.zone, day, 9.0)) {
                continue;
            }
            let (tool, share, tryer) = members[m];
            let chance = match (rolled_out, tryer) {
                (true, _) => share,
                (false, true) => 0.1,
                (false, false) => 0.0,
            };
            if rng.gen::<f64>() >= chance {
                continue;
            }
            let developer = &org.developers[member];
            let language = LANGUAGES[rng.gen_range(0..LANGUAGES.len())];
            let surface = match rng.gen::<f64>() {
                r if r < 0.75 => "ide",
                r if r < 0.92 => "chat",
                _ => "agent",
            };
            let suggestions = rng.gen_range(5..60i64);
            let acceptances = (suggestions as f64 * rng.gen_range(0.15..0.45)).round() as i64;
            let lines_suggested = suggestions * rng.gen_range(2..6i64);
            let lines_accepted = (lines_suggested as f64 * rng.gen_range(0.1..0.4)).round() as i64;
            // Reported the next morning, UTC.
            let reported_at = local_time(chrono_tz::UTC, day + Duration::days(1), 6.0);
            out.push(
                &schema::AI_USAGE,
                vec![
                    Value::text(format!("demo:ai_usage:{developer}:{day}:{tool}:{surface}")),
                    Value::text(developer),
                    Value::text(tool),
                    Value::date(day),
                    Value::text(surface),
                    Value::text(match tool {
                        "claude-code" => "terminal",
                        "cursor" => "cursor",
                        _ => "vscode",
                    }),
                    Value::text(language),
                    Value::Integer(rng.gen_range(1..20)),
                    Value::Integer(suggestions),
                    Value::Integer(acceptances),
                    Value::Integer(lines_suggested),
                    Value::Integer(lines_accepted),
                    Value::Timestamp(reported_at),
                ],
            )?;
        }
    }
    Ok(())
}
