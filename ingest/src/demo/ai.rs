//! AI coding assistants: a staggered rollout with two built-in effects.
//!
//! Teams take turns (by their index modulo 3): the first kind rolls an
//! assistant out about a quarter into the history and its AI-assisted pull
//! requests are written faster at no cost in quality; the second kind rolls
//! out about two thirds in, and its AI-assisted pull requests are as fast
//! but reverted far more often; the third never rolls out (the comparison
//! the rollout effect needs). After its rollout each member is active on a
//! share of working days of their own (some never, some rarely, most often,
//! a few nearly every day), so usage cohorts and the rollout month come out
//! of the data; before it, one member in ten tries an assistant now and
//! then. Each developer keeps one tool; the surface is mostly the editor,
//! sometimes chat or an agent. A pull request is AI-assisted with its
//! author's chance of being active that day.

use super::*;

const TOOLS: &[(&str, f64)] = &[("copilot", 0.7), ("cursor", 0.9), ("claude-code", 1.0)];
const LANGUAGES: &[&str] = &["rust", "typescript", "python", "go", "java"];
/// AI-assisted pull requests' coding time, against others'.
pub(super) const AI_CODING_FACTOR: f64 = 0.4;
/// Chance a merged pull request is reverted within days: any, and an
/// AI-assisted one of a team whose reverts rise.
pub(super) const REVERT_CHANCE: f64 = 0.03;
pub(super) const AI_REVERT_CHANCE: f64 = 0.25;

/// What a team's rollout does to its AI-assisted pull requests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Effect {
    Faster,
    FasterWithReverts,
}

/// One member's assistant.
#[derive(Debug, Clone, Copy)]
struct Member {
    tool: &'static str,
    /// Chance of being active on a working day after the rollout.
    share: f64,
    /// Tries an assistant before the rollout.
    tryer: bool,
}

/// A team's rollout and its members' assistants.
pub(super) struct TeamAi {
    /// The day index (from the history's start) of the rollout, and what it
    /// does; none for a team that never rolls out.
    rollout: Option<(i64, Effect)>,
    /// By developer (index into `Org::developers`).
    members: HashMap<usize, Member>,
}

impl TeamAi {
    /// Drawn from the team's own stream, so usage and pull requests agree.
    pub(super) fn plan(org: &Org, t: usize, seed: u64) -> TeamAi {
        let mut rng = stream(seed, &format!("ai/{t}"));
        let total_days = (org.end_day - org.start_day).num_days().max(1) as f64;
        let wave = (t / 3) as f64 * 0.05;
        let rollout = match t % 3 {
            0 => Some((((0.2 + wave) * total_days) as i64, Effect::Faster)),
            1 => Some((
                ((0.6 + wave) * total_days) as i64,
                Effect::FasterWithReverts,
            )),
            _ => None,
        };
        let members = org.teams[t]
            .members
            .iter()
            .map(|&developer| {
                let roll = rng.gen::<f64>();
                let tool = TOOLS
                    .iter()
                    .find(|(_, upto)| roll < *upto)
                    .map_or("copilot", |t| t.0);
                let share = match rng.gen::<f64>() {
                    r if r < 0.1 => 0.0,
                    r if r < 0.3 => 0.2,
                    r if r < 0.8 => 0.5,
                    _ => 0.85,
                };
                let tryer = rng.gen::<f64>() < 0.1;
                (developer, Member { tool, share, tryer })
            })
            .collect();
        TeamAi { rollout, members }
    }

    fn rolled_out(&self, org: &Org, day: NaiveDate) -> bool {
        self.rollout
            .is_some_and(|(at, _)| (day - org.start_day).num_days() >= at)
    }

    /// A developer's chance of AI use on a working day, and their tool.
    fn chance(&self, org: &Org, developer: usize, day: NaiveDate) -> Option<(&'static str, f64)> {
        let member = self.members.get(&developer)?;
        let chance = match (self.rolled_out(org, day), member.tryer) {
            (true, _) => member.share,
            (false, true) => 0.1,
            (false, false) => 0.0,
        };
        Some((member.tool, chance))
    }

    /// Whether a pull request its author starts on `day` is AI-assisted,
    /// with which tool, and the rollout's effect on it.
    pub(super) fn assist(
        &self,
        org: &Org,
        developer: usize,
        day: NaiveDate,
        rng: &mut ChaCha8Rng,
    ) -> Option<(&'static str, Option<Effect>)> {
        let (tool, chance) = self.chance(org, developer, day)?;
        let draw = rng.gen::<f64>();
        (draw < chance).then(|| {
            let effect = self
                .rollout
                .filter(|_| self.rolled_out(org, day))
                .map(|(_, effect)| effect);
            (tool, effect)
        })
    }
}

pub(super) fn ai_usage(
    org: &Org,
    t: usize,
    plan: &TeamAi,
    rng: &mut ChaCha8Rng,
    out: &mut Output,
) -> Result<()> {
    let team = &org.teams[t];
    for day in days(org.start_day, org.end_day) {
        if is_weekend(day) {
            continue;
        }
        for &member in &team.members {
            if !org.joined(member, local_time(team.zone, day, 9.0)) {
                continue;
            }
            let Some((tool, chance)) = plan.chance(org, member, day) else {
                continue;
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
