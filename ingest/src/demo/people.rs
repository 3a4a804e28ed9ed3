//! What people do besides code: work activity (for context switches), issue
//! work and platform usage.

use super::*;

pub(super) fn activity(
    out: &mut Output,
    developer: &str,
    at: i64,
    kind: &str,
    item: &str,
    repo: &str,
) -> Result<()> {
    out.activity_sequence += 1;
    let sequence = out.activity_sequence;
    out.push(
        &schema::WORK_ACTIVITY,
        vec![
            Value::text(format!("demo:activity:{sequence}")),
            Value::text(developer),
            Value::Timestamp(at),
            Value::text(kind),
            Value::text(item),
            Value::text(repo),
        ],
    )
}

pub(super) const PLATFORM_FEATURES: [(&str, &str); 8] = [
    ("portal", "catalog-search"),
    ("portal", "docs"),
    ("portal", "scorecards"),
    ("cli", "deploy"),
    ("cli", "logs"),
    ("template", "scaffold-service"),
    ("api", "create-environment"),
    ("api", "rotate-secret"),
];

/// Issue work (another source of context switches) and platform usage.
///
/// Each developer adopts the platform on a day of their own, then uses it
/// most working days; before that they only glance at its docs now and
/// then. In adopting teams founders adopt spread over the history and new
/// hires start on it (so team adoption rises); elsewhere a quarter of the
/// team ever adopts.
pub(super) fn issue_work_and_platform_usage(
    org: &Org,
    t: usize,
    rng: &mut ChaCha8Rng,
    out: &mut Output,
) -> Result<()> {
    let team = &org.teams[t];
    let total_days = (org.end_day - org.start_day).num_days().max(1) as f64;
    let mut issue_numbers = vec![10_000i64; team.services.len()];
    // The share of the history after which each member is an adopter.
    let adopts_after: Vec<f64> = team
        .members
        .iter()
        .map(|&member| match (team.adopting, org.new_hire(member)) {
            (true, true) => 0.0,
            (true, false) => rng.gen::<f64>() * 1.1,
            (false, _) if rng.gen::<f64>() < 0.25 => rng.gen::<f64>(),
            (false, _) => f64::INFINITY,
        })
        .collect();
    for (i, day) in days(org.start_day, org.end_day).enumerate() {
        if is_weekend(day) {
            continue;
        }
        let progress = i as f64 / total_days;
        for (m, &member) in team.members.iter().enumerate() {
            let developer = &org.developers[member];
            if !org.joined(member, local_time(team.zone, day, 9.0)) {
                continue;
            }
            let adoption = if progress >= adopts_after[m] {
                0.35
            } else {
                0.003
            };
            if rng.gen::<f64>() < 0.3 {
                let k = rng.gen_range(0..team.services.len());
                if rng.gen::<f64>() < 0.3 {
                    issue_numbers[k] += 1;
                }
                let repo = org.repo(team.services[k]);
                let item = format!("{repo}#{}", issue_numbers[k]);
                let at = local_time(team.zone, day, working_hour(rng));
                activity(out, developer, at, "issue", &item, &repo)?;
            }
            if rng.gen::<f64>() < adoption {
                let (tool, feature) = PLATFORM_FEATURES[rng.gen_range(0..PLATFORM_FEATURES.len())];
                let at = local_time(team.zone, day, working_hour(rng));
                let roll = rng.gen::<f64>();
                let outcome = if roll < 0.9 {
                    "success"
                } else if roll < 0.97 {
                    "failure"
                } else {
                    "abandoned"
                };
                out.push(
                    &schema::PLATFORM_USAGE,
                    vec![
                        Value::text(format!("demo:platform_usage:{developer}:{at}")),
                        Value::text(developer),
                        Value::text(&team.name),
                        Value::text(tool),
                        Value::text(feature),
                        Value::Timestamp(at),
                        Value::text(outcome),
                    ],
                )?;
            }
        }
    }
    Ok(())
}
